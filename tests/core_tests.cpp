// The core library: errors, warnings, the plugin registry, remote names and the local plugin.
#include "support.hpp"

#include <kitovu/decide/decide.hpp>
#include <kitovu/disk/placement.hpp>
#include <kitovu/kitovu.hpp>
#include <kitovu/plugin/credentials.hpp>
#include <kitovu/plugin/listing_loops.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

using namespace kitovu;
using kitovu::test::TempDir;

namespace {

class DummyPlugin final : public test::InertPlugin {
  public:
    static std::span<const OptionSpec> schema() noexcept { return {}; }
};

auto keep_all = [](std::string_view, bool) { return true; };

std::vector<RemoteEntry> sorted(std::vector<RemoteEntry> entries) {
    std::ranges::sort(entries, {}, &RemoteEntry::path);
    return entries;
}

expected<std::string, UsageError> fetch(SyncPlugin& plugin, const RemoteEntry& entry,
                                        Retrieved* seen = nullptr) {
    std::string content;
    auto result =
        plugin.retrieve(entry, [&](std::span<const std::byte> bytes) -> expected<void, UsageError> {
            content.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            return {};
        });
    if (!result)
        return fail(result.error());
    if (seen != nullptr)
        *seen = *result;
    return content;
}

std::unique_ptr<SyncPlugin> local_plugin_for(const std::filesystem::path& root) {
    auto plugin = PluginRegistry::create("local");
    REQUIRE(plugin);
    Options options;
    options.set("path", root.string());
    REQUIRE((*plugin)->configure("mirror", options));
    return std::move(*plugin);
}

} // namespace

TEST_CASE("an error carries its kind, message and place into any expected") {
    const auto open = []() -> expected<int, UsageError> {
        return fail({.kind = ErrorKind::not_found,
                     .message = "remote folder not found",
                     .connection = "skripte",
                     .path = "Informatik/EPJ"});
    };
    const auto result = open();
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ErrorKind::not_found);
    CHECK(result.error().to_string() == "skripte: Informatik/EPJ: remote folder not found");

    UsageError config{
        ErrorKind::config, "unknown key 'remote_dir'", {}, {}, {"kitovu.toml", 12, 3}};
    CHECK(config.to_string() == "kitovu.toml:12:3: unknown key 'remote_dir'");
    CHECK(to_string(ErrorKind::authentication) == "authentication");
}

TEST_CASE("warnings reach any callable the caller supplies as a sink") {
    const Warning vanished{WarningKind::vanished, "file disappeared before download", "skripte",
                           "a/b.pdf"};

    std::vector<std::string> seen;
    const auto push = [](WarningSink sink, const Warning& warning) { sink(warning); };
    push([&](const Warning& warning) { seen.push_back(warning.to_string()); }, vanished);
    CHECK(seen == std::vector<std::string>{"skripte: a/b.pdf: file disappeared before download"});

    CollectingSink collected;
    push(collected, vanished);
    push(collected, Warning{WarningKind::conflict, "kept local", "skripte", "c.txt"});
    REQUIRE(collected.warnings().size() == 2);
    CHECK(collected.warnings()[0] == vanished);
    CHECK(collected.warnings()[1].kind == WarningKind::conflict);

    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    push(PrintingSink{file}, vanished);
    std::rewind(file);
    char line[200] = {};
    REQUIRE(std::fgets(line, sizeof line, file) != nullptr);
    std::fclose(file);
    CHECK(std::string{line} == "warning: skripte: a/b.pdf: file disappeared before download\n");
}

TEST_CASE("the registry finds a plugin by name and makes independent instances") {
    auto entry = PluginRegistry::find("local");
    REQUIRE(entry);
    CHECK((*entry)->description == "a local or mounted directory");
    REQUIRE((*entry)->options.size() == 1);
    CHECK((*entry)->options[0].name == "path");
    CHECK((*entry)->options[0].required);

    auto first = PluginRegistry::create("local");
    auto second = PluginRegistry::create("local");
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->get() != second->get());
}

TEST_CASE("an unknown plugin name is an error listing the known plugins") {
    const PluginRegistry::Add<DummyPlugin> dummy{"dummy", "for tests"};
    auto entry = PluginRegistry::find("smbb");
    REQUIRE_FALSE(entry);
    CHECK(entry.error().kind == ErrorKind::not_found);
    CHECK(entry.error().message == "unknown plugin 'smbb' (known plugins: dummy, local)");
}

TEST_CASE("a name registered twice is reported, not silently overwritten") {
    CHECK(PluginRegistry::duplicates().empty());
    {
        const PluginRegistry::Add<DummyPlugin> first{"twin", "the first"};
        const PluginRegistry::Add<DummyPlugin> second{"twin", "the second"};
        auto entry = PluginRegistry::find("twin");
        REQUIRE_FALSE(entry);
        CHECK(entry.error().message ==
              "plugin 'twin' is registered twice ('the first' and 'the second')");
        REQUIRE(PluginRegistry::duplicates().size() == 1);
        CHECK(PluginRegistry::known_names() == "local, twin");
    }
    // Registrations end with their objects.
    CHECK(PluginRegistry::duplicates().empty());
    CHECK_FALSE(PluginRegistry::find("twin"));
    CHECK(PluginRegistry::known_names() == "local");
}

