// Reliability and security: hostile remote names, faults injected into a real Samba
// server and into the local disk, SIGKILL at random points of a large sync, two runs at once,
// and the password kept out of everything kitovu prints or keeps. Each test checks what a user
// would notice: files outside the target folder, a half-written file under its real name, a
// cache that claims a file that is not there, a wrong exit code, a message that hides the cause.
// The binary prints the figures of docs/reliability.md when it ends.
#include "memory_plugin.hpp"
#include "process.hpp"
#include "reliability_support.hpp"
#include "samba_fixture.hpp"
#include "support.hpp"

#include <kitovu/engine/engine.hpp>
#include <kitovu/plugins/local.hpp>
#include <kitovu/plugins/smb.hpp>
#include <kitovu/testing/fixture.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>

using namespace kitovu;
using kitovu::test::figures;
using kitovu::test::final_files;
using kitovu::test::Mount;
using kitovu::test::random_bytes;
using kitovu::test::read_file;
using kitovu::test::run_process;
using kitovu::test::SambaServer;
using kitovu::test::TempDir;
using kitovu::test::write_file;

namespace {

constexpr std::int64_t old_time = 1'600'000'000;

using Tree = std::map<std::string, std::string>;

// A snapshot of a folder kitovu must never touch: every entry with its content (or link target).
Tree snapshot(const std::filesystem::path& root) {
    Tree entries;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
        const auto relative = entry.path().lexically_relative(root).generic_string();
        if (entry.is_symlink())
            entries[relative] = "-> " + std::filesystem::read_symlink(entry.path()).string();
        else if (entry.is_regular_file())
            entries[relative] = read_file(entry.path());
        else
            entries[relative] = "<folder>";
    }
    return entries;
}

// Whether a warning or an error of the run names `text` in its path or message.
bool named(const SyncReport& report, const std::string& text) {
    const auto in = [&](const std::string& path, const std::string& message) {
        return path.find(text) != std::string::npos || message.find(text) != std::string::npos;
    };
    return std::ranges::any_of(report.warnings,
                               [&](const Warning& w) { return in(w.path, w.message); }) ||
           std::ranges::any_of(report.errors,
                               [&](const UsageError& e) { return in(e.path, e.message); });
}

std::string problems(const SyncReport& report) {
    std::string out;
    for (const auto& w : report.warnings)
        out += "warning: " + w.to_string() + '\n';
    for (const auto& e : report.errors)
        out += "error: " + e.to_string() + '\n';
    return out;
}

// The layout of a user's machine: the target folder home/EPJ, a sentinel folder beside it
// holding files kitovu must never touch, and the cache in state/.
class Machine {
  public:
    Machine() {
        write_file(sentinel() / "notes.txt", "mine, not kitovu's");
        write_file(sentinel() / "b.txt", "sentinel b");
        write_file(sentinel() / "sub/a.txt", "sentinel a");
        before_ = snapshot(dir_.path() / "home/sentinel");
    }
    std::filesystem::path target() const { return dir_ / "home/EPJ"; }
    std::filesystem::path local(const std::string& relative) const { return target() / relative; }
    std::filesystem::path sentinel() const { return dir_ / "home/sentinel"; }
    std::filesystem::path cache_file() const { return dir_ / "state/kitovu.cache"; }
    std::filesystem::path path(const std::string& relative) const { return dir_ / relative; }

    // Nothing beside the target folder changed: the sentinel is as it was, and home/ and the
    // machine's folder hold nothing new.
    void check_nothing_outside() const {
        CHECK(snapshot(sentinel()) == before_);
        std::set<std::string> home;
        for (const auto& entry : std::filesystem::directory_iterator(dir_ / "home"))
            home.insert(entry.path().filename().string());
        home.erase("EPJ");
        CHECK(home == std::set<std::string>{"sentinel"});
        std::set<std::string> top;
        for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
            top.insert(entry.path().filename().string());
        for (const auto& name : top) {
            INFO("beside home/: " << name);
            CHECK((name == "home" || name == "state" || name == "remote"));
        }
        CHECK_FALSE(std::filesystem::exists("/escape.txt"));
        CHECK_FALSE(std::filesystem::exists("/etc/kitovu-evil"));
    }

  private:
    TempDir dir_;
    Tree before_;
};

Settings memory_settings(const Machine& machine, const std::string& remote) {
    Settings settings;
    settings.root_dir = machine.path("home");
    Connection connection{"uni", "memory", {}, {}};
    connection.options.set("remote", remote);
    settings.connections.push_back(connection);
    settings.subjects.push_back(
        Subject{"EPJ", {Source{"uni", "EPJ", machine.target(), {}, {}}}, {}});
    return settings;
}

SyncReport run_sync(const Settings& settings, const std::filesystem::path& cache,
                    SyncOptions options = {}) {
    options.cache_file = cache;
    auto report = sync(settings, options, no_warnings);
    REQUIRE(report);
    return std::move(*report);
}

} // namespace

// ---- 1. hostile remote names ------------------------------------------------------------------

