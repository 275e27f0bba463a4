// The kitovu binary, run as a user runs it: every command, every exit code of the contract,
// output on a pipe and on a terminal. SMB cases live in smb_cli_tests (they need Samba).
#include "process.hpp"
#include "samba_fixture.hpp"
#if KITOVU_TEST_MOODLE
#include "moodle_fixture.hpp"
#endif
#if KITOVU_TEST_WEBDAV
#include "webdav_fixture.hpp"
#endif
#include "support.hpp"

#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>

using kitovu::test::read_file;
using kitovu::test::run_on_terminal;
using kitovu::test::run_process;
using kitovu::test::TempDir;
using kitovu::test::write_file;

namespace {

// A user's home with a config syncing a local "share" folder: nothing touches the real home.
class Home {
  public:
    Home() {
        std::filesystem::create_directories(dir_ / "share/Informatik/EPJ");
        std::filesystem::create_directories(dir_ / "share/Mathe");
    }

    std::filesystem::path path(const std::string& relative = {}) const { return dir_ / relative; }
    std::filesystem::path config() const { return dir_ / "config/kitovu.toml"; }

    void share(const std::string& relative, const std::string& content) {
        write_file(dir_ / "share" / relative, content);
    }

    void write_config(const std::string& extra = {}) const {
        write_file(config(),
                   fmt::format(R"(root-dir = "{}"
global-ignore = ["*.tmp"]

[[connections]]
name = "mirror"
plugin = "local"
path = "{}"

[[subjects]]
name = "EPJ"
  [[subjects.sources]]
  connection = "mirror"
  remote-dir = "Informatik/EPJ"

[[subjects]]
name = "Mathe"
  [[subjects.sources]]
  connection = "mirror"
  remote-dir = "Mathe"
{})",
                               (dir_ / "kitovu").string(), (dir_ / "share").string(), extra));
    }

    kitovu::test::Environment environment() const {
        return {{"HOME", dir_.path().string()},
                {"XDG_CONFIG_HOME", (dir_ / "config-home").string()},
                {"XDG_DATA_HOME", (dir_ / "data").string()},
                {"NO_COLOR", ""},
                {"TERM", "xterm"},
                // No session bus: a developer's own keyring is never asked or written.
                {"DBUS_SESSION_BUS_ADDRESS", ""},
                {"XDG_RUNTIME_DIR", ""}};
    }

    kitovu::test::ProcessResult kitovu(std::vector<std::string> args) const {
        args.insert(args.begin(), KITOVU_BINARY);
        return run_process(args, environment());
    }

  private:
    TempDir dir_;
};

bool has_control_characters(const std::string& text) {
    return std::ranges::any_of(text, [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && c != '\n') || byte == 0x7f;
    });
}

} // namespace

TEST_CASE("kitovu --version and --help answer and exit 0") {
    Home home;
    const auto version = home.kitovu({"--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out == "kitovu 0.1.0\n");

    const auto help = home.kitovu({"--help"});
    CHECK(help.exit_code == 0);
    for (const char* command : {"sync", "validate", "fileinfo", "edit", "plugins", "Exit codes"})
        CHECK(help.out.find(command) != std::string::npos);

    for (const char* command :
         {"sync", "validate", "fileinfo", "edit", "plugins", "login", "logout"}) {
        const auto sub = home.kitovu({command, "--help"});
        INFO(command);
        CHECK(sub.exit_code == 0);
        CHECK(sub.out.find("Example") != std::string::npos);
    }
}

TEST_CASE("a usage error exits 2 and says what is wrong") {
    Home home;
    home.write_config();
    for (const auto& args : std::vector<std::vector<std::string>>{{},
                                                                  {"bogus"},
                                                                  {"sync", "--jobs", "0"},
                                                                  {"sync", "--jobs", "x"},
                                                                  {"sync", "-v", "-q"},
                                                                  {"sync", "--nope"}}) {
        auto with_config = args;
        const auto result = home.kitovu(with_config);
        INFO(fmt::format("kitovu {}", fmt::join(args, " ")));
        CHECK(result.exit_code == 2);
        CHECK_FALSE(result.err.empty());
    }
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu")));
}

TEST_CASE("kitovu sync downloads everything, exits 0, and a second run has nothing to do") {
    Home home;
    home.share("Informatik/EPJ/Skript.pdf", "lecture");
    home.share("Informatik/EPJ/Übungen/Serie 1.txt", "exercise");
    home.share("Informatik/EPJ/scratch.tmp", "ignored");
    home.share("Mathe/Analysis.pdf", "analysis");
    home.write_config();

    const auto first = home.kitovu({"sync", "--config", home.config().string()});
    CHECK(first.exit_code == 0);
    CHECK(first.out.find("3 new") != std::string::npos);
    CHECK(read_file(home.path("kitovu/EPJ/Skript.pdf")) == "lecture");
    CHECK(read_file(home.path("kitovu/EPJ/Übungen/Serie 1.txt")) == "exercise");
    CHECK(read_file(home.path("kitovu/Mathe/Analysis.pdf")) == "analysis");
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu/EPJ/scratch.tmp")));

    const auto second = home.kitovu({"sync", "--config", home.config().string()});
    CHECK(second.exit_code == 0);
    CHECK(second.out.find("3 unchanged") != std::string::npos);
    CHECK(second.out.find("new") == std::string::npos);
}

TEST_CASE("kitovu sync reads the config from XDG_CONFIG_HOME by default") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config();
    std::filesystem::create_directories(home.path("config-home/kitovu"));
    std::filesystem::copy_file(home.config(), home.path("config-home/kitovu/kitovu.toml"));
    const auto result = home.kitovu({"sync"});
    CHECK(result.exit_code == 0);
    CHECK(read_file(home.path("kitovu/Mathe/a.txt")) == "a");
}

TEST_CASE("kitovu sync exits 1 when a source fails and still syncs the rest") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config(R"(
[[subjects]]
name = "Missing"
  [[subjects.sources]]
  connection = "mirror"
  remote-dir = "Does/Not/Exist"
)");
    const auto result = home.kitovu({"sync", "--config", home.config().string()});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("error: mirror: ") != std::string::npos);
    CHECK(result.err.find("remote folder not found") != std::string::npos);
    CHECK(read_file(home.path("kitovu/Mathe/a.txt")) == "a");
}

namespace {

// The cache lines of the files below `folder`, as saved: a run that leaves a subject alone
// leaves these bytes alone.
std::vector<std::string> cache_lines_under(const std::filesystem::path& cache,
                                           const std::filesystem::path& folder) {
    std::vector<std::string> lines;
    std::istringstream in{read_file(cache)};
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(folder.string() + '/'))
            lines.push_back(line);
    return lines;
}

} // namespace

