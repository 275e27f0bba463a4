// The smb plugin against a real smbd on loopback, driven through the real engine: what a
// student's sync of a university share does, including the ways it fails.
#include "process.hpp"
#include "samba_fixture.hpp"
#include "support.hpp"

#include <kitovu/engine/engine.hpp>
#include <kitovu/plugins/smb.hpp>
#include <kitovu/testing/fixture.hpp>
#include <kitovu/testing/probes.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace kitovu;
using kitovu::test::files_in;
using kitovu::test::mtime_of;
using kitovu::test::random_bytes;
using kitovu::test::read_file;
using kitovu::test::SambaServer;
using kitovu::test::TempDir;

namespace {

// Every test's server. At its end no SMB helper was found stuck (silent for the time-out while
// the server answered, then replaced): helpers are started by exec, so none is expected, also
// under ThreadSanitizer, where forked ones hung on the allocator's lock (a 31 s wait each).
class Server : public SambaServer {
  public:
    using SambaServer::SambaServer;
    ~Server() { CHECK(detail::smb::stuck_helpers.exchange(0) == stuck_helpers_expected); }
    unsigned stuck_helpers_expected = 0;
};

constexpr std::int64_t old_time = 1'600'000'000;
constexpr std::int64_t new_time = 1'700'000'000;

// The smb connection's options as a config would give them: the schema's defaults, then what
// the server needs.
Options smb_options(const SambaServer& server, const std::string& share = "skripte") {
    Options options = testing::with_defaults("smb");
    options.set("hostname", std::string{"127.0.0.1"});
    options.set("port", std::int64_t{server.port()});
    options.set("share", share);
    options.set("username", SambaServer::user());
    return options;
}

// One connection "skripte" and one subject EPJ synced from `remote_dir` on it.
class Setup {
  public:
    std::filesystem::path target() const { return dir_ / "home/EPJ"; }
    std::filesystem::path local(const std::string& relative) const { return target() / relative; }

    Settings settings(Options options, std::string remote_dir = "EPJ") const {
        Settings settings;
        settings.root_dir = dir_ / "home";
        settings.connections.push_back(Connection{"skripte", "smb", std::move(options), {}});
        settings.subjects.push_back(
            Subject{"EPJ", {Source{"skripte", std::move(remote_dir), target(), {}, {}}}, {}});
        return settings;
    }

    SyncReport run(const Settings& settings, SyncOptions options = {},
                   std::string password = SambaServer::password()) {
        if (options.cache_file.empty())
            options.cache_file = dir_ / "state/kitovu.cache";
        // An empty password: nobody answers the prompt.
        options.prompt = [password](std::string_view) -> std::optional<std::string> {
            if (password.empty())
                return std::nullopt;
            return password;
        };
        auto report = sync(settings, options, warnings);
        REQUIRE(report);
        return std::move(*report);
    }

    CollectingSink warnings;

  private:
    TempDir dir_;
};

std::set<std::string> folders_in(const std::filesystem::path& root) {
    std::set<std::string> folders;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
        if (entry.is_directory())
            folders.insert(entry.path().lexically_relative(root).generic_string());
    return folders;
}

std::size_t seconds_since(std::chrono::steady_clock::time_point start) {
    return static_cast<std::size_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
            .count());
}

bool has_warning(const CollectingSink& sink, WarningKind kind) {
    return std::ranges::any_of(sink.warnings(), [&](const Warning& w) { return w.kind == kind; });
}

// The single error of a run that failed as a whole connection.
const UsageError& only_error(const SyncReport& report) {
    for (const UsageError& error : report.errors)
        UNSCOPED_INFO(error.to_string());
    REQUIRE(report.errors.size() == 1);
    return report.errors.front();
}

// What `run` prints to stdout and stderr (file descriptors 1 and 2), which it must not.
template <class F>
std::string printed_by(F&& run) {
    std::fflush(stdout);
    std::fflush(stderr);
    TempDir capture_dir;
    const auto capture = capture_dir / "output";
    const int captured = ::open(capture.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(captured >= 0);
    const int saved_out = ::dup(1);
    const int saved_err = ::dup(2);
    ::dup2(captured, 1);
    ::dup2(captured, 2);
    run();
    std::fflush(stdout);
    std::fflush(stderr);
    ::dup2(saved_out, 1);
    ::dup2(saved_err, 2);
    ::close(saved_out);
    ::close(saved_err);
    ::close(captured);
    return read_file(capture);
}

// A socket listening on a free loopback port: the kernel accepts connections to it, nobody
// answers.
struct Listener {
    int fd = -1;
    sockaddr_in address{};
};
Listener loopback_listener() {
    Listener listener;
    listener.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener.fd >= 0);
    listener.address.sin_family = AF_INET;
    listener.address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto* address = reinterpret_cast<sockaddr*>(&listener.address);
    socklen_t size = sizeof listener.address;
    REQUIRE(::bind(listener.fd, address, size) == 0);
    REQUIRE(::listen(listener.fd, 16) == 0);
    REQUIRE(::getsockname(listener.fd, address, &size) == 0);
    return listener;
}

// EPJ with four folders of one file each: a listing that fans out to listing processes.
void put_four_folders(SambaServer& server) {
    for (const char* file : {"EPJ/a/x.txt", "EPJ/b/y.txt", "EPJ/c/z.txt", "EPJ/d/w.txt"})
        server.put(file, file);
}

// bench/delay_proxy between the plugin and `server`: each direction delayed by `delay`, the
// requests traced to `trace`, the first login's tree connect held until another connection
// began its login (at most `hold`; the trace says which ended the hold), and each connection's
// first `late` answers delayed by `first_answer` more.
class DelayProxy {
  public:
    DelayProxy(const SambaServer& server, std::chrono::milliseconds delay,
               std::filesystem::path trace, std::chrono::seconds hold,
               std::chrono::milliseconds first_answer = {}, int late = 1)
        : trace_(std::move(trace)) {
        int out[2];
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            test::detail::exec({KITOVU_DELAY_PROXY, "0", std::to_string(server.port()),
                                std::to_string(delay.count()), "/dev/null"},
                               {{"DELAY_PROXY_TRACE", trace_.string()},
                                {"DELAY_PROXY_HOLD", std::to_string(hold.count())},
                                {"DELAY_PROXY_FIRST_ANSWER", std::to_string(first_answer.count())},
                                {"DELAY_PROXY_LATE_ANSWERS", std::to_string(late)}});
        }
        ::close(out[1]);
        std::string printed;
        char c = 0;
        while (::read(out[0], &c, 1) == 1 && c != '\n')
            printed += c;
        ::close(out[0]);
        port_ = std::atoi(printed.c_str());
        REQUIRE(port_ > 0);
    }
    ~DelayProxy() {
        ::kill(pid_, SIGTERM);
        test::detail::wait_for(pid_);
    }
    DelayProxy(const DelayProxy&) = delete;
    DelayProxy& operator=(const DelayProxy&) = delete;

    int port() const { return port_; }
    std::string trace() const { return read_file(trace_); }
    // How many connections sent a session setup: began a login.
    std::size_t logins() const {
        std::set<std::string> connections;
        std::istringstream lines{trace()};
        for (std::string line; std::getline(lines, line);) {
            std::istringstream words{line};
            std::string time;
            std::string connection;
            words >> time >> connection;
            if (line.find("session-setup") != std::string::npos)
                connections.insert(connection);
        }
        return connections.size();
    }

  private:
    std::filesystem::path trace_;
    pid_t pid_ = -1;
    int port_ = 0;
};

} // namespace