TEST_CASE("hostile remote names never write outside the target folder, each is named and the "
          "rest syncs") {
    Machine machine;
    test::forget_remote("hostile");
    auto& remote = *test::remote("hostile");
    const std::string long_name(256, 'n');
    const std::string longest_name(255, 'm');

    // Refused outright, each with a warning naming the remote path.
    const std::vector<std::string> refused = {
        "..",
        "../x.txt",
        "../../escape.txt",
        "a/../../x.txt",
        "a/../../../escape.txt",
        "/etc/kitovu-evil", // an absolute path ("EPJ//etc/..." on the remote)
        "sub/" + long_name,
        long_name + "/inside.txt",
        ".kitovu-partial-0123456789abcdef"};
    for (const auto& name : refused)
        remote.put("EPJ/" + name, "evil");
    // Kept, under a portable name inside the target folder.
    const std::map<std::string, std::string> renamed = {
        {"C:\\x.txt", "C__x.txt"},
        {"back\\slash\\name.txt", "back_slash_name.txt"},
        {"..\\..\\escape.txt", ".._.._escape.txt"},
        {std::string{"ctl\x01\x1f\x7f.txt"}, "ctl___.txt"},
        {"new\nline.txt", "new_line.txt"},
        {"dir\\..\\x.txt", "dir_.._x.txt"},
        {longest_name, longest_name},
    };
    for (const auto& [name, local] : renamed)
        remote.put("EPJ/" + name, "renamed " + local);
    // Names that differ only in case are two files on Linux.
    remote.put("EPJ/Case.txt", "upper");
    remote.put("EPJ/case.txt", "lower");
    // Two remote names, one local name: the first (in listing order) keeps it.
    remote.put("EPJ/p:q.txt", "colon");
    remote.put("EPJ/p?q.txt", "question mark");
    // A remote file and a remote folder that map to one local name, in both listing orders:
    // the first listed keeps the name, the other is named in a warning and skipped whole.
    remote.put("EPJ/x:y", "the file");
    remote.put("EPJ/x?y/inner.txt", "in the folder");
    remote.put("EPJ/u:v/inner.txt", "in the folder");
    remote.put("EPJ/u?v", "the file");
    remote.put("EPJ/good.txt", "fine");
    figures().hostile_names += static_cast<long>(refused.size() + renamed.size() + 8);

    const auto report = run_sync(memory_settings(machine, "hostile"), machine.cache_file());
    INFO(problems(report));
    machine.check_nothing_outside();

    for (const auto& name : refused) {
        INFO("refused: " << name);
        CHECK(std::ranges::any_of(report.warnings, [&](const Warning& w) {
            return w.kind == WarningKind::refused_name && w.connection == "uni" &&
                   w.path.starts_with("EPJ/") &&
                   (w.path == "EPJ/" + name || ("EPJ/" + name).starts_with(w.path + "/"));
        }));
    }
    const auto files = final_files(machine.target());
    for (const auto& [name, local] : renamed) {
        INFO("renamed: " << name);
        CHECK((files.contains(local) && files.at(local) == "renamed " + local));
    }
    CHECK(files.at("Case.txt") == "upper");
    CHECK(files.at("case.txt") == "lower");
    CHECK(files.at("p_q.txt") == "colon");
    CHECK(named(report, "EPJ/p?q.txt"));
    CHECK(files.at("good.txt") == "fine");
    CHECK(files.at("x_y") == "the file");
    CHECK(named(report, "EPJ/x?y"));
    CHECK(files.at("u_v/inner.txt") == "in the folder");
    CHECK(named(report, "EPJ/u?v"));
    // Every problem is a warning: the run is in step, this time and the next.
    CHECK(report.exit_code() == 0);
    const auto again = run_sync(memory_settings(machine, "hostile"), machine.cache_file());
    INFO(problems(again));
    CHECK(again.exit_code() == 0);
    CHECK(final_files(machine.target()) == files);
    // Nothing but the listed files, their folders and nothing named like a temporary.
    for (const auto& [path, content] : files)
        CHECK_FALSE(content == "evil");
}

TEST_CASE("a symbolic link planted where kitovu writes is not followed, whether to a folder or a "
          "file, dangling or not") {
    Machine machine;
    test::forget_remote("links");
    auto& remote = *test::remote("links");
    remote.put("EPJ/sub/a.txt", "remote a");
    remote.put("EPJ/b.txt", "remote b");
    remote.put("EPJ/deep/er/c.txt", "remote c");
    remote.put("EPJ/dangling.txt", "remote d");
    remote.put("EPJ/good/ok.txt", "fine");
    std::filesystem::create_directories(machine.local("deep"));
    // Folder links into the sentinel, a file link onto a sentinel file, and a dangling link
    // that would create a new file outside if followed.
    std::filesystem::create_directory_symlink(machine.sentinel() / "sub", machine.local("sub"));
    std::filesystem::create_directory_symlink(machine.sentinel(), machine.local("deep/er"));
    std::filesystem::create_symlink(machine.sentinel() / "b.txt", machine.local("b.txt"));
    std::filesystem::create_symlink(machine.sentinel() / "new.txt", machine.local("dangling.txt"));
    figures().hostile_names += 4;

    const auto report = run_sync(memory_settings(machine, "links"), machine.cache_file());
    INFO(problems(report));
    CHECK(report.exit_code() == 1);
    CHECK(report.failed == 4);
    for (const char* path : {"EPJ/sub", "EPJ/b.txt", "EPJ/deep/er", "EPJ/dangling.txt"}) {
        INFO("error naming " << path);
        CHECK(std::ranges::any_of(report.errors, [&](const UsageError& e) {
            return e.path.find(std::string{path}) != std::string::npos &&
                   e.message.find("symbolic link") != std::string::npos;
        }));
    }
    CHECK(read_file(machine.local("good/ok.txt")) == "fine");
    // The links are still the user's links.
    CHECK(std::filesystem::is_symlink(machine.local("sub")));
    CHECK(std::filesystem::is_symlink(machine.local("b.txt")));
    CHECK_FALSE(std::filesystem::exists(machine.sentinel() / "new.txt"));
    machine.check_nothing_outside();
    test::check_cache_matches_disk(machine.cache_file());
}

TEST_CASE("a folder swapped for a symbolic link while kitovu downloads into it is not followed") {
    Machine machine;
    test::forget_remote("swap");
    auto& remote = *test::remote("swap");
    remote.put("EPJ/sub/a.txt", "remote a");
    remote.put("EPJ/sub/new.txt", "remote new");
    remote.put("EPJ/ok.txt", "fine");
    // After the engine decided (and created sub/), just before each download into sub/ starts,
    // sub/ becomes a link into the sentinel: a race a path-based write would lose.
    class Swapper final : public SyncObserver {
      public:
        explicit Swapper(const Machine& machine) : machine_(machine) {}
        void started(const FileEvent& file) override {
            if (!file.remote_path.starts_with("EPJ/sub/") || swapped_)
                return;
            swapped_ = true;
            std::filesystem::rename(machine_.local("sub"), machine_.local("sub-moved"));
            std::filesystem::create_directory_symlink(machine_.sentinel() / "sub",
                                                      machine_.local("sub"));
        }

      private:
        const Machine& machine_;
        bool swapped_ = false;
    } swapper{machine};
    ++figures().hostile_names;
    SyncOptions options;
    options.observer = &swapper;
    options.jobs = 1;
    const auto report = run_sync(memory_settings(machine, "swap"), machine.cache_file(), options);
    INFO(problems(report));
    CHECK(read_file(machine.local("ok.txt")) == "fine");
    CHECK(report.exit_code() == 1);
    CHECK(named(report, "sub"));
    machine.check_nothing_outside();
    test::check_cache_matches_disk(machine.cache_file());
}