TEST_CASE("kitovu sync SUBJECT syncs only that subject, the others' files and cache records stay "
          "as they were") {
    Home home;
    home.share("Informatik/EPJ/Skript.pdf", "v1");
    home.share("Mathe/Analysis.pdf", "v1");
    home.share("Mathe/Algebra.pdf", "v1");
    home.write_config();
    const std::string cache = home.path("kitovu.cache").string();
    const auto sync = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"sync", "--cache", cache, "--config", home.config().string()});
        return home.kitovu(args);
    };
    REQUIRE(sync({}).exit_code == 0);
    const auto mathe_records = cache_lines_under(cache, home.path("kitovu/Mathe"));
    REQUIRE(mathe_records.size() == 2);

    // Both subjects change remotely; one Mathe file is even gone.
    home.share("Informatik/EPJ/Skript.pdf", "v2");
    home.share("Mathe/Analysis.pdf", "v2");
    std::filesystem::remove(home.path("share/Mathe/Algebra.pdf"));
    const auto only_epj = sync({"EPJ", "-v"});
    CHECK(only_epj.exit_code == 0);
    CHECK(only_epj.out.find("1 updated") != std::string::npos);
    CHECK(only_epj.out.find("Mathe") == std::string::npos);
    CHECK(only_epj.err.find("Mathe") == std::string::npos); // no "gone remotely" for Algebra
    CHECK(read_file(home.path("kitovu/EPJ/Skript.pdf")) == "v2");
    CHECK(read_file(home.path("kitovu/Mathe/Analysis.pdf")) == "v1");
    CHECK(cache_lines_under(cache, home.path("kitovu/Mathe")) == mathe_records);

    // The next full run catches up with Mathe.
    const auto all = sync({});
    CHECK(all.exit_code == 0);
    CHECK(all.out.find("1 updated") != std::string::npos);
    CHECK(all.out.find("1 gone remotely") != std::string::npos);
    CHECK(read_file(home.path("kitovu/Mathe/Analysis.pdf")) == "v2");
}

TEST_CASE("kitovu sync SUBJECT also syncs a subject whose folder lies inside the chosen one's, "
          "so its records are not taken for gone") {
    Home home;
    home.share("Mathe/Analysis.pdf", "analysis");
    home.share("Mathe/Archiv/2019.pdf", "old");
    home.write_config(fmt::format(R"(
[[subjects]]
name = "Archiv"
  [[subjects.sources]]
  connection = "mirror"
  remote-dir = "Mathe/Archiv"
  local-dir = "{}"
)",
                                  home.path("kitovu/Mathe/Alt").string()));
    const std::string cache = home.path("kitovu.cache").string();
    const auto sync = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"sync", "--cache", cache, "--config", home.config().string()});
        return home.kitovu(args);
    };
    REQUIRE(sync({}).exit_code == 0);
    const std::string records = read_file(cache);

    const auto mathe = sync({"Mathe"});
    CHECK(mathe.exit_code == 0);
    CHECK(mathe.err == "also syncing 'Archiv' from mirror: its folder " +
                           home.path("kitovu/Mathe/Alt").string() +
                           " is inside the folder of 'Mathe'\n");
    CHECK(mathe.out.find("gone remotely") == std::string::npos);
    CHECK(read_file(cache) == records);
}

TEST_CASE("kitovu sync --connection NAME syncs only the sources on that connection") {
    Home home;
    home.share("Informatik/EPJ/Skript.pdf", "epj");
    home.share("Mathe/Analysis.pdf", "mathe");
    write_file(home.path("archive/Mathe/2019.pdf"), "old");
    home.write_config(fmt::format(R"(  [[subjects.sources]]
  connection = "archive"
  remote-dir = "Mathe"

[[connections]]
name = "archive"
plugin = "local"
path = "{}"
)",
                                  home.path("archive").string()));
    const auto args = [&](std::vector<std::string> more) {
        more.insert(more.begin(), {"sync", "--config", home.config().string()});
        return more;
    };
    const auto archive = home.kitovu(args({"--connection", "archive"}));
    CHECK(archive.exit_code == 0);
    CHECK(read_file(home.path("kitovu/Mathe/2019.pdf")) == "old");
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu/Mathe/Analysis.pdf")));
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu/EPJ")));

    const auto mathe_mirror = home.kitovu(args({"Mathe", "--connection", "mirror"}));
    CHECK(mathe_mirror.exit_code == 0);
    CHECK(read_file(home.path("kitovu/Mathe/Analysis.pdf")) == "mathe");
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu/EPJ")));

    const auto nothing = home.kitovu(args({"EPJ", "--connection", "archive"}));
    CHECK(nothing.exit_code == 2);
    CHECK(nothing.err == "error: nothing to sync: 'EPJ' has no source on connection 'archive'\n");
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu/EPJ")));
}

TEST_CASE("kitovu sync with an unknown subject or connection exits 2, lists the known names and "
          "syncs nothing") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config();
    const std::string config = home.config().string();
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    for (const Case& c : std::vector<Case>{
             {{"Mathe", "Physik"},
              "error: unknown subject 'Physik' (subjects in " + config + ": EPJ, Mathe)\n"},
             {{"mathe", "Chemie", "mathe"},
              "error: unknown subjects 'mathe', 'Chemie' (subjects in " + config +
                  ": EPJ, Mathe)\n"},
             {{"--connection", "moodle"},
              "error: unknown connection 'moodle' (connections in " + config + ": mirror)\n"},
             {{"--connection", ""},
              "error: unknown connection '' (connections in " + config + ": mirror)\n"},
         }) {
        auto args = c.args;
        args.insert(args.begin(), {"sync", "--config", config});
        INFO(fmt::format("kitovu {}", fmt::join(args, " ")));
        const auto result = home.kitovu(args);
        CHECK(result.exit_code == 2);
        CHECK(result.err == c.message);
        CHECK_FALSE(std::filesystem::exists(home.path("kitovu")));
        CHECK_FALSE(std::filesystem::exists(home.path("data")));
    }
}

TEST_CASE("the bash completion loads and offers commands, options, and the config's subjects and "
          "connections") {
    Home home;
    home.write_config(R"(
[[subjects]]
name = "Mathe 2"
  [[subjects.sources]]
  connection = "mirror"
  remote-dir = "Mathe"
)");
    // Completes the words after `kitovu` as bash would on TAB; prints one candidate a line.
    const auto complete = [&](const std::string& words) {
        const std::string script =
            "source \"$1\" && complete -p kitovu && COMP_WORDS=(\"$2\" " + words +
            ") && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _kitovu && for word in "
            "\"${COMPREPLY[@]}\"; do echo \"$word\"; done";
        return run_process({"/bin/bash", "--norc", "-c", script, "bash",
                            KITOVU_SOURCE_DIR "/packaging/completions/kitovu.bash", KITOVU_BINARY},
                           home.environment());
    };
    const std::string config = "--config " + home.config().string();
    struct Case {
        std::string words;
        std::string offered;
    };
    for (const Case& c : std::vector<Case>{
             {"''", "sync\nvalidate\nfileinfo\nedit\nlogin\nlogout\nls\ntest\nplugins\n"},
             {"va", "validate\n"},
             {"sync " + config + " ''", "EPJ\nMathe\nMathe\\ 2\n"},
             {"sync " + config + " Mathe", "Mathe\nMathe\\ 2\n"},
             {"sync " + config + " EPJ --connection ''", "mirror\n"},
             {"sync --dry", "--dry-run\n"},
             {"validate " + config + " ''", ""},
             {"ls " + config + " ''", "mirror\n"},
             {"ls " + config + " mirror ''", ""},
             {"test " + config + " mirror ''", "mirror\n"},
             {"logout " + config + " ''", "mirror\n"},
         }) {
        INFO("kitovu " << c.words);
        const auto result = complete(c.words);
        CHECK(result.exit_code == 0);
        CHECK(result.err == "");
        CHECK(result.out == "complete -F _kitovu kitovu\n" + c.offered);
    }
}

