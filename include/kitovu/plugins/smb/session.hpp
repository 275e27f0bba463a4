// The smb plugin's session: the libsmbclient context of an instance (or of a helper process,
// which logs in on its own), the client settings it is given, and the login that checks them.
// Part of SmbPlugin (plugins/smb.hpp), whose declarations say what each function is for.
#pragma once

#include "kitovu/plugins/smb.hpp"

namespace kitovu {

// Logs in and connects the share, so a wrong host, port, password or share is reported
// here, in words a student can act on.
// libsmbclient's calls take turns in one process, so the instances of a run that each logged in
// here would log in one after another, each login several round trips: over a slow link that
// was most of a small sync. Once one login here showed that the server takes these settings,
// the others start their download process at once, and those log in in parallel. Such an
// instance vouches for the login while it lives, as the one that logged in does: the listing
// processes idle after the listing stay for the downloads of workers that open later (over a
// slow link a new login would be a dozen round trips).
inline expected<void, UsageError> SmbPlugin::connect() {
    if (stopping())
        return fail(stopped());
    bool known = false;
    {
        detail::smb::Call call;
        auto& logged_in = detail::smb::library().logged_in;
        const std::string key = login_key();
        const auto found = logged_in.find(key);
        known = found != logged_in.end();
        if (known && vouched_.empty()) {
            ++found->second;
            vouched_ = key;
        }
    }
    if (known && !helpers_off_ && helper_.pid <= 0 && start_helper()) {
        answered_before_ = true;
        return {};
    }
    return log_in();
}

// The password is in it as a hash that stays in this process's memory.
inline std::string SmbPlugin::login_key() const {
    return where() + '/' + share_ + '/' + domain_ + '\\' + user_ + '/' + signing_ +
           (encrypt_ ? "/encrypt/" : "/") + std::to_string(std::hash<std::string>{}(password_));
}

inline void SmbPlugin::forget_login() noexcept {
    if (vouched_.empty())
        return;
    detail::smb::Call call;
    auto& logged_in = detail::smb::library().logged_in;
    if (const auto found = logged_in.find(vouched_);
        found != logged_in.end() && --found->second <= 0) {
        logged_in.erase(found);
        end_idle(vouched_);
    }
    vouched_.clear();
}

inline expected<void, UsageError> SmbPlugin::log_in() {
    if (stopping())
        return fail(stopped());
    // The probe needs no libsmbclient: it waits for the server while the library loads.
    detail::smb::open_in_background();
    const bool slow = link_looks_slow();
    if (context_ == nullptr)
        if (auto created = create_context(); !created)
            return created;
    lost_.reset();
    std::vector<Helper> parked = slow ? park_listers() : std::vector<Helper>{};
    int result = 0;
    int error = 0;
    bool encrypted = true;
    {
        detail::smb::Call call;
        load_client_config();
        // libsmbclient cannot be asked whether a session is encrypted, and 4.17 goes on
        // without encryption when the server offers none, whatever it was told. At log
        // level 5 it logs every message it encrypts: the login is checked by that.
        auto& library = detail::smb::library();
        if (encrypt_) {
            library.last_log.clear();
            library.unencrypted = false;
            smbc().setDebug(context_, 5);
        }
        struct ::stat info {};
        const auto before = detail::smb::connections_to(port_);
        const auto began = std::chrono::steady_clock::now();
        if (!parked.empty()) {
            library.on_session_setup = [&] {
                for (Helper& helper : parked)
                    if (detail::smb::send_message(helper.fd, detail::smb::Message::go))
                        helper.parked = false;
            };
            if (!encrypt_)
                smbc().setDebug(context_, 4);
        }
        // The login asks for a name no server allows ('*'). libsmbclient logs in, connects the
        // share and reads its attributes first (add_cached_server hears of it), so a wrong
        // password or share fails as before; the name is then refused at once, where the share's
        // root would take three round trips more (open, query, close).
        const std::size_t logins = fresh_.size();
        result = smbc().getFunctionStat(context_)(context_, url("*").c_str(), &info);
        error = errno;
        if (result != 0 && fresh_.size() > logins)
            result = 0;
        detail::smb::claim_connections(this, port_, before);
        round_trip_ =
            detail::smb::round_trip_of_login(std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - began));
        library.on_session_setup = nullptr;
        if (encrypt_ || !parked.empty())
            smbc().setDebug(context_, 0);
        if (encrypt_) {
            encrypted = !library.unencrypted &&
                        library.last_log.find("Encrypted SMB2 message") != std::string::npos;
            library.unencrypted = false;
        }
        if (result == 0 && encrypted && vouched_.empty()) {
            vouched_ = login_key();
            ++library.logged_in[vouched_];
        }
    }
    unpark(parked, result == 0 && encrypted);
    if (result == 0 && encrypted) {
        answered_before_ = true;
        return {};
    }
    if (result == 0) {
        release_context(); // never used unencrypted
        return fail(not_encrypted());
    }
    if (stopping())
        return fail(stopped());
    return fail(connect_error(error));
}