// libsmbclient runs in helper processes (kitovu-smb-helper); where the program cannot be started
// the login says which program and why, and this process never loads libsmbclient.
TEST_CASE("a helper program that cannot be started is an error naming it, the host never loads "
          "libsmbclient") {
    const char* before = std::getenv("KITOVU_SMB_HELPER");
    const std::string kept = before != nullptr ? before : "";
    ::setenv("KITOVU_SMB_HELPER", "/nonexistent/kitovu-smb-helper", 1);
    Options options = testing::with_defaults("smb");
    options.set("hostname", std::string{"127.0.0.1"});
    options.set("share", std::string{"skripte"});
    options.set("username", std::string{"alice"});
    options.set_secret("secret");
    SmbPlugin plugin;
    REQUIRE(plugin.configure("skripte", options));
    const auto connected = plugin.connect();
    if (before != nullptr)
        ::setenv("KITOVU_SMB_HELPER", kept.c_str(), 1);
    else
        ::unsetenv("KITOVU_SMB_HELPER");
    REQUIRE_FALSE(connected);
    CHECK(connected.error().connection == "skripte");
    CHECK_THAT(connected.error().message,
               Catch::Contains("cannot start the SMB helper /nonexistent/kitovu-smb-helper"));
    CHECK_THAT(read_file("/proc/self/maps"), !Catch::Contains("libsmbclient"));
}

TEST_CASE("the smb plugin declares the contract's options and a password") {
    auto entry = PluginRegistry::find("smb");
    REQUIRE(entry);
    std::map<std::string, const OptionSpec*> specs;
    for (const OptionSpec& spec : (*entry)->options)
        specs[std::string{spec.name}] = &spec;
    CHECK(specs.size() == 9);
    for (const char* required : {"hostname", "share", "username"})
        CHECK(specs.at(required)->required);
    CHECK(default_value(*specs.at("port")) == OptionValue{std::int64_t{445}});
    CHECK(specs.at("port")->min == 1);
    CHECK(specs.at("port")->max == 65535);
    CHECK(default_value(*specs.at("domain")) == OptionValue{std::string{"WORKGROUP"}});
    CHECK_FALSE(default_value(*specs.at("password-command")));
    CHECK(default_value(*specs.at("signing")) == OptionValue{std::string{"if-required"}});
    CHECK(std::vector<std::string_view>(specs.at("signing")->allowed.begin(),
                                        specs.at("signing")->allowed.end()) ==
          std::vector<std::string_view>{"off", "if-required", "required"});
    CHECK(default_value(*specs.at("encrypt")) == OptionValue{false});
    CHECK(default_value(*specs.at("timeout")) == OptionValue{std::int64_t{30}});
    CHECK(specs.at("timeout")->min == 1);
    CHECK(specs.at("timeout")->max == 3600);
    REQUIRE((*entry)->secret);
    CHECK((*entry)->secret->what == "password");
    CHECK((*entry)->secret->command_name() == "password-command");
    CHECK((*entry)->secret->environment_prefix == "KITOVU_PASSWORD_");
}

TEST_CASE("a share is synced byte for byte, empty folders and modification times included") {
    Server server;
    if (!test::samba_ready(server))
        return;
    const std::map<std::string, std::string> remote{
        {"Skript.pdf", "lecture notes"},
        {"Übungen/Serie 1 – Lösung.txt", "Lösung"},
        {"Übungen/日本語 ノート.txt", "ノート"},
        {"a b/c  d/e f .txt", "spaces"},
        {"Hash #1 & 100% done.txt", "hash and percent"},
        {"percent %41 and %20 kept.txt", "percent escapes are names here"},
        {"plus+equals=semi;colon,comma'apostrophe (1) [2] {3} @~!$.txt", "punctuation"},
        {"Nested/deep/er/and/deeper/file.txt", "deep"},
        {"zero.bin", ""},
        {"Video/lecture 1.mp4", random_bytes(50'000'000, 1)},
    };
    std::int64_t mtime = old_time;
    for (const auto& [path, content] : remote)
        server.put("EPJ/" + path, content, mtime += 3607);
    server.make_folders(server.share() / "EPJ/leer");
    server.make_folders(server.share() / "EPJ/Übungen/leer auch");

    Setup setup;
    const auto settings = setup.settings(smb_options(server));
    const auto report = setup.run(settings);
    INFO((report.errors.empty() ? "" : report.errors.front().to_string()));
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::new_file) == remote.size());
    CHECK(files_in(setup.target()) == remote);
    CHECK(folders_in(setup.target()) == folders_in(server.share() / "EPJ"));
    for (const auto& [path, content] : remote)
        CHECK(mtime_of(setup.local(path)) == mtime_of(server.share() / "EPJ" / path));

    const auto again = setup.run(settings);
    CHECK(again.exit_code() == 0);
    CHECK(again.count(FileState::unchanged) == remote.size());
    CHECK(again.bytes_downloaded == 0);
}

TEST_CASE("names invalid on Windows arrive under Samba's mangled names") {
    Server server;
    if (!test::samba_ready(server))
        return;
    // Samba's default (`mangled names = yes`) shows a Unix name with :*?"<>| or a trailing dot
    // under an 8.3 name such as PXTMI4~F.TXT, which the client can open.
    server.put("EPJ/a:b.txt", "colon");
    server.put("EPJ/what?.txt", "question");
    server.put("EPJ/star*.txt", "star");
    server.put("EPJ/back\\slash.txt", "backslash");
    server.put("EPJ/ok.txt", "ok");

    Setup setup;
    const auto report = setup.run(setup.settings(smb_options(server)));
    CHECK(report.exit_code() == 0);
    const auto files = files_in(setup.target());
    CHECK(files.size() == 5);
    CHECK(files.at("ok.txt") == "ok");
    std::multiset<std::string> mangled;
    for (const auto& [name, content] : files)
        if (name != "ok.txt") {
            CHECK(std::regex_match(name, std::regex{R"([A-Z0-9_]{1,6}~[A-Z0-9]\.TXT)"}));
            mangled.insert(content);
        }
    CHECK(mangled == std::multiset<std::string>{"backslash", "colon", "question", "star"});
}