TEST_CASE("kitovu sync --skip-if-running exits 0 while another sync holds the lock, a config "
          "error still exits 2") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config();
    const std::string cache = home.path("kitovu.cache").string();
    const auto sync = [&](std::vector<std::string> more) {
        more.insert(more.begin(), {"sync", "--cache", cache, "--config", home.config().string()});
        return home.kitovu(more);
    };
    // Held exactly as a running sync holds it (CacheLock): an exclusive flock on the file.
    const std::string lock_file = cache + ".lock";
    const int lock = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(lock >= 0);
    REQUIRE(::flock(lock, LOCK_EX) == 0);

    const auto refused = sync({});
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("another kitovu sync with this config is running") != std::string::npos);
    const auto skipped = sync({"--skip-if-running"});
    CHECK(skipped.exit_code == 0);
    CHECK(skipped.err == "another kitovu sync with this config is running; this run is skipped\n");
    const auto quiet = sync({"--skip-if-running", "-q"});
    CHECK(quiet.exit_code == 0);
    CHECK(quiet.out + quiet.err == "");
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu")));
    CHECK(std::filesystem::exists(lock_file)); // the holder's lock is left alone

    write_file(home.config(), "root-dir = 1\n");
    CHECK(sync({"--skip-if-running"}).exit_code == 2);
    home.write_config();

    ::unlink(lock_file.c_str());
    ::close(lock);
    CHECK(sync({"--skip-if-running"}).exit_code == 0);
    CHECK(read_file(home.path("kitovu/Mathe/a.txt")) == "a");
}

TEST_CASE("kitovu sync into a folder another sync (another config or cache) is placing files "
          "into exits 2, or 0 with --skip-if-running") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config();
    const auto sync = [&](std::vector<std::string> more) {
        more.insert(more.begin(), {"sync", "--cache", home.path("other.cache").string(), "--config",
                                   home.config().string()});
        return home.kitovu(more);
    };
    // Held exactly as a running sync holds it (FolderLocks): an exclusive flock on the folder.
    const auto folder = home.path("kitovu/Mathe");
    std::filesystem::create_directories(folder);
    const int lock = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(lock >= 0);
    REQUIRE(::flock(lock, LOCK_EX) == 0);

    const auto refused = sync({});
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find(folder.string() + ": another kitovu sync is placing files into this "
                                             "folder") != std::string::npos);
    const auto skipped = sync({"--skip-if-running"});
    CHECK(skipped.exit_code == 0);
    CHECK(skipped.err == "another kitovu sync is placing files into a folder of this config; this "
                         "run is skipped\n");
    CHECK(kitovu::test::files_in(folder).empty());

    ::close(lock);
    CHECK(sync({"--skip-if-running"}).exit_code == 0);
    CHECK(read_file(folder / "a.txt") == "a");
}

