// The config file: TOML read into Settings, every problem reported at its place in one pass,
// files that cannot be read, the ignore rules its patterns compile to, and the template.
#include "support.hpp"

#include <kitovu/config/selection.hpp>
#include <kitovu/config/settings.hpp>
#include <kitovu/config/template.hpp>
#include <kitovu/config/validate.hpp>
#include <kitovu/plugins/local.hpp>
#include <kitovu/plugins/moodle.hpp>
#include <kitovu/plugins/smb.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>

using namespace kitovu;
using kitovu::test::TempDir;

namespace {

// Sets (or, with nullopt, unsets) HOME for one test and puts the old value back.
class HomeGuard {
  public:
    explicit HomeGuard(std::optional<std::string> home) {
        if (const char* old = std::getenv("HOME"))
            old_ = old;
        set(home);
    }
    ~HomeGuard() { set(old_); }
    HomeGuard(const HomeGuard&) = delete;
    HomeGuard& operator=(const HomeGuard&) = delete;

  private:
    static void set(const std::optional<std::string>& home) {
        if (home)
            ::setenv("HOME", home->c_str(), 1);
        else
            ::unsetenv("HOME");
    }
    std::optional<std::string> old_;
};

std::vector<std::string> lines_of(const ConfigErrors& errors) {
    std::vector<std::string> lines;
    for (const auto& error : errors)
        lines.push_back(error.to_string());
    return lines;
}

// The config problems in `text` as `validate` prints them; empty when it is valid.
std::vector<std::string> problems(std::string_view text,
                                  const std::filesystem::path& file = "kitovu.toml") {
    const auto settings = parse_settings(text, file);
    return settings ? std::vector<std::string>{} : lines_of(settings.error());
}

std::vector<std::string> load_problems(const std::filesystem::path& file) {
    const auto settings = load_settings(file);
    return settings ? std::vector<std::string>{} : lines_of(settings.error());
}

IgnoreRules rules(std::vector<std::string> patterns) {
    auto compiled = IgnoreRules::compile(patterns);
    REQUIRE(compiled);
    return *compiled;
}

std::string compile_error(std::string pattern) {
    const auto compiled = IgnoreRules::compile({pattern});
    REQUIRE_FALSE(compiled);
    CHECK(compiled.error().kind == ErrorKind::config);
    return compiled.error().message;
}

// Everything the round trip and the fuzz test start from: several connections, subjects with
// several sources, ignores, a ~ and a relative path.
constexpr std::string_view valid_config = R"(# A student's config.
root-dir = "~/kitovu"
global-ignore = ["Thumbs.db", "*.tmp"]

[[connections]]
name = "skripte"
plugin = "smb"
hostname = "files.example.edu"
share = "skripte"
username = "alice"
password-command = "secret-tool lookup service kitovu user alice"
port = 1445

[[connections]]
name = "mirror"
plugin = "local"
path = "/mnt/courses"

[[subjects]]
name = "EPJ"
  [[subjects.sources]]
  connection = "skripte"
  remote-dir = "Informatik/Fachbereich/EPJ"
  ignore = ["*.bak", "old/"]

  [[subjects.sources]]
  connection = "mirror"
  remote-dir = "EPJ"

[[subjects]]
name = "An1I"
  [[subjects.sources]]
  connection = "mirror"
  remote-dir = "Analysis"
  local-dir = "../Analysis/./Skripte/"
)";

struct BadConfig {
    std::string_view what;
    std::string_view text;
    std::vector<std::string> problems;
};

// clang-format off
const std::vector<BadConfig> bad_configs{
{"a TOML syntax error is reported alone, without further checks",
R"(root-dir = "/k"
colour =
)", {R"(kitovu.toml:2:9: Error while parsing key-value pair: expected value, saw '\n')"}},

{"a key defined twice is a syntax error",
R"(root-dir = "/k"
root-dir = "/j"
)", {"kitovu.toml:2:12: Error while parsing key-value pair: cannot redefine existing string 'root-dir'"}},

{"root-dir is required",
R"(global-ignore = ["*.tmp"]
)", {"kitovu.toml:1:1: missing required key 'root-dir'"}},

{"a file of comments only still needs root-dir",
R"(# nothing here yet
)", {"kitovu.toml:1:1: missing required key 'root-dir'"}},

{"root-dir must be a string",
R"(root-dir = 5
)", {"kitovu.toml:1:12: expected a string for 'root-dir', found an integer"}},

{"root-dir must not be empty",
R"(root-dir = ""
)", {"kitovu.toml:1:12: 'root-dir' must not be empty"}},

{"only ~ and ~/ are expanded",
R"(root-dir = "~alice/kitovu"
)", {"kitovu.toml:1:12: cannot expand '~alice/kitovu': only '~' and '~/...' are supported, write the full path"}},

{"a misspelt key gets a suggestion, and the real key is still missing",
R"(rootdir = "/k"
)", {"kitovu.toml:1:1: unknown key 'rootdir' (did you mean 'root-dir'?)",
     "kitovu.toml:1:1: missing required key 'root-dir'"}},

{"an unknown key with nothing near lists the known keys",
R"(root-dir = "/k"
colour = "red"
)", {"kitovu.toml:2:1: unknown key 'colour' (known keys: root-dir, global-ignore, connections, subjects)"}},

{"[[subject]] is taken for [[subjects]]",
R"(root-dir = "/k"
[[subject]]
name = "EPJ"
)", {"kitovu.toml:2:3: unknown key 'subject' (did you mean 'subjects'?)"}},

{"[connections] with single brackets is not an array of tables",
R"(root-dir = "/k"
[connections]
name = "mirror"
)", {"kitovu.toml:2:1: expected an array of tables for 'connections', found a table (write [[connections]] for each entry)"}},

{"every element of connections must be a table",
R"(root-dir = "/k"
connections = ["mirror", 2]
)", {"kitovu.toml:2:16: expected a table in 'connections', found a string",
     "kitovu.toml:2:26: expected a table in 'connections', found an integer"}},

{"global-ignore is an array, even for one pattern",
R"(root-dir = "/k"
global-ignore = "*.tmp"
)", {R"(kitovu.toml:2:17: expected an array of strings for 'global-ignore', found a string (write ["*.tmp"]))"}},

