// DavServer: a WebDAV server on 127.0.0.1 serving a folder of its own, for the webdav plugin's
// tests: Apache httpd with mod_dav_fs or rclone serve webdav (tests/webdav/serve.sh, both run
// as nobody when the tests run as root, so unreadable means unreadable), or the fake Nextcloud
// (tests/webdav/nextcloud.py). The constructor throws, failing the test with the server's log,
// when the server does not start: a missing server is a failure, never a skip.
#pragma once

#include "support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kitovu::test {

inline std::filesystem::path webdav_test_dir() {
#ifdef KITOVU_SOURCE_DIR
    return std::filesystem::path{KITOVU_SOURCE_DIR} / "tests" / "webdav";
#else
    return std::filesystem::path{__FILE__}.parent_path() / "webdav";
#endif
}

class DavServer {
  public:
    static constexpr const char* user = "alice";
    static constexpr const char* password = "dav-secret-8e1f";
    static constexpr const char* token = "AbCdEf123"; // the fake Nextcloud's share
    static constexpr const char* share_password = "share-pass-77";

    // kind: "apache", "rclone" or "nextcloud".
    explicit DavServer(std::string kind) : kind_(std::move(kind)) {
        std::filesystem::create_directories(root());
        std::filesystem::create_directories(state());
        std::vector<std::string> args;
        if (kind_ == "nextcloud")
            args = {"python3",
                    (webdav_test_dir() / "nextcloud.py").string(),
                    root().string(),
                    state().string(),
                    user,
                    password,
                    token,
                    share_password};
        else
            args = {"sh",
                    (webdav_test_dir() / "serve.sh").string(),
                    kind_,
                    root().string(),
                    state().string(),
                    user,
                    password};
        launch(args);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
        while (!std::filesystem::exists(state() / "port")) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error(kind_ + " did not start: " + log());
            }
            if (std::chrono::steady_clock::now() > deadline) {
                stop();
                throw std::runtime_error(kind_ + " did not start within 60 s: " + log());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
        }
        port_ = std::stoi(read_file(state() / "port"));
    }
    ~DavServer() {
        stop();
        // Unreadable folders made by a test must not keep TempDir from removing them.
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(
                 root(), std::filesystem::directory_options::skip_permission_denied, ec);
             it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
            std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                         std::filesystem::perm_options::add, ec);
    }
    DavServer(const DavServer&) = delete;
    DavServer& operator=(const DavServer&) = delete;

    // The folder served (its root is the WebDAV root of url()).
    std::filesystem::path root() const { return dir_ / "root"; }
    const std::string& kind() const noexcept { return kind_; }
    int port() const noexcept { return port_; }
    std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
    // The WebDAV root a user configures.
    std::string url() const {
        return origin() +
               (kind_ == "nextcloud" ? "/remote.php/dav/files/" + std::string{user} + "/" : "/");
    }
    std::string log() const {
        return read_file(state() / "server.log") + (std::filesystem::exists(state() / "error.log")
                                                        ? read_file(state() / "error.log")
                                                        : std::string{});
    }
    // Bytes the fake Nextcloud sent in GET answers so far.
    std::size_t bytes_sent() const {
        std::size_t total = 0;
        if (std::filesystem::exists(state() / "sent"))
            for (std::istringstream lines{read_file(state() / "sent")}; lines;) {
                std::size_t n = 0;
                if (lines >> n)
                    total += n;
            }
        return total;
    }

    // Holds the server still (SIGSTOP): connections are accepted by the kernel, never answered.
    // For the single-process fake Nextcloud.
    void freeze() const { ::kill(pid_, SIGSTOP); }
    void thaw() const { ::kill(pid_, SIGCONT); }

    void stop() {
        if (pid_ <= 0)
            return;
        ::kill(pid_, SIGCONT);
        ::kill(-pid_, SIGTERM); // its process group: the port watcher, Apache's workers
        int status = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(-pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
        pid_ = -1;
    }

  private:
    std::filesystem::path state() const { return dir_ / "state"; }

    void launch(const std::vector<std::string>& args) {
        std::vector<char*> argv;
        for (const auto& arg : args)
            argv.push_back(const_cast<char*>(arg.c_str()));
        argv.push_back(nullptr);
        const std::string log_path = (state() / "server.log").string();
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0)
            throw std::runtime_error("cannot fork for " + kind_);
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGTERM); // no server outlives a crashed test binary
            if (::getppid() != parent)
                ::_exit(127);
            ::setpgid(0, 0);
            const int null = ::open("/dev/null", O_RDONLY);
            const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(null, STDIN_FILENO);
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
            ::execvp(argv[0], argv.data());
            ::_exit(127);
        }
    }

    TempDir dir_;
    std::string kind_;
    pid_t pid_ = -1;
    int port_ = 0;
};

} // namespace kitovu::test