TEST_CASE("kitovu sync --notify tells the desktop about conflicts and errors through notify-send, "
          "only when there is a session bus") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config();
    // A stand-in for notify-send that records its arguments and the bus it was given.
    const auto notified = home.path("notified");
    write_file(
        home.path("bin/notify-send"),
        "#!/bin/sh\n{ echo \"bus=$DBUS_SESSION_BUS_ADDRESS\"; printf '%s\\n' \"$@\"; } >> '" +
            notified.string() + "'\n");
    std::filesystem::permissions(home.path("bin/notify-send"), std::filesystem::perms::owner_all);
    std::filesystem::create_directories(home.path("runtime"));
    auto desktop = home.environment();
    desktop["PATH"] = home.path("bin").string() + ":/usr/bin:/bin";
    desktop["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/run/user/1000/bus";
    desktop["XDG_RUNTIME_DIR"] = home.path("runtime").string();
    const auto sync = [&](const kitovu::test::Environment& environment,
                          std::vector<std::string> more = {"--notify"}) {
        std::filesystem::remove(notified);
        more.insert(more.begin(), {KITOVU_BINARY, "sync", "--config", home.config().string()});
        return run_process(more, environment);
    };

    CHECK(sync(desktop).exit_code == 0);
    CHECK_FALSE(std::filesystem::exists(notified)); // all well: silence

    // A conflict: an edit here, another there.
    write_file(home.path("kitovu/Mathe/a.txt"), "edited here");
    home.share("Mathe/a.txt", "changed there");
    CHECK(sync(desktop).exit_code == 0);
    const std::string conflict = read_file(notified);
    CHECK(conflict.starts_with("bus=unix:path=/run/user/1000/bus\n--app-name=kitovu\n"));
    CHECK(conflict.find("--urgency=normal\nkitovu sync: 1 conflict\n") != std::string::npos);
    CHECK(conflict.find(home.path("kitovu/Mathe/a.txt").string()) != std::string::npos);

    // Without --notify, or without a session bus, or without notify-send: nothing, same exit.
    home.share("Mathe/b.txt", "b");
    write_file(home.path("kitovu/Mathe/b.txt"), "mine");
    CHECK(sync(desktop, {}).exit_code == 0);
    CHECK_FALSE(std::filesystem::exists(notified));
    auto no_bus = desktop;
    no_bus["DBUS_SESSION_BUS_ADDRESS"] = "";
    home.share("Mathe/c.txt", "c");
    write_file(home.path("kitovu/Mathe/c.txt"), "mine");
    CHECK(sync(no_bus).exit_code == 0);
    CHECK_FALSE(std::filesystem::exists(notified));
    auto no_notify_send = desktop;
    no_notify_send["PATH"] = "/nonexistent";
    home.share("Mathe/d.txt", "d");
    write_file(home.path("kitovu/Mathe/d.txt"), "mine");
    CHECK(sync(no_notify_send).exit_code == 0);

    // The bus systemd's user manager provides, found at $XDG_RUNTIME_DIR/bus; and an error.
    const int bus = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string bus_path = home.path("runtime/bus").string();
    REQUIRE(bus_path.size() < sizeof address.sun_path);
    bus_path.copy(address.sun_path, bus_path.size());
    REQUIRE(::bind(bus, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    home.write_config("\n[[subjects]]\nname = \"Gone\"\n  [[subjects.sources]]\n  connection = "
                      "\"mirror\"\n  remote-dir = \"Gone\"\n");
    CHECK(sync(no_bus).exit_code == 1);
    const std::string error = read_file(notified);
    CHECK(error.starts_with("bus=unix:path=" + bus_path + "\n"));
    CHECK(error.find("--urgency=critical\nkitovu sync: 1 error\n") != std::string::npos);
    CHECK(error.find("remote folder not found") != std::string::npos);
    ::close(bus);

    // A config that stops the run before it starts.
    write_file(home.config(), "root-dir = 1\n");
    CHECK(sync(desktop).exit_code == 2);
    CHECK(read_file(notified).find("kitovu sync could not run\n" + home.config().string() +
                                   " has problems") != std::string::npos);
}

TEST_CASE("kitovu sync with a broken config exits 2, prints every problem and syncs nothing") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config("\n[[subjects]]\nname = \"X\"\n  [[subjects.sources]]\n  connection = "
                      "\"nowhere\"\n  remote_dir = \"x\"\n");
    const auto result = home.kitovu({"sync", "--config", home.config().string()});
    CHECK(result.exit_code == 2);
    const std::string prefix = home.config().string() + ":";
    CHECK(result.err.find(prefix +
                          "23:3: source of subject 'X' is missing required key 'remote-dir'\n") !=
          std::string::npos);
    CHECK(result.err.find(prefix +
                          "24:16: unknown connection 'nowhere' (defined connections: mirror)\n") !=
          std::string::npos);
    CHECK(result.err.find("did you mean 'remote-dir'") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu")));
    CHECK_FALSE(std::filesystem::exists(home.path("data")));

    const auto missing = home.kitovu({"sync", "--config", home.path("nope.toml").string()});
    CHECK(missing.exit_code == 2);
    CHECK(missing.err.find(home.path("nope.toml").string()) != std::string::npos);
}

TEST_CASE("kitovu validate reports every problem as FILE:LINE:COLUMN and exits 2") {
    Home home;
    home.write_config();
    const auto good = home.kitovu({"validate", "--config", home.config().string()});
    CHECK(good.exit_code == 0);
    CHECK(good.out == home.config().string() + ": ok (1 connection, 2 subjects)\n");

    write_file(home.config(), "root-dir = 5\n[[connections]]\nname = \"a\"\nplugin = \"ftp\"\n");
    const auto bad = home.kitovu({"validate", "--config", home.config().string()});
    CHECK(bad.exit_code == 2);
    const std::string file = home.config().string();
    CHECK(bad.err.starts_with(
        file + ":1:12: expected a string for 'root-dir', found an integer\n" + file +
        ":4:10: unknown plugin 'ftp' (known plugins: local, moodle, smb, webdav)\n"));
}

TEST_CASE("kitovu fileinfo prints the config and cache paths and whether they exist") {
    Home home;
    const auto before = home.kitovu({"fileinfo"});
    CHECK(before.exit_code == 0);
    const std::string config = home.path("config-home/kitovu/kitovu.toml").string();
    CHECK(before.out.starts_with("config: " + config + " (missing)\n"));
    CHECK(before.out.find("cache:  " + home.path("data/kitovu/kitovu-").string()) !=
          std::string::npos);
    CHECK(before.out.find(".cache (missing)") != std::string::npos);

    home.write_config();
    std::filesystem::create_directories(home.path("config-home/kitovu"));
    std::filesystem::copy_file(home.config(), config);
    REQUIRE(home.kitovu({"sync"}).exit_code == 0);
    const auto after = home.kitovu({"fileinfo"});
    CHECK(after.out.find("(missing)") == std::string::npos);
    CHECK(after.out.find(".cache (exists)") != std::string::npos);
}

TEST_CASE("kitovu sync --dry-run shows what would happen and changes nothing") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config();
    const auto result =
        home.kitovu({"sync", "--dry-run", "-v", "--config", home.config().string()});
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("would be new") != std::string::npos);
    CHECK(result.out.find(home.path("kitovu/Mathe/a.txt").string()) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu")));
    CHECK_FALSE(std::filesystem::exists(home.path("data")));

    // Without -v a dry run still lists what it would write.
    const auto plain = home.kitovu({"sync", "--dry-run", "--config", home.config().string()});
    CHECK(plain.exit_code == 0);
    CHECK(plain.out.find("would be new") != std::string::npos);
    CHECK(plain.out.find("dry run: 1 new") != std::string::npos);
}

TEST_CASE("kitovu sync --json prints one JSON report whose counts match the files on disk") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.share("Mathe/b.txt", "bb");
    home.share("Mathe/sub/c.txt", "ccc");
    home.write_config();
    write_file(home.path("kitovu/Mathe/b.txt"), "mine");
    const auto result = home.kitovu({"sync", "--json", "--config", home.config().string()});
    CHECK(result.exit_code == 0);
    const auto report = nlohmann::json::parse(result.out); // throws (fails the test) unless JSON
    const auto& counts = report.at("counts");
    CHECK(counts.at("new") == 2);
    CHECK(counts.at("conflict") == 1);
    CHECK(counts.at("unchanged") == 0);
    CHECK(report.at("failed") == 0);
    CHECK(report.at("exit_code") == 0);
    CHECK(report.at("dry_run") == false);
    CHECK(report.at("errors").empty());
    REQUIRE(report.at("warnings").size() == 1);
    CHECK(report.at("warnings")[0].at("kind") == "conflict");
    CHECK(report.at("warnings")[0].at("connection") == "mirror");
    CHECK(report.at("warnings")[0].at("path") == home.path("kitovu/Mathe/b.txt").string());

    // What the report says was downloaded is what is on disk.
    std::size_t files = 0;
    std::uintmax_t bytes = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(home.path("kitovu")))
        if (entry.is_regular_file() && entry.path().filename() != "b.txt") {
            ++files;
            bytes += entry.file_size();
        }
    CHECK(files == counts.at("new").get<std::size_t>() + counts.at("conflict").get<std::size_t>());
    CHECK(report.at("bytes_downloaded") == bytes);

    const auto again = nlohmann::json::parse(
        home.kitovu({"sync", "--json", "--config", home.config().string()}).out);
    CHECK(again.at("counts").at("unchanged") == 2);
    CHECK(again.at("counts").at("local-changed") == 1);
    CHECK(again.at("bytes_downloaded") == 0);
}

TEST_CASE("kitovu sync -q prints nothing when all is well, -v prints each file") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config();
    const auto quiet = home.kitovu({"sync", "-q", "--config", home.config().string()});
    CHECK(quiet.exit_code == 0);
    CHECK(quiet.out.empty());
    CHECK(quiet.err.empty());
    const auto verbose = home.kitovu({"sync", "-v", "--config", home.config().string()});
    CHECK(verbose.out.find("unchanged       " + home.path("kitovu/Mathe/a.txt").string()) !=
          std::string::npos);
}

