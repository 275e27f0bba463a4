// The smb plugin's helper processes: one per instance for downloads, and for listing a tree that
// fans out as many as the link needs (link.hpp). libsmbclient allows one call at a time per process
// (see library.hpp), so parallel work needs processes; they talk to their instance as wire.hpp
// describes. Part of SmbPlugin (plugins/smb.hpp), whose declarations say what each function is for.
#pragma once

#include "kitovu/plugins/smb.hpp"

namespace kitovu {

// Starts the download process of this instance: one that finished listing, where there is one.
inline bool SmbPlugin::start_helper() {
    auto started = take_idle();
    if (!started)
        started = spawn_helper();
    if (!started)
        return false;
    helper_ = *started;
    release_context(); // the helper has its own connection; this one would only idle
    return true;
}

// Grows the listing processes to what `waiting` folders need on this link: those it gave away
// and no download took first, then new ones, which log in at once while the others list.
inline bool SmbPlugin::start_listers(std::size_t waiting) {
    while (!listers_full_ && listers_.size() < listers_for_link(waiting, round_trip_)) {
        auto started = take_idle();
        if (!started)
            started = spawn_helper();
        if (!started) {
            listers_full_ = true;
            break;
        }
        listers_.push_back(*started);
    }
    return !listers_.empty();
}

inline void SmbPlugin::put_idle(Helper& helper) {
    detail::smb::Call call;
    const std::string login = login_key();
    detail::smb::library().idle.emplace_back(login, helper);
    note_idle(login);
    helper = Helper{};
}

// A logged-in one first. One that ended meanwhile is passed over: a helper ends with the thread
// that started it (PR_SET_PDEATHSIG), and an instance that listed in a thread of its own may be
// gone.
inline std::optional<SmbPlugin::Helper> SmbPlugin::take_idle(bool ready_only) {
    detail::smb::Call call;
    auto& idle = detail::smb::library().idle;
    const std::string login = login_key();
    // In place of this instance's own process, only one that lasts while this thread uses it:
    // forked by this thread or the main thread (a helper ends with the thread that forked it).
    const auto fits = [&](bool ready) {
        return [&login, ready, ready_only](const auto& item) {
            const pid_t forker = item.second.forker;
            return item.first == login && (item.second.ready || !ready) &&
                   (!ready_only || forker == ::gettid() || forker == ::getpid());
        };
    };
    for (;;) {
        auto found = std::ranges::find_if(idle, fits(true)); // a ready one first
        if (found == idle.end() && !ready_only)
            found = std::ranges::find_if(idle, fits(false));
        if (found == idle.end()) {
            note_idle(login);
            return std::nullopt;
        }
        Helper helper = found->second;
        idle.erase(found);
        if (::waitpid(helper.pid, nullptr, WNOHANG) != 0) {
            helper.pid = -1; // reaped, or not a child of this process
            ::close(helper.fd);
            ::munmap(helper.shared, slots * block_size);
            continue;
        }
        note_idle(login);
        channel_.resize(request_limit);
        return helper;
    }
}

// With the library lock held.
inline void SmbPlugin::note_idle(const std::string& login) noexcept {
    auto& library = detail::smb::library();
    const auto signal = library.idle_ready.find(login);
    if (signal == library.idle_ready.end())
        return;
    const bool any = std::ranges::any_of(
        library.idle, [&](const auto& item) { return item.first == login && item.second.ready; });
    std::uint64_t count = 1;
    [[maybe_unused]] const auto ignored = any ? ::write(signal->second, &count, sizeof count)
                                              : ::read(signal->second, &count, sizeof count);
}

// With the library lock held.
inline int SmbPlugin::idle_signal(const std::string& login) {
    auto& signals = detail::smb::library().idle_ready;
    auto found = signals.find(login);
    if (found == signals.end()) {
        const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0)
            return -1;
        found = signals.emplace(login, fd).first;
        note_idle(login);
    }
    return found->second;
}

// With the library lock held.
inline void SmbPlugin::end_idle(const std::string& login) noexcept {
    auto& library = detail::smb::library();
    auto& idle = library.idle;
    for (auto& [key, helper] : idle)
        if (key == login)
            kill_helper(helper);
    for (auto& [key, helper] : idle)
        if (key == login)
            reap(helper);
    std::erase_if(idle, [&](const auto& item) { return item.first == login; });
    if (const auto signal = library.idle_ready.find(login); signal != library.idle_ready.end()) {
        ::close(signal->second);
        library.idle_ready.erase(signal);
    }
}

// Over a slow link a login is a dozen round trips and the last round of a listing a few: a
// download process still logging in gives way to a listing process of the same login that
// finished meanwhile. It is ended, not kept for another worker: it ends with the thread that
// started it (PR_SET_PDEATHSIG), which may be done before another worker is. Heard::message once
// this instance's helper is ready (or gone); on silence the caller tells a hung server from a stuck
// process.
inline SmbPlugin::Heard SmbPlugin::await_ready() {
    int signal = -1;
    {
        detail::smb::Call call;
        signal = idle_signal(login_key());
    }
    while (!helper_.ready) {
        std::vector<::pollfd> waiting{::pollfd{helper_.fd, POLLIN, 0}};
        if (signal >= 0)
            waiting.push_back(::pollfd{signal, POLLIN, 0});
        const Heard heard = wait_for(waiting);
        if (heard != Heard::message)
            return heard;
        if (waiting.size() > 1 && waiting[1].revents != 0) {
            if (auto ready = take_idle(true)) {
                end(helper_);
                helper_ = *ready;
            } else {
                signal = -1; // the idle ones are not for this thread: its own process it is
            }
            continue;
        }
        detail::smb::Message type{};
        std::string_view payload;
        if (!detail::smb::receive_message(helper_.fd, channel_, type, payload) ||
            type != detail::smb::Message::ready)
            break; // gone, which the request's send or answer shows
        helper_.ready = true;
    }
    return Heard::message;
}

