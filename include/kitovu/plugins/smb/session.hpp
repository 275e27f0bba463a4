// Session: one libsmbclient context, its login, listing a folder and reading a file. It runs only
// inside a helper process (src/smb_helper.cpp): libsmbclient allows one call at a time per process
// and keeps process-wide state, so each helper has one Session and the plugin's process never
// loads libsmbclient.
#pragma once

#include "kitovu/plugins/smb/paths.hpp"
#include "kitovu/plugins/smb/session_errors.hpp"
#include "kitovu/plugins/smb/wire.hpp"

#include <libsmbclient.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace kitovu::detail::smb {

// libsmbclient's log of this process (never printed): for telling some failures apart.
struct SessionLog {
    std::string last;
    bool unencrypted = false;       // it went on without the encryption it was told to require
    std::function<void()> on_setup; // called once it logs " session setup ok" (at level 4)
};
inline SessionLog session_log;

inline void keep_log(void* /*unused*/, int /*level*/, const char* message) {
    SessionLog& log = session_log;
    if (log.last.size() > 4096)
        log.last.erase(0, log.last.size() - 2048);
    log.last += message != nullptr ? message : "";
    if (log.on_setup && message != nullptr &&
        std::string_view{message}.find(" session setup ok") != std::string_view::npos)
        std::exchange(log.on_setup, nullptr)();
}

// A file's id: its creation time in nanoseconds, 0 where the server has none. readdirplus brings
// it with every entry at no cost (the server's file id only comes from readdirplus2, see list); a
// file made through SMB keeps it across a rename and a rewrite (Samba 4.17: user.DOSATTRIB), a new
// upload is born anew.
inline std::uint64_t birth_id(const libsmb_file_info& file) {
    if (file.btime_ts.tv_sec <= 0)
        return 0;
    return static_cast<std::uint64_t>(file.btime_ts.tv_sec) * 1'000'000'000 +
           static_cast<std::uint64_t>(file.btime_ts.tv_nsec);
}

class Session {
  public:
    using Reply = expected<void, UsageError>;

    explicit Session(Login login) : login_(std::move(login)) {}
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() { ::explicit_bzero(login_.password.data(), login_.password.size()); }

    // The client, set up before the login (a parked helper does this while it waits).
    Reply set_up() {
        if (context_ != nullptr)
            return {};
        context_ = smbc_new_context();
        if (context_ == nullptr || smbc_init_context(configure(context_)) == nullptr)
            return fail(error(ErrorKind::internal, "cannot start the SMB client: " +
                                                       std::generic_category().message(errno)));
        load_client_config();
        return {};
    }

    // Logs in and connects the share. The name asked for is one no server allows ('*'):
    // libsmbclient logs in, connects the share and reads its attributes first (add_cached_server
    // hears of it), so a wrong password or share fails as before, and the name is refused at once
    // where the share's root would take three round trips more. libsmbclient cannot be asked
    // whether a session is encrypted (4.17 goes on unencrypted when the server offers none): at
    // level 5 it logs every message it encrypts, and the login is checked by that.
    Reply log_in(std::function<void()> on_setup) {
        if (auto ready = set_up(); !ready)
            return ready;
        SessionLog& log = session_log;
        log.last.clear();
        log.on_setup = std::move(on_setup);
        smbc_setDebug(context_, login_.encrypt ? 5 : log.on_setup ? 4 : 0);
        struct ::stat info {};
        const std::size_t logins = fresh_.size();
        int result = smbc_getFunctionStat(context_)(context_, url("*").c_str(), &info);
        const int code = errno;
        if (result != 0 && fresh_.size() > logins)
            result = 0;
        log.on_setup = nullptr;
        smbc_setDebug(context_, 0);
        if (result == 0 && login_.encrypt &&
            (log.unencrypted || log.last.find("Encrypted SMB2 message") == std::string::npos))
            return fail(not_encrypted(login_));
        if (result != 0)
            return fail(connect_error(login_, code, [this] { return can_log_in(); }));
        return {};
    }