TEST_CASE("output into a pipe has no control characters, on a terminal a progress line is drawn") {
    Home home;
    // Large enough that the run lasts several redraws of the progress line.
    for (int i = 0; i < 200; ++i)
        home.share(fmt::format("Mathe/f{:03}.bin", i), std::string(1 << 20, 'x'));
    home.share("Informatik/EPJ/a.txt", "remote");
    home.write_config();
    write_file(home.path("kitovu/EPJ/a.txt"), "mine"); // a conflict: a warning line too

    const auto piped = home.kitovu({"sync", "--config", home.config().string()});
    CHECK(piped.exit_code == 0);
    CHECK(piped.err.find("warning: mirror: ") != std::string::npos);
    CHECK_FALSE(has_control_characters(piped.out));
    CHECK_FALSE(has_control_characters(piped.err));

    std::filesystem::remove_all(home.path("kitovu/Mathe"));
    auto environment = home.environment();
    environment.erase("NO_COLOR");
    const auto terminal = run_on_terminal(
        {KITOVU_BINARY, "sync", "--jobs", "1", "--config", home.config().string()}, environment);
    CHECK(terminal.exit_code == 0);
    CHECK(terminal.out.find("\r\033[K") != std::string::npos);
    CHECK(std::regex_search(terminal.out,
                            std::regex{"\r\033\\[K[0-9]+/[0-9]+ files  [0-9.]+ [KMGT]?B / "}));
    CHECK(terminal.out.find("200 new") != std::string::npos);
}

TEST_CASE("colour only on a terminal and never with NO_COLOR") {
    Home home;
    home.share("Informatik/EPJ/a.txt", "remote");
    home.write_config();
    write_file(home.path("kitovu/EPJ/a.txt"), "mine");
    auto environment = home.environment();
    environment.erase("NO_COLOR");
    const auto coloured =
        run_on_terminal({KITOVU_BINARY, "sync", "--config", home.config().string()}, environment);
    CHECK(coloured.out.find("\033[33mwarning:") != std::string::npos);

    home.share("Informatik/EPJ/b.txt", "remote");
    write_file(home.path("kitovu/EPJ/b.txt"), "mine");
    environment["NO_COLOR"] = "1";
    const auto plain =
        run_on_terminal({KITOVU_BINARY, "sync", "--config", home.config().string()}, environment);
    CHECK(plain.out.find("warning:") != std::string::npos);
    CHECK(plain.out.find("\033[33m") == std::string::npos);
}

TEST_CASE(
    "Ctrl-C stops the sync cleanly: exit 1, a stopped line, no temporaries, a rerun finishes") {
    Home home;
    for (int i = 0; i < 400; ++i)
        home.share(fmt::format("Mathe/f{:03}.bin", i), std::string(200000, 'y'));
    home.write_config();
    bool sent = false;
    const auto result = run_process(
        {KITOVU_BINARY, "sync", "-v", "--jobs", "1", "--config", home.config().string()},
        home.environment(), [&](const std::string& output, pid_t child) {
            if (!sent && std::ranges::count(output, '\n') >= 5) {
                ::kill(child, SIGINT);
                sent = true;
            }
        });
    REQUIRE(sent);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("stopped") != std::string::npos);
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(home.path("kitovu"))) {
        CHECK_FALSE(entry.path().filename().string().starts_with(".kitovu-partial-"));
        if (entry.is_regular_file()) {
            ++files;
            CHECK(std::filesystem::file_size(entry.path()) == 200000);
        }
    }
    CHECK(files < 400);
    const auto rerun = home.kitovu({"sync", "--config", home.config().string()});
    CHECK(rerun.exit_code == 0);
    INFO(rerun.out << rerun.err);
    const std::string expected =
        files == 0 ? "400 new;" : fmt::format("{} new, {} unchanged;", 400 - files, files);
    CHECK(rerun.out.find(expected) != std::string::npos);
}

TEST_CASE("kitovu edit creates the commented template, runs the editor and validates the result") {
    Home home;
    const auto config = home.path("config-home/kitovu/kitovu.toml");
    const auto created = home.kitovu({"edit", "--editor", "true"});
    CHECK(created.exit_code == 0);
    REQUIRE(std::filesystem::exists(config));
    CHECK(read_file(config).find("# ") != std::string::npos);
    CHECK(home.kitovu({"validate"}).exit_code == 0);

    // An editor that breaks the file: the problems are shown and the exit code is 2.
    const auto broken =
        home.kitovu({"edit", "--editor", "sh -c 'echo \"bogus-key = 1\" >> \"$0\"'"});
    CHECK(broken.exit_code == 2);
    CHECK(broken.err.find(config.string() + ":") != std::string::npos);
    CHECK(broken.err.find("bogus-key") != std::string::npos);

    // $EDITOR is used when --editor is not given; a failing editor is reported.
    auto environment = home.environment();
    environment["EDITOR"] = "false";
    const auto failing = run_process({KITOVU_BINARY, "edit"}, environment);
    CHECK(failing.exit_code == 1);
    CHECK(failing.err.find("the editor 'false' failed") != std::string::npos);
}

TEST_CASE("kitovu plugins lists each plugin with its options") {
    Home home;
    const auto result = home.kitovu({"plugins"});
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("local - ") != std::string::npos);
    CHECK(result.out.find("smb - ") != std::string::npos);
    CHECK(result.out.find("webdav - ") != std::string::npos);
    for (const char* option : {"hostname", "port", "share", "username", "domain",
                               "password-command", "signing", "encrypt", "timeout", "path"})
        CHECK(result.out.find(std::string{"    "} + option) != std::string::npos);
    CHECK(result.out.find("default 445") != std::string::npos);
    CHECK(result.out.find("KITOVU_PASSWORD_<CONNECTION>") != std::string::npos);
}

// ---- against a real Samba server ----------------------------------------------------------

namespace {

// A Home whose config syncs subject EPJ from the fixture's share over SMB.
void write_smb_config(const Home& home, const kitovu::test::SambaServer& server,
                      const std::string& extra, const std::string& share = "skripte",
                      const std::string& host = "127.0.0.1") {
    write_file(home.config(),
               server.kitovu_config(home.path("kitovu"), "uni-share", extra, share, host));
}

} // namespace

