// Plugin `smb`: a share on a Windows file server, Samba or a NAS, read through libsmbclient.
// Options as in the contract (hostname, port, share, username, domain, signing, encrypt, timeout).
#pragma once

#include "kitovu/registry.hpp"

#include <libsmbclient.h>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h> // explicit_bzero
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kitovu {

namespace detail::smb {

// libsmbclient is not thread-safe, not even with one context per thread: it keeps process-wide
// state (the talloc stack, the loaded smb.conf, debug settings, a count of live contexts), and
// smbc_thread_posix(), which would make the talloc stack per-thread, is not exported by Debian's
// 4.17 build. So every call into it in one process holds this one lock, and downloads run in
// processes of their own (SmbPlugin::start_helper), one per worker. The lock also guards the
// fields below.
struct Library {
    std::mutex mutex;
    int contexts = 0;          // live contexts of this plugin; at 0 libsmbclient unloads its config
    std::string loaded_config; // the client settings last loaded (see SmbPlugin::client_config)
    std::string last_log;      // libsmbclient's latest log lines: for diagnoses, never printed
};

inline Library& library() {
    static Library instance;
    return instance;
}

// Installed as libsmbclient's (process-wide) log sink, so it never prints to stdout or stderr.
// Keeps the latest lines, for telling some failures apart.
inline void keep_log(void* /*unused*/, int /*level*/, const char* message) {
    std::string& log = library().last_log;
    if (log.size() > 4096)
        log.erase(0, log.size() - 2048);
    log += message != nullptr ? message : "";
}

// One call into libsmbclient: holds the library lock, and blocks SIGPIPE in this thread for the
// call, since libsmbclient writes to sockets that a stopped server has closed (its own init blocks
// SIGPIPE only in the thread that happens to create the first context). A SIGPIPE raised meanwhile
// is consumed before the thread's signal mask is restored.
class Call {
  public:
    Call() : lock_(library().mutex) {
        sigset_t pipe = sigpipe();
        ::pthread_sigmask(SIG_BLOCK, &pipe, &previous_);
    }
    ~Call() {
        if (::sigismember(&previous_, SIGPIPE) == 0) {
            sigset_t pending;
            sigemptyset(&pending);
            if (::sigpending(&pending) == 0 && ::sigismember(&pending, SIGPIPE) == 1) {
                const sigset_t pipe = sigpipe();
                const timespec zero{};
                ::sigtimedwait(&pipe, nullptr, &zero);
            }
        }
        ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    // In a child forked under this lock: the child's copy of the lock is released; SIGPIPE stays
    // blocked in the child (it writes to sockets only with MSG_NOSIGNAL or through libsmbclient).
    void release_in_child() { lock_.unlock(); }

  private:
    static sigset_t sigpipe() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        return set;
    }

    std::unique_lock<std::mutex> lock_;
    sigset_t previous_{};
};

// libsmbclient URL-decodes the paths it is given and treats '?' as the start of options, so
// every byte of a name other than unreserved ASCII is percent-encoded ('/' separates folders).
inline std::string url_encode(std::string_view text) {
    constexpr std::string_view hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        const bool plain = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                           (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' ||
                           c == '~' || c == '/';
        if (plain) {
            out += c;
        } else {
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        }
    }
    return out;
}

inline std::string_view trim_slashes(std::string_view path) {
    while (path.starts_with('/'))
        path.remove_prefix(1);
    while (path.ends_with('/'))
        path.remove_suffix(1);
    return path;
}

inline std::string join(std::string_view folder, std::string_view name) {
    if (folder.empty())
        return std::string{name};
    if (name.empty())
        return std::string{folder};
    return std::string{folder} + '/' + std::string{name};
}

// A plugin instance and its download process talk over a SOCK_SEQPACKET pair: each send is one
// message, a type byte and a payload. File bytes do not go through it but through a mapping
// both share: the process reads a block into it, says how much, and waits until the instance
// has written it out.
enum class Message : char {
    request = 'R', // instance -> process: listed size (8 bytes), locator, '\0', path
    ack = 'A',     // instance -> process: the block was written, read on
    stop = 'S',    // instance -> process: writing failed or was cancelled, give up this file
    chunk = 'C',   // process -> instance: a block of this many bytes (8) is in this slot (1)
    done = 'D',    // process -> instance: the file is complete
    failed = 'E',  // process -> instance: error kind (1 byte), message, '\0', path
    list = 'L',    // instance -> process: list this folder (share-relative)
    items = 'I',   // process -> instance: some of the folder's entries (see SmbPlugin::Item)
};

inline bool send_message(int fd, Message type, std::string_view payload = {}) {
    std::string message(1, static_cast<char>(type));
    message += payload;
    for (;;) {
        const auto n = ::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        return n == static_cast<ssize_t>(message.size());
    }
}

// The next message into `buffer`; false when the other side is gone or sent nonsense.
inline bool receive_message(int fd, std::vector<char>& buffer, Message& type,
                            std::string_view& payload) {
    for (;;) {
        const auto n = ::recv(fd, buffer.data(), buffer.size(), MSG_TRUNC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || static_cast<std::size_t>(n) > buffer.size())
            return false;
        type = static_cast<Message>(buffer[0]);
        payload = std::string_view{buffer.data() + 1, static_cast<std::size_t>(n) - 1};
        return true;
    }
}

inline std::string encode_size(std::uint64_t value) {
    std::string out(8, '\0');
    std::memcpy(out.data(), &value, 8);
    return out;
}

inline std::uint64_t decode_size(std::string_view bytes) {
    std::uint64_t value = 0;
    if (bytes.size() >= 8)
        std::memcpy(&value, bytes.data(), 8);
    return value;
}

} // namespace detail::smb

class SmbPlugin final : public SyncPlugin {
  public:
    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array<std::string_view, 3> signing_values{"off", "if-required",
                                                                        "required"};
        static constexpr std::array specs{
            OptionSpec{.name = "hostname",
                       .type = OptionType::string,
                       .required = true,
                       .help = "server name or address"},
            OptionSpec{.name = "port",
                       .type = OptionType::integer,
                       .default_value = std::int64_t{445},
                       .help = "TCP port",
                       .min = 1,
                       .max = 65535},
            OptionSpec{.name = "share",
                       .type = OptionType::string,
                       .required = true,
                       .help = "share name"},
            OptionSpec{.name = "username",
                       .type = OptionType::string,
                       .required = true,
                       .help = "user name to log in with"},
            OptionSpec{.name = "domain",
                       .type = OptionType::string,
                       .default_value = std::string_view{"WORKGROUP"},
                       .help = "domain / workgroup"},
            OptionSpec{.name = "password-command",
                       .type = OptionType::string,
                       .help = "shell command whose first output line is the password"},
            OptionSpec{.name = "signing",
                       .type = OptionType::string,
                       .default_value = std::string_view{"if-required"},
                       .allowed = signing_values,
                       .help = "SMB signing: off, if-required or required"},
            OptionSpec{.name = "encrypt",
                       .type = OptionType::boolean,
                       .default_value = false,
                       .help = "require SMB3 encryption"},
            OptionSpec{.name = "timeout",
                       .type = OptionType::integer,
                       .default_value = std::int64_t{30},
                       .help = "connect/IO timeout in seconds",
                       .min = 1,
                       .max = 3600},
        };
        return specs;
    }

    static SecretSpec secret() noexcept {
        return {.what = "password",
                .command_option = "password-command",
                .environment_prefix = "KITOVU_PASSWORD_",
                .hint = "",
                .server_option = "hostname",
                .port_option = "port",
                .usual_port = 445,
                .user_option = "username",
                .place_option = "share"};
    }

    SmbPlugin() = default;
    SmbPlugin(const SmbPlugin&) = delete; // libsmbclient holds `this` for the auth callback
    SmbPlugin& operator=(const SmbPlugin&) = delete;
    ~SmbPlugin() override {
        disconnect();
        ::explicit_bzero(password_.data(), password_.size());
    }

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        connection_ = connection;
        host_ = options.string("hostname");
        share_ = std::string{detail::smb::trim_slashes(options.string("share"))};
        user_ = options.string("username");
        domain_ = options.string("domain");
        ::explicit_bzero(password_.data(), password_.size());
        password_ = options.secret();
        const auto bad = [&](std::string message) {
            return fail(ErrorKind::config, std::move(message), {}, connection_);
        };
        if (host_.empty() || host_.find_first_of("/\\@:?# \t") != std::string::npos)
            return bad("option 'hostname' must be a host name or an IPv4 address, not '" + host_ +
                       "'");
        if (share_.empty() || share_.find_first_of("/\\") != std::string::npos)
            return bad("option 'share' must name one share, not '" + share_ + "'");
        if (user_.empty())
            return bad("option 'username' is empty");
        const std::int64_t port = options.has("port") ? options.integer("port") : 445;
        if (port < 1 || port > 65535)
            return bad("option 'port' must be between 1 and 65535");
        port_ = static_cast<std::uint16_t>(port);
        const std::int64_t timeout = options.has("timeout") ? options.integer("timeout") : 30;
        if (timeout < 1 || timeout > 3600)
            return bad("option 'timeout' must be between 1 and 3600 seconds");
        timeout_seconds_ = static_cast<int>(timeout);
        const std::string signing =
            options.has("signing") ? options.string("signing") : "if-required";
        if (signing == "off")
            signing_ = "disabled";
        else if (signing == "if-required")
            signing_ = "if_required";
        else if (signing == "required")
            signing_ = "required";
        else
            return bad("option 'signing' must be off, if-required or required, not '" + signing +
                       "'");
        encrypt_ = options.boolean("encrypt");
        return {};
    }

    // Logs in and opens the share's root, so a wrong host, port, password or share is reported
    // here, in words a student can act on.
    expected<void, UsageError> connect() override {
        if (context_ == nullptr)
            if (auto created = create_context(); !created)
                return created;
        lost_.reset();
        int result = 0;
        int error = 0;
        {
            detail::smb::Call call;
            load_client_config();
            struct ::stat info {};
            result = smbc_getFunctionStat(context_)(context_, url({}).c_str(), &info);
            error = errno;
        }
        if (result == 0)
            return {};
        return fail(connect_error(error));
    }

    void disconnect() noexcept override {
        stop_helpers();
        release_context();
    }

    // Lists here until the tree fans out, then in parallel in listing processes (see
    // start_helper): libsmbclient spends much CPU per folder, and one process has one lock.
    // Each folder goes to `out` as soon as it is read, never under the library lock (the
    // engine may wait there for its download workers, which need the lock in-process).
    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override {
        if (context_ == nullptr) // it went to a download process: log in again
            if (auto connected = connect(); !connected)
                return fail(connected.error());
        if (auto usable = ready(); !usable)
            return fail(usable.error());
        const std::string base{detail::smb::trim_slashes(remote_dir)};
        std::vector<RemoteEntry> entries;
        std::deque<std::string> pending{std::string{}}; // folders to list, relative to base

        const auto take = [&](const std::string& folder, std::vector<Item>& items) {
            for (Item& item : items) {
                std::string path = detail::smb::join(folder, item.name);
                if (item.is_folder && item.is_link) {
                    // A junction or folder link could loop or lead out of the share.
                    warn(Warning{WarningKind::skipped, "link to a folder skipped", connection_,
                                 detail::smb::join(base, path)});
                    continue;
                }
                if (!keep(path, item.is_folder))
                    continue;
                entries.push_back(RemoteEntry{.path = path,
                                              .is_folder = item.is_folder,
                                              .size = item.is_folder ? 0 : item.size,
                                              .mtime = item.is_folder ? 0 : item.mtime,
                                              .locator = detail::smb::join(base, path)});
                if (item.is_folder)
                    pending.push_back(std::move(path));
            }
            out(entries);
            entries.clear();
        };
        // A lost connection makes the whole listing unreliable; an unreadable subfolder is
        // skipped.
        const auto failed = [&](const std::string& folder,
                                UsageError error) -> std::optional<UsageError> {
            if (folder.empty() || error.kind == ErrorKind::connection)
                return error;
            warn(Warning{WarningKind::unlisted, error.message + ", skipped", connection_, folder});
            return std::nullopt;
        };

        using detail::smb::Message;
        std::vector<std::optional<std::string>> working; // per listing process: its folder
        std::vector<std::vector<Item>> received;         // per listing process: entries so far
        // A stuck or dead listing process: its folders go back to the queue and this instance
        // lists the rest itself.
        const auto abandon = [&] {
            for (auto& folder : working)
                if (folder)
                    pending.push_back(std::move(*folder));
            working.clear();
            received.clear();
            give_up_helpers();
        };
        for (;;) {
            const bool parallel =
                !helpers_off_ &&
                (!listers_.empty() || (pending.size() >= 2 && start_listers(pending.size())));
            if (!parallel) {
                if (pending.empty())
                    return {};
                const std::string folder = std::move(pending.front());
                pending.pop_front();
                const std::string remote = detail::smb::join(base, folder);
                auto listed = read_folder(remote);
                if (!listed) {
                    const Failure& failure = listed.error();
                    if (folder.empty() && (failure.error == ENOENT || failure.error == ENOTDIR))
                        return fail(ErrorKind::not_found, "remote folder not found", remote,
                                    connection_);
                    if (auto fatal = failed(folder, listing_error(failure, remote)))
                        return fail(std::move(*fatal));
                    continue;
                }
                take(folder, *listed);
                continue;
            }

            // In parallel: each listing process lists one folder at a time.
            working.resize(listers_.size());
            received.resize(listers_.size());
            bool lost = false;
            std::vector<::pollfd> waiting;
            std::vector<std::size_t> waiting_for;
            for (std::size_t i = 0; i < listers_.size() && !lost; ++i) {
                if (!working[i] && !pending.empty()) {
                    working[i] = std::move(pending.front());
                    pending.pop_front();
                    lost = !detail::smb::send_message(listers_[i].fd, Message::list,
                                                      detail::smb::join(base, *working[i]));
                }
                if (working[i]) {
                    waiting.push_back(::pollfd{listers_[i].fd, POLLIN, 0});
                    waiting_for.push_back(i);
                }
            }
            if (lost) {
                abandon();
                continue;
            }
            if (waiting.empty())
                return {};
            const int ready =
                ::poll(waiting.data(), waiting.size(), (2 * timeout_seconds_ + 5) * 1000);
            if (ready < 0 && errno == EINTR)
                continue;
            if (ready <= 0) {
                abandon();
                continue;
            }
            for (std::size_t w = 0; w < waiting.size() && !lost; ++w) {
                if (waiting[w].revents == 0)
                    continue;
                const std::size_t i = waiting_for[w];
                Message type{};
                std::string_view payload;
                if (!detail::smb::receive_message(listers_[i].fd, channel_, type, payload) ||
                    (type == Message::items && !decode_items(payload, received[i])) ||
                    (type != Message::items && type != Message::done && type != Message::failed)) {
                    lost = true;
                    break;
                }
                if (type == Message::items)
                    continue;
                const std::string folder = std::move(*working[i]);
                working[i].reset();
                if (type == Message::done)
                    take(folder, received[i]);
                else if (auto fatal =
                             failed(folder, decode_error(payload, detail::smb::join(base, folder))))
                    return fail(std::move(*fatal));
                received[i].clear();
            }
            if (lost)
                abandon();
        }
    }

    // Downloads run in a process of this instance's own (see start_helper); where none can be
    // started, here.
    expected<std::optional<std::int64_t>, UsageError> retrieve(const RemoteEntry& entry,
                                                               ChunkWriter out) override {
        if (!helpers_off_ && (helper_.pid > 0 || start_helper()))
            return retrieve_there(entry, out);
        return retrieve_here(entry, out);
    }

  private:
    expected<std::optional<std::int64_t>, UsageError> retrieve_here(const RemoteEntry& entry,
                                                                    ChunkWriter out) {
        if (context_ == nullptr && !lost_) // it went to a helper that was then given up
            if (auto connected = connect(); !connected) {
                auto error = connected.error();
                error.path = entry.path;
                return fail(std::move(error));
            }
        if (auto usable = ready(); !usable) {
            auto error = usable.error();
            error.path = entry.path;
            return fail(std::move(error));
        }
        // Three round trips per small file: open, one read, close. The mtime comes from the
        // listing (an fstat would cost a fourth), and a file that fits one read is asked for
        // exactly its listed size: libsmbclient answers a short read by asking again, and that
        // second READ would only report the end. Larger files are read until a read returns
        // nothing, so one rewritten while it downloads shows in its size and is refused. (A small
        // file rewritten with another size between listing and download is cut or short; the
        // next listing shows its new size and mtime and downloads it again.)
        OpenFile file{context_};
        {
            detail::smb::Call call;
            load_client_config();
            file.handle =
                smbc_getFunctionOpen(context_)(context_, url(entry.locator).c_str(), O_RDONLY, 0);
            const int error = errno;
            if (file.handle == nullptr)
                return fail(transfer_error(error, entry.path, "cannot open"));
        }
        if (block_.empty()) {
            own_block_.resize(block_size);
            block_ = own_block_;
        }
        for (std::uint64_t total = 0;;) {
            const std::size_t want =
                entry.size > total ? static_cast<std::size_t>(
                                         std::min<std::uint64_t>(block_.size(), entry.size - total))
                                   : block_.size();
            ssize_t got = 0;
            int error = 0;
            {
                detail::smb::Call call;
                got = smbc_getFunctionRead(context_)(context_, file.handle, block_.data(), want);
                error = errno;
            }
            if (got < 0)
                return fail(transfer_error(error, entry.path, "cannot read"));
            if (got == 0)
                break;
            if (auto written = out(std::span{block_.data(), static_cast<std::size_t>(got)});
                !written)
                return fail(written.error());
            total += static_cast<std::uint64_t>(got);
            if (total == entry.size && entry.size <= block_.size())
                break;
        }
        return std::nullopt;
    }

    // Read size per smbc_read call. 50 MB file over loopback from Samba 4.17, median MB/s of 7
    // runs: 64 KiB 475, 128 KiB 686, 256 KiB 924, 512 KiB 1200, 1 MiB 1338, 2 MiB 1431,
    // 4 MiB 1460, 8 MiB 1380. libsmbclient splits a large read into pipelined SMB2 reads, so
    // large blocks also hide network latency.
    static constexpr std::size_t block_size = std::size_t{4} << 20;
    // A download process reads the next block into one slot of the shared mapping while the
    // instance writes the other to disk (1 GiB warm: 0.82 s with one slot, smbclient 0.52 s).
    static constexpr std::size_t slots = 2;

    struct Item {
        std::string name;
        bool is_folder = false;
        bool is_link = false; // a reparse point: junction or symbolic link
        std::uint64_t size = 0;
        std::int64_t mtime = 0;
    };

    struct Failure {
        int error = 0;
        bool bad_name = false; // the listing had a name libsmbclient refuses
    };

    // Closes the remote file, under the library lock, however retrieve() ends.
    struct OpenFile {
        SMBCCTX* context;
        SMBCFILE* handle = nullptr;
        explicit OpenFile(SMBCCTX* owner) noexcept : context(owner) {}
        OpenFile(const OpenFile&) = delete;
        OpenFile& operator=(const OpenFile&) = delete;
        ~OpenFile() {
            if (handle == nullptr)
                return;
            detail::smb::Call call;
            smbc_getFunctionClose(context)(context, handle);
        }
    };

    static constexpr std::uint16_t reparse_point = 0x400; // FILE_ATTRIBUTE_REPARSE_POINT
    static constexpr std::uint16_t directory = 0x10;      // FILE_ATTRIBUTE_DIRECTORY

    // libsmbclient asks for credentials whenever it logs in (again): after a reconnect too.
    static void authenticate(SMBCCTX* context, const char* /*server*/, const char* /*share*/,
                             char* workgroup, int workgroup_size, char* user, int user_size,
                             char* password, int password_size) {
        const auto* self = static_cast<const SmbPlugin*>(smbc_getOptionUserData(context));
        if (self == nullptr)
            return;
        copy_to(self->domain_, workgroup, workgroup_size);
        copy_to(self->user_, user, user_size);
        copy_to(self->password_, password, password_size);
    }

    static void copy_to(const std::string& from, char* to, int size) {
        if (to == nullptr || size <= 0)
            return;
        const std::size_t n = std::min(from.size(), static_cast<std::size_t>(size) - 1);
        std::memcpy(to, from.data(), n);
        to[n] = '\0';
    }

    // ---- Download processes -----------------------------------------------------------------
    // libsmbclient allows one call at a time per process (see detail::smb::Library), so parallel
    // downloads need processes: each instance that downloads forks one, which logs in on its own
    // connection and serves this instance's retrieve() calls. Forking, not executing a program,
    // keeps the password out of any command line; the process ends when the instance disconnects
    // and, through PR_SET_PDEATHSIG, when the thread that started it ends.
    struct Helper {
        pid_t pid = -1;
        int fd = -1;                 // this side of the socket pair
        std::byte* shared = nullptr; // slots blocks of block_size, mapped in both processes
    };

    static constexpr std::size_t request_limit = 128 * 1024; // locator and path of one file

    static constexpr std::size_t listing_processes = 3;

    // Starts the download process of this instance.
    bool start_helper() {
        auto started = spawn_helper();
        if (!started)
            return false;
        helper_ = *started;
        release_context(); // the helper has its own connection; this one would only idle
        return true;
    }

    // Starts up to `folders` (at most listing_processes) listing processes, once; whether any run.
    bool start_listers(std::size_t folders) {
        while (listers_.size() < std::min(folders, listing_processes)) {
            auto started = spawn_helper();
            if (!started)
                break;
            listers_.push_back(*started);
        }
        return !listers_.empty();
    }

    std::optional<Helper> spawn_helper() {
        void* shared = ::mmap(nullptr, slots * block_size, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED)
            return std::nullopt;
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
            ::munmap(shared, slots * block_size);
            return std::nullopt;
        }
        pid_t pid = -1;
        {
            // Under the library lock no thread is inside libsmbclient: the child's copy of its
            // process-wide state is consistent.
            detail::smb::Call call;
            pid = ::fork();
            if (pid == 0) {
                call.release_in_child();
                ::close(fds[0]);
                serve(fds[1], static_cast<std::byte*>(shared));
            }
        }
        ::close(fds[1]);
        if (pid < 0) {
            ::close(fds[0]);
            ::munmap(shared, slots * block_size);
            return std::nullopt;
        }
        channel_.resize(request_limit);
        return Helper{pid, fds[0], static_cast<std::byte*>(shared)};
    }

    // The error for a folder that cannot be listed.
    UsageError listing_error(const Failure& failure, const std::string& remote) {
        if (failure.bad_name)
            return error(ErrorKind::protocol,
                         "cannot list: it holds a name the SMB client refuses (one with a "
                         "backslash); ask the server's admin to rename it",
                         remote);
        return transfer_error(failure.error, remote, "cannot list");
    }

    static std::string encode_error(const UsageError& e) {
        std::string out(1, static_cast<char>(e.kind));
        out += e.message;
        out += '\0';
        out += e.path;
        return out;
    }

    UsageError decode_error(std::string_view payload, const std::string& path) const {
        if (payload.empty())
            return error(ErrorKind::internal, "an SMB process sent an empty error", path);
        const auto kind = static_cast<unsigned char>(payload.front());
        payload.remove_prefix(1);
        const auto zero = payload.find('\0');
        return error(kind <= static_cast<unsigned char>(ErrorKind::internal)
                         ? static_cast<ErrorKind>(kind)
                         : ErrorKind::internal,
                     std::string{payload.substr(0, zero)},
                     zero == std::string_view::npos || zero + 1 == payload.size()
                         ? path
                         : std::string{payload.substr(zero + 1)});
    }

    // A listed entry on the wire: flags (1: folder, 2: link), size and mtime (8 each), the
    // name's length (2) and the name.
    static void encode_item(const Item& item, std::string& out) {
        const char flags = static_cast<char>((item.is_folder ? 1 : 0) | (item.is_link ? 2 : 0));
        out += flags;
        out += detail::smb::encode_size(item.size);
        out += detail::smb::encode_size(static_cast<std::uint64_t>(item.mtime));
        const auto length =
            static_cast<std::uint16_t>(std::min<std::size_t>(item.name.size(), 0xffff));
        out.append(reinterpret_cast<const char*>(&length), 2);
        out.append(item.name, 0, length);
    }

    static bool decode_items(std::string_view payload, std::vector<Item>& out) {
        while (!payload.empty()) {
            if (payload.size() < 19)
                return false;
            Item item;
            item.is_folder = (payload[0] & 1) != 0;
            item.is_link = (payload[0] & 2) != 0;
            item.size = detail::smb::decode_size(payload.substr(1));
            item.mtime = static_cast<std::int64_t>(detail::smb::decode_size(payload.substr(9)));
            std::uint16_t length = 0;
            std::memcpy(&length, payload.data() + 17, 2);
            payload.remove_prefix(19);
            if (payload.size() < length)
                return false;
            item.name = std::string{payload.substr(0, length)};
            payload.remove_prefix(length);
            out.push_back(std::move(item));
        }
        return true;
    }

    // The helper's life: one file per request, until this instance closes its end.
    [[noreturn]] void serve(int fd, std::byte* shared) noexcept {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        // Ctrl-C and the like are for the instance's process, which then stops this one.
        sigset_t quiet;
        sigemptyset(&quiet);
        for (const int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT})
            sigaddset(&quiet, signal);
        ::pthread_sigmask(SIG_BLOCK, &quiet, nullptr);
        // Keeps no descriptor of the parent's open: not its SMB connections, files or cache lock.
        if (fd > 3)
            ::close_range(3, static_cast<unsigned>(fd) - 1, 0);
        ::close_range(static_cast<unsigned>(fd) + 1, ~0U, 0);
        context_ = nullptr; // the parent's copy: never used or freed here
        block_ = std::span{shared, block_size};
        std::optional<UsageError> broken;
        if (auto connected = connect(); !connected)
            broken = connected.error();
        std::vector<char> buffer(request_limit);
        using detail::smb::Message;
        Message type{};
        std::string_view payload;
        while (detail::smb::receive_message(fd, buffer, type, payload)) {
            if (type == Message::list) {
                const std::string folder{payload};
                auto listed = broken ? expected<std::vector<Item>, Failure>{} : read_folder(folder);
                bool sent = true;
                if (broken) {
                    sent = detail::smb::send_message(fd, Message::failed, encode_error(*broken));
                } else if (!listed) {
                    sent = detail::smb::send_message(
                        fd, Message::failed, encode_error(listing_error(listed.error(), folder)));
                } else {
                    std::string batch;
                    for (const Item& item : *listed) {
                        encode_item(item, batch);
                        if (batch.size() > 60 * 1024) {
                            sent = sent && detail::smb::send_message(fd, Message::items, batch);
                            batch.clear();
                        }
                    }
                    if (!batch.empty())
                        sent = sent && detail::smb::send_message(fd, Message::items, batch);
                    sent = sent && detail::smb::send_message(fd, Message::done);
                }
                if (!sent)
                    break;
                continue;
            }
            if (type != Message::request)
                break;
            RemoteEntry entry;
            entry.size = detail::smb::decode_size(payload);
            payload.remove_prefix(std::min<std::size_t>(8, payload.size()));
            const auto zero = payload.find('\0');
            entry.locator = std::string{payload.substr(0, zero)};
            if (zero != std::string_view::npos)
                entry.path = std::string{payload.substr(zero + 1)};
            // Blocks go out alternately from the slots; one is read into only once the instance
            // answered for the block it held.
            std::size_t slot = 0;
            std::size_t unanswered = 0;
            block_ = std::span{shared, block_size};
            const auto answered = [&] {
                if (!detail::smb::receive_message(fd, buffer, type, payload))
                    ::_exit(0);
                --unanswered;
                return type == Message::ack;
            };
            expected<std::optional<std::int64_t>, UsageError> result =
                broken ? expected<std::optional<std::int64_t>, UsageError>{fail(*broken)}
                       : retrieve_here(
                             entry,
                             [&](std::span<const std::byte> chunk) -> expected<void, UsageError> {
                                 // The chunk is block_, the slot, from its start.
                                 if (!detail::smb::send_message(
                                         fd, Message::chunk,
                                         detail::smb::encode_size(chunk.size()) +
                                             static_cast<char>(slot)))
                                     ::_exit(0);
                                 ++unanswered;
                                 slot = (slot + 1) % slots;
                                 block_ = std::span{shared + slot * block_size, block_size};
                                 if (unanswered == slots && !answered())
                                     return fail(ErrorKind::cancelled, "stopped");
                                 return {};
                             });
            while (unanswered > 0)
                answered();
            if (!detail::smb::send_message(fd, result ? Message::done : Message::failed,
                                           result ? std::string{} : encode_error(result.error())))
                break;
        }
        ::_exit(0);
    }

    expected<std::optional<std::int64_t>, UsageError> retrieve_there(const RemoteEntry& entry,
                                                                     ChunkWriter out) {
        using detail::smb::Message;
        const auto gone = [&] {
            stop_helper();
            return fail(error(ErrorKind::internal,
                              "the SMB download process ended unexpectedly; the next run tries "
                              "again",
                              entry.path));
        };
        if (entry.locator.size() + entry.path.size() + 16 > request_limit)
            return fail(error(ErrorKind::protocol, "the remote path is too long", entry.path));
        const std::string request =
            detail::smb::encode_size(entry.size) + entry.locator + '\0' + entry.path;
        if (!detail::smb::send_message(helper_.fd, Message::request, request))
            return gone();
        std::optional<UsageError> writing; // the writer's error wins over what follows from it
        bool written_any = false;
        Message type{};
        std::string_view payload;
        for (;;) {
            if (!answers_in_time(helper_.fd)) {
                // Stuck (a helper forked while another thread held an allocator lock can hang):
                // this instance goes on without processes.
                give_up_helpers();
                if (!written_any)
                    return retrieve_here(entry, out);
                return fail(error(ErrorKind::internal,
                                  "the SMB download process stopped answering; the next run "
                                  "tries again",
                                  entry.path));
            }
            if (!detail::smb::receive_message(helper_.fd, channel_, type, payload))
                return gone();
            written_any = written_any || type == Message::chunk;
            if (type == Message::chunk) {
                if (payload.size() != 9 || static_cast<std::size_t>(payload[8]) >= slots)
                    return gone();
                const auto size =
                    std::min<std::uint64_t>(detail::smb::decode_size(payload), block_size);
                const std::byte* block =
                    helper_.shared + static_cast<std::size_t>(payload[8]) * block_size;
                if (!writing)
                    if (auto written =
                            out(std::span<const std::byte>{block, static_cast<std::size_t>(size)});
                        !written)
                        writing = written.error();
                if (!detail::smb::send_message(helper_.fd, writing ? Message::stop : Message::ack))
                    return gone();
                continue;
            }
            if (writing)
                return fail(std::move(*writing));
            if (type == Message::done)
                return std::nullopt;
            if (type != Message::failed)
                return gone();
            return fail(decode_error(payload, entry.path));
        }
    }

    static void stop(Helper& helper) noexcept {
        if (helper.pid <= 0)
            return;
        ::close(helper.fd);
        // Killed, not asked: it may be waiting for a server that no longer answers. The kernel
        // closes its connection; nothing of it is on the local disk.
        ::kill(helper.pid, SIGKILL);
        while (::waitpid(helper.pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        ::munmap(helper.shared, slots * block_size);
        helper = Helper{};
    }

    void stop_helper() noexcept { stop(helper_); }

    void stop_helpers() noexcept {
        stop_helper();
        for (Helper& lister : listers_)
            stop(lister);
        listers_.clear();
    }

    void give_up_helpers() noexcept {
        stop_helpers();
        helpers_off_ = true;
    }

    // Whether a helper's next message arrives while libsmbclient could still be waiting for the
    // server (its own waits end after the time-out).
    bool answers_in_time(int fd) const {
        ::pollfd wait{fd, POLLIN, 0};
        const int patience_ms = (2 * timeout_seconds_ + 5) * 1000;
        for (;;) {
            const int ready = ::poll(&wait, 1, patience_ms);
            if (ready < 0 && errno == EINTR)
                continue;
            return ready != 0;
        }
    }

    void release_context() noexcept {
        if (context_ == nullptr)
            return;
        detail::smb::Call call;
        smbc_free_context(context_, 1);
        context_ = nullptr;
        auto& library = detail::smb::library();
        if (--library.contexts == 0)
            library.loaded_config.clear(); // libsmbclient dropped it with its last context
    }

    expected<void, UsageError> create_context() {
        detail::smb::Call call;
        SMBCCTX* context = smbc_new_context();
        if (context == nullptr)
            return fail(ErrorKind::internal,
                        "cannot start the SMB client: " + std::generic_category().message(errno),
                        {}, connection_);
        smbc_setDebug(context, 0);
        smbc_setOptionDebugToStderr(context, 1); // never stdout, should the callback be reset
        smbc_setLogCallback(context, nullptr, &detail::smb::keep_log);
        smbc_setFunctionAuthDataWithContext(context, &SmbPlugin::authenticate);
        smbc_setOptionUserData(context, this);
        smbc_setWorkgroup(context, domain_.c_str());
        smbc_setUser(context, user_.c_str());
        smbc_setPort(context, port_);
        smbc_setTimeout(context, timeout_seconds_ * 1000);
        smbc_setOptionUseKerberos(context, 0);
        smbc_setOptionFallbackAfterKerberos(context, 0);
        smbc_setOptionUseCCache(context, 0);
        smbc_setOptionNoAutoAnonymousLogin(context, 1);
        smbc_setOptionSmbEncryptionLevel(context, encrypt_ ? SMBC_ENCRYPTLEVEL_REQUIRE
                                                           : SMBC_ENCRYPTLEVEL_NONE);
        if (smbc_init_context(context) == nullptr) {
            // Not freed: smbc_free_context() of an uninitialised context decrements libsmbclient's
            // count of initialised ones and may unload the library under other instances.
            return fail(ErrorKind::internal,
                        "cannot start the SMB client: " + std::generic_category().message(errno),
                        {}, connection_);
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
    std::string client_config() const {
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
    void load_client_config() {
        auto& library = detail::smb::library();
        const std::string config = client_config();
        if (library.loaded_config == config)
            return;
        const int fd = ::memfd_create("kitovu-smb.conf", MFD_CLOEXEC);
        if (fd < 0)
            return;
        bool written =
            ::write(fd, config.data(), config.size()) == static_cast<ssize_t>(config.size());
        const std::string path = "/proc/self/fd/" + std::to_string(fd);
        if (written && smbc_setConfiguration(context_, path.c_str()) == 0)
            library.loaded_config = config;
        ::close(fd);
    }

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
            return fail(ErrorKind::internal, "not connected", {}, connection_);
        if (lost_)
            return fail(*lost_);
        return {};
    }

    UsageError error(ErrorKind kind, std::string message, std::string path = {}) const {
        return UsageError{kind, std::move(message), connection_, std::move(path), {}};
    }

    static std::string network_reason(int error, int timeout_seconds) {
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

    static bool is_network_error(int error) {
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

    UsageError unreachable(std::string reason) const {
        return error(ErrorKind::connection, "cannot reach " + where() + " (" + reason +
                                                ") — are you on the university network or VPN?");
    }

    // What a failed stat of the share's root means. errno values as libsmbclient 4.17 sets them
    // against Samba 4.17 (each checked in tests/smb_tests.cpp).
    UsageError connect_error(int code) {
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
    bool can_log_in() {
        detail::smb::Call call;
        const std::string probe = "smb://" + host_ + "/kitovu-login-check/";
        struct ::stat info {};
        if (smbc_getFunctionStat(context_)(context_, probe.c_str(), &info) == 0)
            return true;
        return errno != EACCES && errno != EPERM;
    }

    static bool resolves(const std::string& host) {
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        const int result = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
        if (found != nullptr)
            ::freeaddrinfo(found);
        return result == 0;
    }

    // The error for a failed list, open or read of `path`, after connect() succeeded.
    UsageError transfer_error(int code, std::string path, std::string_view doing) {
        switch (code) {
        case ENOENT:
        case ENOTDIR:
            return error(ErrorKind::not_found, "no longer on the server", std::move(path));
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
        if (is_network_error(code)) {
            auto lost = error(ErrorKind::connection,
                              "connection to " + where() + " lost (" +
                                  network_reason(code, timeout_seconds_) + ")",
                              std::move(path));
            if (code == ETIMEDOUT)
                lost_ = lost;
            return lost;
        }
        return error(ErrorKind::protocol,
                     std::string{doing} + ": " + std::generic_category().message(code),
                     std::move(path));
    }

    // One folder's entries, read in one go under the library lock (libsmbclient fetches the
    // whole folder at opendir); readdirplus brings attributes, size and times, so no file needs
    // a stat. Not readdirplus2: it fills a struct stat by parsing the entry's URL, which
    // rebuilds the client's credentials from its settings for every entry (a third of the CPU
    // of a no-change sync).
    expected<std::vector<Item>, Failure> read_folder(const std::string& folder) {
        detail::smb::Call call;
        load_client_config();
        auto& library = detail::smb::library();
        library.last_log.clear();
        const std::string folder_url = url(folder);
        SMBCFILE* dir = smbc_getFunctionOpendir(context_)(context_, folder_url.c_str());
        if (dir == nullptr) {
            const int code = errno;
            const bool bad_name = library.last_log.find("bad finfo") != std::string::npos;
            return unexpected{Failure{code, bad_name && code == EINVAL}};
        }
        std::vector<Item> items;
        auto readdirplus = smbc_getFunctionReaddirPlus(context_);
        for (;;) {
            errno = 0;
            const libsmb_file_info* file = readdirplus(context_, dir);
            if (file == nullptr)
                break;
            const std::string_view name = file->name != nullptr ? file->name : "";
            if (name.empty() || name == "." || name == "..")
                continue;
            items.push_back(Item{.name = std::string{name},
                                 .is_folder = (file->attrs & directory) != 0,
                                 .is_link = (file->attrs & reparse_point) != 0,
                                 .size = file->size,
                                 .mtime = file->mtime_ts.tv_sec});
        }
        const int code = errno;
        smbc_getFunctionClosedir(context_)(context_, dir);
        if (code != 0 && code != ENOENT)
            return unexpected{Failure{code, false}};
        return items;
    }

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
    bool helpers_off_ = false;         // a helper got stuck: this instance works in-process only
    std::vector<char> channel_;        // the latest message from the helper
};

inline const PluginRegistry::Add<SmbPlugin> smb_plugin{
    "smb", "a share on a Windows file server, Samba or a NAS (SMB2/3)"};

} // namespace kitovu
