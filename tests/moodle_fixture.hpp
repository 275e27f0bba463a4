// MoodleServer: tests/moodle/server.py, a fake Moodle 4.5 web service on 127.0.0.1 with its own
// free port, serving a fixture JSON file (tests/moodle/fixture.json, described at the top of
// server.py). The server reads the fixture on every request: a test changes what Moodle serves
// by editing its own copy with edit_fixture() while the server runs.
#pragma once

#include "support.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace kitovu::test {

// tests/moodle in the source tree: from KITOVU_SOURCE_DIR when the build defines it, else
// found beside this header (CMake passes absolute include paths, so __FILE__ is absolute).
inline std::filesystem::path moodle_test_dir() {
#ifdef KITOVU_SOURCE_DIR
    return std::filesystem::path{KITOVU_SOURCE_DIR} / "tests" / "moodle";
#else
    return std::filesystem::path{__FILE__}.parent_path() / "moodle";
#endif
}

// A copy of tests/moodle/fixture.json in `dir` (as `name`) for one test to serve and edit.
inline std::filesystem::path moodle_fixture_copy(const TempDir& dir,
                                                 const std::string& name = "fixture.json") {
    const auto copy = dir / name;
    std::filesystem::copy_file(moodle_test_dir() / "fixture.json", copy,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::permissions(copy, std::filesystem::perms{0644});
    return copy;
}

inline nlohmann::json load_fixture(const std::filesystem::path& file) {
    std::ifstream in{file, std::ios::binary};
    if (!in)
        throw std::runtime_error("cannot read the Moodle fixture " + file.string());
    return nlohmann::json::parse(in);
}

// Replaces `file` at once (temporary file + rename): the server never reads half a fixture.
inline void save_fixture(const std::filesystem::path& file, const nlohmann::json& fixture) {
    const auto temporary = file.parent_path() /
                           ("." + file.filename().string() + ".tmp-" + std::to_string(::getpid()));
    {
        std::ofstream out{temporary, std::ios::binary | std::ios::trunc};
        out << fixture.dump(2) << '\n';
        out.flush();
        if (!out)
            throw std::runtime_error("cannot write the Moodle fixture " + temporary.string());
    }
    std::filesystem::rename(temporary, file);
}

// Loads the fixture `file`, lets `change(nlohmann::json&)` edit it and writes it back
// atomically; the server serves the change from its next request on.
void edit_fixture(const std::filesystem::path& file, auto&& change) {
    auto fixture = load_fixture(file);
    std::forward<decltype(change)>(change)(fixture);
    save_fixture(file, fixture);
}

// The first file content (an entry of a module's "contents") named `filename` in the modules
// `modules`, including those of subsections; nullptr when there is none.
inline nlohmann::json* fixture_content_in(nlohmann::json& modules, std::string_view filename) {
    for (auto& module : modules) {
        if (module.contains("contents"))
            for (auto& content : module.at("contents"))
                if (const auto name = content.find("filename");
                    name != content.end() && name->is_string() &&
                    name->get_ref<const std::string&>() == filename)
                    return &content;
        if (module.contains("section") && module.at("section").contains("modules"))
            if (auto* found = fixture_content_in(module.at("section").at("modules"), filename))
                return found;
    }
    return nullptr;
}

// The first file content named `filename` in any course of `fixture`; throws std::out_of_range
// when there is none.
inline nlohmann::json& fixture_content(nlohmann::json& fixture, std::string_view filename) {
    for (auto& course : fixture.at("courses"))
        for (auto& section : course.at("sections"))
            if (auto* found = fixture_content_in(section.at("modules"), filename))
                return *found;
    throw std::out_of_range("no content named " + std::string{filename} + " in the fixture");
}

// The key of "files" that serves `content` (its fileurl without the query).
inline std::string fixture_file_key(const nlohmann::json& content) {
    const auto url = content.at("fileurl").get<std::string>();
    return url.substr(0, url.find('?'));
}

// Changes the file content named `filename` as a teacher uploading a new version would: new
// body `text`, its size and `timemodified`.
inline void change_fixture_file(nlohmann::json& fixture, std::string_view filename,
                                const std::string& text, std::int64_t timemodified) {
    auto& content = fixture_content(fixture, filename);
    auto& file = fixture.at("files").at(fixture_file_key(content));
    file.erase("repeat");
    file.erase("size");
    file["text"] = text;
    content["filesize"] = text.size();
    content["timemodified"] = timemodified;
}

// What the fixture serves for the file content named `filename`.
inline std::string served(const std::filesystem::path& fixture, std::string_view filename) {
    auto json = load_fixture(fixture);
    const auto& file = json.at("files").at(fixture_file_key(fixture_content(json, filename)));
    if (file.contains("text"))
        return file.at("text").get<std::string>();
    const auto pattern = file.at("repeat").get<std::string>();
    const auto size = file.at("size").get<std::size_t>();
    std::string body;
    while (body.size() < size)
        body += pattern;
    body.resize(size);
    return body;
}

// python3 tests/moodle/server.py serving `fixture` on 127.0.0.1:port(). The constructor throws
// (failing the test, with the server's log) when it does not start within 10 s.
class MoodleServer {
  public:
    explicit MoodleServer(std::filesystem::path fixture)
        : fixture_(std::filesystem::absolute(fixture)) {
        if (!launch(0)) {
            stop();
            throw std::runtime_error("the fake Moodle server did not start: " + log());
        }
    }

    ~MoodleServer() { stop(); }

    MoodleServer(const MoodleServer&) = delete;
    MoodleServer& operator=(const MoodleServer&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    // "http://127.0.0.1:PORT/", the site URL a user enters.
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
    const std::filesystem::path& fixture() const noexcept { return fixture_; }
    // The token the fixture accepts (as it is now).
    std::string token() const { return load_fixture(fixture_).at("token").get<std::string>(); }

    // Whether the server process is alive (false after stop() or if it died).
    bool running() const {
        if (pid_ <= 0)
            return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == 0)
            return true;
        pid_ = -1;
        return false;
    }

    // What the server wrote to stderr: one line per request (tokens masked), errors.
    std::string log() const { return read_file(log_file()); }

    // Stops the server (SIGTERM, SIGKILL after 5 s); connections are refused afterwards.
    // Safe to call when stopped.
    void stop() {
        if (pid_ <= 0)
            return;
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
        int status = 0;
        while (true) {
            const pid_t done = ::waitpid(pid_, &status, WNOHANG);
            if (done == pid_ || (done < 0 && errno != EINTR))
                break;
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
                }
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
        pid_ = -1;
    }

    // Starts the server again after stop(), on the same port.
    void start() {
        if (running())
            return;
        if (!launch(port_)) {
            stop();
            throw std::runtime_error("the fake Moodle server did not start again: " + log());
        }
    }

    // The server's request counters: {"rest_calls", "rest_functions" (wsfunction per call),
    // "downloads", "download_paths" (URL paths as requested, without the query)}.
    nlohmann::json stats() const { return nlohmann::json::parse(request("GET", "/__stats")); }
    void reset_stats() const { request("POST", "/__reset_stats"); }

  private:
    std::filesystem::path log_file() const { return dir_ / "server.log"; }
    std::filesystem::path port_file() const { return dir_ / "port"; }

    bool launch(std::uint16_t port) {
        std::error_code ec;
        std::filesystem::remove(port_file(), ec);
        const std::vector<std::string> args{
            "python3",     (moodle_test_dir() / "server.py").string(),
            "--fixture",   fixture_.string(),
            "--port-file", port_file().string(),
            "--port",      std::to_string(port)};
        std::vector<char*> argv;
        for (const auto& arg : args)
            argv.push_back(const_cast<char*>(arg.c_str()));
        argv.push_back(nullptr);
        const std::string log_path = log_file().string();
        const long open_max = std::clamp(::sysconf(_SC_OPEN_MAX), 256L, 65536L);
        const pid_t parent = ::getpid();

        const pid_t child = ::fork();
        if (child < 0)
            return false;
        if (child == 0) {
            // Only async-signal-safe calls from here on.
            ::prctl(PR_SET_PDEATHSIG, SIGTERM); // no server outlives a crashed test binary
            if (::getppid() != parent)
                ::_exit(127);
            const int null = ::open("/dev/null", O_RDONLY);
            const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (null < 0 || log < 0)
                ::_exit(127);
            ::dup2(null, STDIN_FILENO);
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
            for (int fd = 3; fd < open_max; ++fd)
                ::close(fd);
            ::execvp(argv[0], argv.data());
            static constexpr char failed[] = "cannot run python3\n";
            [[maybe_unused]] const auto written = ::write(STDERR_FILENO, failed, sizeof failed - 1);
            ::_exit(127);
        }
        pid_ = child;

        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
        while (std::chrono::steady_clock::now() < deadline) {
            std::ifstream in{port_file()};
            unsigned long number = 0;
            if (in >> number && number > 0 && number <= 65535) {
                port_ = static_cast<std::uint16_t>(number);
                return true;
            }
            if (!running())
                return false;
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
        }
        return false;
    }

    // One HTTP/1.0 request to the server's test endpoints; returns the body.
    std::string request(const std::string& method, const std::string& target) const {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            throw std::runtime_error("cannot create a socket");
        timeval timeout{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port_);
        std::string response;
        if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
            const std::string text =
                method + " " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
            if (::send(fd, text.data(), text.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(text.size())) {
                char buffer[4096];
                for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
                    response.append(buffer, static_cast<std::size_t>(n));
            }
        }
        ::close(fd);
        const auto body = response.find("\r\n\r\n");
        if (!response.starts_with("HTTP/1.") || body == std::string::npos ||
            response.find(" 200 ") > response.find("\r\n"))
            throw std::runtime_error("the fake Moodle server did not answer " + method + " " +
                                     target + ": " + response.substr(0, 200));
        return response.substr(body + 4);
    }

    TempDir dir_; // the port file and the log
    std::filesystem::path fixture_;
    mutable pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

} // namespace kitovu::test