TEST_CASE("kitovu sync over SMB takes the password from password-command, the environment or the "
          "terminal") {
    kitovu::test::SambaServer server;
    if (!kitovu::test::samba_ready(server))
        return;
    server.put("EPJ/Skript.pdf", "lecture", 1'600'000'000);
    Home home;
    const std::string password = kitovu::test::SambaServer::password();
    write_file(home.path("password"), password + "\n");

    write_smb_config(
        home, server,
        fmt::format("password-command = \"cat {}\"\n", home.path("password").string()));
    auto result = home.kitovu({"sync", "-v", "--json", "--config", home.config().string()});
    CHECK(result.exit_code == 0);
    CHECK(read_file(home.path("kitovu/EPJ/Skript.pdf")) == "lecture");
    CHECK(result.out.find(password) == std::string::npos);
    CHECK(result.err.find(password) == std::string::npos);

    std::filesystem::remove_all(home.path("kitovu"));
    write_smb_config(home, server, "");
    auto environment = home.environment();
    environment["KITOVU_PASSWORD_UNI_SHARE"] = password;
    result = run_process({KITOVU_BINARY, "sync", "--config", home.config().string()}, environment);
    CHECK(result.exit_code == 0);
    CHECK(read_file(home.path("kitovu/EPJ/Skript.pdf")) == "lecture");

    // On a terminal kitovu asks, without echo: what is typed does not appear.
    std::filesystem::remove_all(home.path("kitovu"));
    const auto asked =
        run_on_terminal({KITOVU_BINARY, "sync", "--config", home.config().string()},
                        home.environment(), "password for uni-share: ", password + "\n");
    CHECK(asked.exit_code == 0);
    CHECK(asked.out.find("password for uni-share: ") != std::string::npos);
    CHECK(asked.out.find(password) == std::string::npos);
    CHECK(read_file(home.path("kitovu/EPJ/Skript.pdf")) == "lecture");
}

TEST_CASE("kitovu sync over SMB: each failing connection exits 1 with a message for people") {
    kitovu::test::SambaServer server;
    if (!kitovu::test::samba_ready(server))
        return;
    server.put("EPJ/Skript.pdf", "lecture", 1'600'000'000);
    Home home;
    auto environment = home.environment();
    environment["KITOVU_PASSWORD_UNI_SHARE"] = "not-the-password";

    write_smb_config(home, server, "");
    auto result =
        run_process({KITOVU_BINARY, "sync", "--config", home.config().string()}, environment);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find(
              "error: uni-share: login failed for user kitovu-test: wrong user name or password") !=
          std::string::npos);
    CHECK(result.err.find("not-the-password") == std::string::npos);

    environment["KITOVU_PASSWORD_UNI_SHARE"] = kitovu::test::SambaServer::password();
    write_smb_config(home, server, "", "no-such-share");
    result = run_process({KITOVU_BINARY, "sync", "--config", home.config().string()}, environment);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("share 'no-such-share' not found") != std::string::npos);

    write_smb_config(home, server, "", "skripte", "no-such-host.invalid");
    result = run_process({KITOVU_BINARY, "sync", "--config", home.config().string()}, environment);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("cannot reach no-such-host.invalid") != std::string::npos);
    CHECK(result.err.find("VPN") != std::string::npos);

    // No password-command, no environment variable, no terminal: the user learns how to give one.
    environment["KITOVU_PASSWORD_UNI_SHARE"] = "";
    write_smb_config(home, server, "");
    result = run_process({KITOVU_BINARY, "sync", "--config", home.config().string()}, environment);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find(
              "error: uni-share: no password: set password-command in the config, or "
              "KITOVU_PASSWORD_UNI_SHARE in the environment, or run kitovu in a terminal") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu/EPJ/Skript.pdf")));
}