TEST_CASE("with mangled names off, names invalid on Windows are listed but cannot be opened") {
    Server server;
    if (!test::samba_ready(server))
        return;
    // `mangled names = no` passes the Unix names through; the server then refuses to open them
    // (':' starts a stream name, the others are wildcards), and libsmbclient says EINVAL.
    server.put("EPJ/a:b.txt", "colon");
    server.put("EPJ/pipe|.txt", "pipe");
    server.put("EPJ/ok.txt", "ok");

    Setup setup;
    const auto report = setup.run(setup.settings(smb_options(server, "raw-names")));
    CHECK(report.exit_code() == 1);
    CHECK(files_in(setup.target()) == std::map<std::string, std::string>{{"ok.txt", "ok"}});
    REQUIRE(report.errors.size() == 2);
    for (const UsageError& error : report.errors) {
        CHECK(error.kind == ErrorKind::protocol);
        CHECK(error.connection == "skripte");
    }
}

TEST_CASE("a remote change is picked up, a local edit survives, a conflict keeps both") {
    Server server;
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/remote.txt", "v1", old_time);
    server.put("EPJ/local.txt", "v1", old_time);
    server.put("EPJ/both.txt", "v1", old_time);
    Setup setup;
    const auto settings = setup.settings(smb_options(server));
    REQUIRE(setup.run(settings).exit_code() == 0);

    server.put("EPJ/remote.txt", "v2 from the lecturer", new_time);
    test::write_file(setup.local("local.txt"), "my notes");
    test::write_file(setup.local("both.txt"), "my notes");
    server.put("EPJ/both.txt", "v2 from the lecturer", new_time);

    const auto report = setup.run(settings);
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::remote_changed) == 1);
    CHECK(report.count(FileState::local_changed) == 1);
    CHECK(report.count(FileState::conflict) == 1);
    CHECK(read_file(setup.local("remote.txt")) == "v2 from the lecturer");
    CHECK(mtime_of(setup.local("remote.txt")) == new_time);
    CHECK(read_file(setup.local("local.txt")) == "my notes");
    CHECK(read_file(setup.local("both.txt")) == "my notes");
    CHECK(has_warning(setup.warnings, WarningKind::conflict));
    std::vector<std::string> copies;
    for (const auto& [name, content] : files_in(setup.target()))
        if (name.starts_with("both.remote-conflict-")) {
            copies.push_back(name);
            CHECK(content == "v2 from the lecturer");
        }
    CHECK(copies.size() == 1);
}

TEST_CASE("a wrong password is an authentication error naming the connection") {
    Server server;
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/Skript.pdf", "notes");
    Setup setup;
    const auto report = setup.run(setup.settings(smb_options(server)), {}, "not the password");
    CHECK(report.exit_code() == 1);
    const UsageError& error = only_error(report);
    CHECK(error.kind == ErrorKind::authentication);
    CHECK(error.connection == "skripte");
    CHECK_THAT(error.message, Catch::Contains("login failed for user kitovu-test: wrong user "
                                              "name or password"));
    CHECK(files_in(setup.target()).empty());
}

TEST_CASE("a share that does not exist is not found, one the user may not open is denied") {
    Server server;
    if (!test::samba_ready(server))
        return;
    Setup setup;
    {
        const auto report = setup.run(setup.settings(smb_options(server, "no-such-share")));
        CHECK(report.exit_code() == 1);
        const UsageError& error = only_error(report);
        CHECK(error.kind == ErrorKind::not_found);
        CHECK(error.connection == "skripte");
        CHECK_THAT(error.message, Catch::Contains("share 'no-such-share' not found on 127.0.0.1"));
    }
    {
        const auto report = setup.run(setup.settings(smb_options(server, "locked")));
        CHECK(report.exit_code() == 1);
        const UsageError& error = only_error(report);
        CHECK(error.kind == ErrorKind::permission);
        CHECK(error.connection == "skripte");
        CHECK_THAT(error.message, Catch::Contains("may not open share 'locked'"));
    }
}

TEST_CASE("an unknown host and a closed port are connection errors, reported at once") {
    Server server;
    if (!test::samba_ready(server))
        return;
    Setup setup;
    SECTION("unknown host") {
        auto options = smb_options(server);
        options.set("hostname", std::string{"no-such-host.invalid"});
        const auto start = std::chrono::steady_clock::now();
        const auto report = setup.run(setup.settings(options));
        CHECK(seconds_since(start) < 10);
        CHECK(report.exit_code() == 1);
        const UsageError& error = only_error(report);
        CHECK(error.kind == ErrorKind::connection);
        CHECK(error.connection == "skripte");
        CHECK_THAT(error.message, Catch::Contains("cannot reach no-such-host.invalid:") &&
                                      Catch::Contains("(host not found)") &&
                                      Catch::Contains("university network or VPN"));
    }
    SECTION("closed port") {
        auto options = smb_options(server);
        const std::uint16_t closed = test::free_port();
        options.set("port", std::int64_t{closed});
        const auto start = std::chrono::steady_clock::now();
        const auto report = setup.run(setup.settings(options));
        CHECK(seconds_since(start) < 5);
        CHECK(report.exit_code() == 1);
        const UsageError& error = only_error(report);
        CHECK(error.kind == ErrorKind::connection);
        CHECK(error.connection == "skripte");
        CHECK_THAT(error.message,
                   Catch::Contains("cannot reach 127.0.0.1:" + std::to_string(closed) +
                                   " (connection refused) — are you on the university network "
                                   "or VPN?"));
    }
}

TEST_CASE("a server that never answers is a connection error after the timeout") {
    // Accepts connections (the kernel does) but never says a word.
    const auto [listener, address] = loopback_listener();

    Options options = testing::with_defaults("smb");
    options.set("hostname", std::string{"127.0.0.1"});
    options.set("port", std::int64_t{ntohs(address.sin_port)});
    options.set("share", std::string{"skripte"});
    options.set("username", std::string{"alice"});
    options.set("timeout", std::int64_t{2});
    Setup setup;
    const auto start = std::chrono::steady_clock::now();
    const auto report = setup.run(setup.settings(options), {}, "secret");
    const auto took = seconds_since(start);
    ::close(listener);
    CHECK(took >= 1);
    CHECK(took < 8);
    const UsageError& error = only_error(report);
    CHECK(error.kind == ErrorKind::connection);
    CHECK_THAT(error.message, Catch::Contains("(no answer within 2 s)"));
}

TEST_CASE("a remote folder that does not exist is not found") {
    Server server;
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/Skript.pdf", "notes");
    Setup setup;
    const auto report = setup.run(setup.settings(smb_options(server), "Informatik/Nope"));
    CHECK(report.exit_code() == 1);
    const UsageError& error = only_error(report);
    CHECK(error.kind == ErrorKind::not_found);
    CHECK(error.connection == "skripte");
    CHECK(error.message == "remote folder not found");
    CHECK(error.path == "Informatik/Nope");
}

