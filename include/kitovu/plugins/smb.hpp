// Plugin `smb`: a share on a Windows file server, Samba or a NAS, read through libsmbclient.
// Options as in the contract (hostname, port, share, username, domain, signing, encrypt, timeout).
#pragma once

#include "kitovu/link.hpp"
#include "kitovu/plugins/smb/dialect.hpp"
#include "kitovu/plugins/smb/interrupt.hpp"
#include "kitovu/plugins/smb/library.hpp"
#include "kitovu/plugins/smb/paths.hpp"
#include "kitovu/plugins/smb/wire.hpp"
#include "kitovu/registry.hpp"

#include <libsmbclient.h>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h> // explicit_bzero
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace kitovu {

class SmbPlugin final : public SyncPlugin {
  public:
    static constexpr std::array<std::string_view, 3> signing_values{"off", "if-required",
                                                                    "required"};
    static constexpr auto hostname = string_option({.name = "hostname",
                                                    .required = true,
                                                    .help = "server name or address",
                                                    .example = "files.example.edu"});
    static constexpr auto port = integer_option({.name = "port",
                                                 .default_value = std::int64_t{445},
                                                 .help = "TCP port",
                                                 .min = 1,
                                                 .max = 65535});
    static constexpr auto share = string_option({.name = "share",
                                                 .required = true,
                                                 .help = "share name, without the server",
                                                 .example = "skripte"});
    static constexpr auto username = string_option({.name = "username",
                                                    .required = true,
                                                    .help = "user name to log in with",
                                                    .example = "alice"});
    static constexpr auto domain = string_option({.name = "domain",
                                                  .default_value = std::string_view{"WORKGROUP"},
                                                  .help = "domain or workgroup"});
    static constexpr auto password_command =
        string_option({.name = "password-command",
                       .help = "shell command whose first output line is the password",
                       .example = "secret-tool lookup service kitovu user alice"});
    static constexpr auto signing = string_option({.name = "signing",
                                                   .default_value = std::string_view{"if-required"},
                                                   .allowed = signing_values,
                                                   .help = "SMB signing"});
    static constexpr auto encrypt = boolean_option(
        {.name = "encrypt", .default_value = false, .help = "require SMB3 encryption"});
    static constexpr auto timeout = integer_option({.name = "timeout",
                                                    .default_value = std::int64_t{30},
                                                    .help = "connect and read timeout in seconds",
                                                    .min = 1,
                                                    .max = 3600});

    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{hostname.spec, port.spec,    share.spec,
                                          username.spec, domain.spec,  password_command.spec,
                                          signing.spec,  encrypt.spec, timeout.spec};
        return specs;
    }

    static SecretSpec secret() noexcept {
        // A server that maps unknown users to guest lets "guest" in with an empty password.
        return {.what = "password",
                .command_option = &password_command,
                .environment_prefix = "KITOVU_PASSWORD_",
                .hint = "",
                .guest_user = "guest",
                .server_option = &hostname,
                .port_option = &port,
                .usual_port = 445,
                .user_option = &username,
                .place_option = &share};
    }

    SmbPlugin() = default;
    SmbPlugin(const SmbPlugin&) = delete; // libsmbclient holds `this` for the auth callback
    SmbPlugin& operator=(const SmbPlugin&) = delete;
    ~SmbPlugin() override {
        disconnect();
        forget_login();
        ::explicit_bzero(password_.data(), password_.size());
        if (stop_fd_ >= 0)
            ::close(stop_fd_);
    }

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        connection_ = connection;
        host_ = options.get(hostname);
        share_ = std::string{detail::smb::trim_slashes(options.get(share))};
        user_ = options.get(username);
        domain_ = options.get(domain);
        ::explicit_bzero(password_.data(), password_.size());
        password_ = options.secret();
        const auto bad = [&](std::string message) {
            return fail({.kind = ErrorKind::config,
                         .message = std::move(message),
                         .connection = connection_});
        };
        if (host_.empty() || host_.find_first_of("/\\@:?# \t") != std::string::npos)
            return bad("option 'hostname' must be a host name or an IPv4 address, not '" + host_ +
                       "'");
        if (share_.empty() || share_.find_first_of("/\\") != std::string::npos)
            return bad("option 'share' must name one share, not '" + share_ + "'");
        if (user_.empty())
            return bad("option 'username' is empty");
        port_ = static_cast<std::uint16_t>(options.get(port));
        timeout_seconds_ = static_cast<int>(options.get(timeout));
        // libsmbclient's words for the schema's values
        const std::string signing_value = options.get(signing);
        signing_ = signing_value == "off"        ? "disabled"
                   : signing_value == "required" ? "required"
                                                 : "if_required";
        encrypt_ = options.get(encrypt);
        return {};
    }

    // Logs in and connects the share, so a wrong host, port, password or share is reported
    // here, in words a student can act on. Where this process logged in to the same share with
    // the same settings before, the download process is started instead and logs in on its own
    // (smb/session.hpp).
    expected<void, UsageError> connect() override;

    void disconnect() noexcept override {
        stop_helpers();
        release_context();
    }

    // Lists here until the tree fans out, then in listing processes (smb/listing.hpp).
    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override;

    // Downloads run in a process of this instance's own (see start_helper); where none can be
    // started, here.
    expected<Retrieved, UsageError> retrieve(const RemoteEntry& entry, ChunkWriter out) override {
        auto retrieved = !helpers_off_ && (helper_.pid > 0 || start_helper())
                             ? retrieve_there(entry, out)
                             : retrieve_here(entry, out);
        if (!retrieved && stopping())
            return fail(with_path(stopped(), entry.path));
        return retrieved;
    }

    // Measured on this instance's first listing: more listing processes and downloads over a
    // slow link (link.hpp).
    std::chrono::microseconds round_trip() const override { return round_trip_; }

  protected:
    // Wakes the waits of this instance (see wait_for) and, since libsmbclient's own waits
    // cannot be woken, ends the connections they wait on: its own, never another instance's.
    void interrupt() noexcept override {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto ignored = ::write(stop_fd_, &one, sizeof one);
        detail::smb::shut_connections_of(this, port_);
    }

  private:
    // In smb/download.hpp: one file read through this instance's own connection.
    expected<Retrieved, UsageError> retrieve_here(const RemoteEntry& entry, ChunkWriter out);

    // Read size per smbc_read call. 50 MB file over loopback from Samba 4.17, median MB/s of 7
    // runs: 64 KiB 475, 128 KiB 686, 256 KiB 924, 512 KiB 1200, 1 MiB 1338, 2 MiB 1431,
    // 4 MiB 1460, 8 MiB 1380. libsmbclient splits a large read into pipelined SMB2 reads, so
    // large blocks also hide network latency.
    static constexpr std::size_t block_size = std::size_t{4} << 20;
    // A download process reads the next block into one slot of the shared mapping while the
    // instance writes the other to disk (1 GiB warm: 0.82 s with one slot, smbclient 0.52 s).
    static constexpr std::size_t slots = 2;

    using Item = detail::smb::Item;

    // Deeper than any real course share; reached only through a loop the ids did not reveal.
    static constexpr std::size_t max_depth = 64;

    static std::size_t folder_depth(std::string_view path) {
        return static_cast<std::size_t>(std::ranges::count(path, '/')) + 1;
    }

    struct Failure {
        int error = 0;
        bool bad_name = false;    // the listing had a name libsmbclient refuses
        bool unencrypted = false; // libsmbclient logged in again without the required encryption
    };

    static constexpr std::uint16_t reparse_point = 0x400; // FILE_ATTRIBUTE_REPARSE_POINT
    static constexpr std::uint16_t directory = 0x10;      // FILE_ATTRIBUTE_DIRECTORY

    // ---- Download processes -----------------------------------------------------------------
    // libsmbclient allows one call at a time per process (see detail::smb::Library), so parallel
    // downloads need processes: each instance that downloads forks one, which logs in on its own
    // connection and serves this instance's retrieve() calls. Forking, not executing a program,
    // keeps the password out of any command line; the process ends when the instance disconnects
    // and, through PR_SET_PDEATHSIG, when the thread that started it ends.
    using Helper = detail::smb::Helper;

    static constexpr std::size_t request_limit = 128 * 1024; // locator and path of one file

    // In smb/helper_processes.hpp:
    bool start_helper(); // the download process of this instance
    // Listing processes for `waiting` folders, as many as the link needs (listers_for_link);
    // whether any run.
    bool start_listers(std::size_t waiting);
    // A helper process that finished listing, to an instance of the same login that downloads
    // (each under the library lock).
    void put_idle(Helper& helper);
    std::optional<Helper> take_idle(bool ready_only = false);
    static void end_idle(const std::string& login) noexcept;  // the idle ones of `login`
    static void note_idle(const std::string& login) noexcept; // sets idle_signal's state
    static int idle_signal(const std::string& login);         // see Library::idle_ready
    // Forks one, which logs in on its own: at once, or when told to (`parked`).
    std::optional<Helper> spawn_helper(bool parked = false);
    [[noreturn]] void serve(int fd, std::byte* shared, bool parked) noexcept; // a helper's life
    // In smb/session.hpp: listing processes forked before this instance's login where the link
    // looks slow, to log in once its session setup succeeded.
    bool link_looks_slow() const; // by a probe's round trip (dialect.hpp)
    std::vector<Helper> park_listers();
    void unpark(std::vector<Helper>& parked, bool keep);
    expected<Retrieved, UsageError> retrieve_there(const RemoteEntry& entry, ChunkWriter out);
    static std::string encode_error(const UsageError& e);
    UsageError decode_error(std::string_view payload, const std::string& path) const;
    static void end(Helper& helper) noexcept; // killed, waited for, unmapped
    static void kill_helper(Helper& helper) noexcept;
    static void reap(Helper& helper) noexcept; // waited for, unmapped
    void stop_helper() noexcept { end(helper_); }
    void stop_helpers() noexcept;
    void give_up_helpers() noexcept; // and work in-process from now on
    enum class Heard { message, silence, stop };
    Heard wait_for(std::vector<::pollfd>& fds) const; // a message, the time-out, or a stop
    Heard await_ready();         // until helper_ (or one that takes its place) is logged in
    bool server_answers() const; // to a new connection, within a second

    UsageError stopped() const { return error(ErrorKind::cancelled, "stopped"); }

    static const detail::smb::Functions& smbc() { return detail::smb::smbc(); }

    // In smb/session.hpp: this instance's libsmbclient context, its settings and its login.
    expected<void, UsageError> log_in(); // here, in this process
    std::string login_key() const;       // what a login depends on
    void forget_login() noexcept;        // this instance's login no longer vouches for others
    static void authenticate(SMBCCTX* context, const char* server, const char* share,
                             char* workgroup, int workgroup_size, char* user, int user_size,
                             char* password, int password_size);
    static void copy_to(const std::string& from, char* to, int size);
    static int check_server(SMBCCTX* context, SMBCSRV* server);
    static int add_cached_server(SMBCCTX* context, SMBCSRV* server, const char* host,
                                 const char* share, const char* workgroup, const char* user);
    // libsmbclient's own, wrapped by the two above (the same for every context)
    static inline smbc_check_server_fn library_check_server = nullptr;
    static inline smbc_add_cached_srv_fn library_add_cached_server = nullptr;
    void release_context() noexcept;
    expected<void, UsageError> create_context();
    std::string client_config() const;
    void load_client_config(); // with the library lock held

    // smb://HOST/SHARE/PATH with PATH percent-encoded; the port is set on the context.
    std::string url(std::string_view path) const {
        std::string out = "smb://" + host_ + '/' + detail::smb::url_encode(share_) + '/';
        out += detail::smb::url_encode(path);
        return out;
    }

    std::string where() const { return host_ + ':' + std::to_string(port_); }

    // After a time-out the server is taken for gone for the rest of this instance's life, so a
    // dead server costs one time-out per instance, not one per file.
    expected<void, UsageError> ready() const {
        if (context_ == nullptr)
            return fail({.kind = ErrorKind::internal,
                         .message = "not connected",
                         .connection = connection_});
        if (lost_)
            return fail(*lost_);
        return {};
    }

    UsageError error(ErrorKind kind, std::string message, std::string path = {}) const {
        return UsageError{kind, std::move(message), connection_, std::move(path), {}};
    }

    static UsageError with_path(UsageError error, std::string path) {
        error.path = std::move(path);
        return error;
    }

    // In smb/errors.hpp: what a failure means, in words a student can act on.
    UsageError not_encrypted() const;
    bool fell_back_to_plain(); // libsmbclient logged in again without the required encryption
    UsageError stopped_answering() const;
    UsageError unreachable(std::string reason) const;
    UsageError connect_error(int code); // a failed login or share
    UsageError transfer_error(int code, std::string path, std::string_view doing);
    UsageError listing_error(const Failure& failure, const std::string& remote);
    bool can_log_in();
    static std::string network_reason(int error, int timeout_seconds);
    static bool closed_at_once(int error);
    static bool is_network_error(int error);
    static bool resolves(const std::string& host);

    // In smb/listing.hpp: one folder's entries, and the file id of a folder entry.
    expected<std::vector<Item>, Failure> read_folder(const std::string& folder);
    // Drops the listing processes given to put_idle and, with `idle_too`, gives those that are
    // idle and did not fail their last folder; the vectors run along listers_.
    void give_away(std::vector<std::optional<std::string>>& working,
                   std::vector<std::vector<Item>>& received, std::vector<char>& sound,
                   bool idle_too);

    std::uint64_t folder_id(SMBCFILE* dir, off_t at, std::string_view name);

    std::string connection_;
    std::string host_;
    std::uint16_t port_ = 445;
    std::string share_;
    std::string user_;
    std::string domain_;
    std::string
        password_; // cleared on destruction; libsmbclient keeps copies until its context goes
    std::string signing_ = "if_required"; // the smb.conf value of `client signing`
    bool encrypt_ = false;
    int timeout_seconds_ = 30;

    SMBCCTX* context_ = nullptr;
    std::optional<UsageError> lost_;   // set when the server stopped answering
    std::span<std::byte> block_;       // where reads go: own_block_, or the helper's mapping
    std::vector<std::byte> own_block_; // block_size, allocated on the first download here
    Helper helper_;                    // downloads
    std::vector<Helper> listers_;      // listing, started when a listing fans out
    std::string vouched_;              // the login_key this instance's login counts for, if any
    bool listers_full_ = false;        // one could not be started: no more are tried
    std::chrono::microseconds round_trip_{}; // estimated from a listing here (see list)
    bool helpers_off_ = false;     // a helper got stuck: this instance works in-process only
    bool answered_before_ = false; // a login succeeded (here, or in the process that forked)
    bool in_helper_ = false;       // this is a helper process (serve)
    std::vector<char> channel_;    // the latest message from the helper
    struct Fresh {
        SMBCSRV* server;
        std::chrono::steady_clock::time_point since; // its login
    };
    std::vector<Fresh> fresh_; // connections libsmbclient need not check yet (check_server)
    int stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); // readable once the run stops
};

inline const PluginRegistry::Add<SmbPlugin> smb_plugin{
    "smb", "a share on a Windows file server, Samba or a NAS (SMB2/3)"};

} // namespace kitovu

// The rest of SmbPlugin, by idea.
#include "kitovu/plugins/smb/download.hpp"
#include "kitovu/plugins/smb/errors.hpp"
#include "kitovu/plugins/smb/helper_processes.hpp"
#include "kitovu/plugins/smb/listing.hpp"
#include "kitovu/plugins/smb/session.hpp"
