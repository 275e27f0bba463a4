// Plugin `smb`: a share on a Windows file server, Samba or a NAS, read through libsmbclient.
// Options as in the contract (hostname, port, share, username, domain, signing, encrypt, timeout).
#pragma once

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
        // A server that maps unknown users to guest lets "guest" in with an empty password.
        return {"password", "password-command", "KITOVU_PASSWORD_", "", "guest"};
    }

    SmbPlugin() = default;
    SmbPlugin(const SmbPlugin&) = delete; // libsmbclient holds `this` for the auth callback
    SmbPlugin& operator=(const SmbPlugin&) = delete;
    ~SmbPlugin() override {
        disconnect();
        ::explicit_bzero(password_.data(), password_.size());
        if (stop_fd_ >= 0)
            ::close(stop_fd_);
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
        if (stopping())
            return fail(stopped());
        if (context_ == nullptr)
            if (auto created = create_context(); !created)
                return created;
        lost_.reset();
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
                smbc_setDebug(context_, 5);
            }
            struct ::stat info {};
            result = smbc_getFunctionStat(context_)(context_, url({}).c_str(), &info);
            error = errno;
            if (encrypt_) {
                smbc_setDebug(context_, 0);
                encrypted = !library.unencrypted &&
                            library.last_log.find("Encrypted SMB2 message") != std::string::npos;
                library.unencrypted = false;
            }
        }
        if (result == 0 && encrypted)
            return {};
        if (result == 0) {
            release_context(); // never used unencrypted
            return fail(not_encrypted());
        }
        if (stopping())
            return fail(stopped());
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

        // Samba follows symbolic links and shows a link to a folder as a plain folder, so
        // `up -> ..` or `current -> .` would make an endless tree. Every folder is listed once:
        // a folder whose server file id was listed before (under another path) is skipped. The
        // depth bound catches servers that give no ids.
        std::unordered_map<std::uint64_t, std::string> listed_ids; // file id -> first path
        const auto take = [&](const std::string& folder, std::vector<Item>& items) {
            for (Item& item : items) {
                if (item.name == ".") {
                    if (item.id != 0)
                        listed_ids.try_emplace(item.id, folder);
                    continue;
                }
                std::string path = detail::smb::join(folder, item.name);
                const auto skip = [&](std::string why) {
                    warn(Warning{WarningKind::skipped, std::move(why), connection_,
                                 detail::smb::join(base, path)});
                };
                if (item.is_folder && item.is_link) {
                    // A junction or folder link could loop or lead out of the share.
                    skip("link to a folder skipped");
                    continue;
                }
                if (!keep(path, item.is_folder))
                    continue;
                if (item.is_folder && item.id != 0) {
                    const auto [first, fresh] = listed_ids.try_emplace(item.id, path);
                    if (!fresh) {
                        skip("the same folder as '" + detail::smb::join(base, first->second) +
                             "' (a link to it), skipped: it is synced once");
                        continue;
                    }
                }
                if (item.is_folder && folder_depth(path) > max_depth) {
                    skip("more than " + std::to_string(max_depth) +
                         " folders deep (a loop of links?), skipped");
                    continue;
                }
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
            if (stopping())
                return fail(stopped());
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
                if (!listed && stopping())
                    return fail(stopped());
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
            const Heard heard = wait_for(waiting);
            if (heard == Heard::stop)
                return fail(stopped());
            if (heard == Heard::silence) {
                if (!server_answers()) {
                    lost_ = stopped_answering();
                    return fail(*lost_);
                }
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
                    (type == Message::items && !detail::smb::decode_items(payload, received[i])) ||
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
        auto retrieved = !helpers_off_ && (helper_.pid > 0 || start_helper())
                             ? retrieve_there(entry, out)
                             : retrieve_here(entry, out);
        if (!retrieved && stopping())
            return fail(with_path(stopped(), entry.path));
        return retrieved;
    }

  protected:
    // Wakes the waits of this instance (see wait_for) and, since libsmbclient's own waits
    // cannot be woken, ends the connections they wait on.
    void interrupt() noexcept override {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto ignored = ::write(stop_fd_, &one, sizeof one);
        detail::smb::shut_connections_to(port_);
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
            if (fell_back_to_plain())
                return fail(with_path(*lost_, entry.path));
            if (file.handle == nullptr)
                return fail(transfer_error(error, entry.path, "cannot open"));
        }
        if (block_.empty()) {
            own_block_.resize(block_size);
            block_ = own_block_;
        }
        for (std::uint64_t total = 0;;) {
            if (stopping())
                return fail(with_path(stopped(), entry.path));
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
                if (fell_back_to_plain())
                    return fail(with_path(*lost_, entry.path));
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
        if (failure.unencrypted)
            return with_path(not_encrypted(), remote);
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
                        detail::smb::encode_item(item, batch);
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
            std::vector<::pollfd> waiting{::pollfd{helper_.fd, POLLIN, 0}};
            const Heard heard = wait_for(waiting);
            if (heard == Heard::stop) {
                stop_helper();
                return fail(with_path(stopped(), entry.path));
            }
            if (heard == Heard::silence && !server_answers()) {
                stop_helper();
                lost_ = stopped_answering();
                return fail(with_path(*lost_, entry.path));
            }
            if (heard == Heard::silence) {
                // The server answers but the process does not (a helper forked while another
                // thread held an allocator lock can hang): this instance goes on without
                // processes.
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
            auto failed = decode_error(payload, entry.path);
            if (failed.kind == ErrorKind::connection) // no other file will do better
                lost_ = with_path(failed, {});
            return fail(std::move(failed));
        }
    }

    static void end(Helper& helper) noexcept {
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

    void stop_helper() noexcept { end(helper_); }

    void stop_helpers() noexcept {
        stop_helper();
        for (Helper& lister : listers_)
            end(lister);
        listers_.clear();
    }

    void give_up_helpers() noexcept {
        stop_helpers();
        helpers_off_ = true;
    }

    enum class Heard { message, silence, stop };

    // Waits until one of `fds` (helpers' sockets) has a message, the run is stopped, or the
    // server's time-out and a second pass in silence: a helper's libsmbclient gives up on a
    // server after the time-out and says so, so silence beyond it means a hung server or a stuck
    // helper (server_answers() tells which).
    Heard wait_for(std::vector<::pollfd>& fds) const {
        fds.push_back(::pollfd{stop_fd_, POLLIN, 0});
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::seconds{timeout_seconds_ + 1};
        int ready = 0;
        for (;;) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            ready =
                ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(0, left.count())));
            if (!(ready < 0 && errno == EINTR))
                break;
        }
        const bool stop = fds.back().revents != 0;
        fds.pop_back();
        if (stop || stopping())
            return Heard::stop;
        return ready > 0 ? Heard::message : Heard::silence;
    }

    // Whether the server still answers a new connection's first request within a second.
    bool server_answers() const {
        return detail::smb::probe_dialect(host_, port_, std::chrono::seconds{1}) !=
               detail::smb::Dialect::unknown;
    }

    UsageError stopped() const { return error(ErrorKind::cancelled, "stopped"); }

    UsageError stopped_answering() const {
        return error(ErrorKind::connection,
                     "the server stopped answering for " + std::to_string(timeout_seconds_) + " s");
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

    static UsageError with_path(UsageError error, std::string path) {
        error.path = std::move(path);
        return error;
    }

    UsageError not_encrypted() const {
        return error(ErrorKind::connection,
                     "the server at " + where() +
                         " does not offer SMB3 encryption, which 'encrypt = true' requires; "
                         "nothing was transferred unencrypted");
    }

    // Call with the library lock held, after a call that may have logged in again (libsmbclient
    // reconnects on its own): whether it went on without the required encryption. The server is
    // then taken for lost, and what that call brought is thrown away.
    bool fell_back_to_plain() {
        auto& library = detail::smb::library();
        if (!encrypt_ || !library.unencrypted)
            return false;
        library.unencrypted = false;
        lost_ = not_encrypted();
        return true;
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

    // How libsmbclient reports a server that ends the connection during negotiation.
    static bool closed_at_once(int error) {
        return error == ECONNABORTED || error == ECONNRESET || error == EPIPE || error == ENOTCONN;
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
        if (fell_back_to_plain()) {
            if (dir != nullptr)
                smbc_getFunctionClosedir(context_)(context_, dir);
            return unexpected{Failure{.unencrypted = true}};
        }
        if (dir == nullptr) {
            const int code = errno;
            const bool bad_name = library.last_log.find("bad finfo") != std::string::npos;
            return unexpected{Failure{code, bad_name && code == EINVAL}};
        }
        std::vector<Item> items;
        auto readdirplus = smbc_getFunctionReaddirPlus(context_);
        auto telldir = smbc_getFunctionTelldir(context_);
        for (;;) {
            errno = 0;
            const off_t at = telldir(context_, dir);
            const libsmb_file_info* file = readdirplus(context_, dir);
            if (file == nullptr)
                break;
            const std::string_view name = file->name != nullptr ? file->name : "";
            if (name.empty() || name == "..")
                continue;
            const bool is_folder = (file->attrs & directory) != 0;
            items.push_back(Item{.name = std::string{name},
                                 .is_folder = is_folder,
                                 .is_link = (file->attrs & reparse_point) != 0,
                                 .size = file->size,
                                 .mtime = file->mtime_ts.tv_sec,
                                 .id = is_folder ? folder_id(dir, at, name) : 0});
        }
        const int code = errno;
        smbc_getFunctionClosedir(context_)(context_, dir);
        if (code != 0 && code != ENOENT)
            return unexpected{Failure{code, false}};
        return items;
    }

    // The server's file id of the folder entry just read from `dir` at `at`, or 0. Only
    // readdirplus2 tells it, and that parses the entry's URL: so it is asked for folders only,
    // by going back one entry. The id comes with the listing: no round trip.
    std::uint64_t folder_id(SMBCFILE* dir, off_t at, std::string_view name) {
        const int saved = errno;
        std::uint64_t id = 0;
        struct ::stat info {};
        if (smbc_getFunctionLseekdir(context_)(context_, dir, at) == 0) {
            const libsmb_file_info* again =
                smbc_getFunctionReaddirPlus2(context_)(context_, dir, &info);
            if (again != nullptr && again->name != nullptr && name == again->name)
                id = info.st_ino;
        }
        errno = saved;
        return id;
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
    int stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); // readable once the run stops
};

inline const PluginRegistry::Add<SmbPlugin> smb_plugin{
    "smb", "a share on a Windows file server, Samba or a NAS (SMB2/3)"};

} // namespace kitovu
