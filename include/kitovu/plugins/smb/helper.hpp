// Helper: the plugin's handle on one helper process (kitovu-smb-helper, src/smb_helper.cpp), which
// runs a libsmbclient session. Started by exec (posix_spawn), never by fork(): a fork of a host
// with threads copies its locks mid-use (a forked helper hung on the allocator's lock under
// ThreadSanitizer), and a helper forked by a thread was tied to that thread. A helper ends when
// its socket closes or it is killed; it is always waited for, so none is left over or a zombie.
#pragma once

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
        s_ = std::exchange(other.s_, {});
        return *this;
    }
    ~Helper() { end(); }

    // Starts one, which logs in as `login` says (at once, or once told: Login::parked).
    static expected<Helper, UsageError> start(const Login& login) {
        const std::string program = helper_program();
        Helper helper;
        int pair[2] = {-1, -1};
        const int memory = ::memfd_create("kitovu-smb-blocks", MFD_CLOEXEC);
        void* shared = MAP_FAILED;
        if (memory >= 0 && ::ftruncate(memory, slots * block_size) == 0)
            shared =
                ::mmap(nullptr, slots * block_size, PROT_READ | PROT_WRITE, MAP_SHARED, memory, 0);
        int code = shared == MAP_FAILED ||
                           ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0
                       ? errno
                       : 0;
        helper.s_ = {.fd = pair[0],
                     .shared = shared == MAP_FAILED ? nullptr : static_cast<std::byte*>(shared),
                     .parked = login.parked};
        pid_t pid = -1;
        if (code == 0)
            code = spawn(program, pair[1], memory, pid);
        for (const int fd : {pair[1], memory})
            if (fd >= 0)
                ::close(fd);
        // glibc 2.36 has pidfd_open, but C++ cannot link its wrapper.
        if (code == 0 &&
            (helper.s_.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) < 0) {
            code = errno;
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        if (code == 0 && !helper.send(Message::login, encode(login)))
            code = EPIPE;
        if (code != 0)
            return fail(error(ErrorKind::internal, "cannot start the SMB helper " + program + ": " +
                                                       std::generic_category().message(code)));
        return helper;
    }

    explicit operator bool() const { return s_.pidfd >= 0; }
    int fd() const { return s_.fd; }
    bool ready() const { return s_.ready; }
    void set_ready() { s_.ready = true; }
    bool parked() const { return s_.parked; }
    // Tells a parked helper to log in.
    void go() { s_.parked = s_.parked && !send(Message::go); }

    bool send(Message type, std::string_view payload = {}) const {
        return send_message(s_.fd, type, payload);
    }
    bool receive(Message& type, std::string_view& payload) {
        return receive_message(s_.fd, buffer_, type, payload);
    }
    std::span<const std::byte> slot(std::size_t index, std::size_t size) const {
        return {s_.shared + index * block_size, std::min(size, block_size)};
    }
    // Reads what an idle helper said meanwhile, without waiting: whether it is of use (not where
    // its login failed or it is gone: its socket then reads as closed).
    bool hear_ready() {
        for (::pollfd in{s_.fd, POLLIN, 0}; ::poll(&in, 1, 0) == 1;) {
            Message type{};
            std::string_view payload;
            if (s_.ready || !receive(type, payload) || (type == Message::ready && !payload.empty()))
                return false;
            s_.ready = type == Message::ready;
        }
        return true;
    }

    // Killed, not asked: it may wait for a server that no longer answers. The kernel closes its
    // connections; nothing of it is on the local disk.
    void kill() const noexcept {
        if (s_.pidfd >= 0)
            ::syscall(SYS_pidfd_send_signal, s_.pidfd, SIGKILL, nullptr, 0);
    }
    void end() noexcept {
        kill();
        if (s_.fd >= 0)
            ::close(s_.fd);
        siginfo_t info{};
        // ECHILD where the host ignores SIGCHLD (the kernel reaped it) or reaped it itself.
        while (s_.pidfd >= 0 &&
               ::waitid(static_cast<idtype_t>(P_PIDFD_), static_cast<id_t>(s_.pidfd), &info,
                        WEXITED) < 0 &&
               errno == EINTR) {
        }
        if (s_.pidfd >= 0)
            ::close(s_.pidfd);
        if (s_.shared != nullptr)
            ::munmap(s_.shared, slots * block_size);
        s_ = {};
    }

  private:
    static constexpr int P_PIDFD_ = 3; // <linux/wait.h>; glibc 2.36 has no name for it

    // The helper with its socket as descriptor 3 and the block slots' memory file as 4, in a
    // process group of its own (a terminal's Ctrl-C is for the host, which then ends it), every
    // signal at its default and none blocked, whatever the host set.
    static int spawn(const std::string& program, int channel, int memory, pid_t& pid) {
        // Above 4 first: dup2 onto 3 and 4 must not overwrite the other.
        const int high_channel = ::fcntl(channel, F_DUPFD_CLOEXEC, 10);
        const int high_memory = ::fcntl(memory, F_DUPFD_CLOEXEC, 10);
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attributes;
        ::posix_spawn_file_actions_init(&actions);
        for (const int fd : {0, 1, 2})
            ::posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0);
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
        char name[] = "kitovu-smb-helper", serve[] = "--serve";
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

    struct State {
        int pidfd = -1;
        int fd = -1;
        std::byte* shared = nullptr; // the two block slots, mapped here and in the helper
        bool ready = false;          // its login is over (Message::ready was read)
        bool parked = false;         // waits for Message::go
    } s_;
    std::vector<char> buffer_; // the latest message
};

} // namespace kitovu::detail::smb