{"each global-ignore pattern is checked at its own position",
R"(root-dir = "/k"
global-ignore = ["*.tmp", 7, "[abc", "old//x"]
)", {"kitovu.toml:2:27: expected a string in 'global-ignore', found an integer",
     "kitovu.toml:2:30: invalid ignore pattern '[abc': '[' is not closed by ']'",
     "kitovu.toml:2:38: invalid ignore pattern 'old//x': it has an empty path component"}},

{"a connection needs a name and a plugin",
R"(root-dir = "/k"

[[connections]]
path = "/mnt"
)", {"kitovu.toml:3:1: connection is missing required key 'name'",
     "kitovu.toml:3:1: connection is missing required key 'plugin'"}},

{"an unknown plugin lists the registered ones",
R"(root-dir = "/k"
[[connections]]
name = "skripte"
plugin = "smbb"
hostname = "x"
)", {"kitovu.toml:4:10: unknown plugin 'smbb' (known plugins: local, moodle, smb)"}},

{"connection name and plugin must not be empty",
R"(root-dir = "/k"
[[connections]]
name = ""
plugin = ""
)", {"kitovu.toml:3:8: 'name' must not be empty",
     "kitovu.toml:4:10: 'plugin' must not be empty (known plugins: local, moodle, smb)"}},

{"a connection name must be a string",
R"(root-dir = "/k"
[[connections]]
name = 5
)", {"kitovu.toml:2:1: connection is missing required key 'plugin'",
     "kitovu.toml:3:8: expected a string for 'name', found an integer"}},

{"required plugin options are reported at the connection",
R"(root-dir = "/k"
[[connections]]
name = "skripte"
plugin = "smb"
hostname = "files.example.edu"
)", {"kitovu.toml:2:1: connection 'skripte' is missing required option 'share' of plugin 'smb'",
     "kitovu.toml:2:1: connection 'skripte' is missing required option 'username' of plugin 'smb'"}},

{"plugin options must have their declared types",
R"(root-dir = "/k"
[[connections]]
name = "skripte"
plugin = "smb"
hostname = "files.example.edu"
share = 5
username = "alice"
port = "445"
encrypt = "yes"
timeout = 1.5
)", {"kitovu.toml:6:9: expected a string for 'share', found an integer",
     "kitovu.toml:8:8: expected an integer for 'port', found a string (write numbers without quotes)",
     "kitovu.toml:9:11: expected a boolean for 'encrypt', found a string (write true or false without quotes)",
     "kitovu.toml:10:11: expected an integer for 'timeout', found a float"}},

{"plugin options must be among the allowed values and in range",
R"(root-dir = "/k"
[[connections]]
name = "skripte"
plugin = "smb"
hostname = "files.example.edu"
share = "skripte"
username = "alice"
signing = "maybe"
port = 0
)", {"kitovu.toml:8:11: invalid value 'maybe' for 'signing' (allowed values: off, if-required, required)",
     "kitovu.toml:9:8: 'port' must be between 1 and 65535, found 0"}},

{"a plugin's own refusal of its options is reported at its connection",
R"(root-dir = "/k"
[[connections]]
name = "skripte"
plugin = "smb"
hostname = "files.example.edu/skripte"
share = "skripte"
username = "alice"
)", {"kitovu.toml:2:1: skripte: option 'hostname' must be a host name or an IPv4 address, not 'files.example.edu/skripte'"}},

{"unknown plugin options get a suggestion or the plugin's option list",
R"(root-dir = "/k"
[[connections]]
name = "skripte"
plugin = "smb"
hostnme = "files.example.edu"
share = "skripte"
username = "alice"
colour = "red"
)", {"kitovu.toml:2:1: connection 'skripte' is missing required option 'hostname' of plugin 'smb'",
     "kitovu.toml:5:1: unknown key 'hostnme' (did you mean 'hostname'?)",
     "kitovu.toml:8:1: unknown key 'colour' (known keys: name, plugin, hostname, port, share, username, domain, password-command, signing, encrypt, timeout)"}},

{"a misspelt plugin key gets a suggestion, though no other key can be judged without a plugin",
R"(root-dir = "/k"
[[connections]]
name = "skripte"
pluign = "smb"
hostname = "files.example.edu"
)", {"kitovu.toml:2:1: connection 'skripte' is missing required key 'plugin'",
     "kitovu.toml:4:1: unknown key 'pluign' (did you mean 'plugin'?)"}},

{"misspelt name and plugin keys both get a suggestion, other keys none",
R"(root-dir = "/k"
[[connections]]
Name = "skripte"
plugn = "smb"
hostname = "files.example.edu"
)", {"kitovu.toml:2:1: connection is missing required key 'name'",
     "kitovu.toml:2:1: connection is missing required key 'plugin'",
     "kitovu.toml:3:1: unknown key 'Name' (did you mean 'name'?)",
     "kitovu.toml:4:1: unknown key 'plugn' (did you mean 'plugin'?)"}},

{"a required string option must not be empty, and other plugins' options are unknown",
R"(root-dir = "/k"
[[connections]]
name = "mirror"
plugin = "local"
path = ""
port = 445
)", {"kitovu.toml:5:8: option 'path' must not be empty",
     "kitovu.toml:6:1: unknown key 'port' (known keys: name, plugin, path)"}},

{"connection names are unique",
R"(root-dir = "/k"
[[connections]]
name = "mirror"
plugin = "local"
path = "/mnt/a"
[[connections]]
name = "mirror"
plugin = "local"
path = "/mnt/b"
)", {"kitovu.toml:7:8: duplicate connection name 'mirror' (first defined on line 3)"}},

{"subject names are unique",
R"(root-dir = "/k"
[[subjects]]
name = "EPJ"
[[subjects]]
name = "EPJ"
)", {"kitovu.toml:5:8: duplicate subject name 'EPJ' (first defined on line 3)"}},

{"a subject name must be usable as a folder name",
R"(root-dir = "/k"
[[subjects]]
name = "EPJ/2024"
[[subjects]]
name = ".."
[[subjects]]
name = ""
[[subjects]]
)", {"kitovu.toml:3:8: subject name 'EPJ/2024' cannot be a folder name (it contains '/')",
     "kitovu.toml:5:8: subject name '..' cannot be a folder name (it is '.' or '..')",
     "kitovu.toml:7:8: 'name' must not be empty",
     "kitovu.toml:8:1: subject is missing required key 'name'"}},