TEST_CASE("a file the server's user cannot read fails alone, the rest syncs") {
    Server server;
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/open.txt", "for everyone");
    server.put("EPJ/sub/also open.txt", "for everyone too");
    server.put("EPJ/sub/secret.txt", "for the lecturer");
    // smbd opens files as the mapped user, so this denies it although the tests run as root.
    std::filesystem::permissions(server.share() / "EPJ/sub/secret.txt", std::filesystem::perms{0});

    Setup setup;
    const auto report = setup.run(setup.settings(smb_options(server)));
    CHECK(report.exit_code() == 1);
    CHECK(report.failed == 1);
    const UsageError& error = only_error(report);
    CHECK(error.kind == ErrorKind::permission);
    CHECK(error.connection == "skripte");
    CHECK_THAT(error.path, Catch::Contains("secret.txt"));
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"open.txt", "for everyone"},
                                             {"sub/also open.txt", "for everyone too"}});
}

TEST_CASE("a file deleted after the listing is reported as vanished") {
    Server server;
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/stays.txt", "here");
    server.put("EPJ/goes.txt", "soon gone");
    // Deletes goes.txt the moment the engine has decided to download it.
    class Deleter final : public SyncObserver {
      public:
        explicit Deleter(const SambaServer& server) : server_(server) {}
        void decided(const FileEvent& file, FileState) override {
            if (file.remote_path == "EPJ/goes.txt")
                std::filesystem::remove(server_.share() / "EPJ/goes.txt");
        }

      private:
        const SambaServer& server_;
    } deleter{server};
    Setup setup;
    SyncOptions options;
    options.observer = &deleter;
    const auto report = setup.run(setup.settings(smb_options(server)), options);
    CHECK(report.exit_code() == 0);
    CHECK(has_warning(setup.warnings, WarningKind::vanished));
    CHECK(files_in(setup.target()) == std::map<std::string, std::string>{{"stays.txt", "here"}});
}

TEST_CASE("a server stopped mid-sync ends the run in bounded time, a rerun completes it") {
    Server server;
    if (!test::samba_ready(server))
        return;
    std::map<std::string, std::string> remote;
    for (int i = 0; i < 60; ++i) {
        const std::string path = "Folie " + std::to_string(i) + ".pdf";
        remote[path] = random_bytes(256 * 1024, static_cast<std::uint64_t>(i));
        server.put("EPJ/" + path, remote[path], old_time + i);
    }
    class Stopper final : public SyncObserver {
      public:
        explicit Stopper(SambaServer& server) : server_(server) {}
        void finished(const FileEvent&, const UsageError*) override {
            if (++done_ == 3)
                server_.stop();
        }

      private:
        SambaServer& server_;
        int done_ = 0;
    } stopper{server};

    Setup setup;
    auto options = smb_options(server);
    options.set("timeout", std::int64_t{5});
    const auto settings = setup.settings(options);
    SyncOptions sync_options;
    sync_options.observer = &stopper;
    sync_options.jobs = 2;
    const auto start = std::chrono::steady_clock::now();
    const auto report = setup.run(settings, sync_options);
    CHECK(seconds_since(start) < 30);
    CHECK(report.exit_code() == 1);
    CHECK(report.failed > 0);
    CHECK(report.failed + report.count(FileState::new_file) == remote.size());
    for (const UsageError& error : report.errors) {
        INFO(error.to_string());
        CHECK(error.kind == ErrorKind::connection);
        CHECK(error.connection == "skripte");
    }
    // Only complete files under final names, nothing half-written left behind.
    const auto partial = files_in(setup.target());
    CHECK(partial.size() == report.count(FileState::new_file));
    for (const auto& [path, content] : partial) {
        INFO(path);
        CHECK(remote.count(path) == 1);
        CHECK((remote.count(path) == 1 && remote.at(path) == content));
    }

    server.start();
    const auto rerun = setup.run(settings);
    INFO((rerun.errors.empty() ? "" : rerun.errors.front().to_string()));
    CHECK(rerun.exit_code() == 0);
    CHECK(files_in(setup.target()) == remote);
}

TEST_CASE("a server that hangs mid-sync is given up after its timeout, its files fail as one "
          "error") {
    Server server;
    if (!test::samba_ready(server))
        return;
    for (int i = 0; i < 40; ++i)
        server.put("EPJ/Folie " + std::to_string(i) + ".pdf",
                   random_bytes(256 * 1024, static_cast<std::uint64_t>(i)), old_time + i);
    class Freezer final : public SyncObserver {
      public:
        explicit Freezer(SambaServer& server) : server_(server) {}
        void finished(const FileEvent&, const UsageError*) override {
            if (++done_ == 2) {
                server_.freeze();
                frozen_at_ = std::chrono::steady_clock::now();
            }
            last_ = std::chrono::steady_clock::now();
        }
        std::chrono::steady_clock::duration frozen_for() const { return last_ - frozen_at_; }

      private:
        SambaServer& server_;
        int done_ = 0;
        std::chrono::steady_clock::time_point frozen_at_{}, last_{};
    } freezer{server};

    Setup setup;
    auto options = smb_options(server);
    options.set("timeout", std::int64_t{2});
    SyncOptions sync_options;
    sync_options.observer = &freezer;
    sync_options.jobs = 2;
    const auto report = setup.run(setup.settings(options), sync_options);
    server.thaw();
    // Within the time-out and a second, as the README promises: half a second of silence beyond
    // the time-out, and at most 0.4 s to ask the server whether it answers a new connection.
    INFO(std::chrono::duration_cast<std::chrono::milliseconds>(freezer.frozen_for()).count()
         << " ms");
    CHECK(freezer.frozen_for() < std::chrono::milliseconds{3000});
    CHECK(report.exit_code() == 1);
    CHECK(report.failed + report.count(FileState::new_file) == 40);
    CHECK(report.failed > 30);
    const UsageError& error = only_error(report);
    CHECK(error.kind == ErrorKind::connection);
    CHECK(error.connection == "skripte");
    // A worker that logs in after the freeze cannot reach the server; one that had, sees it stop.
    CHECK_THAT(error.message, Catch::StartsWith("the server stopped answering for 2 s") ||
                                  Catch::Contains("(no answer within 2 s)"));
    CHECK_THAT(error.message, Catch::EndsWith("; " + std::to_string(report.failed) +
                                              " files not downloaded, the next run tries again"));
}

TEST_CASE("parallel downloads give the same tree as one at a time") {
    Server server;
    if (!test::samba_ready(server))
        return;
    std::map<std::string, std::string> remote;
    for (int i = 0; i < 300; ++i) {
        const std::string path =
            "Woche " + std::to_string(i % 12) + "/Blatt " + std::to_string(i) + ".txt";
        remote[path] = random_bytes(1000 + static_cast<std::size_t>(i) * 37,
                                    static_cast<std::uint64_t>(i) + 1000);
        server.put("EPJ/" + path, remote[path], old_time + i);
    }
    Setup one;
    Setup four;
    SyncOptions serial;
    serial.jobs = 1;
    SyncOptions parallel;
    parallel.jobs = 4;
    const auto first = one.run(one.settings(smb_options(server)), serial);
    const auto second = four.run(four.settings(smb_options(server)), parallel);
    CHECK(first.exit_code() == 0);
    CHECK(second.exit_code() == 0);
    CHECK(second.count(FileState::new_file) == remote.size());
    CHECK(files_in(one.target()) == remote);
    CHECK(files_in(four.target()) == remote);
    for (const auto& [path, content] : remote)
        CHECK(mtime_of(four.local(path)) == mtime_of(one.local(path)));
}