TEST_CASE("a password from password-command appears in no process list, output, log or cache") {
    kitovu::test::SambaServer server;
    if (!kitovu::test::samba_ready(server))
        return;
    for (int i = 0; i < 20; ++i)
        server.put(fmt::format("EPJ/f{}.txt", i), "content", 1'600'000'000);
    Home home;
    const std::string password = kitovu::test::SambaServer::password();
    write_file(home.path("password"), password + "\n");
    // The command itself records every process's command line while kitovu runs.
    write_smb_config(home, server,
                     fmt::format("password-command = \"ps -eo args > {}; cat {}\"\n",
                                 home.path("ps.txt").string(), home.path("password").string()));
    for (const auto& flags :
         std::vector<std::vector<std::string>>{{"-v"}, {"--json"}, {"-v", "--dry-run"}}) {
        std::vector<std::string> args{"sync", "--config", home.config().string()};
        args.insert(args.end(), flags.begin(), flags.end());
        const auto result = home.kitovu(args);
        CHECK(result.exit_code == 0);
        CHECK(result.out.find(password) == std::string::npos);
        CHECK(result.err.find(password) == std::string::npos);
        const std::string processes = read_file(home.path("ps.txt"));
        CHECK(processes.find(KITOVU_BINARY) != std::string::npos); // the list was taken
        CHECK(processes.find(password) == std::string::npos);
    }
    // Nothing kitovu keeps (cache, journal, lock) holds it.
    for (const auto& entry : std::filesystem::recursive_directory_iterator(home.path("data")))
        if (entry.is_regular_file()) {
            INFO(entry.path());
            CHECK(read_file(entry.path()).find(password) == std::string::npos);
        }
}

TEST_CASE("remote names reach neither --json nor the terminal raw: stdout is one valid JSON "
          "document, -v lines go to stderr, control characters are escaped") {
    Home home;
    home.share("Mathe/caf\xe9.txt", "latin-1 name");
    // Refused (kitovu reserves the prefix), so its raw remote name is in a warning.
    home.share("Mathe/.kitovu-partial-\x1b]0;owned\x07\xff.txt", "evil");
    home.write_config();
    const auto result = home.kitovu({"sync", "--json", "-v", "--config", home.config().string()});
    CHECK(result.exit_code == 0);
    const auto report = nlohmann::json::parse(result.out); // throws unless exactly one document
    CHECK(report.at("counts").at("new") == 1);
    REQUIRE(report.at("warnings").size() == 1);
    CHECK(report.at("warnings")[0].at("kind") == "refused-name");
    CHECK(report.at("warnings")[0].at("path") == "Mathe/.kitovu-partial-\x1b]0;owned\x07\\xff.txt");
    CHECK_THAT(result.err, Catch::Contains("new             " +
                                           home.path("kitovu/Mathe/caf\\xe9.txt").string()));
    CHECK_THAT(result.err, Catch::Contains(".kitovu-partial-\\x1b]0;owned\\x07\\xff.txt"));
    CHECK_FALSE(has_control_characters(result.err));
    CHECK(result.err.find('\xff') == std::string::npos);
}

TEST_CASE("a --cache or --config that is a FIFO or a folder is refused with exit 2, never read") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config();
    const auto fifo = home.path("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto cache =
        home.kitovu({"sync", "--config", home.config().string(), "--cache", fifo.string()});
    CHECK(cache.exit_code == 2);
    CHECK_THAT(cache.err,
               Catch::Contains(fifo.string() + ": --cache must be a regular file, not a FIFO"));
    const auto config = home.kitovu({"validate", "--config", fifo.string()});
    CHECK(config.exit_code == 2);
    CHECK_THAT(config.err, Catch::Contains("--config must be a regular file, not a FIFO"));
    const auto folder = home.kitovu({"sync", "--config", home.path().string()});
    CHECK(folder.exit_code == 2);
    CHECK_THAT(folder.err, Catch::Contains("--config must be a regular file, not a folder"));
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu/Mathe/a.txt")));
}

TEST_CASE("kitovu sync --json prints exactly one JSON document with the errors also when the run "
          "ends with exit 2") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config();
    const std::string config = home.config().string();
    const std::string cache = home.path("kitovu.cache").string();
    const auto fifo = home.path("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    write_file(home.path("broken.toml"), "root-dir = 1\n");
    struct Case {
        std::string what;
        std::vector<std::string> args;
        std::string message; // in an error of the document
    };
    const std::vector<Case> cases{
        {"missing config",
         {"--config", home.path("nope.toml").string()},
         home.path("nope.toml").string()},
        {"config error",
         {"--config", home.path("broken.toml").string()},
         "expected a string for 'root-dir'"},
        {"unknown subject", {"--config", config, "Physik"}, "unknown subject 'Physik'"},
        {"--cache a FIFO",
         {"--config", config, "--cache", fifo.string()},
         "--cache must be a regular file, not a FIFO"},
        {"held lock",
         {"--config", config, "--cache", cache},
         "another kitovu sync with this config is running"},
        {"bad option", {"--config", config, "--jobs", "0"}, "--jobs"},
    };
    const int lock = ::open((cache + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(lock >= 0);
    REQUIRE(::flock(lock, LOCK_EX) == 0);
    for (const Case& c : cases) {
        INFO(c.what);
        auto args = c.args;
        args.insert(args.begin(), {"sync", "--json"});
        const auto result = home.kitovu(args);
        CHECK(result.exit_code == 2);
        nlohmann::json report;
        REQUIRE_NOTHROW(report = nlohmann::json::parse(result.out)); // exactly one document
        CHECK(report.at("exit_code") == 2);
        CHECK(report.at("counts").at("new") == 0);
        REQUIRE_FALSE(report.at("errors").empty());
        CHECK_THAT(report.at("errors")[0].at("message").get<std::string>() + " " +
                       report.at("errors")[0].at("path").get<std::string>(),
                   Catch::Contains(c.message));
    }
    // A run skipped because another holds the lock is exit 0 and still one document.
    const auto skipped =
        home.kitovu({"sync", "--json", "--skip-if-running", "--config", config, "--cache", cache});
    CHECK(skipped.exit_code == 0);
    nlohmann::json report;
    REQUIRE_NOTHROW(report = nlohmann::json::parse(skipped.out));
    CHECK(report.at("exit_code") == 0);
    CHECK(report.at("errors").empty());
    ::close(lock);
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu")));
}

TEST_CASE("a default cache path that is a FIFO ends the run with exit 2 and says so, never hangs") {
    Home home;
    home.share("Mathe/a.txt", "a");
    home.write_config();
    const std::string config = home.config().string();
    const auto info = home.kitovu({"fileinfo", "--config", config});
    const auto start = info.out.find("cache:  ") + 8;
    const std::filesystem::path cache = info.out.substr(start, info.out.find(" (", start) - start);
    REQUIRE(cache.parent_path() == home.path("data/kitovu"));
    std::filesystem::create_directories(cache.parent_path());
    std::filesystem::permissions(cache.parent_path(), std::filesystem::perms::owner_all);
    REQUIRE(::mkfifo(cache.c_str(), 0600) == 0);

    const auto result = home.kitovu({"sync", "--config", config});
    CHECK(result.exit_code == 2); // before: no end until killed (SIGTERM did not end it either)
    CHECK_THAT(result.err, Catch::Contains(cache.string() + ": cannot read the file cache: it is "
                                                            "a FIFO, not a regular file"));
    CHECK(std::filesystem::is_fifo(cache));
    CHECK_FALSE(std::filesystem::exists(home.path("kitovu/Mathe/a.txt")));
}

// ---- kitovu ls and kitovu test: a connection's folders and a login, through the library's
// browse() and test_connection()

TEST_CASE("kitovu ls lists one level of a local connection, folders first, and --json says the "
          "same") {
    Home home;
    home.share("Informatik/EPJ/Skript.pdf", "x");
    home.share("Informatik/readme.txt", "r");
    home.share("Informatik/.kitovu-partial-123", "a temporary kitovu never syncs");
    std::filesystem::create_directories(home.path("share/Informatik/algebra"));
    home.write_config();
    const std::string config = home.config().string();

    auto top = home.kitovu({"ls", "mirror", "--config", config});
    INFO(top.err);
    CHECK(top.exit_code == 0);
    CHECK(top.out == "Informatik/\nMathe/\n");

    const auto below = home.kitovu({"ls", "mirror", "Informatik", "--config", config});
    INFO(below.err);
    CHECK(below.exit_code == 0);
    CHECK(below.out == "algebra/\nEPJ/\nreadme.txt\n"); // folders first, then by name, any case

    const auto json = home.kitovu({"ls", "mirror", "/Informatik/", "--json", "--config", config});
    CHECK(json.exit_code == 0);
    nlohmann::json document;
    REQUIRE_NOTHROW(document = nlohmann::json::parse(json.out));
    CHECK(document.at("connection") == "mirror");
    CHECK(document.at("entries").size() == 3);
    CHECK(document.at("entries").at(1) ==
          nlohmann::json{{"name", "EPJ"}, {"folder", true}, {"title", ""}});
    CHECK(document.at("entries").at(2).at("folder") == false);
    CHECK(document.at("exit_code") == 0);
}

TEST_CASE("kitovu ls: an unknown connection exits 2 naming the known ones, a folder that does "
          "not exist exits 1, '..' is refused") {
    Home home;
    home.write_config();
    const std::string config = home.config().string();

    const auto unknown = home.kitovu({"ls", "mirorr", "--config", config});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(
        unknown.err,
        Catch::Contains("error: mirorr: no such connection in the config (connections: mirror)"));
    CHECK(unknown.out.empty());

    const auto missing = home.kitovu({"ls", "mirror", "Physik", "--config", config});
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.err, Catch::Contains("mirror: ") && Catch::Contains("not found"));

    const auto json = home.kitovu({"ls", "mirror", "Physik", "--json", "--config", config});
    CHECK(json.exit_code == 1);
    nlohmann::json document;
    REQUIRE_NOTHROW(document = nlohmann::json::parse(json.out));
    CHECK(document.at("entries").empty());
    CHECK(document.at("errors").at(0).at("kind") == "not-found");
    CHECK(document.at("errors").at(0).at("connection") == "mirror");

    const auto escape = home.kitovu({"ls", "mirror", "Mathe/../..", "--config", config});
    CHECK(escape.exit_code == 2);
    CHECK_THAT(escape.err, Catch::Contains("'..'"));
    CHECK(escape.out.empty());
}

TEST_CASE("kitovu test says ok per connection, and what is wrong with a broken one") {
    Home home;
    home.write_config(R"(
[[connections]]
name = "gone"
plugin = "local"
path = "/nonexistent/kitovu-test-folder"
)");
    const std::string config = home.config().string();
    const auto one = home.kitovu({"test", "mirror", "--config", config});
    CHECK(one.exit_code == 0);
    CHECK(one.out == "mirror: ok\n");

    const auto all = home.kitovu({"test", "--config", config});
    CHECK(all.exit_code == 1);
    CHECK(all.out == "mirror: ok\n");
    CHECK_THAT(all.err, Catch::Contains("error: gone: /nonexistent/kitovu-test-folder: folder "
                                        "does not exist"));

    const auto unknown = home.kitovu({"test", "nope", "--config", config});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("(connections: mirror, gone)"));
}

TEST_CASE("kitovu ls and kitovu test against a real smbd: the share's folders, a wrong password "
          "in words with exit 1, a missing share or folder") {
    kitovu::test::SambaServer server;
    if (!kitovu::test::samba_ready(server))
        return;
    server.put("EPJ/Skript.pdf", "lecture", 1'600'000'000);
    server.put("EPJ/Uebungen/Serie 1.pdf", "exercise", 1'600'000'000);
    server.put("Mathe/Analysis.pdf", "analysis", 1'600'000'000);
    server.put("liesmich.txt", "readme", 1'600'000'000);
    Home home;
    write_smb_config(home, server, "");
    const std::string config = home.config().string();
    auto environment = home.environment();
    environment["KITOVU_PASSWORD_UNI_SHARE"] = kitovu::test::SambaServer::password();

    auto result = run_process({KITOVU_BINARY, "ls", "uni-share", "--config", config}, environment);
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "EPJ/\nMathe/\nliesmich.txt\n");
    result =
        run_process({KITOVU_BINARY, "ls", "uni-share", "EPJ", "--config", config}, environment);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "Uebungen/\nSkript.pdf\n");
    result = run_process({KITOVU_BINARY, "test", "uni-share", "--config", config}, environment);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "uni-share: ok\n");

    result =
        run_process({KITOVU_BINARY, "ls", "uni-share", "Physik", "--config", config}, environment);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("uni-share: Physik: remote folder not found"));

    environment["KITOVU_PASSWORD_UNI_SHARE"] = "not-the-password";
    for (const char* command : {"ls", "test"}) {
        result =
            run_process({KITOVU_BINARY, command, "uni-share", "--config", config}, environment);
        CHECK(result.exit_code == 1);
        CHECK_THAT(result.err, Catch::Contains("error: uni-share: login failed for user "
                                               "kitovu-test: wrong user name or password"));
        CHECK(result.out.empty());
        CHECK(result.err.find("not-the-password") == std::string::npos);
    }
    const auto json =
        run_process({KITOVU_BINARY, "ls", "uni-share", "--json", "--config", config}, environment);
    nlohmann::json document;
    REQUIRE_NOTHROW(document = nlohmann::json::parse(json.out));
    CHECK(document.at("errors").at(0).at("kind") == "authentication");

    environment["KITOVU_PASSWORD_UNI_SHARE"] = kitovu::test::SambaServer::password();
    write_smb_config(home, server, "", "no-such-share");
    result = run_process({KITOVU_BINARY, "test", "uni-share", "--config", config}, environment);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("share 'no-such-share' not found"));
}