{"a source must name a defined connection",
R"(root-dir = "/k"
[[connections]]
name = "skripte"
plugin = "local"
path = "/mnt/skripte"
[[connections]]
name = "mirror"
plugin = "local"
path = "/mnt/mirror"
[[subjects]]
name = "EPJ"
  [[subjects.sources]]
  connection = "skripe"
  remote-dir = "EPJ"
)", {"kitovu.toml:13:16: unknown connection 'skripe' (defined connections: skripte, mirror)"}},

{"a source naming a connection when there are none says so",
R"(root-dir = "/k"
[[subjects]]
name = "EPJ"
  [[subjects.sources]]
  connection = "skripte"
  remote-dir = "EPJ"
)", {"kitovu.toml:5:16: unknown connection 'skripte' (no connections are defined)"}},

{"source keys are kebab-case and remote-dir is required",
R"(root-dir = "/k"
[[connections]]
name = "mirror"
plugin = "local"
path = "/mnt"
[[subjects]]
name = "EPJ"
  [[subjects.sources]]
  connection = "mirror"
  remote_dir = "EPJ"
  Local-Dir = "/x"
)", {"kitovu.toml:8:3: source of subject 'EPJ' is missing required key 'remote-dir'",
     "kitovu.toml:10:3: unknown key 'remote_dir' (did you mean 'remote-dir'?)",
     "kitovu.toml:11:3: unknown key 'Local-Dir' (did you mean 'local-dir'?)"}},

{"source keys written into the subject itself are pointed to their place",
R"(root-dir = "/k"
[[subjects]]
name = "EPJ"
remote-dir = "EPJ"
)", {"kitovu.toml:4:1: unknown key 'remote-dir' (it belongs in a [[subjects.sources]] entry)"}},

{"[subjects.sources] with single brackets is not an array of tables",
R"(root-dir = "/k"
[[subjects]]
name = "EPJ"
[subjects.sources]
connection = "mirror"
)", {"kitovu.toml:4:1: expected an array of tables for 'sources', found a table (write [[subjects.sources]] for each entry)"}},

{"subjects must be an array of tables",
R"(root-dir = "/k"
subjects = "EPJ"
)", {"kitovu.toml:2:12: expected an array of tables for 'subjects', found a string"}},

{"a source's local-dir and ignore patterns are checked",
R"(root-dir = "/k"
[[connections]]
name = "mirror"
plugin = "local"
path = "/mnt"
[[subjects]]
name = "EPJ"
  [[subjects.sources]]
  connection = "mirror"
  remote-dir = "EPJ"
  local-dir = ""
  ignore = ["*.bak", "[z-a]", 3]
)", {"kitovu.toml:11:15: 'local-dir' must not be empty (leave it out to sync into root-dir/subject name)",
     "kitovu.toml:12:22: invalid ignore pattern '[z-a]': the range 'z-a' is reversed",
     "kitovu.toml:12:31: expected a string in 'ignore', found an integer"}},

{"the same remote folder synced twice into the same folder is an error",
R"(root-dir = "/k"
[[connections]]
name = "mirror"
plugin = "local"
path = "/mnt"
[[subjects]]
name = "EPJ"
  [[subjects.sources]]
  connection = "mirror"
  remote-dir = "EPJ"
  [[subjects.sources]]
  connection = "mirror"
  remote-dir = "EPJ/"
  local-dir = "/k/EPJ"
)", {"kitovu.toml:11:3: duplicate source: connection 'mirror', remote-dir 'EPJ/' into '/k/EPJ' is already synced by the source on line 8"}},

{"inline tables are reported at their opening brace",
R"(root-dir = "/k"
connections = [{ name = "mirror", plugin = "local" }]
)", {"kitovu.toml:2:16: connection 'mirror' is missing required option 'path' of plugin 'local'"}},

{"bytes that are not UTF-8 are reported where they are",
"root-dir = \"/k\"\n# Gr\xFC\xDF" "e\n",
{"kitovu.toml:2:5: invalid UTF-8 (byte 0xFC); save the file as UTF-8"}},

{"a file of blank lines is empty",
"  \n\n",
{"kitovu.toml: config file is empty"}},

{"many problems at once are all reported, in file order",
R"(root-dir = 7
global-ignore = ["[oops"]

[[connections]]
name = "skripte"
plugin = "smb"
hostname = "files.example.edu"
share = "skripte"
port = 70000
[[connections]]
name = "skripte"
plugin = "ftp"

[[subjects]]
name = "EPJ"
  [[subjects.sources]]
  connection = "skripte2"
  remote-dir = "Informatik/EPJ"
  ignore = ["old/"]
  [[subjects.sources]]
  conection = "skripte"
)", {"kitovu.toml:1:12: expected a string for 'root-dir', found an integer",
     "kitovu.toml:2:18: invalid ignore pattern '[oops': '[' is not closed by ']'",
     "kitovu.toml:4:1: connection 'skripte' is missing required option 'username' of plugin 'smb'",
     "kitovu.toml:9:8: 'port' must be between 1 and 65535, found 70000",
     "kitovu.toml:11:8: duplicate connection name 'skripte' (first defined on line 5)",
     "kitovu.toml:12:10: unknown plugin 'ftp' (known plugins: local, moodle, smb)",
     "kitovu.toml:17:16: unknown connection 'skripte2' (defined connections: skripte)",
     "kitovu.toml:20:3: source of subject 'EPJ' is missing required key 'connection'",
     "kitovu.toml:20:3: source of subject 'EPJ' is missing required key 'remote-dir'",
     "kitovu.toml:21:3: unknown key 'conection' (did you mean 'connection'?)"}},
};
// clang-format on

} // namespace

TEST_CASE("every problem in a config is reported with its file, line and column") {
    REQUIRE(bad_configs.size() >= 25);
    for (const BadConfig& bad : bad_configs) {
        INFO(bad.what);
        CHECK(problems(bad.text) == bad.problems);
    }
}