TEST_CASE("hostile names on a real share stay inside the target folder") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    Machine machine;
    // Names a Linux server can hold but Windows cannot: backslashes, control characters,
    // the longest name, names differing only in case, a name that looks like a parent folder.
    const std::vector<std::string> names = {
        "back\\slash.txt", std::string{"ctl\x01.txt"}, std::string(255, 'L'), "Case.txt",
        "case.txt",        "..\\..\\escape.txt",       "colon:name.txt",      "ok.txt"};
    for (const auto& name : names)
        server.put("EPJ/" + name, "content of " + name, old_time);
    figures().hostile_names += static_cast<long>(names.size());
    for (const std::string share : {"skripte", "raw-names"}) {
        INFO("share " << share);
        Settings settings;
        settings.root_dir = machine.path("home");
        Options options = testing::with_defaults("smb");
        options.set("hostname", std::string{"127.0.0.1"});
        options.set("port", std::int64_t{server.port()});
        options.set("share", share);
        options.set("username", SambaServer::user());
        settings.connections.push_back(Connection{"uni", "smb", options, {}});
        settings.subjects.push_back(
            Subject{"EPJ", {Source{"uni", "EPJ", machine.target(), {}, {}}}, {}});
        SyncOptions sync_options;
        sync_options.prompt = [](std::string_view) {
            return std::optional{SambaServer::password()};
        };
        const auto report = run_sync(settings, machine.cache_file(), sync_options);
        INFO(problems(report));
        CHECK(report.exit_code() <= 1);
        // libsmbclient cannot list a folder holding a name with a backslash when Samba does not
        // mangle it: then the folder fails as a whole, with a message saying why.
        if (!std::filesystem::exists(machine.local("ok.txt")))
            CHECK((share == "raw-names" && report.exit_code() == 1 && named(report, "backslash")));
        else
            CHECK(read_file(machine.local("ok.txt")) == "content of ok.txt");
        // Every file that arrived carries the content of one of the remote files.
        for (const auto& [path, content] : final_files(machine.target())) {
            INFO(path);
            CHECK(content.starts_with("content of "));
        }
        machine.check_nothing_outside();
        std::filesystem::remove_all(machine.target());
        std::filesystem::remove(machine.cache_file());
    }
}

// ---- 2. faults against a real Samba server ----------------------------------------------------

namespace {

// A user's config syncing EPJ from the fixture's share over SMB, driven through the library or
// the kitovu binary; the password comes from KITOVU_PASSWORD_UNI.
class SmbMachine : public Machine {
  public:
    explicit SmbMachine(const SambaServer& server, std::filesystem::path target = {})
        : server_(server), target_(target.empty() ? Machine::target() : std::move(target)) {}

    std::filesystem::path target() const { return target_; }
    std::filesystem::path config() const { return path("config/kitovu.toml"); }

    Settings settings() const {
        Settings settings;
        settings.root_dir = path("home");
        Options options = testing::with_defaults("smb");
        options.set("hostname", std::string{"127.0.0.1"});
        options.set("port", std::int64_t{server_.port()});
        options.set("share", std::string{"skripte"});
        options.set("username", SambaServer::user());
        options.set("timeout", std::int64_t{5});
        settings.connections.push_back(Connection{"uni", "smb", options, {}});
        settings.subjects.push_back(Subject{"EPJ", {Source{"uni", "EPJ", target_, {}, {}}}, {}});
        return settings;
    }

    SyncReport run(SyncObserver* observer = nullptr, unsigned jobs = 2) const {
        SyncOptions options;
        options.observer = observer;
        options.jobs = jobs;
        options.prompt = [](std::string_view) { return std::optional{SambaServer::password()}; };
        return run_sync(settings(), cache_file(), options);
    }

    void write_config(const std::string& extra = {}, const std::string& share = "skripte",
                      const std::string& host = "127.0.0.1") const {
        write_file(config(),
                   server_.kitovu_config(path("home"), "uni", extra, share, host, target_));
    }

    test::Environment environment(bool with_password = true) const {
        test::Environment environment{{"HOME", path("home").string()},
                                      {"XDG_CONFIG_HOME", path("config-home").string()},
                                      {"XDG_DATA_HOME", path("data").string()},
                                      {"NO_COLOR", "1"}};
        environment["KITOVU_PASSWORD_UNI"] = with_password ? SambaServer::password() : "";
        return environment;
    }

    test::ProcessResult kitovu(std::vector<std::string> args, bool with_password = true) const {
        args.insert(args.begin(), {KITOVU_BINARY, "sync", "--config", config().string(), "--cache",
                                   cache_file().string()});
        return run_process(args, environment(with_password));
    }