#if KITOVU_TEST_MOODLE
TEST_CASE("kitovu ls of a Moodle connection lists the user's courses by the names remote-dir "
          "takes, and a refused token says so") {
    Home home;
    std::filesystem::copy_file(kitovu::test::moodle_test_dir() / "fixture.json",
                               home.path("fixture.json"));
    std::filesystem::permissions(home.path("fixture.json"), std::filesystem::perms{0644});
    const kitovu::test::MoodleServer moodle{home.path("fixture.json")};
    write_file(home.config(), fmt::format(R"(root-dir = "{}"

[[connections]]
name = "moodle"
plugin = "moodle"
url = "{}"
timeout = 5
)",
                                          home.path("kitovu").string(), moodle.url()));
    const std::string config = home.config().string();
    auto environment = home.environment();
    environment["KITOVU_TOKEN_MOODLE"] = moodle.token();

    auto result = run_process({KITOVU_BINARY, "ls", "moodle", "--config", config}, environment);
    INFO(result.err);
    CHECK(result.exit_code == 0);
    // Moodle sends "Mathe &amp; Statistik": the name as Moodle shows it; not enrolled: not there.
    CHECK(result.out ==
          "Datenbanksysteme/\nMathe & Statistik für Informatik/\nSoftware Engineering 1/\n");
    result =
        run_process({KITOVU_BINARY, "ls", "moodle", "--json", "--config", config}, environment);
    nlohmann::json document;
    REQUIRE_NOTHROW(document = nlohmann::json::parse(result.out));
    CHECK(document.at("entries").at(1) ==
          nlohmann::json{{"name", "Mathe & Statistik für Informatik"},
                         {"folder", true},
                         {"title", "Mathe & Statistik für Informatik"}});
    result = run_process({KITOVU_BINARY, "ls", "moodle", "Datenbanksysteme", "--config", config},
                         environment);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains("a Moodle connection lists courses only"));

    environment["KITOVU_TOKEN_MOODLE"] = "not-the-token";
    for (const char* command : {"ls", "test"}) {
        result = run_process({KITOVU_BINARY, command, "moodle", "--config", config}, environment);
        CHECK(result.exit_code == 1);
        CHECK_THAT(result.err, Catch::Contains("error: moodle: Moodle does not accept the token"));
        CHECK(result.err.find("not-the-token") == std::string::npos);
    }
}
#endif

#if KITOVU_TEST_WEBDAV
TEST_CASE("kitovu ls of a WebDAV connection lists one folder, and a wrong password says so") {
    Home home;
    kitovu::test::DavServer server{"apache"};
    write_file(server.root() / "Kurs/Skript.pdf", "pdf");
    write_file(server.root() / "Kurs/Blatt 1/a.txt", "a");
    write_file(server.root() / "notes.txt", "n");
    write_file(home.config(), fmt::format(R"(root-dir = "{}"

[[connections]]
name = "cloud"
plugin = "webdav"
url = "{}"
username = "{}"
timeout = 5
)",
                                          home.path("kitovu").string(), server.url(),
                                          kitovu::test::DavServer::user));
    const std::string config = home.config().string();
    auto environment = home.environment();
    environment["KITOVU_PASSWORD_CLOUD"] = kitovu::test::DavServer::password;

    auto result = run_process({KITOVU_BINARY, "ls", "cloud", "--config", config}, environment);
    INFO(result.err << server.log());
    CHECK(result.exit_code == 0);
    CHECK(result.out == "Kurs/\nnotes.txt\n");
    result = run_process({KITOVU_BINARY, "ls", "cloud", "Kurs", "--config", config}, environment);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "Blatt 1/\nSkript.pdf\n");
    result = run_process({KITOVU_BINARY, "ls", "cloud", "Physik", "--config", config}, environment);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("not found"));

    environment["KITOVU_PASSWORD_CLOUD"] = "not-the-password";
    for (const char* command : {"ls", "test"}) {
        result = run_process({KITOVU_BINARY, command, "cloud", "--config", config}, environment);
        CHECK(result.exit_code == 1);
        CHECK_THAT(result.err, Catch::Contains("error: cloud: the server refuses this user name "
                                               "and password"));
    }
}
#endif