TEST_CASE("config problems are of kind config and carry their location as data") {
    const auto settings = parse_settings("root-dir = 5\n", "dir/kitovu.toml");
    REQUIRE_FALSE(settings);
    REQUIRE(settings.error().size() == 1);
    const UsageError& error = settings.error()[0];
    CHECK(error.kind == ErrorKind::config);
    CHECK(error.message == "expected a string for 'root-dir', found an integer");
    CHECK(error.location == ConfigLocation{"dir/kitovu.toml", 1, 12});
}

TEST_CASE("a valid config becomes connections, subjects and sources with defaults filled in") {
    const HomeGuard home{"/home/student"};
    TempDir dir;
    const auto file = dir / "conf/kitovu.toml";
    test::write_file(file, std::string{valid_config});

    const auto settings = load_settings(file);
    if (!settings)
        FAIL(lines_of(settings.error()).front());

    CHECK(settings->file == file);
    CHECK(settings->root_dir == "/home/student/kitovu");
    CHECK(settings->global_ignore == std::vector<std::string>{"Thumbs.db", "*.tmp"});

    const std::string at = file.string();
    REQUIRE(settings->connections.size() == 2);
    Options smb;
    smb.set("hostname", "files.example.edu");
    smb.set("share", "skripte");
    smb.set("username", "alice");
    smb.set("password-command", "secret-tool lookup service kitovu user alice");
    smb.set("port", std::int64_t{1445});
    smb.set("domain", "WORKGROUP");
    smb.set("signing", "if-required");
    smb.set("encrypt", false);
    smb.set("timeout", std::int64_t{30});
    CHECK(settings->connections[0] == Connection{"skripte", "smb", smb, {at, 5, 1}});
    Options local;
    local.set("path", "/mnt/courses");
    CHECK(settings->connections[1] == Connection{"mirror", "local", local, {at, 14, 1}});
    CHECK(settings->connection("mirror") == &settings->connections[1]);
    CHECK(settings->connection("nope") == nullptr);

    REQUIRE(settings->subjects.size() == 2);
    const Subject& epj = settings->subjects[0];
    CHECK(epj.name == "EPJ");
    CHECK(epj.location == ConfigLocation{at, 19, 1});
    REQUIRE(epj.sources.size() == 2);
    CHECK(epj.sources[0].connection == "skripte");
    CHECK(epj.sources[0].remote_dir == "Informatik/Fachbereich/EPJ");
    CHECK(epj.sources[0].local_dir == "/home/student/kitovu/EPJ");
    CHECK(epj.sources[0].ignore.patterns() ==
          std::vector<std::string>{"Thumbs.db", "*.tmp", "*.bak", "old/"});
    CHECK(epj.sources[0].location == ConfigLocation{at, 21, 3});
    // A second connection may fill the same folder.
    CHECK(epj.sources[1].connection == "mirror");
    CHECK(epj.sources[1].remote_dir == "EPJ");
    CHECK(epj.sources[1].local_dir == "/home/student/kitovu/EPJ");
    CHECK(epj.sources[1].ignore.patterns() == std::vector<std::string>{"Thumbs.db", "*.tmp"});
    CHECK(epj.sources[1].location == ConfigLocation{at, 26, 3});

    const Subject& analysis = settings->subjects[1];
    CHECK(analysis.name == "An1I");
    CHECK(analysis.location == ConfigLocation{at, 30, 1});
    REQUIRE(analysis.sources.size() == 1);
    CHECK(analysis.sources[0].connection == "mirror");
    CHECK(analysis.sources[0].remote_dir == "Analysis");
    // Relative to the config file's folder, made absolute and normal.
    CHECK(analysis.sources[0].local_dir == dir / "Analysis/Skripte");
    CHECK(analysis.sources[0].location == ConfigLocation{at, 32, 3});

    // The compiled rules work: global patterns plus the source's own.
    CHECK(epj.sources[0].ignore.ignores("Skript.tmp", false));
    CHECK(epj.sources[0].ignore.ignores("Woche 1/old", true));
    CHECK_FALSE(epj.sources[0].ignore.ignores("Woche 1/old", false));
    CHECK_FALSE(epj.sources[1].ignore.ignores("Woche 1/old", true));
}

TEST_CASE("relative paths are relative to the config file's folder, or the current one") {
    const auto cwd = std::filesystem::current_path();
    const auto settings = parse_settings("root-dir = \"sync/./here/\"\n", "rel/dir/kitovu.toml");
    REQUIRE(settings);
    CHECK(settings->file == cwd / "rel/dir/kitovu.toml");
    CHECK(settings->root_dir == cwd / "rel/dir/sync/here");

    const auto unnamed = parse_settings("root-dir = \"../up\"\n", "");
    REQUIRE(unnamed);
    CHECK(unnamed->file.empty());
    CHECK(unnamed->root_dir == cwd.parent_path() / "up");

    const auto absolute = parse_settings("root-dir = \"/srv//k/../kitovu\"\n", "/etc/kitovu.toml");
    REQUIRE(absolute);
    CHECK(absolute->root_dir == "/srv/kitovu");
}

TEST_CASE("~ is the home folder, and an error when HOME is not set") {
    {
        const HomeGuard home{"/home/bob/"};
        const auto settings = parse_settings("root-dir = \"~\"\n", "/etc/kitovu.toml");
        REQUIRE(settings);
        CHECK(settings->root_dir == "/home/bob");
    }
    const HomeGuard home{std::nullopt};
    CHECK(problems("root-dir = \"~/kitovu\"\n") ==
          std::vector<std::string>{"kitovu.toml:1:12: cannot expand '~' in '~/kitovu': HOME is "
                                   "not set to an absolute path"});
}

TEST_CASE("a config parsed without a file name is reported as <string>") {
    CHECK(problems("root-dir = 1\n", "") ==
          std::vector<std::string>{
              "<string>:1:12: expected a string for 'root-dir', found an integer"});
}

TEST_CASE("a missing config file is an error naming the path") {
    TempDir dir;
    const auto file = dir / "nope/kitovu.toml";
    CHECK(load_problems(file) ==
          std::vector<std::string>{file.string() + ": config file not found"});
}

TEST_CASE("a folder given as the config file is an error naming the path") {
    TempDir dir;
    CHECK(load_problems(dir.path()) ==
          std::vector<std::string>{dir.path().string() + ": is a folder, not a config file"});
}

