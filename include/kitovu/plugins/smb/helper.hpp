// Helper: the plugin's handle on one helper process (kitovu-smb-helper, helper_main.hpp), which
// runs a libsmbclient session. Started by exec (posix_spawn), never by fork(): a fork of a host
// with threads copies its locks mid-use (a forked helper hung on the allocator's lock under
// ThreadSanitizer), and a helper forked by a thread was tied to that thread. A helper ends when
// its socket closes or it is killed; it is always waited for, so none is left over or a zombie.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/plugins/smb/wire.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

extern char** environ;

#ifndef KITOVU_SMB_HELPER
#define KITOVU_SMB_HELPER "/usr/libexec/kitovu/kitovu-smb-helper"
#endif

namespace kitovu::detail::smb {

// The helper program: $KITOVU_SMB_HELPER (tests, a build tree), else beside the running program
// as installed (BIN/../libexec/kitovu/), else where the build that compiled this put it
// (CMake's kitovu::smb says where: its build tree, or its install prefix for find_package users).
inline std::string helper_program() {
    if (const char* set = std::getenv("KITOVU_SMB_HELPER"); set != nullptr && *set != '\0')
        return set;
    std::error_code ignored;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ignored);
    const auto beside = self.parent_path().parent_path() / "libexec/kitovu/kitovu-smb-helper";
    if (!self.empty() && ::access(beside.c_str(), X_OK) == 0)
        return beside.string();
    return KITOVU_SMB_HELPER;
}

class Helper {
  public:
    Helper() = default;
    Helper(Helper&& other) noexcept { *this = std::move(other); }
    Helper& operator=(Helper&& other) noexcept {
        end();
        pidfd_ = std::exchange(other.pidfd_, -1);
        fd_ = std::exchange(other.fd_, -1);
        shared_ = std::exchange(other.shared_, nullptr);
        ready_ = other.ready_;
        parked = other.parked;
        return *this;
    }
    ~Helper() { end(); }

    // Starts one, which logs in as `login` says (at once, or once told: Login::parked).
    static expected<Helper, UsageError> start(const Login& login) {
        Helper helper;
        const std::string program = helper_program();
        const auto cannot = [&](int code) {
            return fail(UsageError{ErrorKind::internal,
                                   "cannot start the SMB helper " + program + ": " +
                                       std::generic_category().message(code),
                                   {},
                                   {},
                                   {}});
        };
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
            return cannot(errno);
        helper.fd_ = pair[0];
        const int memory = ::memfd_create("kitovu-smb-blocks", MFD_CLOEXEC);
        void* shared = memory < 0 || ::ftruncate(memory, slots * block_size) != 0
                           ? MAP_FAILED
                           : ::mmap(nullptr, slots * block_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                                    memory, 0);
        const int code = errno;
        pid_t pid = -1;
        const int spawned = shared == MAP_FAILED ? code : spawn(program, pair[1], memory, pid);
        ::close(pair[1]);
        if (memory >= 0)
            ::close(memory);
        if (shared != MAP_FAILED)
            helper.shared_ = static_cast<std::byte*>(shared);
        if (spawned != 0)
            return cannot(spawned);
        helper.pidfd_ = static_cast<int>(
            ::syscall(SYS_pidfd_open, pid, 0)); // glibc 2.36: C++ cannot link its wrapper
        if (helper.pidfd_ < 0) {
            ::kill(pid, SIGKILL); // it ended at once and nobody could wait for it: a zombie here
            ::waitpid(pid, nullptr, 0);
            return cannot(errno);
        }
        helper.parked = login.parked;
        if (!helper.send(Message::login, encode_login(login)))
            return cannot(EPIPE);
        return helper;
    }

    explicit operator bool() const { return pidfd_ >= 0; }
    int fd() const { return fd_; }
    bool ready() const { return ready_; }
    void set_ready() { ready_ = true; }
    bool parked = false; // waits for Message::go