// The smb plugin's helper processes (kitovu-smb-helper) this test program started, or other
// children by the start of their name, zombies too.
std::vector<pid_t> helper_processes(std::string_view named = "kitovu-smb-") {
    std::vector<pid_t> found;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::string stat, comm;
        try { // a process that ends while it is read is no longer there to count
            stat = read_file(entry.path() / "stat");
            comm = read_file(entry.path() / "comm");
        } catch (const std::exception&) {
            continue;
        }
        const auto close = stat.rfind(')');
        if (close == std::string::npos || !comm.starts_with(named))
            continue;
        std::istringstream rest{stat.substr(close + 2)};
        char state = 0;
        pid_t parent = 0;
        rest >> state >> parent;
        if (parent == ::getpid())
            found.push_back(std::stoi(name));
    }
    return found;
}

TEST_CASE("a helper process that stops answering costs one wait, a new one downloads the file "
          "and the run completes") {
    Server server;
    if (!test::samba_ready(server))
        return;
    server.stuck_helpers_expected = 1; // the one frozen here
    std::map<std::string, std::string> remote;
    for (int i = 0; i < 6; ++i) {
        remote["f" + std::to_string(i) + ".txt"] =
            random_bytes(5000, static_cast<std::uint64_t>(i));
        server.put("EPJ/f" + std::to_string(i) + ".txt", remote["f" + std::to_string(i) + ".txt"],
                   old_time);
    }
    // After the first file, the helper is frozen as a stuck one would be.
    struct Freeze : SyncObserver {
        std::vector<pid_t> frozen;
        void finished(const FileEvent&, const UsageError*) override {
            if (!frozen.empty())
                return;
            frozen = helper_processes();
            for (const pid_t pid : frozen)
                ::kill(pid, SIGSTOP);
        }
    } freeze;
    Setup setup;
    auto options = smb_options(server);
    options.set("timeout", std::int64_t{1});
    SyncOptions sync_options;
    sync_options.jobs = 1;
    sync_options.observer = &freeze;
    const auto started = std::chrono::steady_clock::now();
    const auto report = setup.run(setup.settings(options), sync_options);
    for (const pid_t pid : freeze.frozen)
        ::kill(pid, SIGCONT); // already killed by kitovu; harmless otherwise
    CHECK_FALSE(freeze.frozen.empty());
    CHECK(report.exit_code() == 0);
    CHECK(files_in(setup.target()) == remote);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds{60});
    CHECK(helper_processes().empty()); // the frozen one was killed and reaped
}

TEST_CASE("signing and encryption options reach the server") {
    Server server;
    if (!test::samba_ready(server))
        return;
    const auto smbstatus = test::find_program("smbstatus");
    if (!smbstatus) {
        WARN("skipped: smbstatus not found");
        return;
    }
    server.put("EPJ/Skript.pdf", "notes");
    // smbstatus -b: one line per session with its protocol, encryption and signing, and the
    // client's address. Every session of the plugin's helpers is read: on a busy machine the
    // probe's round trip can pass for a slow link's and parked helpers log in beside the first
    // one, with the same settings (or half set up: "-", "-").
    const auto sessions = [&] {
        const std::string command = smbstatus->string() + " -b -s " + server.config().string();
        FILE* in = ::popen(command.c_str(), "r");
        REQUIRE(in != nullptr);
        std::string lines;
        char buffer[512];
        while (std::fgets(buffer, sizeof buffer, in) != nullptr)
            if (std::string_view{buffer}.find("127.0.0.1:") != std::string_view::npos)
                lines += buffer;
        ::pclose(in);
        return lines;
    };
    const auto session = [&](const std::string& signing, bool encrypt) {
        // The sessions of the one before are gone first (their smbd processes end on their own).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
        while (!sessions().empty() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::yield();
        auto plugin = PluginRegistry::create("smb");
        REQUIRE(plugin);
        auto options = smb_options(server);
        options.set("signing", signing);
        options.set("encrypt", encrypt);
        options.set_secret(SambaServer::password());
        REQUIRE((*plugin)->configure("skripte", options));
        REQUIRE((*plugin)->connect());
        const std::string lines = sessions();
        (*plugin)->disconnect();
        return lines;
    };
    // SMB 3.1.1 signs the session setup in any case ("partial"); `required` signs everything.
    CHECK_THAT(session("if-required", false), Catch::Contains("partial("));
    CHECK_THAT(session("off", false), Catch::Contains("partial("));
    const std::string required = session("required", false);
    CHECK_THAT(required, Catch::Contains("AES-128-GMAC"));
    CHECK_THAT(required, !Catch::Contains("partial("));
    CHECK_THAT(session("if-required", true), Catch::Contains("AES-128-GCM") ||
                                                 Catch::Contains("AES-128-CCM") ||
                                                 Catch::Contains("AES-256-GCM"));
}

TEST_CASE("a folder libsmbclient cannot list is skipped with a warning, and nothing is printed") {
    Server server;
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/fine.txt", "fine");
    // A backslash is legal in a Unix name; unmangled, libsmbclient refuses the whole listing
    // that holds it ("is_bad_finfo_name", logged at level 0).
    server.put("EPJ/odd/back\\slash.txt", "odd");

    // libsmbclient's own logging must reach neither stdout nor stderr.
    Setup setup;
    SyncReport report;
    CHECK(printed_by([&] {
              report = setup.run(setup.settings(smb_options(server, "raw-names")));
          }).empty());
    CHECK(report.exit_code() == 0);
    CHECK(files_in(setup.target()) == std::map<std::string, std::string>{{"fine.txt", "fine"}});
    REQUIRE(setup.warnings.warnings().size() == 1);
    const Warning& warning = setup.warnings.warnings().front();
    CHECK(warning.kind == WarningKind::unlisted);
    CHECK(warning.path == "EPJ/odd");
    CHECK_THAT(warning.message, Catch::Contains("a name the SMB client refuses"));
}

TEST_CASE("encrypt = true refuses a server that offers no encryption, nothing is printed") {
    Server server{{.global = "server smb encrypt = off"}};
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/Skript.pdf", "secret notes");
    auto options = smb_options(server);
    options.set("encrypt", true);
    Setup setup;
    SyncReport report;
    CHECK(printed_by([&] { report = setup.run(setup.settings(options)); }).empty());
    CHECK(report.exit_code() == 1);
    const UsageError& error = only_error(report);
    CHECK(error.kind == ErrorKind::connection);
    CHECK(error.connection == "skripte");
    CHECK_THAT(error.message, Catch::Contains("does not offer SMB3 encryption"));
    CHECK_FALSE(std::filesystem::exists(setup.local("Skript.pdf")));
}

TEST_CASE("a server that speaks only SMB1 is told apart from one that is unreachable") {
    Server server{{.global = "server min protocol = NT1\nserver max protocol = NT1"}};
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/Skript.pdf", "notes");
    Setup setup;
    const auto report = setup.run(setup.settings(smb_options(server)));
    CHECK(report.exit_code() == 1);
    const UsageError& error = only_error(report);
    CHECK(error.kind == ErrorKind::protocol);
    CHECK_THAT(error.message, Catch::Contains("speaks only SMB1"));
    CHECK_THAT(error.message, !Catch::Contains("VPN"));
}

TEST_CASE("username guest logs in with no password where the server maps it to guest") {
    Server server{
        {.global = "map to guest = bad user", .skripte = "guest ok = yes\nvalid users ="}};
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/Skript.pdf", "notes for all");
    auto options = smb_options(server);
    options.set("username", std::string{"guest"});
    Setup setup;
    const auto report = setup.run(setup.settings(options), {}, "");
    CHECK(report.errors.empty());
    CHECK(report.exit_code() == 0);
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"Skript.pdf", "notes for all"}});
}

