// A private D-Bus session bus with a real gnome-keyring-daemon on it, unlocked and headless, for
// tests: HOME and XDG_RUNTIME_DIR in a temporary folder, so nobody's own keyring is touched and
// every test case has its own (ctest runs them in parallel); process_session() for cases whose
// own process talks to the bus.
#pragma once

#include "process.hpp"
#include "samba_fixture.hpp" // find_program
#include "support.hpp"

#include <gio/gio.h>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace kitovu::test {

class KeyringSession {
  public:
    // With `secret_service` false only the bus runs: a session where no keyring answers.
    explicit KeyringSession(bool secret_service = true) {
        for (const char* program : {"dbus-daemon", "gnome-keyring-daemon", "secret-tool"})
            if (!find_program(program))
                missing_ += std::string{missing_.empty() ? "" : ", "} + program + " not found";
        if (!missing_.empty())
            return;
        std::filesystem::create_directories(dir_ / "home");
        std::filesystem::create_directories(dir_ / "run");
        std::filesystem::permissions(dir_ / "run", std::filesystem::perms::owner_all);
        // No service directories: nothing is started on demand, so a bus without the keyring
        // stays without one.
        write_file(
            dir_ / "bus.conf",
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration "
            "1.0//EN\" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
            "<busconfig><type>session</type><listen>unix:path=" +
                (dir_ / "bus").string() +
                "</listen><auth>EXTERNAL</auth><policy context=\"default\">"
                "<allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>"
                "<allow own=\"*\"/></policy></busconfig>\n");
        start_bus();
        if (secret_service)
            start_keyring();
    }

    ~KeyringSession() {
        stop(keyring_pid_);
        stop(bus_pid_);
    }

    KeyringSession(const KeyringSession&) = delete;
    KeyringSession& operator=(const KeyringSession&) = delete;

    bool available() const noexcept { return missing_.empty(); }
    const std::string& missing() const noexcept { return missing_; }

    // The environment of a program in this session (merged into the test's own).
    Environment environment() const {
        return {{"DBUS_SESSION_BUS_ADDRESS", address_},
                {"HOME", (dir_ / "home").string()},
                {"XDG_RUNTIME_DIR", (dir_ / "run").string()},
                {"XDG_DATA_HOME", ""},
                {"DISPLAY", ""},
                {"KITOVU_KEYRING_TIMEOUT", ""}};
    }

    // What `secret-tool lookup ATTRIBUTE VALUE ...` prints: the secret kept, or "" for none.
    std::string lookup(const std::vector<std::string>& attributes) const {
        std::vector<std::string> args{find_program("secret-tool")->string(), "lookup"};
        args.insert(args.end(), attributes.begin(), attributes.end());
        return run_process(args, environment()).out;
    }

    // The keyring stops answering (its calls are accepted by the bus and never replied to).
    void freeze() { ::kill(keyring_pid_, SIGSTOP); }

    // The Secret Service on this session's bus, if it does not run yet.
    void add_keyring() {
        if (keyring_pid_ < 0)
            start_keyring();
    }

    // Every item kitovu keeps (its schema's) forgotten.
    void forget_kitovu_items() const {
        run_process(
            {find_program("secret-tool")->string(), "clear", "xdg:schema", "org.kitovu.Secret"},
            environment());
    }

  private:
    void start_bus() {
        int address_pipe[2];
        if (::pipe(address_pipe) != 0)
            throw std::runtime_error("no pipe for dbus-daemon");
        bus_pid_ = ::fork();
        if (bus_pid_ == 0) {
            ::close(address_pipe[0]);
            detail::exec({find_program("dbus-daemon")->string(), "--nofork",
                          "--config-file=" + (dir_ / "bus.conf").string(),
                          "--print-address=" + std::to_string(address_pipe[1])},
                         {});
        }
        ::close(address_pipe[1]);
        pollfd ready{address_pipe[0], POLLIN, 0};
        char buffer[512];
        ssize_t n = 0;
        if (::poll(&ready, 1, patience_ms) == 1)
            n = ::read(address_pipe[0], buffer, sizeof buffer);
        ::close(address_pipe[0]);
        if (n <= 0)
            throw std::runtime_error("dbus-daemon did not start");
        address_.assign(buffer, static_cast<std::size_t>(n));
        address_ = address_.substr(0, address_.find('\n'));
    }