    // One folder's entries, read in one go (libsmbclient fetches the whole folder at opendir).
    // readdirplus brings attributes, size and times: no file needs a stat. Not readdirplus2 for
    // every entry: it fills a struct stat by parsing the entry's URL, which rebuilds the client's
    // credentials for every entry (a third of the CPU of a no-change sync).
    expected<std::vector<Item>, UsageError> list(const std::string& folder) {
        session_log.last.clear();
        SMBCFILE* dir = smbc_getFunctionOpendir(context_)(context_, url(folder).c_str());
        const int code = errno;
        if (fell_back_to_plain()) {
            if (dir != nullptr)
                smbc_getFunctionClosedir(context_)(context_, dir);
            return fail(not_encrypted(login_, folder));
        }
        if (dir == nullptr) {
            if (code == EINVAL && session_log.last.find("bad finfo") != std::string::npos)
                return fail(bad_name_error(folder));
            return fail(failure(code, folder, "cannot list"));
        }
        std::vector<Item> items;
        for (;;) {
            errno = 0;
            const off_t at = smbc_getFunctionTelldir(context_)(context_, dir);
            const libsmb_file_info* file = smbc_getFunctionReaddirPlus(context_)(context_, dir);
            if (file == nullptr)
                break;
            const std::string_view name = file->name != nullptr ? file->name : "";
            if (!name.empty() && name != "..")
                items.push_back(item_of(*file, dir, at));
        }
        const int ended = errno;
        smbc_getFunctionClosedir(context_)(context_, dir);
        if (ended != 0 && ended != ENOENT)
            return fail(failure(ended, folder, "cannot list"));
        return items;
    }

    // Reads one file into `block`, handing each read to `out`. Three round trips per small file:
    // open, one read, close; a file that fits one read is asked for exactly its listed size
    // (libsmbclient answers a short read by asking again, a READ that would only report the end).
    // Larger files are read until a read returns nothing, so one rewritten meanwhile shows in its
    // size and is refused.
    Reply read(const std::string& path, std::uint64_t listed_size,
               std::function<std::span<std::byte>()> next_block,
               std::function<Reply(std::size_t)> out) {
        SMBCFILE* file = smbc_getFunctionOpen(context_)(context_, url(path).c_str(), O_RDONLY, 0);
        const int code = errno;
        if (fell_back_to_plain())
            return fail(not_encrypted(login_, path));
        if (file == nullptr)
            return fail(failure(code, path, "cannot open"));
        const auto close = [&](Reply reply) {
            smbc_getFunctionClose(context_)(context_, file);
            return reply;
        };
        for (std::uint64_t total = 0;;) {
            const std::span<std::byte> block = next_block();
            const std::size_t want = listed_size > total
                                         ? static_cast<std::size_t>(std::min<std::uint64_t>(
                                               block.size(), listed_size - total))
                                         : block.size();
            const ssize_t got = smbc_getFunctionRead(context_)(context_, file, block.data(), want);
            const int read_error = errno;
            if (fell_back_to_plain())
                return close(fail(not_encrypted(login_, path)));
            if (got < 0)
                return close(fail(failure(read_error, path, "cannot read")));
            if (got == 0)
                return close({});
            if (auto written = out(static_cast<std::size_t>(got)); !written)
                return close(written);
            total += static_cast<std::uint64_t>(got);
            if (total == listed_size && listed_size <= block.size())
                return close({});
        }
    }

  private:
    UsageError failure(int code, std::string path, std::string_view doing) {
        fresh_.clear(); // libsmbclient checks its connections from now on (see check_server)
        return transfer_error(login_, code, std::move(path), doing);
    }

    // After a call that may have logged in again (libsmbclient reconnects on its own): whether
    // it went on without the required encryption. What that call brought is thrown away.
    bool fell_back_to_plain() const {
        return login_.encrypt && std::exchange(session_log.unencrypted, false);
    }

    static Session* self(SMBCCTX* context) {
        return static_cast<Session*>(smbc_getOptionUserData(context));
    }

    // The entry's item. A folder's server file id comes only from readdirplus2 (see list): it is
    // asked for folders only, by going back one entry; it comes with the listing, no round trip.
    Item item_of(const libsmb_file_info& file, SMBCFILE* dir, off_t at) {
        constexpr std::uint16_t directory = 0x10, reparse_point = 0x400;
        Item item{.name = file.name,
                  .is_folder = (file.attrs & directory) != 0,
                  .is_link = (file.attrs & reparse_point) != 0,
                  .size = file.size,
                  .mtime = file.mtime_ts.tv_sec,
                  .mtime_nsec = static_cast<std::uint32_t>(file.mtime_ts.tv_nsec),
                  .id = (file.attrs & directory) != 0 ? 0 : birth_id(file)};
        struct ::stat info {};
        if (item.is_folder && smbc_getFunctionLseekdir(context_)(context_, dir, at) == 0)
            if (const auto* again = smbc_getFunctionReaddirPlus2(context_)(context_, dir, &info);
                again != nullptr && again->name != nullptr && item.name == again->name)
                item.id = info.st_ino;
        errno = 0;
        return item;
    }

    bool can_log_in() {
        const std::string probe = "smb://" + login_.host + "/kitovu-login-check/";
        struct ::stat info {};
        if (smbc_getFunctionStat(context_)(context_, probe.c_str(), &info) == 0)
            return true;
        return errno != EACCES && errno != EPERM;
    }

