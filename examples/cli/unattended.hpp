// A run nobody watches, such as the systemd timer's (packaging/systemd): it steps aside when
// another sync of the same config is running, and tells the desktop when it ends needing the
// user (conflicts to look at, errors).
#pragma once

#include <kitovu/engine/engine.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace kitovu::cli {

// `kitovu sync --skip-if-running --notify`, as the timer runs it.
struct Unattended {
    bool skip_if_running = false; // another sync of this config is running: exit 0, not 2
    bool notify = false;          // conflicts or errors: a desktop notification
};

struct Notification {
    std::string summary;
    std::string body;
    bool urgent = false; // errors: the desktop keeps it until seen
};

// What the desktop is told when a run ends: nothing when it went well, even with warnings;
// conflicts (the user has two versions to look at) and errors (something was not synced).
// `report` is null when the run could not start (config error, lock, cache); then `problem`
// says why.
inline std::optional<Notification> notification_for(const SyncReport* report,
                                                    const std::string& problem) {
    const std::string see = "details: journalctl --user -u kitovu-sync, or run kitovu sync";
    if (report == nullptr)
        return Notification{"kitovu sync could not run", problem + "\n" + see, true};
    const std::size_t conflicts = report->count(FileState::conflict);
    if (!report->errors.empty()) {
        std::string body = report->errors.front().to_string();
        if (report->errors.size() > 1)
            body += fmt::format("\n(and {} more)", report->errors.size() - 1);
        if (conflicts > 0)
            body += fmt::format("\n{} conflict{}: remote copies saved beside your files", conflicts,
                                conflicts == 1 ? "" : "s");
        return Notification{fmt::format("kitovu sync: {} error{}", report->errors.size(),
                                        report->errors.size() == 1 ? "" : "s"),
                            body + "\n" + see, true};
    }
    if (conflicts > 0) {
        std::string body;
        for (const Warning& warning : report->warnings)
            if (warning.kind == WarningKind::conflict && body.empty())
                body = warning.path;
        if (conflicts > 1)
            body += fmt::format("\n(and {} more)", conflicts - 1);
        return Notification{
            fmt::format("kitovu sync: {} conflict{}", conflicts, conflicts == 1 ? "" : "s"),
            fmt::format("both edited; the remote copy is saved beside:\n{}\n{}", body, see), false};
    }
    return std::nullopt;
}

// The session bus of the user's desktop, if there is one: $DBUS_SESSION_BUS_ADDRESS, else the
// socket systemd's user manager provides at $XDG_RUNTIME_DIR/bus.
inline std::string session_bus() {
    if (const char* address = std::getenv("DBUS_SESSION_BUS_ADDRESS");
        address != nullptr && *address != '\0')
        return address;
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime == nullptr || *runtime != '/')
        return {};
    const std::string socket = std::string{runtime} + "/bus";
    struct ::stat info {};
    return ::stat(socket.c_str(), &info) == 0 && S_ISSOCK(info.st_mode) ? "unix:path=" + socket
                                                                        : std::string{};
}

// Shows `notification` through the freedesktop notification service with notify-send
// (Debian: libnotify-bin), when there is a session bus and notify-send is installed; otherwise,
// or when it fails, nothing happens: a notification is a courtesy, never a reason to fail.
// Waits at most a few seconds, so a desktop that does not answer cannot hold up the run's end.
inline void notify_desktop(const Notification& notification) {
    const std::string bus = session_bus();
    if (bus.empty())
        return;
    std::vector<std::string> environment{"DBUS_SESSION_BUS_ADDRESS=" + bus};
    for (char** entry = environ; *entry != nullptr; ++entry)
        if (!std::string_view{*entry}.starts_with("DBUS_SESSION_BUS_ADDRESS="))
            environment.emplace_back(*entry);
    std::vector<std::string> args{"notify-send",
                                  "--app-name=kitovu",
                                  "--icon=folder-download",
                                  notification.urgent ? "--urgency=critical" : "--urgency=normal",
                                  notification.summary,
                                  notification.body};
    std::vector<char*> argv, envp;
    for (std::string& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    for (std::string& variable : environment)
        envp.push_back(variable.data());
    envp.push_back(nullptr);

    // The run blocks SIGINT and SIGTERM for its signal thread; notify-send must not inherit that.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    pid_t child = -1;
    const int spawned =
        ::posix_spawnp(&child, "notify-send", &files, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0)
        return; // not installed

    constexpr int patience_ms = 5000;
    // Through syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C", so C++ cannot link it.
    const auto pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
    if (pidfd >= 0) {
        pollfd exited{pidfd, POLLIN, 0};
        if (::poll(&exited, 1, patience_ms) == 0)
            ::kill(child, SIGKILL);
        ::close(pidfd);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
}

} // namespace kitovu::cli