// Over a link that looks slow, the listing processes a tree will need are forked before the
// login and log in as soon as its session setup succeeded (libsmbclient logs that at level 4):
// over a VPN that is eight round trips before the login is over. A password the server refused
// never reaches them: a dozen failed logins at once could lock a university account. The link
// is told by a probe's second request: the first answer on a new connection waits for Samba to
// fork its process, tens of milliseconds on loopback with a cold page cache.
inline bool SmbPlugin::link_looks_slow() const {
    if (in_helper_ || answered_before_ || helpers_off_ || !listers_.empty() || !vouched_.empty())
        return false;
    const auto probed = detail::smb::probe(host_, port_, std::chrono::milliseconds{250}, true);
    return probed.dialect == detail::smb::Dialect::smb2_or_later && probed.round_trip &&
           *probed.round_trip >= fast_link_round_trip;
}

inline std::vector<SmbPlugin::Helper> SmbPlugin::park_listers() {
    std::vector<Helper> parked;
    while (parked.size() < polite_connections) {
        auto started = spawn_helper(true);
        if (!started)
            break;
        parked.push_back(*started);
    }
    return parked;
}

// After the login: the parked processes become this instance's listing processes (told to log
// in now if they were not yet), or are ended.
inline void SmbPlugin::unpark(std::vector<Helper>& parked, bool keep) {
    for (Helper& helper : parked) {
        if (keep && helper.parked && detail::smb::send_message(helper.fd, detail::smb::Message::go))
            helper.parked = false;
        if (keep && !helper.parked)
            listers_.push_back(helper);
        else
            end(helper);
    }
    parked.clear();
}

// libsmbclient asks for credentials whenever it logs in (again): after a reconnect too.
inline void SmbPlugin::authenticate(SMBCCTX* context, const char* /*server*/, const char* /*share*/,
                                    char* workgroup, int workgroup_size, char* user, int user_size,
                                    char* password, int password_size) {
    const auto* self = static_cast<const SmbPlugin*>(smbc().getOptionUserData(context));
    if (self == nullptr)
        return;
    copy_to(self->domain_, workgroup, workgroup_size);
    copy_to(self->user_, user, user_size);
    copy_to(self->password_, password, password_size);
}

// libsmbclient checks a cached connection before each use, and the first time by an echo it waits
// for: a round trip per connection, which a slow link feels in every listing process and
// download. A connection that logged in less than a time-out ago, with no call failed since,
// is not checked; after that libsmbclient checks each use as it would (an echo at most once per
// time-out, and a connection it saw fail is replaced).
inline int SmbPlugin::check_server(SMBCCTX* context, SMBCSRV* server) {
    auto* self = static_cast<SmbPlugin*>(smbc().getOptionUserData(context));
    if (self != nullptr) {
        auto& fresh = self->fresh_;
        const auto found = std::ranges::find(fresh, server, &Fresh::server);
        if (found != fresh.end()) {
            if (std::chrono::steady_clock::now() - found->since <
                std::chrono::seconds{self->timeout_seconds_})
                return 0;
            fresh.erase(found);
        }
    }
    return library_check_server(context, server);
}

inline int SmbPlugin::add_cached_server(SMBCCTX* context, SMBCSRV* server, const char* host,
                                        const char* share, const char* workgroup,
                                        const char* user) {
    const int added = library_add_cached_server(context, server, host, share, workgroup, user);
    auto* self = static_cast<SmbPlugin*>(smbc().getOptionUserData(context));
    if (added == 0 && self != nullptr)
        self->fresh_.push_back({server, std::chrono::steady_clock::now()});
    return added;
}

inline void SmbPlugin::copy_to(const std::string& from, char* to, int size) {
    if (to == nullptr || size <= 0)
        return;
    const std::size_t n = std::min(from.size(), static_cast<std::size_t>(size) - 1);
    std::memcpy(to, from.data(), n);
    to[n] = '\0';
}

