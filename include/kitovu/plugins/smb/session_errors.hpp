// What libsmbclient's errno values mean for a student, told apart where one value has several
// causes. errno values as libsmbclient 4.17 sets them against Samba 4.17 (each checked in
// tests/smb_tests.cpp). Used inside the helper (session.hpp); the connection name is added by the
// plugin.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/plugins/smb/dialect.hpp"
#include "kitovu/plugins/smb/wire.hpp"

#include <netdb.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>

namespace kitovu::detail::smb {

inline UsageError not_encrypted(const Login& login, std::string path = {}) {
    return error(ErrorKind::connection,
                 "the server at " + login.where() +
                     " does not offer SMB3 encryption, which 'encrypt = true' requires; "
                     "nothing was transferred unencrypted",
                 std::move(path));
}

inline UsageError stopped_answering(int timeout_seconds) {
    return error(ErrorKind::connection,
                 "the server stopped answering for " + std::to_string(timeout_seconds) + " s");
}

inline UsageError unreachable(const Login& login, const std::string& reason) {
    return error(ErrorKind::connection, "cannot reach " + login.where() + " (" + reason +
                                            ") — are you on the university network or VPN?");
}

inline std::string network_reason(int code, int timeout_seconds) {
    switch (code) {
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
    default: return std::generic_category().message(code);
    }
}

inline bool is_network_error(int code) {
    return code == EIO || network_reason(code, 0) != std::generic_category().message(code);
}

inline bool resolves(const std::string& host) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int result = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (found != nullptr)
        ::freeaddrinfo(found);
    return result == 0;
}

// What a failed login means. `can_log_in` tells a wrong password from a share the user may not
// open (both EACCES): asking for a share that does not exist needs a login and then fails with
// ENOENT.
template <class CanLogIn>
UsageError connect_error(const Login& login, int code, CanLogIn&& can_log_in) {
    switch (code) {
    case EACCES:
    case EPERM:
        if (can_log_in())
            return error(ErrorKind::permission, "user " + login.user + " may not open share '" +
                                                    login.share + "' on " + login.host);
        return error(ErrorKind::authentication,
                     "login failed for user " + login.user + ": wrong user name or password");
    case ENOENT:
    case ENODEV:
    case ENXIO:
    case ENOTDIR:
        return error(ErrorKind::not_found,
                     "share '" + login.share + "' not found on " + login.host);
    case EINVAL: // libsmbclient's answer when the host name does not resolve
        if (!resolves(login.host))
            return unreachable(login, "host not found");
        return error(ErrorKind::protocol, "the server at " + login.where() +
                                              " refused the connection (invalid argument)");
    case ENOMEM: return error(ErrorKind::internal, "out of memory");
    default: break;
    }
    if (code == ETIMEDOUT && login.answered)
        return stopped_answering(login.timeout_seconds);
    // libsmbclient, told never to use SMB1, reports a server that speaks only SMB1 as one that
    // closed the connection at once.
    const bool closed =
        code == ECONNABORTED || code == ECONNRESET || code == EPIPE || code == ENOTCONN;
    if (closed && probe_dialect(login.host, login.port,
                                std::chrono::seconds{login.timeout_seconds}) == Dialect::smb1_only)
        return error(ErrorKind::protocol,
                     "the server at " + login.where() +
                         " speaks only SMB1, an insecure protocol kitovu does not use; ask its "
                         "administrator to enable SMB2 or SMB3");
    if (is_network_error(code))
        return unreachable(login, network_reason(code, login.timeout_seconds));
    return error(ErrorKind::protocol, "cannot open share '" + login.share + "' on " +
                                          login.where() + ": " +
                                          std::generic_category().message(code));
}

// A failed list, open or read of `path` after the login succeeded.
inline UsageError transfer_error(const Login& login, int code, std::string path,
                                 std::string_view doing) {
    switch (code) {
    case ENOENT:
    case ENOTDIR: return error(ErrorKind::not_found, "no longer on the server", std::move(path));
    case EACCES:
    case EPERM:
        return error(ErrorKind::permission,
                     std::string{doing} + ": the server denies access to user " + login.user,
                     std::move(path));
    case EBUSY:
    case ETXTBSY:
        return error(ErrorKind::permission,
                     std::string{doing} + ": the file is locked or in use on the server",
                     std::move(path));
    case ENOMEM: return error(ErrorKind::internal, "out of memory", std::move(path));
    case ETIMEDOUT: {
        auto lost = stopped_answering(login.timeout_seconds);
        lost.path = std::move(path);
        return lost;
    }
    default: break;
    }
    if (is_network_error(code))
        return error(ErrorKind::connection,
                     "connection to " + login.where() + " lost (" +
                         network_reason(code, login.timeout_seconds) + ")",
                     std::move(path));
    return error(ErrorKind::protocol,
                 std::string{doing} + ": " + std::generic_category().message(code),
                 std::move(path));
}

inline UsageError bad_name_error(std::string path) {
    return error(ErrorKind::protocol,
                 "cannot list: it holds a name the SMB client refuses (one with a backslash); ask "
                 "the server's admin to rename it",
                 std::move(path));
}

} // namespace kitovu::detail::smb