TEST_CASE("an empty config file is an error naming the path") {
    TempDir dir;
    const auto file = dir / "kitovu.toml";
    test::write_file(file, "");
    CHECK(load_problems(file) ==
          std::vector<std::string>{file.string() + ": config file is empty"});
}

TEST_CASE("an unreadable config file is an error naming the path") {
    TempDir dir;
    const auto file = dir / "kitovu.toml";
    test::write_file(file, "root-dir = \"/k\"\n");
    std::filesystem::permissions(file, std::filesystem::perms::none);
    if (std::ifstream{file}.is_open()) {
        // Root (as in many CI containers) reads files whatever their mode: the permission error
        // cannot be provoked here, so check only that such a file is read like any other.
        WARN("running with privileges that ignore chmod 000; the permission error is not tested");
        CHECK(load_settings(file));
    } else {
        CHECK(load_problems(file) ==
              std::vector<std::string>{file.string() +
                                       ": cannot open config file: Permission denied"});
    }
}

TEST_CASE("a config file that is not UTF-8 is an error at the first bad byte") {
    TempDir dir;
    const auto latin1 = dir / "latin1.toml";
    test::write_file(latin1,
                     "root-dir = \"/k\"\n[[subjects]]\nname = \"Mathe f\xFCr Informatik\"\n");
    CHECK(load_problems(latin1) ==
          std::vector<std::string>{latin1.string() +
                                   ":3:16: invalid UTF-8 (byte 0xFC); save the file as UTF-8"});

    const auto utf16 = dir / "utf16.toml";
    test::write_file(utf16, std::string{"\xFF\xFEr\0o\0", 6});
    CHECK(load_problems(utf16) ==
          std::vector<std::string>{utf16.string() +
                                   ":1:1: the file is UTF-16 text; save it as UTF-8"});
}

TEST_CASE("a huge file is refused unread") {
    TempDir dir;
    const auto file = dir / "huge.toml";
    {
        std::ofstream out{file, std::ios::binary};
        const std::string comment(1023, '#');
        for (std::size_t i = 0; i <= max_config_bytes / 1024; ++i)
            out << comment << '\n';
    }
    CHECK(load_problems(file) ==
          std::vector<std::string>{file.string() +
                                   ": config file is larger than 16 MiB; is it the right file?"});
}

TEST_CASE("a config file's errors name the path as given") {
    TempDir dir;
    test::write_file(dir / "kitovu.toml", "root-dir = \"/k\"\nroot = 1\n");
    const auto previous = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    const auto found = load_problems("kitovu.toml");
    std::filesystem::current_path(previous);
    CHECK(found ==
          std::vector<std::string>{"kitovu.toml:2:1: unknown key 'root' (known keys: root-dir, "
                                   "global-ignore, connections, subjects)"});
}

TEST_CASE("ignore patterns without '/' match names at any depth") {
    const auto ignore = rules({"*.tmp", ".DS_Store", "Thumbs.db", "~$*"});
    CHECK(ignore.ignores("a.tmp", false));
    CHECK(ignore.ignores("Woche 1/Übung.tmp", false));
    CHECK(ignore.ignores("cache.tmp", true)); // without a trailing '/', folders too
    CHECK(ignore.ignores(".DS_Store", false));
    CHECK(ignore.ignores("EPJ/~$Skript.docx", false));
    CHECK_FALSE(ignore.ignores("a.tmpx", false));
    CHECK_FALSE(ignore.ignores("thumbs.db", false)); // case matters
    CHECK_FALSE(ignore.ignores("Skript.pdf", false));
    // An entry inside an ignored folder is ignored too, for remotes that list files flat.
    CHECK(ignore.ignores("cache.tmp/data.bin", false));

    const auto any = rules({"?bung*", "*"});
    CHECK(any.ignores(".hidden", false)); // `*` matches names starting with '.'
    const auto one = rules({"?bung"});
    CHECK(one.ignores("Übung", false)); // `?` is one character, not one byte
    CHECK_FALSE(one.ignores("bung", false));
    CHECK_FALSE(rules({}).ignores("anything", false));
}

TEST_CASE("ignore patterns with '/' match the path below remote-dir") {
    const auto ignore = rules({"Archiv/2019", "*/Lösungen", "EPJ/*.pdf"});
    CHECK(ignore.ignores("Archiv/2019", true));
    CHECK(ignore.ignores("Archiv/2019/Skript.pdf", false));
    CHECK_FALSE(ignore.ignores("Archiv/2019b", true));
    CHECK_FALSE(ignore.ignores("EPJ/Archiv/2019", true)); // anchored at remote-dir
    CHECK(ignore.ignores("Serie 1/Lösungen", true));
    CHECK_FALSE(ignore.ignores("Lösungen", true));
    CHECK_FALSE(ignore.ignores("a/b/Lösungen", true)); // `*` does not match '/'
    CHECK(ignore.ignores("EPJ/Skript.pdf", false));
    CHECK_FALSE(ignore.ignores("EPJ/alt/Skript.pdf", false));

    // A leading '/' anchors a name pattern, and changes nothing for a path pattern.
    const auto anchored = rules({"/old", "/Archiv/2019"});
    CHECK(anchored.ignores("old", true));
    CHECK_FALSE(anchored.ignores("EPJ/old", true));
    CHECK(anchored.ignores("Archiv/2019", true));
}

TEST_CASE("ignore patterns ending in '/' match folders only") {
    const auto ignore = rules({"old/", "Archiv/2019/"});
    CHECK(ignore.ignores("old", true));
    CHECK(ignore.ignores("EPJ/old", true));
    CHECK_FALSE(ignore.ignores("old", false));
    CHECK_FALSE(ignore.ignores("EPJ/old", false));
    CHECK(ignore.ignores("old/notes.txt", false)); // inside an ignored folder
    CHECK(ignore.ignores("Archiv/2019", true));
    CHECK_FALSE(ignore.ignores("Archiv/2019", false));
}