    bool send(Message type, std::string_view payload = {}) const {
        return send_message(fd_, type, payload);
    }
    bool receive(Message& type, std::string_view& payload) {
        return receive_message(fd_, buffer_, type, payload);
    }
    std::span<const std::byte> slot(std::size_t index, std::size_t size) const {
        return {shared_ + index * block_size, std::min(size, block_size)};
    }
    // Whether the process still runs (it may have been ended by a signal of its own).
    bool alive() const {
        ::pollfd exited{pidfd_, POLLIN, 0};
        return pidfd_ >= 0 && ::poll(&exited, 1, 0) == 0;
    }

    // Killed, not asked: it may wait for a server that no longer answers. The kernel closes its
    // connections; nothing of it is on the local disk.
    void kill() const noexcept {
        if (pidfd_ >= 0)
            ::syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
    }
    void end() noexcept {
        if (pidfd_ < 0)
            return;
        kill();
        ::close(fd_);
        siginfo_t info{};
        // ECHILD where the host ignores SIGCHLD (the kernel reaped it) or reaped it itself.
        while (::waitid(static_cast<idtype_t>(P_PIDFD_), static_cast<id_t>(pidfd_), &info,
                        WEXITED) < 0 &&
               errno == EINTR) {
        }
        ::close(pidfd_);
        ::munmap(shared_, slots * block_size);
        pidfd_ = fd_ = -1;
        shared_ = nullptr;
        ready_ = false;
    }

  private:
    static constexpr int P_PIDFD_ = 3; // <linux/wait.h>; glibc 2.36 has no name for it

    // The helper with its socket as descriptor 3 and the block slots' memory file as 4, in a
    // process group of its own (a terminal's Ctrl-C is for the host, which then ends it), every
    // signal at its default and none blocked, whatever the host set.
    static int spawn(const std::string& program, int channel, int memory, pid_t& pid) {
        const int high_channel = ::fcntl(channel, F_DUPFD_CLOEXEC, 10);
        const int high_memory = ::fcntl(memory, F_DUPFD_CLOEXEC, 10);
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attributes;
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        ::posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        ::posix_spawn_file_actions_adddup2(&actions, high_channel, 3);
        ::posix_spawn_file_actions_adddup2(&actions, high_memory, 4);
        ::posix_spawnattr_init(&attributes);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        ::posix_spawnattr_setsigmask(&attributes, &none);
        ::posix_spawnattr_setsigdefault(&attributes, &all);
        ::posix_spawnattr_setpgroup(&attributes, 0);
        ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                    POSIX_SPAWN_SETPGROUP);
        char name[] = "kitovu-smb-helper";
        char serve[] = "--serve";
        char* argv[] = {name, serve, nullptr};
        const int result =
            high_channel < 0 || high_memory < 0
                ? EMFILE
                : ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv, environ);
        ::posix_spawnattr_destroy(&attributes);
        ::posix_spawn_file_actions_destroy(&actions);
        for (const int fd : {high_channel, high_memory})
            if (fd >= 0)
                ::close(fd);
        return result;
    }

    int pidfd_ = -1;
    int fd_ = -1;
    std::byte* shared_ = nullptr; // the two block slots, mapped here and in the helper
    std::vector<char> buffer_;    // the latest message
    bool ready_ = false;          // its login is over (Message::ready was read)
};

enum class Heard { message, silence, stop };

// Waits until one of `fds` has a message, `stop_fd` is readable (the run stops), or `limit`
// passes in silence.
inline Heard wait_for(std::vector<::pollfd>& fds, int stop_fd, std::chrono::milliseconds limit) {
    fds.push_back(::pollfd{stop_fd, POLLIN, 0});
    const auto deadline = std::chrono::steady_clock::now() + limit;
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
    return stop ? Heard::stop : ready > 0 ? Heard::message : Heard::silence;
}

} // namespace kitovu::detail::smb