  private:
    const SambaServer& server_;
    std::filesystem::path target_;
};

// A share with a few small files and one large one (long enough to be interrupted).
Tree fill_share(const SambaServer& server, std::size_t large = 8 << 20) {
    Tree remote;
    for (int i = 0; i < 12; ++i)
        remote[fmt::format("small/s{:02}.txt", i)] = fmt::format("small file {}\n", i);
    remote["large.bin"] = random_bytes(large, 42);
    for (const auto& [path, content] : remote)
        server.put("EPJ/" + path, content, old_time);
    return remote;
}

std::map<std::string, std::set<std::string>> versions_of(const Tree& tree) {
    std::map<std::string, std::set<std::string>> versions;
    for (const auto& [path, content] : tree)
        versions[path].insert(content);
    return versions;
}

// After the fault is removed a run completes: exit 0, the tree equals the share, the cache
// matches the disk, nothing lost.
void check_recovers(const SmbMachine& machine, const Tree& remote) {
    const auto rerun = machine.run();
    INFO(problems(rerun));
    CHECK(rerun.exit_code() == 0);
    CHECK(final_files(machine.target()) == remote);
    CHECK(test::count_lost(machine.target(), remote) == 0);
    test::check_cache_matches_disk(machine.cache_file());
}

// Runs `fault` once, the first time a download of `file` has received some bytes.
class MidTransfer final : public SyncObserver {
  public:
    MidTransfer(std::string file, std::function<void()> fault)
        : file_(std::move(file)), fault_(std::move(fault)) {}
    void started(const FileEvent& file) override {
        if (file.remote_path == file_)
            active_ = true;
    }
    void received(std::uint64_t) override {
        if (active_ && !done_) {
            done_ = true;
            ++figures().faults;
            fault_();
        }
    }
    bool done() const { return done_; }

  private:
    std::string file_;
    std::function<void()> fault_;
    bool active_ = false;
    bool done_ = false;
};

} // namespace

TEST_CASE("a server killed mid-transfer: exit 1 naming the connection, no partial file, no cache "
          "entry for it, a rerun completes") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    const Tree remote = fill_share(server);
    SmbMachine machine{server};
    MidTransfer killer{"EPJ/large.bin", [&] { server.stop(); }};
    const auto report = machine.run(&killer, 1);
    INFO(problems(report));
    REQUIRE(killer.done());
    CHECK(report.exit_code() == 1);
    CHECK_FALSE(report.errors.empty());
    CHECK(std::ranges::all_of(report.errors, [](const UsageError& e) {
        return e.connection == "uni" && e.kind == ErrorKind::connection;
    }));
    CHECK_FALSE(std::filesystem::exists(machine.target() / "large.bin"));
    test::check_only_complete_files(machine.target(), versions_of(remote));
    test::check_cache_matches_disk(machine.cache_file());
    auto cache = FileCache::load(machine.cache_file(), no_warnings, false);
    REQUIRE(cache);
    CHECK(cache->find((machine.target() / "large.bin").string()) == nullptr);
    machine.check_nothing_outside();

    server.start();
    check_recovers(machine, remote);
}

// The test above stops the server from the download worker (an observer): the fixture's scan
// for smbd processes must not throw when one ends while it is read (it did, on a busy machine:
// "a download worker failed: basic_filebuf::underflow error reading the file: No such process").
TEST_CASE("the fixture reads the /proc file of a process that ended meanwhile as empty, without "
          "an exception") {
    int gate[2];
    REQUIRE(::pipe(gate) == 0);
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(gate[1]);
        char byte = 0;
        [[maybe_unused]] const auto ignored = ::read(gate[0], &byte, 1);
        ::_exit(0);
    }
    const int fd = ::open(("/proc/" + std::to_string(child) + "/stat").c_str(), O_RDONLY);
    ::close(gate[1]); // the child reads the end of the pipe and ends
    ::close(gate[0]);
    ::waitpid(child, nullptr, 0);
    REQUIRE(fd >= 0);
    CHECK(test::read_proc_file(fd).empty());
    ::close(fd);
}

TEST_CASE("a server restarted mid-run: files under final names are complete and a rerun "
          "completes") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    const Tree remote = fill_share(server);
    SmbMachine machine{server};
    MidTransfer restarter{"EPJ/large.bin", [&] {
                              server.stop();
                              server.start();
                          }};
    const auto report = machine.run(&restarter, 2);
    INFO(problems(report));
    REQUIRE(restarter.done());
    CHECK(report.exit_code() <= 1);
    if (report.exit_code() == 1)
        CHECK(std::ranges::all_of(report.errors,
                                  [](const UsageError& e) { return e.connection == "uni"; }));
    test::check_only_complete_files(machine.target(), versions_of(remote));
    test::check_cache_matches_disk(machine.cache_file());
    check_recovers(machine, remote);
}

TEST_CASE("a file rewritten on the share while it downloads is refused, not kept half-old "
          "half-new, the next run gets the new version") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    Tree remote = fill_share(server);
    SmbMachine machine{server};
    const std::string rewritten = random_bytes(9 << 20, 7);
    MidTransfer rewriter{
        "EPJ/large.bin", [&] {
            // In place, as a lecturer's editor saving over the file does.
            std::ofstream out{server.share() / "EPJ/large.bin", std::ios::binary | std::ios::trunc};
            out << rewritten;
        }};
    const auto report = machine.run(&rewriter, 1);
    INFO(problems(report));
    REQUIRE(rewriter.done());
    auto versions = versions_of(remote);
    versions["large.bin"].insert(rewritten);
    // The download read a mix (or the new size): it is refused with a message saying why.
    CHECK(report.exit_code() == 1);
    CHECK(std::ranges::any_of(report.errors, [](const UsageError& e) {
        return e.path.find("large.bin") != std::string::npos &&
               e.message.find("changing on the remote") != std::string::npos;
    }));
    CHECK_FALSE(std::filesystem::exists(machine.target() / "large.bin"));
    test::check_only_complete_files(machine.target(), versions);
    test::check_cache_matches_disk(machine.cache_file());

    remote["large.bin"] = rewritten;
    check_recovers(machine, remote);
}