TEST_CASE("character classes match one character from a set, ranges and negation included") {
    const auto ignore = rules({"[Ss]kript*", "[0-9][0-9]_*", "[äöü]x"});
    CHECK(ignore.ignores("Skript.pdf", false));
    CHECK(ignore.ignores("skript.pdf", false));
    CHECK_FALSE(ignore.ignores("Xkript.pdf", false));
    CHECK(ignore.ignores("07_Vorlesung.pdf", false));
    CHECK_FALSE(ignore.ignores("7_Vorlesung.pdf", false));
    CHECK(ignore.ignores("öx", false));
    CHECK_FALSE(ignore.ignores("ox", false));

    for (const std::string pattern : {"[!a-z]", "[^a-z]"}) {
        INFO(pattern);
        const auto negated = rules({pattern});
        CHECK(negated.ignores("A", false));
        CHECK(negated.ignores("É", false));
        CHECK_FALSE(negated.ignores("a", false));
        CHECK_FALSE(negated.ignores("AB", false));
    }

    // ']' first in a class is literal; so are '-' at either end and `*`, `?`, `[` inside.
    const auto literal = rules({"[]]", "x[!]]", "[a-]y", "[*?[]z"});
    CHECK(literal.ignores("]", false));
    CHECK(literal.ignores("xa", false));
    CHECK_FALSE(literal.ignores("x]", false));
    CHECK(literal.ignores("-y", false));
    CHECK(literal.ignores("*z", false));
    CHECK(literal.ignores("[z", false));
    CHECK_FALSE(literal.ignores("az", false));
}

TEST_CASE("malformed ignore patterns are errors naming the pattern") {
    CHECK(compile_error("[abc") == "invalid ignore pattern '[abc': '[' is not closed by ']'");
    CHECK(compile_error("x[!") == "invalid ignore pattern 'x[!': '[' is not closed by ']'");
    CHECK(compile_error("[]") == "invalid ignore pattern '[]': '[' is not closed by ']'");
    CHECK(compile_error("[z-a]") == "invalid ignore pattern '[z-a]': the range 'z-a' is reversed");
    CHECK(compile_error("") == "invalid ignore pattern '': it is empty");
    CHECK(compile_error("/") == "invalid ignore pattern '/': it is empty");
    CHECK(compile_error("a//b") == "invalid ignore pattern 'a//b': it has an empty path component");
    CHECK(compile_error("old//") ==
          "invalid ignore pattern 'old//': it has an empty path component");

    const auto mixed = IgnoreRules::compile({"*.tmp", "[oops"});
    REQUIRE_FALSE(mixed);
    CHECK(mixed.error().message == "invalid ignore pattern '[oops': '[' is not closed by ']'");
}

TEST_CASE("many stars do not make matching slow") {
    const auto ignore = rules({"*a*a*a*a*a*a*a*a*b"});
    const std::string name(4000, 'a');
    CHECK_FALSE(ignore.ignores(name, false));
    CHECK(ignore.ignores(name + "b", false));
}

TEST_CASE("truncated and mutated configs never crash: each is valid or has located errors") {
    const HomeGuard home{"/home/student"};
    const std::filesystem::path file = "fuzz/kitovu.toml";
    std::size_t failures = 0;
    std::size_t valid = 0;
    std::size_t runs = 0;
    std::string first_failure;

    const auto check = [&](std::string_view text) {
        ++runs;
        std::string problem;
        try {
            const auto settings = parse_settings(text, file);
            if (settings) {
                ++valid;
                for (const Subject& subject : settings->subjects)
                    for (const Source& source : subject.sources)
                        if (settings->connection(source.connection) == nullptr ||
                            !source.local_dir.is_absolute())
                            problem = "a valid result has a source without its connection";
            } else if (settings.error().empty()) {
                problem = "no result and no error";
            } else {
                for (const UsageError& error : settings.error())
                    if (error.message.empty() || error.location.file != file.string() ||
                        error.kind != ErrorKind::config)
                        problem = "error without message or location: " + error.to_string();
            }
        } catch (const std::exception& exception) {
            problem = std::string{"exception: "} + exception.what();
        }
        if (!problem.empty() && failures++ == 0)
            first_failure = problem + "\n--- input ---\n" + std::string{text};
    };

    for (std::size_t length = 0; length <= valid_config.size(); ++length)
        check(valid_config.substr(0, length));

    std::mt19937 random{20240917};
    using namespace std::literals;
    const std::string_view interesting = "[]{}\"'=.,#\n\\~/*?-_ \t\r\x00\xC3\xFF"
                                         "0123456789abcdefxyz"sv;
    const auto pick = [&](std::size_t bound) {
        return std::uniform_int_distribution<std::size_t>{0, bound - 1}(random);
    };
    for (int variant = 0; variant < 20000; ++variant) {
        std::string text{valid_config};
        const std::size_t edits = 1 + pick(4);
        for (std::size_t edit = 0; edit < edits && !text.empty(); ++edit) {
            const std::size_t at = pick(text.size());
            const char byte =
                pick(3) == 0 ? static_cast<char>(pick(256)) : interesting[pick(interesting.size())];
            switch (pick(4)) {
            case 0: text[at] = byte; break;
            case 1: text.insert(at, 1, byte); break;
            case 2: text.erase(at, 1 + pick(8)); break;
            default: // copy a piece elsewhere: duplicated keys, tables and brackets
                text.insert(pick(text.size()), text.substr(at, 1 + pick(40)));
                break;
            }
        }
        check(text);
    }

    INFO(first_failure);
    CHECK(failures == 0);
    CHECK(runs > 20000);
    CHECK(valid > 10); // some mutations keep the config valid (e.g. inside comments)
}

namespace {

// The template with its examples switched on: "# " removed in front of every line that is TOML
// (a [[table]] header or a `key = value`), the way a student would.
std::string uncomment_examples(std::string_view text) {
    std::istringstream lines{std::string{text}};
    std::string out;
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("# ")) {
            const std::string body = line.substr(2);
            const auto first = body.find_first_not_of(' ');
            const std::string_view code = first == std::string::npos
                                              ? std::string_view{}
                                              : std::string_view{body}.substr(first);
            const auto space = code.find(' ');
            const bool key_value =
                space != std::string_view::npos && code.substr(space).starts_with(" = ") &&
                code.substr(0, space).find_first_not_of("abcdefghijklmnopqrstuvwxyz-") ==
                    std::string_view::npos;
            if (code.starts_with("[[") || key_value)
                line = body;
        }
        out += line + '\n';
    }
    return out;
}

} // namespace