TEST_CASE("links that make a loop on the share are synced once, each named in one warning") {
    Server server{{.skripte = "follow symlinks = yes"}};
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/Skript.pdf", "notes");
    server.put("EPJ/loop/inner.txt", "inner");
    std::filesystem::create_directory_symlink("..", server.share() / "EPJ/loop/up");
    std::filesystem::create_directory_symlink(".", server.share() / "EPJ/current");
    std::filesystem::create_directory_symlink(".", server.share() / "EPJ/latest");
    Setup setup;
    const auto report = setup.run(setup.settings(smb_options(server)));
    CHECK(report.exit_code() == 0);
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"Skript.pdf", "notes"}, {"loop/inner.txt", "inner"}});
    CHECK(folders_in(setup.target()) == std::set<std::string>{"loop"});
    std::set<std::string> named;
    for (const Warning& warning : setup.warnings.warnings()) {
        CHECK(warning.kind == WarningKind::skipped);
        CHECK_THAT(warning.message, Catch::Contains("the same folder as 'EPJ'"));
        named.insert(warning.path);
    }
    CHECK(setup.warnings.warnings().size() == 3);
    CHECK(named == std::set<std::string>{"EPJ/current", "EPJ/latest", "EPJ/loop/up"});
}

// Samba serves a link to a folder as a plain folder with the target's file id: nothing tells the
// link from the real one, so the name first in byte order is synced. Each pair is listed in the
// order the share's file system keeps its names (a hash on ext4): before, the name listed first
// won, and some of the files landed under the links' names.
TEST_CASE("a folder on the share under two names is synced under the same one whatever order the "
          "server lists them, the other named in a warning") {
    SambaServer server{{.skripte = "follow symlinks = yes"}};
    if (!test::samba_ready(server))
        return;
    std::map<std::string, std::string> expected;
    for (int i = 1; i <= 6; ++i) {
        const std::string real = "Kapitel " + std::to_string(i);
        server.put("EPJ/" + real + "/blatt.txt", "blatt " + std::to_string(i));
        expected[real + "/blatt.txt"] = "blatt " + std::to_string(i);
        std::filesystem::create_directory_symlink(real, server.share() /
                                                            ("EPJ/Zusatz " + std::to_string(i)));
    }
    Setup setup;
    const auto settings = setup.settings(smb_options(server));
    for (int run = 0; run < 2; ++run) {
        const auto report = setup.run(settings);
        CHECK(report.exit_code() == 0);
        CHECK(report.count(FileState::new_file) == (run == 0 ? 6 : 0));
        CHECK(files_in(setup.target()) == expected);
    }
    std::map<std::string, std::string> named;
    for (const Warning& warning : setup.warnings.warnings())
        named[warning.path] = warning.message;
    for (int i = 1; i <= 6; ++i)
        CHECK_THAT(named["EPJ/Zusatz " + std::to_string(i)],
                   Catch::Contains("the same folder as 'EPJ/Kapitel " + std::to_string(i) + "'"));
}

// A folder of the share with `count` entries more than it has, which the config ignores: it takes
// longer to read than its siblings.
void pad(const SambaServer& server, const std::string& folder, int count = 3000) {
    for (int i = 0; i < count; ++i)
        server.put(folder + "/pad " + std::to_string(i) + ".skip", "");
}

Settings ignoring_pads(Settings settings) {
    auto rules = IgnoreRules::compile({"*.skip"});
    REQUIRE(rules);
    settings.subjects[0].sources[0].ignore = *rules;
    return settings;
}

// Of two names in different folders, the first met breadth first (shallowest, then name by name
// in byte order) is synced, whichever listing process reads its folder first: here the folder
// first in byte order is the slow one to read. Before, the name read first won: the instance's
// own process read the folders one by one on the first listing, and on the next ones (its
// listing processes logged in already) the other name won.
TEST_CASE("a folder on the share under two names in different folders is synced under the same "
          "one on every listing, whichever folder is read first") {
    Server server{{.skripte = "follow symlinks = yes"}};
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/A/Woche 3/blatt.txt", "3"); // the real folder first
    std::filesystem::create_directories(server.share() / "EPJ/B");
    std::filesystem::create_directory_symlink("../A/Woche 3", server.share() / "EPJ/B/Aktuell");
    server.put("EPJ/D/Woche 4/blatt.txt", "4"); // the link first
    std::filesystem::create_directories(server.share() / "EPJ/C");
    std::filesystem::create_directory_symlink("../D/Woche 4", server.share() / "EPJ/C/Neu");
    pad(server, "EPJ/A");
    pad(server, "EPJ/C");

    auto options = smb_options(server);
    options.set_secret(SambaServer::password());
    SmbPlugin plugin; // holds the login's pool: its listing processes stay logged in
    REQUIRE(plugin.configure("skripte", options));
    REQUIRE(plugin.connect());
    for (int listing = 0; listing < 4; ++listing) {
        INFO("listing " << listing);
        const auto listed = testing::detail::list(plugin, "EPJ");
        REQUIRE(listed.result);
        const auto paths = listed.by_path();
        CHECK(paths.contains("A/Woche 3/blatt.txt"));
        CHECK_FALSE(paths.contains("B/Aktuell"));
        CHECK(paths.contains("C/Neu/blatt.txt"));
        CHECK_FALSE(paths.contains("D/Woche 4"));
        std::map<std::string, std::string> skipped;
        for (const Warning& warning : listed.warnings)
            skipped[warning.path] = warning.message;
        CHECK_THAT(skipped["EPJ/B/Aktuell"], Catch::Contains("the same folder as 'EPJ/A/Woche 3'"));
        CHECK_THAT(skipped["EPJ/D/Woche 4"], Catch::Contains("the same folder as 'EPJ/C/Neu'"));
    }

    Setup setup;
    const auto report = setup.run(ignoring_pads(setup.settings(smb_options(server))));
    CHECK(report.exit_code() == 0);
    CHECK(files_in(setup.target()) == std::map<std::string, std::string>{
                                          {"A/Woche 3/blatt.txt", "3"}, {"C/Neu/blatt.txt", "4"}});
}