TEST_CASE("a file the share denies fails alone with exit 1 and a message naming it, once "
          "allowed, a rerun completes") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    const Tree remote = fill_share(server, 64 << 10);
    std::filesystem::permissions(server.share() / "EPJ/small/s03.txt", std::filesystem::perms{0});
    ++figures().faults;
    SmbMachine machine{server};
    machine.write_config();
    const auto result = machine.kitovu({});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("s03.txt") != std::string::npos);
    CHECK((result.err.find("denie") != std::string::npos ||
           result.err.find("permission") != std::string::npos));
    auto expected = remote;
    expected.erase("small/s03.txt");
    CHECK(final_files(machine.target()) == expected);
    test::check_cache_matches_disk(machine.cache_file());

    std::filesystem::permissions(server.share() / "EPJ/small/s03.txt",
                                 std::filesystem::perms{0644});
    const auto rerun = machine.kitovu({});
    INFO(rerun.out << rerun.err);
    CHECK(rerun.exit_code == 0);
    CHECK(final_files(machine.target()) == remote);
    CHECK(test::count_lost(machine.target(), remote) == 0);
}

TEST_CASE("a full disk during a download: exit 1 saying so, no partial file, no cache entry, "
          "with room again a rerun completes") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    const Tree remote = fill_share(server, 3 << 20);
    TempDir disk_dir;
    auto disk = Mount::small_disk(disk_dir.path(), "2m");
    if (!test::mount_ready(disk))
        return;
    ++figures().faults;
    SmbMachine machine{server, disk_dir / "EPJ"};
    machine.write_config();
    const auto result = machine.kitovu({});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("No space left on device") != std::string::npos);
    CHECK(result.err.find("large.bin") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(machine.target() / "large.bin"));
    test::check_only_complete_files(machine.target(), versions_of(remote));
    test::check_cache_matches_disk(machine.cache_file());
    auto cache = FileCache::load(machine.cache_file(), no_warnings, false);
    REQUIRE(cache);
    CHECK(cache->find((machine.target() / "large.bin").string()) == nullptr);

    disk->grow("16m");
    const auto rerun = machine.kitovu({});
    INFO(rerun.out << rerun.err);
    CHECK(rerun.exit_code == 0);
    CHECK(final_files(machine.target()) == remote);
    CHECK(test::count_lost(machine.target(), remote) == 0);
    test::check_cache_matches_disk(machine.cache_file());
}

TEST_CASE("a read-only cache folder: the run stops before any download with exit 1 naming the "
          "folder, once writable a run completes") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    const Tree remote = fill_share(server, 64 << 10);
    SmbMachine machine{server};
    machine.write_config();
    std::filesystem::create_directories(machine.cache_file().parent_path());
    auto read_only = Mount::read_only(machine.cache_file().parent_path());
    if (!test::mount_ready(read_only))
        return;
    ++figures().faults;
    const auto result = machine.kitovu({});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("Read-only file system") != std::string::npos);
    CHECK(result.err.find(machine.cache_file().parent_path().string()) != std::string::npos);
    // Without a lock and a cache nothing may be written: a download would be forgotten.
    CHECK(final_files(machine.target()).empty());

    read_only->make_writable();
    const auto rerun = machine.kitovu({});
    INFO(rerun.out << rerun.err);
    CHECK(rerun.exit_code == 0);
    CHECK(final_files(machine.target()) == remote);
    CHECK(test::count_lost(machine.target(), remote) == 0);
    test::check_cache_matches_disk(machine.cache_file());
}

TEST_CASE("a read-only target folder: exit 1 naming it, nothing recorded, once writable a run "
          "completes") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    const Tree remote = fill_share(server, 64 << 10);
    SmbMachine machine{server};
    machine.write_config();
    std::filesystem::create_directories(machine.target());
    auto read_only = Mount::read_only(machine.target());
    if (!test::mount_ready(read_only))
        return;
    ++figures().faults;
    const auto result = machine.kitovu({});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("Read-only file system") != std::string::npos);
    CHECK(result.err.find(machine.target().string()) != std::string::npos);
    CHECK(final_files(machine.target()).empty());
    auto cache = FileCache::load(machine.cache_file(), no_warnings, false);
    REQUIRE(cache);
    CHECK(cache->size() == 0);

    read_only->make_writable();
    const auto rerun = machine.kitovu({});
    INFO(rerun.out << rerun.err);
    CHECK(rerun.exit_code == 0);
    CHECK(final_files(machine.target()) == remote);
    CHECK(test::count_lost(machine.target(), remote) == 0);
    test::check_cache_matches_disk(machine.cache_file());
}

TEST_CASE("a full disk under the cache: exit 1 saying so, no file the cache does not know, with "
          "room again a rerun completes with a cache that matches the disk") {
    TempDir dir;
    auto disk = Mount::small_disk(dir / "state", "64k");
    if (!test::mount_ready(disk))
        return;
    ++figures().faults;
    Tree remote;
    for (int i = 0; i < 2000; ++i)
        remote[fmt::format("Vorlesung {:02}/Folie mit einem langen Namen {:04}.pdf", i % 20, i)] =
            fmt::format("slide {}", i);
    for (const auto& [path, content] : remote)
        write_file(dir / "remote/EPJ" / path, content);
    Settings settings;
    settings.root_dir = dir / "home";
    Connection connection{"disk", "local", {}, {}};
    connection.options.set("path", (dir / "remote").string());
    settings.connections.push_back(connection);
    settings.subjects.push_back(
        Subject{"EPJ", {Source{"disk", "EPJ", dir / "home/EPJ", {}, {}}}, {}});
    const auto cache_file = dir / "state/kitovu.cache";

    const auto report = run_sync(settings, cache_file);
    INFO(problems(report));
    CHECK(report.exit_code() == 1);
    // Downloads that cannot be journaled are discarded: each error says why.
    CHECK(report.failed > 0);
    CHECK(std::ranges::all_of(report.errors, [](const UsageError& e) {
        return (e.message.find("cache") != std::string::npos ||
                e.path.find("kitovu.cache") != std::string::npos) &&
               (e.message.find("No space left on device") != std::string::npos ||
                e.message.find("disk is full") != std::string::npos);
    }));
    test::check_only_complete_files(dir / "home/EPJ", versions_of(remote));

    disk->grow("16m");
    const auto rerun = run_sync(settings, cache_file);
    INFO(problems(rerun));
    CHECK(rerun.exit_code() == 0);
    CHECK(final_files(dir / "home/EPJ") == remote);
    CHECK(test::count_lost(dir / "home/EPJ", remote) == 0);
    auto cache = FileCache::load(cache_file, no_warnings, false);
    REQUIRE(cache);
    CHECK(cache->size() == remote.size());
    test::check_cache_matches_disk(cache_file);
}