inline std::optional<SmbPlugin::Helper> SmbPlugin::spawn_helper(bool parked) {
    smbc(); // opened before the fork: the child has no thread that opens it
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
            serve(fds[1], static_cast<std::byte*>(shared), parked);
        }
    }
    ::close(fds[1]);
    if (pid < 0) {
        ::close(fds[0]);
        ::munmap(shared, slots * block_size);
        return std::nullopt;
    }
    channel_.resize(request_limit);
    return Helper{.pid = pid,
                  .fd = fds[0],
                  .shared = static_cast<std::byte*>(shared),
                  .parked = parked,
                  .forker = ::gettid()};
}

inline std::string SmbPlugin::encode_error(const UsageError& e) {
    std::string out(1, static_cast<char>(e.kind));
    out += e.message;
    out += '\0';
    out += e.path;
    return out;
}

inline UsageError SmbPlugin::decode_error(std::string_view payload, const std::string& path) const {
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
[[noreturn]] inline void SmbPlugin::serve(int fd, std::byte* shared, bool parked) noexcept {
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
    fresh_.clear();
    detail::smb::library().idle.clear(); // the parent's, whose descriptors are closed here
    detail::smb::library().idle_ready.clear();
    block_ = std::span{shared, block_size};
    in_helper_ = true;
    listers_.clear(); // the parent's, whose descriptors are closed here
    std::vector<char> buffer(request_limit);
    using detail::smb::Message;
    Message type{};
    std::string_view payload;
    if (parked) {
        // Sets up its client while the instance logs in, then waits for the word that the server
        // took the password (or is ended).
        if (context_ == nullptr && create_context()) {
            detail::smb::Call call;
            load_client_config();
        }
        if (!detail::smb::receive_message(fd, buffer, type, payload) || type != Message::go)
            ::_exit(0);
    }
    std::optional<UsageError> broken;
    if (auto connected = log_in(); !connected)
        broken = connected.error();
    if (!detail::smb::send_message(fd, Message::ready))
        ::_exit(0);
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
        expected<Retrieved, UsageError> result =
            broken
                ? expected<Retrieved, UsageError>{fail(*broken)}
                : retrieve_here(
                      entry, [&](std::span<const std::byte> chunk) -> expected<void, UsageError> {
                          // The chunk is block_, the slot, from its start.
                          if (!detail::smb::send_message(fd, Message::chunk,
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

inline expected<Retrieved, UsageError> SmbPlugin::retrieve_there(const RemoteEntry& entry,
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
    const Heard logged_in = helper_.ready ? Heard::message : await_ready();
    if (logged_in == Heard::message &&
        !detail::smb::send_message(helper_.fd, Message::request, request))
        return gone();
    std::optional<UsageError> writing; // the writer's error wins over what follows from it
    bool written_any = false;
    Message type{};
    std::string_view payload;
    for (bool first = true;; first = false) {
        std::vector<::pollfd> waiting{::pollfd{helper_.fd, POLLIN, 0}};
        const Heard heard = first && logged_in != Heard::message ? logged_in : wait_for(waiting);
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
        if (type == Message::ready) {
            helper_.ready = true;
            continue;
        }
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
            return Retrieved{};
        if (type != Message::failed)
            return gone();
        auto failed = decode_error(payload, entry.path);
        if (failed.kind == ErrorKind::connection) // no other file will do better
            lost_ = with_path(failed, {});
        return fail(std::move(failed));
    }
}

// Killed, not asked: it may be waiting for a server that no longer answers. The kernel closes its
// connection; nothing of it is on the local disk.
inline void SmbPlugin::kill_helper(Helper& helper) noexcept {
    if (helper.pid > 0)
        ::kill(helper.pid, SIGKILL);
}

inline void SmbPlugin::reap(Helper& helper) noexcept {
    if (helper.pid <= 0)
        return;
    ::close(helper.fd);
    while (::waitpid(helper.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    ::munmap(helper.shared, slots * block_size);
    helper = Helper{};
}

inline void SmbPlugin::end(Helper& helper) noexcept {
    kill_helper(helper);
    reap(helper);
}

// All are killed before any is waited for: a process takes milliseconds to go, and a run
// over a slow link ends with seventeen.
inline void SmbPlugin::stop_helpers() noexcept {
    kill_helper(helper_);
    for (Helper& lister : listers_)
        kill_helper(lister);
    stop_helper();
    for (Helper& lister : listers_)
        reap(lister);
    listers_.clear();
}

inline void SmbPlugin::give_up_helpers() noexcept {
    stop_helpers();
    helpers_off_ = true;
}

// Waits until one of `fds` (helpers' sockets) has a message, the run is stopped, or the
// server's time-out and a second pass in silence: a helper's libsmbclient gives up on a
// server after the time-out and says so, so silence beyond it means a hung server or a stuck
// helper (server_answers() tells which).
inline SmbPlugin::Heard SmbPlugin::wait_for(std::vector<::pollfd>& fds) const {
    fds.push_back(::pollfd{stop_fd_, POLLIN, 0});
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds{timeout_seconds_ + 1};
    int ready = 0;
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(0, left.count())));
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
inline bool SmbPlugin::server_answers() const {
    return detail::smb::probe_dialect(host_, port_, std::chrono::seconds{1}) !=
           detail::smb::Dialect::unknown;
}

} // namespace kitovu