TEST_CASE("the template config validates as it is and syncs nothing") {
    const HomeGuard home{"/home/student"};
    TempDir dir;
    const auto file = dir / "kitovu.toml";
    test::write_file(file, config_template());
    const auto settings = load_settings(file);
    if (!settings)
        FAIL(lines_of(settings.error()).front());
    CHECK(settings->root_dir == "/home/student/kitovu");
    CHECK(settings->global_ignore.size() == 5);
    CHECK(settings->connections.empty());
    CHECK(settings->subjects.empty());
}

TEST_CASE("the template's commented examples validate once uncommented") {
    const HomeGuard home{"/home/student"};
    TempDir dir;
    const auto file = dir / "kitovu.toml";
    test::write_file(file, uncomment_examples(config_template()));
    const auto settings = load_settings(file);
    if (!settings)
        FAIL(lines_of(settings.error()).front());

    // One example connection per plugin, named after it, with the schema's defaults.
    REQUIRE(settings->connections.size() == 3);
    CHECK(settings->connections[0].plugin == "local");
    CHECK(settings->connections[1].plugin == "moodle");
    CHECK(settings->connections[1].options.get(MoodlePlugin::timeout) == 30);
    CHECK(settings->connections[2].plugin == "smb");
    CHECK(settings->connections[2].options.get(SmbPlugin::port) == 445);
    CHECK(settings->connections[2].options.get(SmbPlugin::signing) == "if-required");
    REQUIRE(settings->subjects.size() == 1);
    REQUIRE(settings->subjects[0].sources.size() == 3);
    CHECK(settings->subjects[0].sources[0].local_dir == "/home/student/kitovu/EPJ");
    CHECK(settings->subjects[0].sources[1].local_dir == "/home/student/Documents/EPJ-moodle");
}

namespace {
class GadgetPlugin final : public SyncPlugin {
  public:
    static constexpr auto colour = string_option(
        {.name = "colour", .required = true, .help = "the gadget's colour", .example = "teal"});
    static constexpr auto size = integer_option(
        {.name = "size", .default_value = std::int64_t{3}, .help = "how big", .min = 1, .max = 9});
    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{colour.spec, size.spec};
        return specs;
    }
    expected<void, UsageError> configure(std::string_view, const Options& options) override {
        if (options.get(colour) == "invisible")
            return fail(ErrorKind::config, "an invisible gadget cannot be found");
        return {};
    }
    expected<void, UsageError> connect() override { return {}; }
    expected<void, UsageError> list(std::string_view, ListFilter, WarningSink, ListSink) override {
        return {};
    }
    expected<Retrieved, UsageError> retrieve(const RemoteEntry&, ChunkWriter) override {
        return Retrieved{};
    }
};
} // namespace

TEST_CASE("a plugin registered by a program appears in the template with every option") {
    const PluginRegistry::Add<GadgetPlugin> gadget{"gadget", "a gadget for the test"};
    const std::string text = config_template();
    CHECK(text.find("# plugin \"gadget\": a gadget for the test\n") != std::string::npos);
    const auto line_of = [&](std::string_view start) {
        const auto at = text.find(start);
        return at == std::string::npos ? std::string{} : text.substr(at, text.find('\n', at) - at);
    };
    CHECK(line_of("# colour = ")
              .ends_with("\"teal\"                   # the gadget's colour (required)"));
    CHECK(line_of("# size = ").ends_with("3                          # how big (default 3)"));
    // Every option of every plugin is shown, so the template keeps up with them.
    for (const auto* entry : PluginRegistry::entries())
        for (const OptionSpec& spec : entry->options) {
            INFO(entry->name << ": " << spec.name);
            CHECK(text.find("# " + std::string{spec.name} + " = ") != std::string::npos);
        }
    const HomeGuard home{"/home/student"};
    TempDir dir;
    test::write_file(dir / "kitovu.toml", uncomment_examples(text));
    CHECK(load_settings(dir / "kitovu.toml"));
}

TEST_CASE("validate checks settings a program built the way it checks a config file") {
    const PluginRegistry::Add<GadgetPlugin> gadget{"gadget", "a gadget for the test"};
    Settings settings;
    settings.root_dir = "/k";
    Connection connection{.name = "g", .plugin = "gadget"};
    connection.options.set("colour", std::string{"teal"});
    connection.options.set("size", std::int64_t{3});
    settings.connections.push_back(connection);
    settings.subjects.push_back(
        Subject{.name = "S", .sources = {Source{.connection = "g", .remote_dir = "/"}}});
    CHECK(validate(settings).empty());

    struct Row {
        std::string what;
        std::function<void(Settings&)> change;
        std::string error;
    };
    const std::vector<Row> table{
        {"out of range", [](Settings& s) { s.connections[0].options.set("size", std::int64_t{0}); },
         "g: 'size' must be between 1 and 9, found 0"},
        {"wrong type", [](Settings& s) { s.connections[0].options.set("size", std::string{"3"}); },
         "g: expected an integer for 'size', found a string"},
        {"missing", [](Settings& s) { s.connections[0].options = Options{}; },
         "connection 'g' is missing required option 'colour' of plugin 'gadget'"},
        {"undeclared", [](Settings& s) { s.connections[0].options.set("color", std::string{"x"}); },
         "g: unknown key 'color' (did you mean 'colour'?)"},
        {"refused by the plugin",
         [](Settings& s) { s.connections[0].options.set("colour", std::string{"invisible"}); },
         "g: an invisible gadget cannot be found"},
        {"unknown plugin", [](Settings& s) { s.connections[0].plugin = "gizmo"; },
         "g: unknown plugin 'gizmo'"},
        {"unknown connection", [](Settings& s) { s.subjects[0].sources[0].connection = "h"; },
         "unknown connection 'h' (defined connections: g)"},
    };
    for (const Row& row : table) {
        INFO(row.what);
        Settings changed = settings;
        row.change(changed);
        const auto problems = validate(changed);
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].kind == ErrorKind::config);
        CHECK(problems[0].to_string().starts_with(row.error));
    }
}