// A link made after the first sync, under a name met before the real one: the name synced before
// keeps the folder, so the user's files stay where they are and nothing is downloaded again. A
// first sync (no cache) takes the link's name, met first. The real folder's parent is the slow
// one to read: before, the link's name was read first and won, and the files moved to it.
TEST_CASE("a folder synced before keeps its name when a link to it appears under a name met "
          "before it: nothing is moved or downloaded again") {
    Server server{{.skripte = "follow symlinks = yes"}};
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/B/Woche 3/blatt.txt", "blatt");
    server.put("EPJ/B/Woche 3/folien.pdf", "folien");
    const std::map<std::string, std::string> synced{{"B/Woche 3/blatt.txt", "blatt"},
                                                    {"B/Woche 3/folien.pdf", "folien"}};
    Setup setup;
    const auto settings = ignoring_pads(setup.settings(smb_options(server)));
    REQUIRE(setup.run(settings).count(FileState::new_file) == 2);

    std::filesystem::create_directories(server.share() / "EPJ/A");
    std::filesystem::create_directory_symlink("../B/Woche 3", server.share() / "EPJ/A/Aktuell");
    pad(server, "EPJ/B");
    for (int run = 0; run < 2; ++run) {
        INFO("run " << run);
        const auto report = setup.run(settings);
        CHECK(report.exit_code() == 0);
        CHECK(report.count(FileState::moved) == 0);
        CHECK(report.count(FileState::new_file) == 0);
        CHECK(report.count(FileState::unchanged) == 2);
        CHECK(files_in(setup.target()) == synced);
    }
    std::map<std::string, std::string> skipped;
    for (const Warning& warning : setup.warnings.warnings())
        skipped[warning.path] = warning.message;
    CHECK_THAT(skipped["EPJ/A/Aktuell"], Catch::Contains("the same folder as 'EPJ/B/Woche 3'"));

    Setup first;
    const auto report = first.run(ignoring_pads(first.settings(smb_options(server))));
    CHECK(report.exit_code() == 0);
    CHECK(files_in(first.target()) ==
          std::map<std::string, std::string>{{"A/Aktuell/blatt.txt", "blatt"},
                                             {"A/Aktuell/folien.pdf", "folien"}});
}

// The server freezes the moment the engine decided the first listed file, which is in the top
// folder: its subfolders are still to be listed (by the listing processes this starts) and the
// file is to be downloaded. Before, a freeze timed from outside caught the listing on some runs
// and the downloads after it on others, and a hang that cost both was reported twice.
TEST_CASE("a server that hangs while the tree is listed is given up after its timeout, with one "
          "error") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    server.put("EPJ/top.txt", "top");
    for (const char* folder : {"EPJ/a", "EPJ/b", "EPJ/c"})
        server.put(std::string{folder} + "/x.txt", "x");
    auto options = smb_options(server);
    options.set("timeout", std::int64_t{2});
    struct FreezeAtFirstFile : SyncObserver {
        SambaServer* server = nullptr;
        std::chrono::steady_clock::time_point at{};
        void decided(const FileEvent&, FileState) override {
            if (at == std::chrono::steady_clock::time_point{}) {
                server->freeze();
                at = std::chrono::steady_clock::now();
            }
        }
    } freezer;
    freezer.server = &server;
    Setup setup;
    SyncOptions observed;
    observed.observer = &freezer;
    const auto report = setup.run(setup.settings(options), observed);
    const auto ended = std::chrono::steady_clock::now();
    server.thaw();
    REQUIRE(freezer.at != std::chrono::steady_clock::time_point{});
    // Given up, not hung: a hang lasts until the server thaws, libsmbclient's own wait is 30 s.
    // The time-out is 2 s; how much longer the listing processes take to be told (up to 16 of
    // them over a link that looks slow, under a sanitizer or a busy machine) is not timed here:
    // with two cores fully loaded besides, it took 10.04 s once in ten runs.
    CHECK(ended - freezer.at < std::chrono::seconds{20});
    CHECK(report.exit_code() == 1);
    CHECK((!std::filesystem::exists(setup.target()) || files_in(setup.target()).empty()));
    const UsageError& error = only_error(report);
    CHECK(error.kind == ErrorKind::connection);
    CHECK(error.connection == "skripte");
    CHECK_THAT(error.message, Catch::StartsWith("the server stopped answering for 2 s") &&
                                  Catch::EndsWith("; 1 file not downloaded, the next run tries "
                                                  "again"));
    CHECK(detail::smb::stuck_helpers == 0); // the frozen server was told from a stuck helper
}

// Over a VPN a login is a dozen round trips. The listing processes a tree needs log in as soon as
// the first login's session setup succeeded, not after its whole login; a password the server
// refused reaches it once (many failed logins at once could lock the student's account).
TEST_CASE("over a slow link the listing processes log in while the first login connects the "
          "share, and a refused password is tried once") {
    Server server;
    if (!test::samba_ready(server))
        return;
    put_four_folders(server);
    TempDir dir;
    // 10 ms each way: the probe's round trip is slow by the delays alone, however idle the
    // machine (a busy one only makes it slower).
    const DelayProxy proxy{server, std::chrono::milliseconds{10}, dir / "trace",
                           std::chrono::seconds{20}};
    auto options = smb_options(server);
    options.set("port", std::int64_t{proxy.port()});

    SECTION("the right password") {
        options.set_secret(SambaServer::password());
        SmbPlugin planner;
        REQUIRE(planner.configure("skripte", options));
        REQUIRE(planner.connect());
        // Held until a listing process began its login: before the first login was over.
        CHECK_THAT(proxy.trace(), Catch::Contains("hold released"));
        const auto listing = testing::detail::list(planner, "EPJ");
        REQUIRE(listing.result);
        const auto listed = listing.by_path();
        for (const char* file : {"a/x.txt", "b/y.txt", "c/z.txt", "d/w.txt"})
            CHECK(listed.contains(file));
        CHECK(proxy.logins() > 1);
    }
    SECTION("a refused password") {
        options.set_secret("not the password");
        SmbPlugin planner;
        REQUIRE(planner.configure("skripte", options));
        const auto connected = planner.connect();
        REQUIRE_FALSE(connected);
        CHECK(connected.error().kind == ErrorKind::authentication);
        // The login and the one that tells a wrong password from a share the user may not open
        // (connect_error); none of the listing processes waiting for it.
        CHECK(proxy.logins() == 2);
    }
}