TEST_CASE("the local plugin lists a nested tree with sizes and mtimes") {
    TempDir remote;
    test::write_file(remote / "EPJ/Skript.pdf", "0123456789");
    test::write_file(remote / "EPJ/Übungen/Serie 1.txt", "abc");
    test::write_file(remote / "EPJ/leer.txt", "");
    std::filesystem::create_directories(remote / "EPJ/empty folder");
    test::set_mtime(remote / "EPJ/Skript.pdf", 1'600'000'000);
    test::set_mtime(remote / "EPJ/Übungen/Serie 1.txt", 1'600'000'123);
    test::set_mtime(remote / "EPJ/leer.txt", 1'500'000'000);

    auto plugin = local_plugin_for(remote.path());
    REQUIRE(plugin->connect());
    CollectingSink warnings;
    auto entries = plugin->list_all("EPJ", keep_all, warnings);
    REQUIRE(entries);
    const auto got = sorted(*entries);
    REQUIRE(got.size() == 5);
    CHECK(got[0].path == "Skript.pdf");
    CHECK(got[0].size == 10);
    CHECK(got[0].mtime == 1'600'000'000);
    CHECK(got[1].path == "empty folder");
    CHECK(got[1].is_folder);
    CHECK(got[2].path == "leer.txt");
    CHECK(got[2].size == 0);
    CHECK(got[2].mtime == 1'500'000'000);
    CHECK(got[3].path == "Übungen");
    CHECK(got[3].is_folder);
    CHECK(got[4].path == "Übungen/Serie 1.txt");
    CHECK(got[4].size == 3);
    CHECK(got[4].mtime == 1'600'000'123);
    CHECK(warnings.warnings().empty());

    CHECK(plugin->remote_digest(got[0]) == "10-1600000000");

    // What the plugin saw after reading: the file as listed.
    Retrieved seen;
    auto content = fetch(*plugin, got[4], &seen);
    REQUIRE(content);
    CHECK(*content == "abc");
    CHECK(seen.size == 3);
    CHECK(seen.mtime == 1'600'000'123);
}

TEST_CASE("the local plugin does not descend into folders the filter drops") {
    TempDir remote;
    test::write_file(remote / "keep/a.txt", "a");
    test::write_file(remote / "old/b.txt", "b");
    auto plugin = local_plugin_for(remote.path());
    std::vector<std::string> asked;
    auto entries = plugin->list_all(
        "/",
        [&](std::string_view path, bool) {
            asked.emplace_back(path);
            return path != "old";
        },
        no_warnings);
    REQUIRE(entries);
    std::ranges::sort(asked);
    CHECK(asked == std::vector<std::string>{"keep", "keep/a.txt", "old"});
    const auto got = sorted(*entries);
    REQUIRE(got.size() == 2);
    CHECK(got[1].path == "keep/a.txt");
}

TEST_CASE("the local plugin reports a missing root or folder as not found") {
    TempDir remote;
    auto missing_root = local_plugin_for(remote / "nowhere");
    auto connected = missing_root->connect();
    REQUIRE_FALSE(connected);
    CHECK(connected.error().kind == ErrorKind::not_found);
    CHECK(connected.error().connection == "mirror");

    auto plugin = local_plugin_for(remote.path());
    auto listed = plugin->list_all("Informatik/EPJ", keep_all, no_warnings);
    REQUIRE_FALSE(listed);
    CHECK(listed.error().kind == ErrorKind::not_found);
    CHECK(listed.error().message == "remote folder not found");
}

TEST_CASE("a file that vanished after listing is reported as not found") {
    TempDir remote;
    test::write_file(remote / "gone.txt", "x");
    auto plugin = local_plugin_for(remote.path());
    auto entries = plugin->list_all("", keep_all, no_warnings);
    REQUIRE(entries);
    REQUIRE(entries->size() == 1);
    std::filesystem::remove(remote / "gone.txt");
    auto content = fetch(*plugin, entries->front());
    REQUIRE_FALSE(content);
    CHECK(content.error().kind == ErrorKind::not_found);
    CHECK(content.error().path == "gone.txt");
}

TEST_CASE("a writer's error ends the retrieval and is returned as it is") {
    TempDir remote;
    test::write_file(remote / "big.bin", std::string(3 << 20, 'x'));
    auto plugin = local_plugin_for(remote.path());
    auto entries = plugin->list_all("", keep_all, no_warnings);
    REQUIRE(entries);
    int calls = 0;
    auto result = plugin->retrieve(entries->front(),
                                   [&](std::span<const std::byte>) -> expected<void, UsageError> {
                                       ++calls;
                                       return fail(ErrorKind::cancelled, "stopped");
                                   });
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ErrorKind::cancelled);
    CHECK(calls == 1);
}

TEST_CASE("a name with every character Windows refuses is listed and stored with underscores") {
    TempDir remote;
    const std::string name = "a:b*c?d\"e<f>g|h.txt";
    test::write_file(remote / name, "windows");
    auto plugin = local_plugin_for(remote.path());
    auto entries = plugin->list_all("", keep_all, no_warnings);
    REQUIRE(entries);
    REQUIRE(entries->size() == 1);
    CHECK(entries->front().path == name);
    auto local = local_relative_path(entries->front().path);
    REQUIRE(local);
    CHECK(local->string() == "a_b_c_d_e_f_g_h.txt");
    CHECK(*fetch(*plugin, entries->front()) == "windows");
}

TEST_CASE("remote names that could leave the target folder are refused") {
    for (const std::string_view bad : {"", "/etc/passwd", "..", "../x", "a/../../x", "a/./b",
                                       "a//b", "a/", ".kitovu-partial-1-x"}) {
        INFO("remote name: " << bad);
        auto local = local_relative_path(bad);
        REQUIRE_FALSE(local);
        CHECK(local.error().kind == ErrorKind::protocol);
        CHECK(local.error().path == bad);
    }
    CHECK_FALSE(local_relative_path(std::string(256, 'n')));
    CHECK(local_relative_path(std::string(255, 'n')));
}

TEST_CASE("backslashes, drive letters and control characters stay inside one name") {
    CHECK(local_relative_path("C:\\x")->string() == "C__x");
    CHECK(local_relative_path("..\\..\\x")->string() == ".._.._x");
    CHECK(local_relative_path("tab\there/bell\a")->string() == "tab_here/bell_");
    CHECK(local_relative_path("Übungen/Serie 1.txt")->string() == "Übungen/Serie 1.txt");
}

namespace secret_options {
constexpr auto password_command = string_option({.name = "password-command"});
constexpr auto token_command = string_option({.name = "token-command"});
constexpr auto hostname = string_option({.name = "hostname"});
constexpr auto port = integer_option({.name = "port"});
constexpr auto username = string_option({.name = "username"});
constexpr auto share = string_option({.name = "share"});
constexpr auto url = string_option({.name = "url"});
} // namespace secret_options

TEST_CASE("a secret comes from its command, else the environment, else the prompt") {
    const SecretSpec spec{"password", &secret_options::password_command, "KITOVU_PASSWORD_", ""};
    Options options;
    int asked = 0;
    const SecretPrompt prompt = [&](std::string_view question) -> std::optional<std::string> {
        ++asked;
        CHECK(question == "password for my-share.2: ");
        return "typed";
    };
    CHECK(secret_variable("KITOVU_PASSWORD_", "my-share.2") == "KITOVU_PASSWORD_MY_SHARE_2");

    ::unsetenv("KITOVU_PASSWORD_MY_SHARE_2");
    CHECK(resolve_secret("my-share.2", "test", options, spec, {.prompt = prompt})->value.str() ==
          "typed");
    CHECK(asked == 1);

    ::setenv("KITOVU_PASSWORD_MY_SHARE_2", "from env", 1);
    CHECK(resolve_secret("my-share.2", "test", options, spec, {.prompt = prompt})->value.str() ==
          "from env");

    options.set("password-command", std::string{"printf 'first line\\nsecond line\\n'"});
    CHECK(resolve_secret("my-share.2", "test", options, spec, {.prompt = prompt})->value.str() ==
          "first line");
    CHECK(asked == 1);
    ::unsetenv("KITOVU_PASSWORD_MY_SHARE_2");
}

TEST_CASE(
    "a failing or silent password command is an error naming the connection, not its output") {
    const SecretSpec spec{"password", &secret_options::password_command, "KITOVU_PASSWORD_", ""};
    for (const auto& [command, why] : std::vector<std::pair<std::string, std::string>>{
             {"echo hunter2; exit 3", "password-command failed with exit code 3"},
             {"true", "password-command printed nothing"},
             {"cat", "password-command printed nothing"}, // stdin is closed, not inherited
             {"no-such-command-kitovu 2>/dev/null",
              "password-command failed with exit code 127"}}) {
        Options options;
        options.set("password-command", command);
        auto secret = resolve_secret("skripte", "test", options, spec, {});
        REQUIRE_FALSE(secret);
        CHECK(secret.error().kind == ErrorKind::authentication);
        CHECK(secret.error().to_string() == "skripte: " + why);
        CHECK(secret.error().to_string().find("hunter2") == std::string::npos);
    }
}

TEST_CASE("without command, environment or terminal the missing password is explained") {
    const SecretSpec spec{"password", &secret_options::password_command, "KITOVU_PASSWORD_", ""};
    ::unsetenv("KITOVU_PASSWORD_SKRIPTE");
    auto secret = resolve_secret("skripte", "test", Options{}, spec, {});
    REQUIRE_FALSE(secret);
    CHECK(secret.error().to_string() == "skripte: no password: set password-command in the config, "
                                        "or KITOVU_PASSWORD_SKRIPTE in the "
                                        "environment, or run kitovu in a terminal to be asked");
}

TEST_CASE("the contract's table: a file's state from what is known of it") {
    using S = FileState;
    struct Row {
        bool exists, known, remote_changed, local_changed, looks_like;
        FileState state;
    };
    // clang-format off
    const Row table[] = {
        // here   known  remote  local  looks  -> state
        {false, false, false, false, false, S::new_file},       // new remote file
        {false, true,  false, false, false, S::new_file},       // deleted here: fetched again
        {false, true,  true,  false, false, S::new_file},
        {true,  false, false, false, true,  S::adopted},        // never synced, same content
        {true,  false, false, false, false, S::conflict},       // never synced, different
        {true,  true,  false, false, false, S::unchanged},
        {true,  true,  false, true,  false, S::local_changed},  // an edit, remote unchanged
        {true,  true,  false, true,  true,  S::local_changed},  // size and time are no proof
        {true,  true,  true,  false, false, S::remote_changed},
        {true,  true,  true,  true,  false, S::conflict},       // both changed
        {true,  true,  true,  true,  true,  S::unchanged},      // the user fetched the new one
    };
    // clang-format on
    for (const Row& row : table) {
        INFO(row.exists << row.known << row.remote_changed << row.local_changed << row.looks_like);
        CHECK(decide(FileFacts{row.exists, row.known, row.remote_changed, row.local_changed,
                               row.looks_like}) == row.state);
    }
}

TEST_CASE("a folder where the remote has a file: kitovu's own gives way, any other stays") {
    using S = FileState;
    struct Row {
        bool known, remote_changed, removable;
        FileState state;
    };
    // clang-format off
    const Row table[] = {
        // known  remote  removable -> state
        {false, false, true,  S::new_file},      // kitovu's untouched folder: replaced by the file
        {false, false, false, S::conflict},      // somebody's folder: the file saved beside it
        {true,  true,  true,  S::new_file},
        {true,  true,  false, S::conflict},
        {true,  false, false, S::local_changed}, // saved beside it before: nothing to do
        {true,  false, true,  S::local_changed},
    };
    // clang-format on
    for (const Row& row : table) {
        INFO(row.known << row.remote_changed << row.removable);
        CHECK(decide(FileFacts{.local_exists = true,
                               .known = row.known,
                               .remote_changed = row.remote_changed,
                               .folder_in_the_way = true,
                               .folder_removable = row.removable}) == row.state);
    }
}

TEST_CASE("what placement finds at the last moment decides how a download ends") {
    using S = FileState;
    using A = AtPlacement;
    struct Row {
        FileState decided;
        AtPlacement found;
        bool known;
        FileState state;
    };
    const Row table[] = {
        {S::new_file, A::as_decided, false, S::new_file},
        {S::remote_changed, A::as_decided, true, S::remote_changed},
        {S::conflict, A::as_decided, true, S::conflict},
        {S::remote_changed, A::edited, true, S::conflict}, // edited after the look: the edit wins
        {S::new_file, A::taken, false, S::conflict},       // a file appeared: it is somebody's
        {S::conflict, A::holds_download, true, S::unchanged}, // the user fetched it meanwhile
        {S::conflict, A::holds_download, false, S::adopted},
    };
    for (const Row& row : table) {
        INFO(to_string(row.decided) << ' ' << static_cast<int>(row.found) << ' ' << row.known);
        CHECK(decide_at_placement(row.decided, row.found, row.known) == row.state);
    }
}

TEST_CASE("a record the listing did not name: kept, forgotten or reported gone once") {
    using F = RecordFate;
    struct Row {
        bool listed, folder_unlisted, here, ignored, reported;
        RecordFate fate;
    };
    // clang-format off
    const Row table[] = {
        // listed unlisted here  ignored reported -> fate
        {false, false, true,  false, false, F::keep},           // not listed this time
        {true,  true,  true,  false, false, F::keep},           // its folder could not be listed
        {true,  false, false, false, false, F::forget},         // gone here too
        {true,  false, true,  true,  false, F::forget},         // ignored now
        {true,  false, true,  false, false, F::remote_deleted}, // gone remotely: copy kept, told
        {true,  false, true,  false, true,  F::keep},           // told when it went
        {true,  false, false, false, true,  F::forget},
    };
    // clang-format on
    for (const Row& row : table) {
        INFO(row.listed << row.folder_unlisted << row.here << row.ignored << row.reported);
        CHECK(decide_unlisted(UnlistedFacts{row.listed, row.folder_unlisted, row.here, row.ignored,
                                            row.reported}) == row.fate);
    }
}

TEST_CASE("a moved file moves with its edit, and is decided again where the remote changed too") {
    const MoveCandidate recorded{"/k/a.pdf", "", "a.pdf", "10:100", "fp1"};
    struct Row {
        MoveCandidate listed;
        bool edited;
        bool decide_again, tell;
    };
    const Row table[] = {
        {{"/k/b.pdf", "", "b.pdf", "10:100", ""}, false, false, false},    // same digest
        {{"/k/b.pdf", "", "b.pdf", "10:200", "fp1"}, false, false, false}, // same fingerprint
        {{"/k/b.pdf", "", "b.pdf", "12:200", "fp2"}, false, true, false},  // changed as well
        {{"/k/b.pdf", "", "b.pdf", "12:200", ""}, true, true, true},
        {{"/k/b.pdf", "", "b.pdf", "10:100", ""}, true, false, true}, // the edit moves along
    };
    for (const Row& row : table) {
        INFO(row.listed.digest << ' ' << row.listed.fingerprint << ' ' << row.edited);
        const auto outcome = decide_move(same_remote_file(recorded, row.listed), row.edited);
        CHECK(outcome.state == FileState::moved);
        CHECK(outcome.decide_again == row.decide_again);
        CHECK(outcome.tell_user == row.tell);
    }
}

TEST_CASE("a remote folder where a file is: kitovu's own untouched file gives way") {
    CHECK(decide_folder(false, false) == FolderPlace::here);
    CHECK(decide_folder(true, true) == FolderPlace::replacing_file);
    CHECK(decide_folder(true, false) == FolderPlace::beside_file);
}

TEST_CASE("a local file counts as edited unless its identity or its bytes say it is kitovu's") {
    const LocalIdentity placed{9, 1'600'000'000'123'456'789, 1'700'000'000'000'000'001, 42, 7};
    const std::string bytes_hash = "00112233445566778899";
    auto same_size = placed;
    same_size.ctime_ns += 1;
    auto other_size = same_size;
    other_size.size = 10;
    auto legacy_record = LocalIdentity{9, 1'600'000'000'000'000'000, 0, 0, 0};
    struct Row {
        LocalIdentity recorded;
        std::string hash;
        bool racy;
        LocalIdentity now;
        std::optional<std::string> now_hash; // what reading the file would give
        bool edited;
        bool reads;
    };
    const Row table[] = {
        {placed, bytes_hash, false, placed, bytes_hash, false, false},   // identity is enough
        {placed, bytes_hash, true, placed, bytes_hash, false, true},     // racy: the bytes tell
        {placed, bytes_hash, true, placed, "other", true, true},         // edited in the same tick
        {placed, "", true, placed, std::nullopt, true, false},           // racy, nothing to confirm
        {placed, bytes_hash, false, same_size, bytes_hash, false, true}, // touched only
        {placed, bytes_hash, false, same_size, "other", true, true},     // same size, edited
        {placed, bytes_hash, false, other_size, std::nullopt, true, false},
        {placed, "", false, same_size, std::nullopt, true, false},
        {legacy_record, "", false, placed, std::nullopt, false, false}, // first format: size+second
        {legacy_record, "", false, other_size, std::nullopt, true, false},
    };
    for (const Row& row : table) {
        CacheEntry record;
        record.local = row.recorded;
        record.content_hash = row.hash;
        record.racy = row.racy;
        bool read = false;
        CHECK(local_changed(record, row.now, [&] {
                  read = true;
                  return row.now_hash;
              }) == row.edited);
        CHECK(read == row.reads);
    }
}

TEST_CASE("the content hash is XXH64 and the same however the bytes arrive") {
    CHECK(ContentHash{}.hex() == "ef46db3751d8e999"); // XXH64 of nothing, seed 0
    const std::string text = test::random_bytes(1000, 3);
    ContentHash whole;
    whole.update(std::as_bytes(std::span{text}));
    ContentHash pieces;
    for (std::size_t at = 0; at < text.size(); at += 7)
        pieces.update(
            std::as_bytes(std::span{text}.subspan(at, std::min<std::size_t>(7, text.size() - at))));
    CHECK(whole.hex() == pieces.hex());
    ContentHash other;
    other.update(std::as_bytes(std::span{text}.first(999)));
    CHECK(other.hex() != whole.hex());
}

TEST_CASE("conflict copy names fit the file system, cut at a character boundary") {
    std::string stem;
    for (int i = 0; i < 123; ++i)
        stem += "ü";
    const auto copy = detail::conflict_path("/home/x/" + stem + ".txt", 1'700'000'000, 12);
    const std::string name = copy.filename().string();
    CHECK(name.size() <= 255);
    CHECK(name.ends_with("-12.txt"));
    CHECK(name.find(".remote-conflict-") != std::string::npos);
    CHECK(name.starts_with("ü"));
    CHECK(name.find(".remote-conflict-") % 2 == 0); // only whole two-byte characters before it
    CHECK(detail::conflict_path("/home/x/a.pdf", 1'700'000'000, 1).filename().string().size() < 50);
}

TEST_CASE("a keyring item is keyed by plugin, server and user, and labelled for people") {
    using namespace secret_options;
    const SecretSpec smb{.what = "password",
                         .command_option = &password_command,
                         .environment_prefix = "KITOVU_PASSWORD_",
                         .hint = "",
                         .server_option = &hostname,
                         .port_option = &port,
                         .usual_port = 445,
                         .user_option = &username,
                         .place_option = &share};
    const SecretSpec moodle{.what = "token",
                            .command_option = &token_command,
                            .environment_prefix = "KITOVU_TOKEN_",
                            .hint = "",
                            .server_option = &url};
    const auto options = [](std::vector<std::pair<std::string, OptionValue>> values) {
        Options out;
        for (auto& [name, value] : values)
            out.set(name, value);
        return out;
    };
    const SecretSpec no_server{"password", &password_command, "KITOVU_PASSWORD_", ""};
    using Attributes = std::vector<std::pair<std::string, std::string>>;
    struct Row {
        std::string plugin;
        Options options;
        const SecretSpec* spec;
        std::optional<KeyringItem> item;
    };
    const std::vector<Row> table{
        {"smb",
         options({{"hostname", "files.example.edu"},
                  {"port", std::int64_t{445}},
                  {"username", "alice"},
                  {"share", "skripte"}}),
         &smb,
         KeyringItem{
             Attributes{{"plugin", "smb"}, {"server", "files.example.edu"}, {"user", "alice"}},
             "kitovu: alice on files.example.edu/skripte"}},
        // Another share of the same account: the same item (the label is only for people).
        {"smb",
         options({{"hostname", "files.example.edu"},
                  {"port", std::int64_t{445}},
                  {"username", "alice"},
                  {"share", "uebungen"}}),
         &smb,
         KeyringItem{
             Attributes{{"plugin", "smb"}, {"server", "files.example.edu"}, {"user", "alice"}},
             "kitovu: alice on files.example.edu/uebungen"}},
        {"smb",
         options({{"hostname", "127.0.0.1"},
                  {"port", std::int64_t{4450}},
                  {"username", "bob"},
                  {"share", "s"}}),
         &smb,
         KeyringItem{Attributes{{"plugin", "smb"}, {"server", "127.0.0.1:4450"}, {"user", "bob"}},
                     "kitovu: bob on 127.0.0.1:4450/s"}},
        {"moodle", options({{"url", "https://moodle.example.edu/sub/"}}), &moodle,
         KeyringItem{Attributes{{"plugin", "moodle"}, {"server", "https://moodle.example.edu/sub"}},
                     "kitovu: token for https://moodle.example.edu/sub"}},
        {"smb", options({{"hostname", ""}, {"username", "alice"}}), &smb, std::nullopt},
        {"test", options({}), &no_server, std::nullopt},
    };
    for (const Row& row : table) {
        INFO(row.plugin << " " << row.options.get(hostname) << row.options.get(url));
        CHECK(keyring_item(row.plugin, row.options, *row.spec) == row.item);
    }
}

TEST_CASE("the keyring comes after the command and the environment and before the prompt") {
    using namespace secret_options;
    const SecretSpec spec{.what = "password",
                          .command_option = &password_command,
                          .environment_prefix = "KITOVU_PASSWORD_",
                          .hint = "",
                          .server_option = &hostname};
    Options options;
    options.set("hostname", std::string{"files.example.edu"});
    const auto item = *keyring_item("smb", options, spec);
    test::MemoryKeyring keyring;
    std::vector<std::string> questions;
    bool keep = true;
    const SecretSources sources{
        .prompt = [&](std::string_view question) -> std::optional<std::string> {
            questions.emplace_back(question);
            return "typed";
        },
        .keyring = &keyring,
        .offer_to_keep =
            [&](std::string_view question) {
                questions.emplace_back(question);
                return keep;
            }};
    ::unsetenv("KITOVU_PASSWORD_UNI");

    // Nothing kept: asked, and offered to keep.
    auto typed = resolve_secret("uni", "smb", options, spec, sources);
    REQUIRE(typed);
    CHECK(typed->value.str() == "typed");
    CHECK(typed->source == SecretSource::prompt);
    CHECK(typed->keep);
    CHECK(questions ==
          std::vector<std::string>{"password for uni: ",
                                   "remember the password for uni in the keyring? [Y/n] "});
    keep = false;
    CHECK_FALSE(resolve_secret("uni", "smb", options, spec, sources)->keep);

    // Kept: nobody is asked.
    questions.clear();
    keyring.items[item.attributes] = "kept";
    auto kept = resolve_secret("uni", "smb", options, spec, sources);
    CHECK(kept->value.str() == "kept");
    CHECK(kept->source == SecretSource::keyring);
    CHECK_FALSE(kept->keep);
    CHECK(questions.empty());

    // The environment comes first: the keyring is not even asked.
    const int lookups = keyring.lookups;
    ::setenv("KITOVU_PASSWORD_UNI", "from env", 1);
    CHECK(resolve_secret("uni", "smb", options, spec, sources)->source ==
          SecretSource::environment);
    CHECK(keyring.lookups == lookups);
    ::unsetenv("KITOVU_PASSWORD_UNI");

    // A keyring that cannot be asked: one sentence with the prompt, nothing offered.
    keyring.why_unavailable = "no Secret Service runs";
    keep = true;
    auto asked = resolve_secret("uni", "smb", options, spec, sources);
    CHECK(asked->value.str() == "typed");
    CHECK_FALSE(asked->keep);
    CHECK(questions == std::vector<std::string>{"the password cannot be remembered: no Secret "
                                                "Service runs\npassword for uni: "});
    // ... and in the error when no one can be asked.
    auto missing = resolve_secret("uni", "smb", options, spec, {.keyring = &keyring});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().to_string() ==
          "uni: no password: set password-command in the config, or KITOVU_PASSWORD_UNI in the "
          "environment, or run kitovu in a terminal to be asked (the keyring cannot help: no "
          "Secret Service runs)");
    keyring.why_unavailable.clear();
    keyring.items.clear();
    missing = resolve_secret("uni", "smb", options, spec, {.keyring = &keyring});
    CHECK(missing.error().to_string() ==
          "uni: no password: set password-command in the config, or KITOVU_PASSWORD_UNI in the "
          "environment, or keep it in the keyring with `kitovu login uni`, or run kitovu in a "
          "terminal to be asked");
}

TEST_CASE("the link's round trip decides how many downloads and listings run at once") {
    using std::chrono::microseconds;
    struct Row {
        microseconds round_trip;
        unsigned jobs;
        std::size_t listers_for_1, listers_for_2, listers_for_10;
    };
    // Zero is an unknown round trip; loopback is tens of microseconds; a VPN from home 20 ms.
    for (const Row& row : {
             Row{microseconds{0}, 4, 1, 2, 3},
             Row{microseconds{80}, 4, 1, 2, 3},
             Row{microseconds{999}, 4, 1, 2, 3},
             Row{microseconds{1000}, 4, 1, 2, 3},
             Row{microseconds{2500}, 10, 1, 2, 3},
             Row{microseconds{3000}, 12, 4, 8, 16},
             Row{microseconds{20000}, 16, 4, 8, 16},
             Row{microseconds{-5}, 4, 1, 2, 3},
         }) {
        INFO(row.round_trip.count() << " µs");
        CHECK(jobs_for_link(row.round_trip) == row.jobs);
        CHECK(listers_for_link(1, row.round_trip) == row.listers_for_1);
        CHECK(listers_for_link(2, row.round_trip) == row.listers_for_2);
        CHECK(listers_for_link(10, row.round_trip) == row.listers_for_10);
        CHECK(listers_for_link(0, row.round_trip) == 0);
    }
}

TEST_CASE("a folder that lists as a folder above it is a loop, folders only must repeat twice") {
    const auto file = [](std::string path, std::uint64_t size = 1) {
        return RemoteEntry{.path = std::move(path), .size = size, .mtime = 1'600'000'000};
    };
    const auto folder = [](std::string path) {
        return RemoteEntry{.path = std::move(path), .is_folder = true};
    };
    struct Row {
        std::string what;
        std::vector<std::vector<RemoteEntry>> batches; // as the plugin hands them out
        std::vector<std::string> loops;                // folder=same_as, in order found
        std::size_t kept;                              // entries kept of the last batch
    };
    const std::vector<Row> rows{
        {"a self-link beside a file",
         {{file("a.txt"), folder("current")}, {file("current/a.txt"), folder("current/current")}},
         {"current="},
         0},
        {"a link up from a subfolder",
         {{file("a.txt"), folder("Sub")},
          {file("Sub/b.txt"), folder("Sub/up")},
          {file("Sub/up/a.txt"), folder("Sub/up/Sub")}},
         {"Sub/up="},
         0},
        {"the same file names with another size is no loop",
         {{file("a.txt"), folder("x")}, {file("x/a.txt", 2), folder("x/x")}},
         {},
         2},
        {"folders only: one repeat is a real chain (M/M), a second one a loop",
         {{folder("M")}, {folder("M/M")}, {folder("M/M/M")}},
         {"M/M=M"},
         0},
        {"folders only, twice but not at equal steps",
         {{folder("A")}, {folder("A/A")}, {file("A/A/x.pdf")}},
         {},
         1},
        {"a batch with a folder and its subfolder",
         {{file("a.txt"), folder("c"), file("c/a.txt"), folder("c/c")}},
         {"c="},
         2},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        ListingLoops loops;
        std::vector<std::string> found;
        std::size_t kept = 0;
        for (auto batch : row.batches) {
            const auto taken = loops.take(batch);
            for (const auto& loop : taken.loops)
                found.push_back(loop.folder + '=' + loop.same_as);
            kept = taken.kept;
        }
        CHECK(found == row.loops);
        CHECK(kept == row.kept);
    }
}

TEST_CASE("a browser's entries: folders first, then by name in any case, refused names left out") {
    using kitovu::BrowseEntry;
    struct Row {
        std::vector<BrowseEntry> given;
        std::vector<std::string> shown; // names, folders with a '/'
    };
    // clang-format off
    const std::vector<Row> rows{
        {{}, {}},
        {{{"b.txt"}, {"A", true}, {"a.txt"}, {"c", true}}, {"A/", "c/", "a.txt", "b.txt"}},
        {{{"epj", true}, {"EPJ", true}, {"Algebra", true}}, {"Algebra/", "EPJ/", "epj/"}},
        {{{".kitovu-partial-1"}, {"..", true}, {".", true}, {""}, {std::string(256, 'x')}, {"ok"}},
         {"ok"}},
        {{{"Mathe & Statistik I/II", true}, {"Analysis", true}},
         {"Analysis/", "Mathe & Statistik I/II/"}}, // a Moodle course's name may hold a '/'
    };
    // clang-format on
    for (const Row& row : rows) {
        std::vector<std::string> shown;
        for (const BrowseEntry& entry : kitovu::tidy_browse(row.given))
            shown.push_back(entry.name + (entry.is_folder ? "/" : ""));
        CHECK(shown == row.shown);
    }
}

namespace {

kitovu::Settings local_connection(const std::filesystem::path& path) {
    kitovu::Settings settings;
    kitovu::Connection connection{.name = "mirror", .plugin = "local"};
    connection.options.set("path", path.string());
    settings.connections.push_back(std::move(connection));
    return settings;
}

} // namespace

TEST_CASE("browse reads one level of a plugin without a browse member through its list()") {
    const TempDir dir;
    kitovu::test::write_file(dir / "share/EPJ/Woche 1/Skript.pdf", "deep");
    kitovu::test::write_file(dir / "share/EPJ/Uebersicht.pdf", "top");
    std::filesystem::create_directories(dir / "share/EPJ/Archiv");
    std::filesystem::create_symlink(dir / "share", dir / "share/EPJ/loop");
    const auto settings = local_connection(dir / "share");

    auto entries = kitovu::browse(settings, "mirror", "/EPJ/");
    REQUIRE(entries);
    CHECK(*entries == std::vector<kitovu::BrowseEntry>{
                          {"Archiv", true}, {"Woche 1", true}, {"Uebersicht.pdf", false}});
    auto top = kitovu::browse(settings, "mirror", "");
    REQUIRE(top);
    CHECK(*top == std::vector<kitovu::BrowseEntry>{{"EPJ", true}});
    CHECK(kitovu::test_connection(settings, "mirror"));

    const auto missing = kitovu::browse(settings, "mirror", "Physik");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == kitovu::ErrorKind::not_found);
    CHECK(missing.error().connection == "mirror");
    const auto outside = kitovu::browse(settings, "mirror", "EPJ/../..");
    REQUIRE_FALSE(outside);
    CHECK(outside.error().kind == kitovu::ErrorKind::usage);
    const auto unknown = kitovu::test_connection(settings, "mirorr");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().kind == kitovu::ErrorKind::usage);
    CHECK(unknown.error().to_string() ==
          "mirorr: no such connection in the config (connections: mirror)");

    std::stop_source stop;
    stop.request_stop();
    const auto stopped = kitovu::browse(settings, "mirror", "EPJ", {.stop = stop.get_token()});
    REQUIRE_FALSE(stopped);
    CHECK(stopped.error().kind == kitovu::ErrorKind::cancelled);
}

TEST_CASE("BrowseOptions::timeout shortens a connection's time-out, never lengthens it") {
    const auto entry = kitovu::PluginRegistry::find("local");
    REQUIRE(entry);
    kitovu::Connection connection{.name = "mirror", .plugin = "local"};
    connection.options.set("path", std::string{"/"});
    connection.options.set("timeout", std::int64_t{30});
    for (const auto& [asked, used] :
         std::vector<std::pair<int, std::int64_t>>{{0, 30}, {5, 5}, {30, 30}, {60, 30}}) {
        INFO("timeout " << asked);
        const auto login = kitovu::detail::login_for(connection, **entry,
                                                     {.timeout = std::chrono::seconds{asked}});
        REQUIRE(login);
        CHECK(std::get<std::int64_t>(login->options.values().at("timeout")) == used);
    }
}

namespace {

// A remote that takes the password "right" only.
class LockedPlugin final : public SyncPlugin {
  public:
    static constexpr auto server =
        string_option({.name = "server", .required = true, .help = "server"});
    static constexpr auto password_command =
        string_option({.name = "password-command", .help = "its password"});
    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{server.spec, password_command.spec};
        return specs;
    }
    static SecretSpec secret() noexcept {
        return {.what = "password",
                .command_option = &password_command,
                .environment_prefix = "KITOVU_PASSWORD_",
                .hint = "",
                .guest_user = "",
                .server_option = &server};
    }
    expected<void, UsageError> configure(std::string_view, const Options& options) override {
        password_ = options.secret();
        return {};
    }
    expected<void, UsageError> connect() override {
        if (password_ != "right")
            return fail(ErrorKind::authentication, "wrong user name or password");
        return {};
    }
    expected<void, UsageError> list(std::string_view, ListFilter, WarningSink, ListSink) override {
        return {};
    }
    expected<Retrieved, UsageError> retrieve(const RemoteEntry&, ChunkWriter) override {
        return Retrieved{};
    }

  private:
    std::string password_;
};

} // namespace

TEST_CASE("test_connection tries a typed password first, keeps it once the server took it, and "
          "words a refused kept one as a sync does") {
    const PluginRegistry::Add<LockedPlugin> locked{"locked", "for tests"};
    Settings settings;
    Connection connection{.name = "uni", .plugin = "locked"};
    connection.options.set("server", std::string{"files.example.edu"});
    settings.connections.push_back(connection);
    test::MemoryKeyring keyring;
    const auto yes = [](std::string_view) { return true; };

    const auto wrong = test_connection(settings, "uni",
                                       {.keyring = &keyring, .offer_to_keep = yes, .secret = "x"});
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().kind == ErrorKind::authentication);
    CHECK(wrong.error().connection == "uni");
    CHECK(keyring.stores == 0); // a refused password is never kept

    CHECK(test_connection(settings, "uni",
                          {.keyring = &keyring, .offer_to_keep = yes, .secret = "right"}));
    REQUIRE(keyring.items.size() == 1);
    CHECK(keyring.items.begin()->second == "right");
    CHECK(test_connection(settings, "uni", {.keyring = &keyring})); // asks nobody

    keyring.items.begin()->second = "changed on the server since";
    const auto refused = test_connection(settings, "uni", {.keyring = &keyring});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::authentication);
    CHECK(refused.error().message ==
          "the password kept in the keyring for `uni` was refused: `kitovu login uni`");
}
