// SambaServer: a real smbd on 127.0.0.1 for the smb plugin's tests, with its own free port,
// throwaway folder, user and shares; it can be stopped and started again mid-test.
#pragma once

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kitovu::test {

// A port on 127.0.0.1 that nobody listened on a moment ago.
inline std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
        if (fd >= 0)
            ::close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

inline bool port_open(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    const bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return open;
}

// The full path of a program in PATH or the sbin folders (root's PATH may lack them in CI).
inline std::optional<std::filesystem::path> find_program(const std::string& name) {
    std::string dirs = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    if (const char* path = std::getenv("PATH"))
        dirs = std::string{path} + ':' + dirs;
    std::istringstream in{dirs};
    for (std::string dir; std::getline(in, dir, ':');)
        if (!dir.empty() && ::access((std::filesystem::path{dir} / name).c_str(), X_OK) == 0)
            return std::filesystem::path{dir} / name;
    return std::nullopt;
}

// What an open /proc file holds; empty when its process ended since it was opened. Reading it
// then fails with ESRCH, which std::ifstream turns into an exception (std::ios_base::failure from
// basic_filebuf::underflow): thrown in the observer that stops a server mid-run, that ended a
// download worker whenever an smbd process ended during the scan.
inline std::string read_proc_file(int fd) {
    std::string content;
    char buffer[4096];
    for (;;) {
        const auto n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? std::string{} : content;
        content.append(buffer, static_cast<std::size_t>(n));
    }
}

// smbd as root on 127.0.0.1:port(), serving, to user() with password():
//   [skripte]   share(), read-only, Samba's defaults (names invalid on Windows are mangled)
//   [raw-names] the same folder with `mangled names = no`
//   [locked]    a share user() is not allowed to open
// Tests change what is served by writing into share() directly: it is a plain folder.
// A case that needs another kind of server adds smb.conf lines to [global] or [skripte].
struct ServerOptions {
    std::string global{};  // e.g. "server smb encrypt = off"
    std::string skripte{}; // e.g. "follow symlinks = yes"
};

class SambaServer {
  public:
    explicit SambaServer(ServerOptions options = {}) : options_(std::move(options)) {
        missing_ = check_prerequisites();
        if (!missing_.empty())
            return;
        // smbd daemonises; as a subreaper this process inherits it and its helpers and can reap
        // them once stopped (a container's init may never do it).
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        char pattern[] = "/tmp/kitovu-samba-XXXXXX";
        if (::mkdtemp(pattern) == nullptr)
            throw std::runtime_error("cannot create a folder for smbd");
        dir_ = pattern;
        try {
            prepare_folders();
            for (int attempt = 1;; ++attempt) {
                port_ = free_port(); // taken meanwhile by someone else: the next attempt
                write_config();
                if (attempt == 1)
                    add_user();
                if (launch())
                    break;
                stop();
                if (attempt == 5)
                    throw std::runtime_error("smbd did not start: " + log_tail());
            }
        } catch (...) {
            clean_up();
            throw;
        }
    }

    ~SambaServer() { clean_up(); }

    SambaServer(const SambaServer&) = delete;
    SambaServer& operator=(const SambaServer&) = delete;

    // False when this machine cannot run the server (not root, samba not installed).
    bool available() const noexcept { return missing_.empty(); }
    const std::string& missing() const noexcept { return missing_; }

    std::uint16_t port() const noexcept { return port_; }

    // A kitovu config with one smb connection `connection` to this server (user(), timeout 5 s,
    // `extra` lines added to it) and one subject EPJ syncing remote-dir EPJ into
    // root_dir/EPJ, or into local_dir when given.
    std::string kitovu_config(const std::filesystem::path& root_dir, const std::string& connection,
                              const std::string& extra = {}, const std::string& share = "skripte",
                              const std::string& host = "127.0.0.1",
                              const std::filesystem::path& local_dir = {}) const {
        const auto quoted = [](const std::string& text) { return '"' + text + '"'; };
        std::string config = "root-dir = " + quoted(root_dir.string()) +
                             "\n\n[[connections]]\nname = " + quoted(connection) +
                             "\nplugin = \"smb\"\nhostname = " + quoted(host) +
                             "\nport = " + std::to_string(port_) + "\nshare = " + quoted(share) +
                             "\nusername = " + quoted(user()) + "\ntimeout = 5\n" + extra +
                             "\n[[subjects]]\nname = \"EPJ\"\n  [[subjects.sources]]\n"
                             "  connection = " +
                             quoted(connection) + "\n  remote-dir = \"EPJ\"\n";
        if (!local_dir.empty())
            config += "  local-dir = " + quoted(local_dir.string()) + "\n";
        return config;
    }
    static std::string user() { return "kitovu-test"; }
    static std::string password() { return "kitovu-test-secret"; }
    std::filesystem::path share() const { return dir_ / "share"; }
    std::filesystem::path config() const { return dir_ / "smb.conf"; }

    // Stops the smbd this object started (and waits until its connection handlers, which it
    // stops itself, are gone). Safe to call when stopped.
    void stop() {
        const auto pid = running_pid();
        if (!pid)
            return;
        thaw();
        ::kill(*pid, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
        while ((alive(*pid) || group_alive(*pid)) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
        if (alive(*pid))
            ::kill(*pid, SIGKILL);
        reap(*pid);
        std::error_code ec;
        std::filesystem::remove(pid_file(), ec);
    }

    // Freezes the server and its connection handlers (SIGSTOP to the process group smbd made
    // for itself): connections stay open but silent, as when a server hangs. thaw() or stop()
    // wakes it.
    void freeze() {
        if (const auto pid = running_pid()) {
            ::kill(-*pid, SIGSTOP);
            frozen_ = true;
        }
    }

    void thaw() {
        if (!frozen_)
            return;
        if (const auto pid = running_pid())
            ::kill(-*pid, SIGCONT);
        frozen_ = false;
    }

    // Starts the same server again, on the same port.
    void start() {
        if (running_pid())
            return;
        if (!launch())
            throw std::runtime_error("smbd did not start again: " + log_tail());
    }

    // Writes a file into the share with the permissions smbd's user needs to read it.
    void put(const std::string& relative, const std::string& content,
             std::optional<std::int64_t> mtime = std::nullopt) const {
        const std::filesystem::path file = share() / relative;
        make_folders(file.parent_path());
        {
            std::ofstream out{file, std::ios::binary | std::ios::trunc};
            out << content;
        }
        std::filesystem::permissions(file, std::filesystem::perms{0644});
        if (mtime)
            std::filesystem::last_write_time(
                file, std::chrono::file_clock::from_sys(
                          std::chrono::sys_seconds{std::chrono::seconds{*mtime}}));
    }

    // Creates folders in the share (readable by smbd's user).
    void make_folders(const std::filesystem::path& folder) const {
        std::filesystem::create_directories(folder);
        for (auto path = folder; path != share().parent_path() && !path.empty();
             path = path.parent_path())
            std::filesystem::permissions(path, std::filesystem::perms{0755});
    }

  private:
    void clean_up() {
        stop();
        if (dir_.empty())
            return;
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    static std::string check_prerequisites() {
        if (::geteuid() != 0)
            return "not running as root";
        for (const char* program : {"smbd", "smbpasswd", "useradd"})
            if (!find_program(program))
                return std::string{program} + " not found";
        return {};
    }

    void prepare_folders() {
        // smbd serves files as user(): the folder and every parent must be traversable by it.
        for (auto path = dir_; path != path.root_path(); path = path.parent_path()) {
            const auto perms = std::filesystem::status(path).permissions();
            if ((perms & std::filesystem::perms::others_exec) == std::filesystem::perms::none)
                std::filesystem::permissions(
                    path, std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
                    std::filesystem::perm_options::add);
        }
        std::filesystem::permissions(dir_, std::filesystem::perms{0755});
        for (const char* sub :
             {"share", "locked", "private", "state", "cache", "lock", "pid", "ncalrpc", "log"})
            std::filesystem::create_directories(dir_ / sub);
        std::filesystem::permissions(dir_ / "share", std::filesystem::perms{0755});
        std::filesystem::permissions(dir_ / "locked", std::filesystem::perms{0755});
    }

    void write_config() const {
        const std::string d = dir_.string();
        std::ofstream out{config(), std::ios::trunc};
        out << "[global]\n"
            << "  workgroup = TESTGRP\n"
            << "  server role = standalone server\n"
            << "  smb ports = " << port_ << "\n"
            << "  interfaces = 127.0.0.1\n"
            << "  bind interfaces only = yes\n"
            << "  passdb backend = tdbsam:" << d << "/private/passdb.tdb\n"
            << "  private dir = " << d << "/private\n"
            << "  state directory = " << d << "/state\n"
            << "  cache directory = " << d << "/cache\n"
            << "  lock directory = " << d << "/lock\n"
            << "  pid directory = " << d << "/pid\n"
            << "  ncalrpc dir = " << d << "/ncalrpc\n"
            << "  log file = " << d << "/log/smbd.log\n"
            << "  disable netbios = yes\n"
            << "  load printers = no\n"
            << "  printing = bsd\n"
            << "  printcap name = /dev/null\n"
            << "  disable spoolss = yes\n"
            << "  server min protocol = SMB2\n"
            << options_.global << "\n"
            << "[skripte]\n"
            << "  path = " << d << "/share\n"
            << "  read only = yes\n"
            << "  valid users = " << user() << "\n"
            << options_.skripte << "\n"
            << "[raw-names]\n"
            << "  path = " << d << "/share\n"
            << "  read only = yes\n"
            << "  valid users = " << user() << "\n"
            << "  mangled names = no\n"
            << "[locked]\n"
            << "  path = " << d << "/locked\n"
            << "  read only = yes\n"
            << "  valid users = root\n";
    }

    // smbd maps the SMB user to a Unix user of the same name.
    void add_user() const {
        if (::getpwnam(user().c_str()) == nullptr) {
            const std::string command = find_program("useradd")->string() +
                                        " -M -s /usr/sbin/nologin " + user() + " >/dev/null 2>&1";
            [[maybe_unused]] const int ignored = std::system(command.c_str());
            if (::getpwnam(user().c_str()) == nullptr) // a parallel run may have added it
                throw std::runtime_error("cannot add the user " + user());
        }
        const std::string command = find_program("smbpasswd")->string() + " -c " +
                                    config().string() + " -s -a " + user() + " >/dev/null 2>&1";
        FILE* in = ::popen(command.c_str(), "w");
        if (in == nullptr)
            throw std::runtime_error("cannot run smbpasswd");
        std::fprintf(in, "%s\n%s\n", password().c_str(), password().c_str());
        if (::pclose(in) != 0)
            throw std::runtime_error("smbpasswd failed to add " + user());
    }

    // smbd -D daemonises into its own process group and writes its pid file; ready when the
    // port answers and that process is alive.
    bool launch() const {
        const std::string command = find_program("smbd")->string() + " -s " + config().string() +
                                    " -D </dev/null >/dev/null 2>&1";
        if (std::system(command.c_str()) != 0)
            return false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
        while (std::chrono::steady_clock::now() < deadline) {
            const auto pid = running_pid();
            if (pid && port_open(port_))
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
        }
        return false;
    }

    std::filesystem::path pid_file() const { return dir_ / "pid" / "smbd.pid"; }

    std::optional<pid_t> running_pid() const {
        if (dir_.empty())
            return std::nullopt;
        std::ifstream in{pid_file()};
        long pid = 0;
        if (!(in >> pid) || pid <= 1 || !alive(static_cast<pid_t>(pid)))
            return std::nullopt;
        return static_cast<pid_t>(pid);
    }

    // The fields of /proc/PID/stat after the command name: state, ppid, pgrp, ...; nothing when
    // there is no such process (any more).
    static std::optional<std::string> stat_fields(const std::string& pid) {
        const int fd = ::open(("/proc/" + pid + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return std::nullopt;
        const std::string stat = read_proc_file(fd);
        ::close(fd);
        const auto end_of_name = stat.rfind(')');
        if (end_of_name == std::string::npos)
            return std::nullopt;
        return stat.substr(end_of_name + 2);
    }

    // Running and not a zombie (nobody may reap a daemon's zombies in a container).
    static bool alive(pid_t pid) {
        const auto fields = stat_fields(std::to_string(pid));
        return fields && !fields->empty() && fields->front() != 'Z';
    }

    // Whether a live process is still in smbd's process group (its connection handlers).
    static bool group_alive(pid_t group) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator{"/proc", ec}) {
            const std::string name = entry.path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos)
                continue;
            const auto fields = stat_fields(name);
            if (!fields || fields->empty() || fields->front() == 'Z')
                continue;
            std::istringstream in{*fields};
            std::string state;
            long parent = 0, pgrp = 0;
            if (in >> state >> parent >> pgrp && pgrp == group)
                return true;
        }
        return false;
    }

    // Collects the exit status of the smbd processes of `group` that ended as this process's
    // children (see the subreaper above); nothing else is waited for.
    static void reap(pid_t group) {
        const long self = ::getpid();
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator{"/proc", ec}) {
            const std::string name = entry.path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos)
                continue;
            const auto fields = stat_fields(name);
            std::istringstream in{fields.value_or("")};
            std::string state;
            long parent = 0, pgrp = 0;
            if (in >> state >> parent >> pgrp && state == "Z" && pgrp == group && parent == self)
                ::waitpid(static_cast<pid_t>(std::stol(name)), nullptr, WNOHANG);
        }
    }

    std::string log_tail() const {
        std::ifstream in{dir_ / "log" / "smbd.log"};
        const std::string log{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
        return log.size() > 2000 ? log.substr(log.size() - 2000) : log;
    }

    ServerOptions options_;
    std::string missing_;
    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    bool frozen_ = false;
};

// Holds SMB logins (tree connects) to a share at the door, to catch kitovu in one phase of a run
// without timing luck: once armed with N, the Nth and later tree connects wait in the server
// until release(). Give its smb_conf() line to the share (ServerOptions::skripte).
class TreeConnectGate {
  public:
    TreeConnectGate() {
        char pattern[] = "/tmp/kitovu-gate-XXXXXX";
        if (::mkdtemp(pattern) == nullptr)
            throw std::runtime_error("cannot create a folder for the gate");
        dir_ = pattern;
        std::filesystem::create_directories(dir_ / "connects");
        std::ofstream{dir_ / "gate.sh"}
            << "d=" << dir_.string() << "\n"
            << "[ -e $d/armed ] || exit 0\n"
            << "touch $d/connects/$$\n"
            << "[ $(ls $d/connects | wc -l) -ge $(cat $d/armed) ] || exit 0\n"
            << "touch $d/held\n"
            << "while [ ! -e $d/release ]; do sleep 0.05; done\n";
    }
    ~TreeConnectGate() {
        release();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    TreeConnectGate(const TreeConnectGate&) = delete;
    TreeConnectGate& operator=(const TreeConnectGate&) = delete;

    std::string smb_conf() const { return "root preexec = /bin/sh " + (dir_ / "gate.sh").string(); }

    // Counts tree connects from now on and holds the nth and later ones.
    void arm(int nth) const { std::ofstream{dir_ / "armed"} << nth << "\n"; }

    // Waits (at most `patience`) until a tree connect is held; whether one is.
    bool wait_held(std::chrono::seconds patience = std::chrono::seconds{60}) const {
        const auto deadline = std::chrono::steady_clock::now() + patience;
        while (!std::filesystem::exists(dir_ / "held")) {
            if (std::chrono::steady_clock::now() > deadline)
                return false;
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
        return true;
    }

    void release() const { std::ofstream{dir_ / "release"}; }

  private:
    std::filesystem::path dir_;
};

// A server whose tree connects can be held (see TreeConnectGate); released before it stops.
struct GatedServer {
    TreeConnectGate gate;
    SambaServer server{{.skripte = gate.smb_conf()}};
    ~GatedServer() { gate.release(); }
};

// Whether a test can use `server`. When the machine cannot run it, CI (the variable CI is set)
// fails the test, since CI never skips; elsewhere the test says why it is skipped.
inline bool samba_ready(const SambaServer& server) {
    if (server.available())
        return true;
    if (std::getenv("CI") != nullptr)
        FAIL("the smb tests need root and samba (apt-get install samba), and CI never skips: "
             << server.missing());
    WARN("skipped: needs root and samba: apt-get install samba (" << server.missing() << ")");
    return false;
}

} // namespace kitovu::test