// The engine's download workers open their instances as their first files come, some after the
// planner's instance has ended: over a slow link a login of their own would be a dozen round trips.
TEST_CASE("a download after a listing takes one of its listing processes, logged in already, also "
          "once the planner ended") {
    Server server;
    if (!test::samba_ready(server))
        return;
    put_four_folders(server); // the listing fans out to listing processes
    TempDir dir;
    const DelayProxy proxy{server, std::chrono::milliseconds{0}, dir / "trace",
                           std::chrono::seconds{0}};
    auto options = smb_options(server);
    options.set("port", std::int64_t{proxy.port()});
    options.set_secret(SambaServer::password());
    auto planner = std::make_unique<SmbPlugin>();
    REQUIRE(planner->configure("skripte", options));
    REQUIRE(planner->connect());
    const auto listing = testing::detail::list(*planner, "EPJ");
    REQUIRE(listing.result);
    const auto listed = listing.by_path();
    REQUIRE(listed.contains("b/y.txt"));
    REQUIRE(listed.contains("c/z.txt"));

    // The listing's helpers may still be logging in (on loopback the listing is done first): a
    // download then waits for that login, it does not start another helper. Every helper logs in
    // once, so a download that starts no process logs in no more; on a busy machine a listing
    // helper may be replaced or end meanwhile, so processes are compared, not counted.
    const auto sorted = [](std::vector<pid_t> pids) {
        std::ranges::sort(pids);
        return pids;
    };
    const auto started = sorted(helper_processes()); // the planner's own and the listing's
    REQUIRE(started.size() >= 3);
    const auto download = [&](SmbPlugin& worker, const std::string& path) {
        REQUIRE(worker.configure("skripte", options));
        REQUIRE(worker.connect());
        const auto fetched = testing::detail::fetch(worker, listed.at(path));
        REQUIRE(fetched.result);
        CHECK(fetched.bytes == "EPJ/" + path);
    };
    const auto none_new = [&] {
        const auto now = sorted(helper_processes());
        return std::ranges::includes(started, now);
    };
    SmbPlugin first;
    download(first, "b/y.txt");
    CHECK(none_new());
    planner.reset(); // its own helper ends; the idle ones stay for the workers
    CHECK(helper_processes().size() < started.size());
    SmbPlugin second;
    download(second, "c/z.txt");
    CHECK(none_new());
}

// Over a slow link a worker whose first file comes while every listing process is still busy
// starts a download process, which takes a dozen round trips to log in; a listing process is free
// after its folder, a few. The download goes to whichever is ready first, also a listing process
// that was still logging in when the listing ended.
TEST_CASE("a download process still logging in gives way to a listing process that finished") {
    Server server;
    if (!test::samba_ready(server))
        return;
    put_four_folders(server); // the listing fans out to listing processes
    auto options = smb_options(server);
    options.set("timeout", std::int64_t{5});
    options.set_secret(SambaServer::password());
    auto planner = std::make_unique<SmbPlugin>();
    REQUIRE(planner->configure("skripte", options));
    REQUIRE(planner->connect());

    // The worker connects before the listing, when no process is idle: it starts its own, which
    // here never gets to its login (it stands for a login over a slow link).
    TempDir dir;
    const auto never = dir / "never-logs-in";
    test::write_file(never, "#!/bin/sh\nexec sleep 600\n");
    std::filesystem::permissions(never, std::filesystem::perms::owner_all);
    auto worker = std::make_unique<SmbPlugin>();
    REQUIRE(worker->configure("skripte", options));
    const std::string helper = detail::smb::helper_program();
    ::setenv("KITOVU_SMB_HELPER", never.c_str(), 1);
    const auto connected = worker->connect();
    ::setenv("KITOVU_SMB_HELPER", helper.c_str(), 1);
    REQUIRE(connected);
    // The script becomes `sleep` by exec, maybe between the two looks: counted once by its id.
    const auto waiting = [] {
        std::set<pid_t> found;
        for (const char* name : {"never-logs-in", "sleep"})
            std::ranges::copy(helper_processes(name), std::inserter(found, found.end()));
        return found.size();
    };
    REQUIRE(waiting() == 1);

    const auto listing = testing::detail::list(*planner, "EPJ");
    REQUIRE(listing.result);
    const auto fetched = testing::detail::fetch(*worker, listing.by_path().at("b/y.txt"));
    REQUIRE(fetched.result);
    CHECK(fetched.bytes == "EPJ/b/y.txt");
    // The process still logging in went to the pool for the next worker; it ends with the last
    // instance of its login, and is reaped.
    CHECK(waiting() == 1);
    worker.reset();
    planner.reset();
    CHECK(waiting() == 0);
}

TEST_CASE("a listing's time shows the round trip, less what its entries cost in CPU") {
    using detail::smb::round_trip_of_listing;
    using std::chrono::microseconds;
    CHECK(round_trip_of_listing(microseconds{80000}, 4) == microseconds{19995});
    CHECK(round_trip_of_listing(microseconds{400}, 5) == microseconds{93});
    CHECK(round_trip_of_listing(microseconds{60000}, 20000) == microseconds{0});
    CHECK(round_trip_of_listing(microseconds{0}, 0) == microseconds{0});
}

// Over a VPN the listing processes are started before the first login (SmbPlugin::park_listers),
// on loopback they would be sixteen processes for nothing. A server's first answer on a new
// connection is no measure: Samba forks and, with a cold page cache, reads its files first.
TEST_CASE("the probe times a round trip apart from the server's first answer") {
    Server server;
    if (!test::samba_ready(server))
        return;
    TempDir dir;
    const DelayProxy proxy{server, std::chrono::milliseconds{10}, dir / "trace",
                           std::chrono::seconds{0}, std::chrono::milliseconds{500}};
    const auto answer = detail::smb::probe("127.0.0.1", static_cast<std::uint16_t>(proxy.port()),
                                           std::chrono::seconds{5}, true);
    CHECK(answer.dialect == detail::smb::Dialect::smb2_or_later);
    REQUIRE(answer.round_trip);
    CHECK(*answer.round_trip >= std::chrono::milliseconds{20}); // the proxy's delays
    CHECK(*answer.round_trip < std::chrono::milliseconds{500}); // not the first answer's
    CHECK(*answer.round_trip >= fast_link_round_trip);          // a slow link
}

// A busy machine delays a loopback server's answers now and then; taken for a VPN, a run would
// start sixteen listing processes and sixteen downloads on two cores.
TEST_CASE("a server that is slow to answer a new connection now and then is not taken for a slow "
          "link") {
    Server server;
    if (!test::samba_ready(server))
        return;
    put_four_folders(server);
    TempDir dir;
    // Each connection's first two answers 30 ms late: both of the probe's negotiates.
    const DelayProxy proxy{server,
                           std::chrono::milliseconds{0},
                           dir / "trace",
                           std::chrono::seconds{0},
                           std::chrono::milliseconds{30},
                           2};
    auto options = smb_options(server);
    options.set("port", std::int64_t{proxy.port()});
    options.set_secret(SambaServer::password());
    SmbPlugin planner;
    REQUIRE(planner.configure("skripte", options));
    REQUIRE(planner.connect());
    // The engine starts its download workers by it (jobs_for_link): four, not sixteen.
    CHECK(planner.round_trip() < fast_link_round_trip);
    const auto listing = testing::detail::list(planner, "EPJ");
    REQUIRE(listing.result);
    CHECK(listing.by_path().contains("d/w.txt"));
    CHECK(planner.round_trip() < fast_link_round_trip);
}