inline void SmbPlugin::release_context() noexcept {
    if (context_ == nullptr)
        return;
    detail::smb::Call call;
    fresh_.clear();
    // Freeing says goodbye to the server and waits for its answer, a round trip at the end of
    // every run. The server cleans up after a closed connection as after a goodbye, so this
    // instance's connections end without one; a server taken for gone (or a stopped run) gets
    // none on any connection.
    detail::smb::shut_connections_of(this, port_, lost_ || stopping());
    detail::smb::release_connections(this);
    smbc().free_context(context_, 1);
    context_ = nullptr;
    auto& library = detail::smb::library();
    if (--library.contexts == 0)
        library.loaded_config.clear(); // libsmbclient dropped it with its last context
}

inline expected<void, UsageError> SmbPlugin::create_context() {
    if (const std::string& missing = smbc().missing; !missing.empty())
        return fail(
            {.kind = ErrorKind::not_found,
             .message =
                 "the smb plugin needs libsmbclient (apt-get install libsmbclient): " + missing,
             .connection = connection_});
    detail::smb::Call call;
    SMBCCTX* context = smbc().new_context();
    if (context == nullptr)
        return fail(
            {.kind = ErrorKind::internal,
             .message = "cannot start the SMB client: " + std::generic_category().message(errno),
             .connection = connection_});
    smbc().setDebug(context, 0);
    smbc().setOptionDebugToStderr(context, 1); // never stdout, should the callback be reset
    smbc().setLogCallback(context, nullptr, &detail::smb::keep_log);
    smbc().setFunctionAuthDataWithContext(context, &SmbPlugin::authenticate);
    library_check_server = smbc().getFunctionCheckServer(context);
    library_add_cached_server = smbc().getFunctionAddCachedServer(context);
    smbc().setFunctionCheckServer(context, &SmbPlugin::check_server);
    smbc().setFunctionAddCachedServer(context, &SmbPlugin::add_cached_server);
    smbc().setOptionUserData(context, this);
    smbc().setWorkgroup(context, domain_.c_str());
    smbc().setUser(context, user_.c_str());
    smbc().setPort(context, port_);
    smbc().setTimeout(context, timeout_seconds_ * 1000);
    smbc().setOptionUseKerberos(context, 0);
    smbc().setOptionFallbackAfterKerberos(context, 0);
    smbc().setOptionUseCCache(context, 0);
    smbc().setOptionNoAutoAnonymousLogin(context, 1);
    smbc().setOptionSmbEncryptionLevel(context, encrypt_ ? SMBC_ENCRYPTLEVEL_REQUIRE
                                                         : SMBC_ENCRYPTLEVEL_NONE);
    if (smbc().init_context(context) == nullptr) {
        // Not freed: smbc_free_context() of an uninitialised context decrements libsmbclient's
        // count of initialised ones and may unload the library under other instances.
        return fail(
            {.kind = ErrorKind::internal,
             .message = "cannot start the SMB client: " + std::generic_category().message(errno),
             .connection = connection_});
    }
    context_ = context;
    ++detail::smb::library().contexts;
    return {};
}

// The client settings kitovu decides whatever ~/.smb/smb.conf or /etc/samba/smb.conf say:
// signing (libsmbclient 4.17 takes it only from smb.conf: `client signing`), the protocol
// range (SMB1 is never used), and folders that cannot be created, so that libsmbclient keeps
// its name cache (gencache.tdb, by default in /run/samba) in memory: kitovu writes nothing
// outside its cache and target folders. libsmbclient's config is process-wide, so it is
// loaded again whenever an instance with other settings makes a call.
inline std::string SmbPlugin::client_config() const {
    return "[global]\n"
           "client signing = " +
           signing_ +
           "\n"
           "client min protocol = SMB2_02\n"
           "client max protocol = SMB3\n"
           "lock directory = /proc/kitovu-writes-no-samba-state\n"
           "state directory = /proc/kitovu-writes-no-samba-state\n"
           "cache directory = /proc/kitovu-writes-no-samba-state\n";
}

// Call with the library lock held. smbc_setConfiguration() reads a file; an anonymous memory
// file keeps kitovu from writing anything to disk for it.
inline void SmbPlugin::load_client_config() {
    auto& library = detail::smb::library();
    const std::string config = client_config();
    if (library.loaded_config == config)
        return;
    const int fd = ::memfd_create("kitovu-smb.conf", MFD_CLOEXEC);
    if (fd < 0)
        return;
    bool written = ::write(fd, config.data(), config.size()) == static_cast<ssize_t>(config.size());
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    if (written && smbc().setConfiguration(context_, path.c_str()) == 0)
        library.loaded_config = config;
    ::close(fd);
}

} // namespace kitovu