TEST_CASE("what a config's values mean is judged once, by validate, the reader reports the shape") {
    const std::string connection = "\n[[connections]]\nname = \"mirror\"\nplugin = \"local\"\n";
    const std::string subject = "\n[[subjects]]\nname = \"EPJ\"\n  [[subjects.sources]]\n"
                                "  connection = \"nowhere\"\n  remote-dir = \"EPJ\"\n";
    const std::string head = "root-dir = \"/k\"\n" + connection;
    struct Row {
        std::string text;
        std::string error;
    };
    const std::vector<Row> table{
        {head + "path = \"/r\"\n" + connection + "path = \"/r\"\n",
         "kitovu.toml:9:8: duplicate connection name 'mirror' (first defined on line 4)"},
        {head, "kitovu.toml:3:1: connection 'mirror' is missing required option 'path' of plugin "
               "'local'"},
        {head + "path = \"/r\"\npathh = \"/r\"\n",
         "kitovu.toml:7:1: unknown key 'pathh' (did you mean 'path'?)"},
        {"root-dir = \"/k\"\n\n[[connections]]\nname = \"mirror\"\nplugin = \"ftp\"\n",
         "kitovu.toml:5:10: unknown plugin 'ftp' (known plugins: local, moodle, smb)"},
        {head + "path = \"/r\"\n" + subject,
         "kitovu.toml:11:16: unknown connection 'nowhere' (defined connections: mirror)"},
    };
    for (const Row& row : table) {
        INFO(row.text);
        Settings settings;
        detail::SettingsReader reader{"kitovu.toml", "/c"};
        reader.read(toml::parse(row.text, std::string_view{"kitovu.toml"}), settings);
        CHECK(reader.take_errors().empty());
        const auto problems = validate(settings);
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].to_string() == row.error);
        const auto loaded = parse_settings(row.text, "kitovu.toml");
        REQUIRE_FALSE(loaded);
        REQUIRE(loaded.error().size() == 1);
        CHECK(loaded.error()[0].to_string() == row.error);
    }
}

TEST_CASE("select_subjects: what a run of some subjects or one connection syncs, as a table") {
    const auto source = [](std::string connection, std::string local) {
        return Source{.connection = std::move(connection), .remote_dir = "r", .local_dir = local};
    };
    Settings settings;
    settings.file = "/c/kitovu.toml";
    settings.connections = {Connection{.name = "uni"}, Connection{.name = "moodle"}};
    settings.subjects = {
        Subject{.name = "Mathe",
                .sources = {source("uni", "/k/Mathe"), source("moodle", "/k/Mathe")}},
        Subject{.name = "Archiv", .sources = {source("uni", "/k/Mathe/Alt")}},
        Subject{.name = "Alt2019", .sources = {source("uni", "/k/Mathe/Alt/2019")}},
        Subject{.name = "Mathematik", .sources = {source("uni", "/k/Mathematik")}},
        Subject{.name = "EPJ", .sources = {source("moodle", "/k/EPJ")}},
    };
    struct Row {
        Selection selection;
        std::string synced; // "subject:connection ..." in config order, or the error
        std::vector<std::string> notes;
    };
    const std::vector<Row> table{
        {{}, "Mathe:uni Mathe:moodle Archiv:uni Alt2019:uni Mathematik:uni EPJ:moodle", {}},
        {{.subjects = {"EPJ"}}, "EPJ:moodle", {}},
        // Nested on the same connection: synced too, however deep; a folder whose name only starts
        // the same (Mathematik) is not inside.
        {{.subjects = {"Mathe"}},
         "Mathe:uni Mathe:moodle Archiv:uni Alt2019:uni",
         {"also syncing 'Archiv' from uni: its folder /k/Mathe/Alt is inside the folder of 'Mathe'",
          "also syncing 'Alt2019' from uni: its folder /k/Mathe/Alt/2019 is inside the folder of "
          "'Mathe'"}},
        // Only Mathe's moodle source: Archiv is on uni, not nested in anything synced.
        {{.subjects = {"Mathe"}, .connection = "moodle"}, "Mathe:moodle", {}},
        {{.subjects = {"Archiv"}},
         "Archiv:uni Alt2019:uni",
         {"also syncing 'Alt2019' from uni: its folder /k/Mathe/Alt/2019 is inside the folder of "
          "'Archiv'"}},
        {{.connection = "moodle"}, "Mathe:moodle EPJ:moodle", {}},
        {{.subjects = {"Nope", "EPJ", "Nope"}},
         "unknown subject 'Nope' (subjects in /c/kitovu.toml: Mathe, Archiv, Alt2019, Mathematik, "
         "EPJ)",
         {}},
        {{.connection = "ftp"},
         "unknown connection 'ftp' (connections in /c/kitovu.toml: uni, moodle)",
         {}},
        {{.subjects = {"EPJ"}, .connection = "uni"},
         "nothing to sync: 'EPJ' has no source on connection 'uni'",
         {}},
    };
    for (const Row& row : table) {
        INFO(row.synced);
        const auto chosen = select_subjects(settings, row.selection);
        std::string synced;
        if (!chosen) {
            CHECK(chosen.error().kind == ErrorKind::usage);
            synced = chosen.error().message;
        } else {
            for (const Subject& subject : chosen->settings.subjects)
                for (const Source& source : subject.sources)
                    synced += (synced.empty() ? "" : " ") + subject.name + ":" + source.connection;
            CHECK(chosen->notes == row.notes);
        }
        CHECK(synced == row.synced);
    }
}

TEST_CASE("a value is shown as it is written in TOML, a string's quotes and backslashes escaped") {
    CHECK(display(OptionValue{std::string{R"(say "hi" \o/)"}}) == R"("say \"hi\" \\o/")");
    CHECK(display(OptionValue{std::int64_t{445}}) == "445");
    CHECK(display(OptionValue{true}) == "true");
    // What the template writes parses back to the same value.
    const auto settings = parse_settings(
        "root-dir = \"/k\"\n[[connections]]\nname = \"m\"\nplugin = \"local\"\npath = " +
            display(OptionValue{std::string{R"(/r/"x"\y)"}}) + "\n",
        "kitovu.toml");
    REQUIRE(settings);
    CHECK(settings->connections[0].options.values().at("path") ==
          OptionValue{std::string{R"(/r/"x"\y)"}});
}