// ---- 3. crash consistency at scale -------------------------------------------------------------

// Hidden from the default run ([.]); ctest runs it as "reliability_tests: [long] ..." with the
// label `long` (tests/CMakeLists.txt).
TEST_CASE("a 20,000-file sync killed at 50 random points never leaves a partial file, and a "
          "rerun converges with a cache that matches the disk",
          "[.][long]") {
    TempDir dir;
    const auto remote = dir / "remote/course";
    const auto target = dir / "target";
    const auto cache_file = dir / "state/kitovu.cache";
#ifdef __SANITIZE_ADDRESS__
    constexpr int file_count = 5'000; // several times slower under AddressSanitizer
#else
    constexpr int file_count = 20'000;
#endif
    std::mt19937 random{20'000};
    Tree expected;
    for (int i = 0; i < file_count; ++i) {
        const std::string path = fmt::format("d{:02}/e{}/file{:05}.dat", i % 40, i % 5, i);
        std::string content(1 + random() % 3000, char('A' + i % 26));
        write_file(remote / path, content);
        expected[path] = std::move(content);
    }
    Settings settings;
    settings.root_dir = dir.path();
    Connection connection{"disk", "local", {}, {}};
    connection.options.set("path", (dir / "remote").string());
    settings.connections.push_back(connection);
    settings.subjects.push_back(Subject{"course", {Source{"disk", "course", target, {}, {}}}, {}});
    SyncOptions options;
    options.cache_file = cache_file;
    auto versions = versions_of(expected);

    // Every file under its final name is one complete version of its remote file (a conflict
    // copy one of the file it is beside), or the user's edit. A file is read again only when
    // its size or time changed since it was last found complete.
    std::map<std::string, std::pair<std::uintmax_t, std::filesystem::file_time_type>> verified;
    const std::regex conflict_part{R"(\.remote-conflict-[0-9]{8}-[0-9]{6}(-[0-9]+)?)"};
    const auto check_complete = [&] {
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(target, ec);
             !ec && it != std::filesystem::recursive_directory_iterator{}; it.increment(ec)) {
            if (!it->is_regular_file() || test::is_temporary(it->path()))
                continue;
            const auto path = std::regex_replace(
                it->path().lexically_relative(target).generic_string(), conflict_part, "");
            const std::pair stamp{it->file_size(), it->last_write_time()};
            if (auto seen = verified.find(path); seen != verified.end() && seen->second == stamp)
                continue;
            INFO("file under its final name: " << path);
            REQUIRE(versions.contains(path));
            REQUIRE(versions.at(path).contains(read_file(it->path())));
            verified[path] = stamp;
        }
    };

    // Between runs the user edits files and the lecturer deletes files and uploads deleted
    // ones again: no edit may be overwritten, and a file deleted remotely stays here.
    std::map<std::string, std::string> edits;
    std::set<std::string> deleted;
    const auto user_and_lecturer = [&](int round) {
        for (int i = 0; i < 3; ++i) {
            auto it = std::next(expected.begin(), static_cast<long>(random() % expected.size()));
            if (!std::filesystem::exists(target / it->first))
                continue;
            const std::string edit = fmt::format("edited in round {}", round);
            write_file(target / it->first, edit);
            edits[it->first] = edit;
            versions[it->first].insert(edit);
        }
        for (int i = 0; i < 3; ++i) {
            auto it = std::next(expected.begin(), static_cast<long>(random() % expected.size()));
            std::filesystem::remove(remote / it->first);
            // A copy that is here stays here; one a killed run never got never comes.
            if (std::filesystem::exists(target / it->first))
                deleted.insert(it->first);
            expected.erase(it);
        }
        for (int i = 0; i < 2 && !deleted.empty(); ++i) {
            auto it = std::next(deleted.begin(), static_cast<long>(random() % deleted.size()));
            const std::string content = fmt::format("uploaded again in round {}", round);
            write_file(remote / *it, content);
            test::set_mtime(remote / *it, 1'660'000'000 + round);
            versions[*it].insert(content);
            expected[*it] = content;
            deleted.erase(it);
        }
    };

    // Each round changes some remote files so the killed run has downloads to be killed in;
    // the kill lands uniformly within the time a whole run took last (listing, deciding,
    // downloading, saving the cache). Ends after 50 kills, counted in rounds, not seconds: on a
    // busy machine each round takes longer, and a time limit cut it short at 15 to 45 kills.
    // The round limit only ends a run that keeps finishing before its kill.
    int kills = 0;
    int kills_mid_download = 0;
    int kills_with_journal = 0;
    int rounds = 0;
    long max_delay_us = 4'000'000;
    while (kills < 50 && rounds < 150) {
        ++rounds;
        for (int change = 0; change < 300; ++change) {
            auto it = std::next(expected.begin(), static_cast<long>(random() % expected.size()));
            it->second = std::string(1 + random() % 3000, char('a' + rounds % 26));
            write_file(remote / it->first, it->second);
            test::set_mtime(remote / it->first, 1'650'000'000 + rounds);
            versions[it->first].insert(it->second);
        }
        const auto forked = std::chrono::steady_clock::now();
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            auto report = sync(settings, options, no_warnings);
            ::_exit(report && report->exit_code() == 0 ? 0 : 1);
        }
        const long delay = static_cast<long>(random() % static_cast<unsigned long>(max_delay_us));
        std::this_thread::sleep_for(std::chrono::microseconds(delay));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        if (WIFSIGNALED(status)) {
            ++kills;
            // Where the kill landed: mid-download (temporaries left), after some files were
            // placed (journal entries left), or before.
            std::error_code size_error;
            if (std::filesystem::file_size(CacheJournal::path_for(cache_file), size_error) > 0 &&
                !size_error)
                ++kills_with_journal;
            std::error_code ec;
            for (auto it = std::filesystem::recursive_directory_iterator(target, ec);
                 !ec && it != std::filesystem::recursive_directory_iterator{}; it.increment(ec))
                if (test::is_temporary(it->path())) {
                    ++kills_mid_download;
                    break;
                }
        } else // it finished before the kill: aim within its duration next time
            max_delay_us =
                std::max<long>(50'000, std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - forked)
                                           .count());
        check_complete();
        user_and_lecturer(rounds);
    }
    figures().kills += kills;
    std::printf("crash test: %d kills in %d rounds of a %d-file sync (%d left temporaries, %d "
                "left journal entries)\n",
                kills, rounds, file_count, kills_mid_download, kills_with_journal);
    CHECK(kills >= 50);

    auto report = sync(settings, options, no_warnings);
    REQUIRE(report);
    CHECK(report->exit_code() == 0);
    check_complete();
    // Every remote file is here, as the remote has it or as the user edited it; what the
    // remote deleted is still here.
    Tree wanted = expected;
    for (const auto& [path, edit] : edits)
        wanted[path] = edit;
    CHECK(test::count_lost(target, wanted) == 0);
    for (const auto& path : deleted)
        CHECK(std::filesystem::exists(target / path));
    auto cache = FileCache::load(cache_file, no_warnings);
    REQUIRE(cache);
    for (const auto& [path, content] : expected)
        CHECK(cache->find((target / path).string()) != nullptr);
    std::set<std::string> edited_keys;
    for (const auto& [path, edit] : edits)
        edited_keys.insert((target / path).string());
    test::check_cache_matches_disk(cache_file, edited_keys);
    CHECK_FALSE(std::filesystem::exists(CacheJournal::path_for(cache_file)));
}

// ---- 4. two runs at once -----------------------------------------------------------------------

TEST_CASE("a second kitovu sync on the same config while one runs exits 2 saying so and writes "
          "nothing, a third is refused too, afterwards a run works") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    const Tree remote = fill_share(server, 64 << 10);
    SmbMachine machine{server};
    // The first run holds the lock while its password-command waits for the test to let go.
    write_file(machine.path("password"), SambaServer::password() + "\n");
    machine.write_config(fmt::format("password-command = \"touch {0}; while [ ! -e {1} ]; do sleep "
                                     "0.05; done; cat {2}\"\n",
                                     machine.path("started").string(), machine.path("go").string(),
                                     machine.path("password").string()));
    std::optional<test::ProcessResult> first;
    std::thread runner{[&] { first = machine.kitovu({}, false); }};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (!std::filesystem::exists(machine.path("started")) &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    const bool first_started = std::filesystem::exists(machine.path("started"));

    std::vector<test::ProcessResult> refused;
    for (int i = 0; i < 2 && first_started; ++i)
        refused.push_back(machine.kitovu({}, false));
    write_file(machine.path("go"), "");
    runner.join();
    REQUIRE(first_started);
    for (const auto& second : refused) {
        INFO(second.out << second.err);
        CHECK(second.exit_code == 2);
        CHECK(second.err.find("another kitovu sync with this config is running") !=
              std::string::npos);
    }
    REQUIRE(first);
    INFO(first->out << first->err);
    CHECK(first->exit_code == 0);
    CHECK(final_files(machine.target()) == remote);
    CHECK_FALSE(std::filesystem::exists(machine.cache_file().string() + ".lock"));

    std::filesystem::remove(machine.path("started"));
    const auto after = machine.kitovu({}, false);
    INFO(after.out << after.err);
    CHECK(after.exit_code == 0);
    CHECK(test::count_lost(machine.target(), remote) == 0);
}

TEST_CASE("a run refused by the lock does not remove the lock of the run that holds it") {
    TempDir dir;
    const auto cache = dir / "kitovu.cache";
    auto held = CacheLock::acquire(cache);
    REQUIRE(held);
    CHECK_FALSE(CacheLock::acquire(cache));
    // The lock file must still be the one held: otherwise a third run would lock a new file and
    // sync alongside the first.
    CHECK(std::filesystem::exists(cache.string() + ".lock"));
    CHECK_FALSE(CacheLock::acquire(cache));
}

// ---- 5. the password stays secret --------------------------------------------------------------

TEST_CASE("a password from KITOVU_PASSWORD_<CONNECTION> appears in no output at any verbosity, "
          "no error message, and nothing kitovu keeps") {
    SambaServer server;
    if (!test::samba_ready(server))
        return;
    fill_share(server, 64 << 10);
    SmbMachine machine{server};
    const std::string password = SambaServer::password();
    const auto check_absent = [&](const test::ProcessResult& result) {
        CHECK(result.out.find(password) == std::string::npos);
        CHECK(result.err.find(password) == std::string::npos);
    };
    machine.write_config();
    for (const auto& flags : std::vector<std::vector<std::string>>{
             {"-q"}, {}, {"-v"}, {"--json"}, {"--dry-run", "-v"}, {"--dry-run", "--json"}}) {
        std::filesystem::remove_all(machine.target());
        std::filesystem::remove(machine.cache_file());
        const auto result = machine.kitovu(flags);
        INFO(fmt::format("flags: {}", fmt::join(flags, " ")) << '\n' << result.out << result.err);
        CHECK(result.exit_code == 0);
        check_absent(result);
    }
    // Error paths: a wrong share, a wrong host, a closed port, each with the right password, and
    // through password-command too.
    write_file(machine.path("password"), password + "\n");
    const std::string command =
        fmt::format("password-command = \"cat {}\"\n", machine.path("password").string());
    for (const bool from_command : {false, true})
        for (const auto& [share, host] : std::vector<std::pair<std::string, std::string>>{
                 {"no-such-share", "127.0.0.1"},
                 {"locked", "127.0.0.1"},
                 {"skripte", "no-such-host.invalid"}}) {
            machine.write_config(from_command ? command : "", share, host);
            for (const auto& flags :
                 std::vector<std::vector<std::string>>{{}, {"-v"}, {"--json"}}) {
                const auto result = machine.kitovu(flags, !from_command);
                INFO(share << " on " << host << (from_command ? " (password-command)" : "") << '\n'
                           << result.out << result.err);
                CHECK(result.exit_code == 1);
                CHECK_FALSE((result.err.empty() && result.out.empty()));
                check_absent(result);
            }
        }
    // Nothing kitovu keeps (cache, journal, lock) holds it; a killed run leaves its journal
    // and lock behind, so look at those too.
    machine.write_config();
    const auto killed =
        run_process({KITOVU_BINARY, "sync", "-v", "--config", machine.config().string(), "--cache",
                     machine.cache_file().string()},
                    machine.environment(), [](const std::string& output, pid_t child) {
                        if (output.find("s05") != std::string::npos)
                            ::kill(child, SIGKILL);
                    });
    INFO(killed.out << killed.err);
    check_absent(killed);
    int files = 0;
    for (const auto& folder : {machine.cache_file().parent_path(), machine.path("data")}) {
        if (!std::filesystem::exists(folder))
            continue;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(folder))
            if (entry.is_regular_file()) {
                ++files;
                INFO(entry.path());
                CHECK(read_file(entry.path()).find(password) == std::string::npos);
            }
    }
    CHECK(files >= 1);
}