    SMBCCTX* configure(SMBCCTX* c) {
        smbc_setDebug(c, 0);
        smbc_setOptionDebugToStderr(c, 1); // never stdout, should the callback be reset
        smbc_setLogCallback(c, nullptr, &keep_log);
        smbc_setFunctionAuthDataWithContext(c, &Session::authenticate);
        library_check_server_ = smbc_getFunctionCheckServer(c);
        library_add_cached_server_ = smbc_getFunctionAddCachedServer(c);
        smbc_setFunctionCheckServer(c, &Session::check_server);
        smbc_setFunctionAddCachedServer(c, &Session::add_cached_server);
        smbc_setOptionUserData(c, this);
        smbc_setWorkgroup(c, login_.domain.c_str());
        smbc_setUser(c, login_.user.c_str());
        smbc_setPort(c, login_.port);
        smbc_setTimeout(c, login_.timeout_seconds * 1000);
        smbc_setOptionUseKerberos(c, 0);
        smbc_setOptionFallbackAfterKerberos(c, 0);
        smbc_setOptionUseCCache(c, 0);
        smbc_setOptionNoAutoAnonymousLogin(c, 1);
        smbc_setOptionSmbEncryptionLevel(c, login_.encrypt ? SMBC_ENCRYPTLEVEL_REQUIRE
                                                           : SMBC_ENCRYPTLEVEL_NONE);
        return c;
    }

    // The client settings kitovu decides whatever smb.conf says: signing (libsmbclient 4.17 takes
    // it only from smb.conf), the protocol range (never SMB1), and state folders that cannot be
    // created, so that libsmbclient keeps its name cache in memory: kitovu writes nothing outside
    // its cache and target folders. Read from an anonymous memory file, nothing on disk.
    void load_client_config() {
        const std::string config = "[global]\nclient signing = " + login_.signing +
                                   "\nclient min protocol = SMB2_02\nclient max protocol = SMB3\n";
        std::string state;
        for (const char* kind : {"lock", "state", "cache"})
            state += std::string{kind} + " directory = /proc/kitovu-writes-no-samba-state\n";
        const int fd = ::memfd_create("kitovu-smb.conf", MFD_CLOEXEC);
        if (fd < 0)
            return;
        const std::string text = config + state;
        if (::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()))
            smbc_setConfiguration(context_, ("/proc/self/fd/" + std::to_string(fd)).c_str());
        ::close(fd);
    }

    // libsmbclient asks for credentials whenever it logs in (again): after a reconnect too.
    static void authenticate(SMBCCTX* context, const char*, const char*, char* workgroup,
                             int workgroup_size, char* user, int user_size, char* password,
                             int password_size) {
        const Session* s = self(context);
        const auto copy = [](const std::string& from, char* to, int size) {
            if (to == nullptr || size <= 0)
                return;
            const std::size_t n = std::min(from.size(), static_cast<std::size_t>(size) - 1);
            std::memcpy(to, from.data(), n);
            to[n] = '\0';
        };
        copy(s->login_.domain, workgroup, workgroup_size);
        copy(s->login_.user, user, user_size);
        copy(s->login_.password, password, password_size);
    }

    // libsmbclient checks a cached connection before each use, the first time by an echo it waits
    // for: a round trip per connection, felt over a slow link. A connection that logged in less
    // than a time-out ago, with no call failed since, is not checked.
    static int check_server(SMBCCTX* context, SMBCSRV* server) {
        Session* s = self(context);
        const auto found = std::ranges::find(s->fresh_, server, &Fresh::server);
        if (found != s->fresh_.end()) {
            if (std::chrono::steady_clock::now() - found->since <
                std::chrono::seconds{s->login_.timeout_seconds})
                return 0;
            s->fresh_.erase(found);
        }
        return s->library_check_server_(context, server);
    }

    static int add_cached_server(SMBCCTX* context, SMBCSRV* server, const char* host,
                                 const char* share, const char* workgroup, const char* user) {
        Session* s = self(context);
        const int added =
            s->library_add_cached_server_(context, server, host, share, workgroup, user);
        if (added == 0)
            s->fresh_.push_back({server, std::chrono::steady_clock::now()});
        return added;
    }

    // smb://HOST/SHARE/PATH with PATH percent-encoded; the port is set on the context.
    std::string url(std::string_view path) const {
        return "smb://" + login_.host + '/' + url_encode(login_.share) + '/' + url_encode(path);
    }

    struct Fresh {
        SMBCSRV* server;
        std::chrono::steady_clock::time_point since; // its login
    };

    Login login_;
    SMBCCTX* context_ = nullptr; // never freed: the process ends with it, without a goodbye
    std::vector<Fresh> fresh_;   // connections libsmbclient need not check yet
    smbc_check_server_fn library_check_server_ = nullptr;
    smbc_add_cached_srv_fn library_add_cached_server_ = nullptr;
};

} // namespace kitovu::detail::smb