    // gnome-keyring-daemon unlocked with a password on stdin (an empty one would make it prompt
    // on a display there is not); ready once it owns the Secret Service's name on the bus.
    void start_keyring() {
        int password_pipe[2];
        if (::pipe(password_pipe) != 0)
            throw std::runtime_error("no pipe for gnome-keyring-daemon");
        const std::string log = (dir_ / "keyring.log").string();
        keyring_pid_ = ::fork();
        if (keyring_pid_ == 0) {
            ::dup2(password_pipe[0], STDIN_FILENO);
            const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
            ::close(password_pipe[1]);
            detail::exec({find_program("gnome-keyring-daemon")->string(), "--foreground",
                          "--unlock", "--components=secrets"},
                         environment());
        }
        ::close(password_pipe[0]);
        const std::string password = "kitovu-test-keyring";
        [[maybe_unused]] auto written = ::write(password_pipe[1], password.data(), password.size());
        ::close(password_pipe[1]);

        GError* error = nullptr;
        GDBusConnection* bus = g_dbus_connection_new_for_address_sync(
            address_.c_str(),
            static_cast<GDBusConnectionFlags>(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                              G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION),
            nullptr, nullptr, &error);
        if (bus == nullptr) {
            const std::string why = error->message;
            g_error_free(error);
            throw std::runtime_error("cannot connect to the test's bus: " + why);
        }
        bool owned = false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
        while (!owned && std::chrono::steady_clock::now() < deadline &&
               ::waitpid(keyring_pid_, nullptr, WNOHANG) == 0) {
            GVariant* reply = g_dbus_connection_call_sync(
                bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "NameHasOwner", g_variant_new("(s)", "org.freedesktop.secrets"),
                G_VARIANT_TYPE("(b)"), G_DBUS_CALL_FLAGS_NONE, 5000, nullptr, nullptr);
            if (reply != nullptr) {
                gboolean has_owner = FALSE;
                g_variant_get(reply, "(b)", &has_owner);
                g_variant_unref(reply);
                owned = has_owner;
            }
            if (!owned)
                std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
        g_dbus_connection_close_sync(bus, nullptr, nullptr);
        g_object_unref(bus);
        if (!owned)
            throw std::runtime_error("gnome-keyring-daemon did not start: " + read_file(log));
    }

    static void stop(pid_t pid) {
        if (pid <= 0)
            return;
        ::kill(pid, SIGCONT);
        ::kill(pid, SIGTERM);
        detail::wait_for(pid);
    }

    TempDir dir_;
    std::string missing_;
    std::string address_;
    pid_t bus_pid_ = -1;
    pid_t keyring_pid_ = -1;
};

// Like samba_ready: CI fails rather than skipping when the keyring cannot run.
inline bool keyring_ready(const KeyringSession& session);

// The session bus of the whole test process, for cases whose own process talks to it (a window's
// notifications, its keyring): Qt and GLib connect to the session bus once per process and keep
// that connection, so cases sharing a process (gui_tests run without ctest) must share the bus.
// Started by the first caller (gui_main, before Qt) and ended with the process; from then on
// DBUS_SESSION_BUS_ADDRESS points at it.
inline KeyringSession& process_session() {
    static KeyringSession session{false};
    [[maybe_unused]] static const bool pointed = [] {
        if (session.available())
            ::setenv("DBUS_SESSION_BUS_ADDRESS",
                     session.environment().at("DBUS_SESSION_BUS_ADDRESS").c_str(), 1);
        return true;
    }();
    return session;
}

// The process's session with a real keyring on it that keeps no kitovu item (an earlier case's
// are forgotten); null where none can run (as keyring_ready says).
inline KeyringSession* process_keyring() {
    KeyringSession& session = process_session();
    if (!keyring_ready(session))
        return nullptr;
    session.add_keyring();
    session.forget_kitovu_items();
    return &session;
}

inline bool keyring_ready(const KeyringSession& session) {
    if (session.available())
        return true;
    if (std::getenv("CI") != nullptr)
        FAIL("the keyring tests need dbus-daemon, gnome-keyring and libsecret-tools, and CI never "
             "skips: "
             << session.missing());
    WARN("skipped: apt-get install dbus-daemon gnome-keyring libsecret-tools (" << session.missing()
                                                                                << ")");
    return false;
}

} // namespace kitovu::test