// ---- 5. signals: a run stops cleanly within about a second in every phase --------------------

namespace {

// kitovu started in the background (stdin closed, output discarded), to be signalled mid-run.
class Background {
  public:
    Background(const std::vector<std::string>& args, const test::Environment& environment) {
        pid_ = ::fork();
        if (pid_ == 0) {
            const int null = ::open("/dev/null", O_RDWR);
            ::dup2(null, STDIN_FILENO);
            ::dup2(null, STDOUT_FILENO);
            ::dup2(null, STDERR_FILENO);
            test::detail::exec(args, environment);
        }
    }
    ~Background() {
        if (pid_ > 0 && !ended_) {
            ::kill(pid_, SIGKILL);
            test::detail::wait_for(pid_);
        }
    }
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;

    // Sends `signal` and returns the exit code if the process ends within `patience`.
    std::optional<int> signal_and_wait(int signal, std::chrono::milliseconds patience) {
        ::kill(pid_, signal);
        const auto deadline = std::chrono::steady_clock::now() + patience;
        for (;;) {
            int status = 0;
            const pid_t done = ::waitpid(pid_, &status, WNOHANG);
            if (done == pid_) {
                ended_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            if (std::chrono::steady_clock::now() > deadline)
                return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds{5});
        }
    }

  private:
    pid_t pid_ = -1;
    bool ended_ = false;
};

bool has_temporaries(const std::filesystem::path& root) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root, ec))
        if (test::is_temporary(entry.path()))
            return true;
    return false;
}

} // namespace

