// The smb plugin's errors: what libsmbclient's errno values mean for a student, told apart
// where one value has several causes. Part of SmbPlugin (plugins/smb.hpp). errno values as
// libsmbclient 4.17 sets them against Samba 4.17 (each checked in tests/smb_tests.cpp).
#pragma once

#include "kitovu/plugins/smb.hpp"

namespace kitovu {

inline UsageError SmbPlugin::not_encrypted() const {
    return error(ErrorKind::connection,
                 "the server at " + where() +
                     " does not offer SMB3 encryption, which 'encrypt = true' requires; "
                     "nothing was transferred unencrypted");
}

// Call with the library lock held, after a call that may have logged in again (libsmbclient
// reconnects on its own): whether it went on without the required encryption. The server is
// then taken for lost, and what that call brought is thrown away.
inline bool SmbPlugin::fell_back_to_plain() {
    auto& library = detail::smb::library();
    if (!encrypt_ || !library.unencrypted)
        return false;
    library.unencrypted = false;
    lost_ = not_encrypted();
    return true;
}

inline std::string SmbPlugin::network_reason(int error, int timeout_seconds) {
    switch (error) {
    case ECONNREFUSED: return "connection refused";
    case ETIMEDOUT: return "no answer within " + std::to_string(timeout_seconds) + " s";
    case EHOSTUNREACH:
    case EHOSTDOWN: return "host unreachable";
    case ENETUNREACH:
    case ENETDOWN: return "network unreachable";
    case ECONNRESET:
    case ECONNABORTED:
    case ENETRESET:
    case ESHUTDOWN:
    case EPIPE:
    case ENOTCONN: return "the server closed the connection";
    default: return std::generic_category().message(error);
    }
}

// How libsmbclient reports a server that ends the connection during negotiation.
inline bool SmbPlugin::closed_at_once(int error) {
    return error == ECONNABORTED || error == ECONNRESET || error == EPIPE || error == ENOTCONN;
}

inline bool SmbPlugin::is_network_error(int error) {
    switch (error) {
    case ECONNREFUSED:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETUNREACH:
    case ENETDOWN:
    case ECONNRESET:
    case ECONNABORTED:
    case ENETRESET:
    case ESHUTDOWN:
    case EPIPE:
    case ENOTCONN:
    case EIO: return true;
    default: return false;
    }
}

inline UsageError SmbPlugin::unreachable(std::string reason) const {
    return error(ErrorKind::connection, "cannot reach " + where() + " (" + reason +
                                            ") — are you on the university network or VPN?");
}

// What a failed stat of the share's root means. errno values as libsmbclient 4.17 sets them
// against Samba 4.17 (each checked in tests/smb_tests.cpp).
inline UsageError SmbPlugin::connect_error(int code) {
    switch (code) {
    case EACCES:
    case EPERM:
        // A wrong password and a share the user may not open both give EACCES; a share that
        // does not exist tells them apart (see can_log_in).
        if (can_log_in())
            return error(ErrorKind::permission,
                         "user " + user_ + " may not open share '" + share_ + "' on " + host_);
        return error(ErrorKind::authentication,
                     "login failed for user " + user_ + ": wrong user name or password");
    case ENOENT:
    case ENODEV:
    case ENXIO:
    case ENOTDIR:
        return error(ErrorKind::not_found, "share '" + share_ + "' not found on " + host_);
    case EINVAL:
        // libsmbclient's answer when the host name does not resolve.
        if (!resolves(host_))
            return unreachable("host not found");
        return error(ErrorKind::protocol,
                     "the server at " + where() + " refused the connection (invalid argument)");
    case ENOMEM: return error(ErrorKind::internal, "out of memory");
    default:
        if (code == ETIMEDOUT && answered_before_)
            return stopped_answering();
        if (closed_at_once(code) &&
            detail::smb::probe_dialect(host_, port_, std::chrono::seconds{timeout_seconds_}) ==
                detail::smb::Dialect::smb1_only)
            return error(ErrorKind::protocol,
                         "the server at " + where() +
                             " speaks only SMB1, an insecure protocol kitovu does not "
                             "use; ask its administrator to enable SMB2 or SMB3");
        if (is_network_error(code))
            return unreachable(network_reason(code, timeout_seconds_));
        return error(ErrorKind::protocol, "cannot open share '" + share_ + "' on " + where() +
                                              ": " + std::generic_category().message(code));
    }
}

// Whether the login itself succeeds: asking for a share that does not exist needs one and
// then fails with ENOENT, while a failed login gives EACCES. (Listing the server's shares
// would tell it too, but needs an RPC service the server may not offer or may not let
// users call.)
inline bool SmbPlugin::can_log_in() {
    detail::smb::Call call;
    const std::string probe = "smb://" + host_ + "/kitovu-login-check/";
    struct ::stat info {};
    if (smbc().getFunctionStat(context_)(context_, probe.c_str(), &info) == 0)
        return true;
    return errno != EACCES && errno != EPERM;
}

inline bool SmbPlugin::resolves(const std::string& host) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int result = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (found != nullptr)
        ::freeaddrinfo(found);
    return result == 0;
}

// The error for a failed list, open or read of `path`, after connect() succeeded.
inline UsageError SmbPlugin::transfer_error(int code, std::string path, std::string_view doing) {
    fresh_.clear(); // libsmbclient checks the connections from now on (see check_server)
    switch (code) {
    case ENOENT:
    case ENOTDIR: return error(ErrorKind::not_found, "no longer on the server", std::move(path));
    case EACCES:
    case EPERM:
        return error(ErrorKind::permission,
                     std::string{doing} + ": the server denies access to user " + user_,
                     std::move(path));
    case EBUSY:
    case ETXTBSY:
        return error(ErrorKind::permission,
                     std::string{doing} + ": the file is locked or in use on the server",
                     std::move(path));
    case ENOMEM: return error(ErrorKind::internal, "out of memory", std::move(path));
    default: break;
    }
    if (code == ETIMEDOUT) {
        lost_ = stopped_answering();
        return with_path(*lost_, std::move(path));
    }
    if (is_network_error(code))
        return error(ErrorKind::connection,
                     "connection to " + where() + " lost (" +
                         network_reason(code, timeout_seconds_) + ")",
                     std::move(path));
    return error(ErrorKind::protocol,
                 std::string{doing} + ": " + std::generic_category().message(code),
                 std::move(path));
}

// The error for a folder that cannot be listed.
inline UsageError SmbPlugin::listing_error(const Failure& failure, const std::string& remote) {
    if (failure.unencrypted)
        return with_path(not_encrypted(), remote);
    if (failure.bad_name)
        return error(ErrorKind::protocol,
                     "cannot list: it holds a name the SMB client refuses (one with a "
                     "backslash); ask the server's admin to rename it",
                     remote);
    return transfer_error(failure.error, remote, "cannot list");
}

inline UsageError SmbPlugin::stopped_answering() const {
    return error(ErrorKind::connection,
                 "the server stopped answering for " + std::to_string(timeout_seconds_) + " s");
}

} // namespace kitovu