TEST_CASE("SIGTERM, SIGINT or SIGHUP stops a run within 2 s in every phase: exit 1, no "
          "temporaries, what was synced stays recorded") {
    test::GatedServer gated;
    SambaServer& server = gated.server;
    if (!test::samba_ready(server))
        return;
    SmbMachine machine{server};
    server.put("EPJ/a/one.txt", "one", old_time);
    machine.write_config();
    REQUIRE(machine.kitovu({}).exit_code == 0);
    const std::vector<std::string> args{KITOVU_BINARY, "sync",
                                        "--config",    machine.config().string(),
                                        "--cache",     machine.cache_file().string()};
    int signal = SIGTERM;

    SECTION("asking password-command") {
        const auto asked = machine.path("remote/asked");
        std::filesystem::create_directories(asked.parent_path());
        machine.write_config("password-command = \"touch " + asked.string() +
                             "; exec sleep 60\"\n");
        Background run{args, machine.environment(false)};
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
        while (!std::filesystem::exists(asked) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        REQUIRE(std::filesystem::exists(asked));
        CHECK(run.signal_and_wait(SIGTERM, std::chrono::seconds{2}) == 1);
    }
    SECTION("connecting") {
        gated.gate.arm(1);
        Background run{args, machine.environment()};
        REQUIRE(gated.gate.wait_held());
        CHECK(run.signal_and_wait(SIGINT, std::chrono::seconds{2}) == 1);
        signal = SIGINT;
    }
    SECTION("listing processes logging in") {
        for (const char* folder : {"EPJ/b", "EPJ/c", "EPJ/d"})
            server.make_folders(server.share() / folder);
        // The run lists on in its own process while they log in; the new file then waits for a
        // login, a listing process's or its download process's, and every one after the run's
        // own is held.
        server.put("EPJ/b/new.txt", "new", old_time);
        gated.gate.arm(2);
        Background run{args, machine.environment()};
        REQUIRE(gated.gate.wait_held());
        CHECK(run.signal_and_wait(SIGHUP, std::chrono::seconds{2}) == 1);
        signal = SIGHUP;
    }
    SECTION("downloading") {
        server.put("EPJ/two.bin", random_bytes(1 << 20, 3), old_time);
        // Every connection after the lister's is held: a worker's own login, or (once the
        // lister's login showed the server takes these settings) its download process's, which
        // of the two depends on which comes first, so the count cannot single one out.
        gated.gate.arm(2);
        Background run{args, machine.environment()};
        REQUIRE(gated.gate.wait_held());
        CHECK(run.signal_and_wait(SIGTERM, std::chrono::seconds{2}) == 1);
        CHECK_FALSE(std::filesystem::exists(machine.local("two.bin")));
    }
    INFO("signal " << signal);
    CHECK_FALSE(has_temporaries(machine.target()));
    CHECK_FALSE(std::filesystem::exists(CacheJournal::path_for(machine.cache_file())));
    auto cache = FileCache::load(machine.cache_file(), no_warnings, false);
    REQUIRE(cache);
    CHECK(cache->find(machine.local("a/one.txt").string()) != nullptr);
    CHECK(read_file(machine.local("a/one.txt")) == "one");
}
