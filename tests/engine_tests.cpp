// The sync engine and the file cache: every row of the contract's table, failure isolation,
// parallelism, cancellation and crash safety. Most cases run against both the in-memory test
// plugin and the local plugin.
#include "engine_setup.hpp"

#include <kitovu/engine/engine.hpp>
#include <kitovu/plugin/folder_names.hpp>
#include <kitovu/plugins/local.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <thread>

using namespace kitovu;
using kitovu::test::conflict_copies;
using kitovu::test::files_in;
using kitovu::test::has_warning;
using kitovu::test::mtime_of;
using kitovu::test::new_time;
using kitovu::test::old_time;
using kitovu::test::read_file;
using kitovu::test::Setup;
using kitovu::test::TempDir;
using kitovu::test::write_file;

TEST_CASE("a new remote file is downloaded with its content and modification time") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("Skript.pdf", "lecture notes", old_time);
    setup.put("Übungen/Serie 1.txt", "exercise", new_time);

    const auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::new_file) == 2);
    CHECK(report.bytes_downloaded == 21);
    CHECK(read_file(setup.local("Skript.pdf")) == "lecture notes");
    CHECK(read_file(setup.local("Übungen/Serie 1.txt")) == "exercise");
    CHECK(mtime_of(setup.local("Skript.pdf")) == old_time);
    CHECK(mtime_of(setup.local("Übungen/Serie 1.txt")) == new_time);

    const auto cache = setup.cache();
    const CacheEntry* entry = cache.find(setup.local("Skript.pdf").string());
    REQUIRE(entry != nullptr);
    CHECK(entry->connection == "uni");
    CHECK(entry->remote_path == "EPJ/Skript.pdf");
    CHECK(entry->remote_digest == "13-1600000000");
    CHECK(entry->local.matches(test::identity_of(setup.local("Skript.pdf"))));
    CHECK(entry->content_hash.size() == 16);
}

TEST_CASE("a second run with nothing changed downloads nothing") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("a.txt", "a");
    setup.put("b/c.txt", "c");
    setup.run();
    const auto report = setup.run();
    CHECK(report.count(FileState::unchanged) == 2);
    CHECK(report.count(FileState::new_file) == 0);
    CHECK(report.bytes_downloaded == 0);
    CHECK(setup.warnings.warnings().empty());
}

TEST_CASE("a run that changes nothing leaves the cache file alone, one that changes writes it") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    setup.run();
    struct ::stat before {};
    REQUIRE(::stat(setup.cache_file().c_str(), &before) == 0);
    setup.run();
    struct ::stat after {};
    REQUIRE(::stat(setup.cache_file().c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino); // the cache is replaced by rename when written
    CHECK_FALSE(std::filesystem::exists(setup.cache_file().string() + ".journal"));

    setup.put("b.txt", "b");
    setup.run();
    REQUIRE(::stat(setup.cache_file().c_str(), &after) == 0);
    CHECK(after.st_ino != before.st_ino);
    CHECK(setup.cache().find(setup.local("b.txt").string()) != nullptr);
}

TEST_CASE("a remote change replaces a local file the user did not touch") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("a.txt", "version 1", old_time);
    setup.run();
    setup.put("a.txt", "version 2 (longer)", new_time);
    const auto report = setup.run();
    CHECK(report.count(FileState::remote_changed) == 1);
    CHECK(read_file(setup.local("a.txt")) == "version 2 (longer)");
    CHECK(mtime_of(setup.local("a.txt")) == new_time);
    CHECK(conflict_copies(setup.target()).empty());
}

TEST_CASE("a local edit survives when the remote did not change") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("a.txt", "remote");
    setup.run();
    write_file(setup.local("a.txt"), "my notes");
    const auto report = setup.run();
    CHECK(report.count(FileState::local_changed) == 1);
    CHECK(report.bytes_downloaded == 0);
    CHECK(read_file(setup.local("a.txt")) == "my notes");
    CHECK(report.exit_code() == 0);
}

TEST_CASE("a local edit survives a remote change: the remote version is saved beside it") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("notes.tar.gz", "remote 1", old_time);
    setup.run();
    write_file(setup.local("notes.tar.gz"), "my notes");
    setup.put("notes.tar.gz", "remote 2", new_time);

    const auto report = setup.run();
    CHECK(report.count(FileState::conflict) == 1);
    CHECK(report.exit_code() == 0);
    CHECK(read_file(setup.local("notes.tar.gz")) == "my notes");
    const auto copies = conflict_copies(setup.target());
    REQUIRE(copies.size() == 1);
    // STEM.remote-conflict-YYYYMMDD-HHMMSS.EXT
    CHECK(copies[0].starts_with("notes.tar.remote-conflict-"));
    CHECK(copies[0].ends_with(".gz"));
    CHECK(copies[0].size() == std::string{"notes.tar.remote-conflict-20261123-224500.gz"}.size());
    CHECK(read_file(setup.target() / copies[0]) == "remote 2");
    REQUIRE(has_warning(setup.warnings, WarningKind::conflict));
    CHECK(setup.warnings.warnings().back().message.find(copies[0]) != std::string::npos);

    // The conflict is not raised again while nothing changes.
    const auto again = setup.run();
    CHECK(again.count(FileState::local_changed) == 1);
    CHECK(again.count(FileState::conflict) == 0);
    CHECK(conflict_copies(setup.target()).size() == 1);
}

TEST_CASE("a file gone remotely is kept locally and reported once") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("old.pdf", "old");
    setup.put("keep.pdf", "keep");
    setup.run();
    setup.remove("old.pdf");

    const auto report = setup.run();
    CHECK(report.count(FileState::remote_deleted) == 1);
    CHECK(report.exit_code() == 0);
    CHECK(read_file(setup.local("old.pdf")) == "old");
    REQUIRE(setup.warnings.warnings().size() == 1);
    CHECK(setup.warnings.warnings()[0].kind == WarningKind::remote_deleted);
    CHECK(setup.warnings.warnings()[0].path == setup.local("old.pdf").string());

    const auto again = setup.run();
    CHECK(again.count(FileState::remote_deleted) == 0);
    CHECK(setup.warnings.warnings().size() == 1);
    CHECK(std::filesystem::exists(setup.local("old.pdf")));
}

TEST_CASE("a local file never synced with the remote's content is adopted without download") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("a.txt", "same", old_time);
    write_file(setup.local("a.txt"), "same");
    test::set_mtime(setup.local("a.txt"), old_time);

    const auto report = setup.run();
    CHECK(report.count(FileState::adopted) == 1);
    CHECK(report.bytes_downloaded == 0);
    CHECK(setup.cache().find(setup.local("a.txt").string()) != nullptr);
    CHECK(setup.run().count(FileState::unchanged) == 1);
}

TEST_CASE("a local file never synced and different from the remote follows the conflict rule") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("a.txt", "remote");
    write_file(setup.local("a.txt"), "mine");

    const auto report = setup.run();
    CHECK(report.count(FileState::conflict) == 1);
    CHECK(read_file(setup.local("a.txt")) == "mine");
    const auto copies = conflict_copies(setup.target());
    REQUIRE(copies.size() == 1);
    CHECK(read_file(setup.target() / copies[0]) == "remote");
    CHECK(setup.run().count(FileState::local_changed) == 1);
}

TEST_CASE("a stale cache entry is updated silently when local and remote are equal") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("a.txt", "v1", old_time);
    setup.run();
    // Both sides got the same new version by other means (say, copied by hand).
    setup.put("a.txt", "v2!", new_time);
    write_file(setup.local("a.txt"), "v2!");
    test::set_mtime(setup.local("a.txt"), new_time);

    const auto report = setup.run();
    CHECK(report.count(FileState::unchanged) == 1);
    CHECK(report.bytes_downloaded == 0);
    CHECK(setup.warnings.warnings().empty());
    CHECK(setup.cache().find(setup.local("a.txt").string())->remote_digest == "3-1700000000");
}

TEST_CASE("a damaged cache is set aside with a warning and no local edit is overwritten") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("edited.txt", "remote 1", old_time);
    setup.put("untouched.txt", "same", old_time);
    setup.run();
    write_file(setup.local("edited.txt"), "my edit");
    setup.put("edited.txt", "remote 2", new_time);
    const std::string damaged = read_file(setup.cache_file()).substr(0, 40);
    write_file(setup.cache_file(), damaged);

    const auto report = setup.run();
    REQUIRE(has_warning(setup.warnings, WarningKind::cache));
    CHECK(read_file(setup.local("edited.txt")) == "my edit");
    CHECK(report.count(FileState::conflict) == 1);
    CHECK(report.count(FileState::adopted) == 1);
    std::size_t aside = 0;
    for (const auto& entry : std::filesystem::directory_iterator(setup.cache_file().parent_path()))
        if (entry.path().filename().string().starts_with("kitovu.cache.corrupt-")) {
            ++aside;
            CHECK(read_file(entry.path()) == damaged);
        }
    CHECK(aside == 1);
    CHECK(setup.cache().size() == 2);
}

TEST_CASE("a file that vanishes between listing and download is a warning and the run goes on") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    setup.put("gone.txt", "gone");
    setup.memory().vanishing.insert("EPJ/gone.txt");

    const auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::new_file) == 1);
    CHECK(read_file(setup.local("a.txt")) == "a");
    CHECK_FALSE(std::filesystem::exists(setup.local("gone.txt")));
    REQUIRE(setup.warnings.warnings().size() == 1);
    CHECK(setup.warnings.warnings()[0].kind == WarningKind::vanished);
    CHECK(setup.warnings.warnings()[0].path == "EPJ/gone.txt");
}

TEST_CASE("a file that fails to download fails alone") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    setup.put("secret.txt", "s");
    setup.put("z.txt", "z");
    setup.memory().failing.insert("EPJ/secret.txt");

    const auto report = setup.run();
    CHECK(report.exit_code() == 1);
    CHECK(report.failed == 1);
    CHECK(report.count(FileState::new_file) == 2);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].to_string() == "uni: EPJ/secret.txt: access denied");
    CHECK_FALSE(std::filesystem::exists(setup.local("secret.txt")));
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"a.txt", "a"}, {"z.txt", "z"}});
}

TEST_CASE("a download shorter than listed is refused and leaves no file") {
    Setup setup{"memory"};
    setup.put("a.txt", "0123456789");
    setup.memory().short_by = 3;
    const auto report = setup.run();
    CHECK(report.exit_code() == 1);
    CHECK(report.failed == 1);
    CHECK(files_in(setup.target()).empty());
    CHECK(setup.cache().size() == 0);
    setup.memory().short_by = 0;
    CHECK(setup.run().count(FileState::new_file) == 1);
}

TEST_CASE("a source that cannot be listed is skipped and the others go on") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    setup.memory().put("Other/b.txt", "b");
    setup.memory().unlistable.insert("Other");
    auto settings = setup.settings();
    settings.subjects.push_back(Subject{
        "Other", {Source{"uni", "Other", setup.target().parent_path() / "Other", {}, {}}}, {}});

    const auto report = setup.run(settings);
    CHECK(report.exit_code() == 1);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].to_string() == "uni: Other: access denied");
    CHECK(read_file(setup.local("a.txt")) == "a");
}

TEST_CASE("a subfolder that cannot be listed is named once, what was synced from it is kept, "
          "in the cache too, not reported gone") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    setup.put("locked/b.txt", "b");
    setup.put("locked/deeper/c.txt", "c");
    setup.run();
    setup.memory().unlistable.insert("EPJ/locked");

    const auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::unchanged) == 1);
    CHECK(report.count(FileState::remote_deleted) == 0);
    const auto unlisted = std::ranges::count_if(report.warnings, [](const Warning& w) {
        return w.kind == WarningKind::unlisted && w.path == "EPJ/locked";
    });
    CHECK(unlisted == 1);
    CHECK(report.warnings.size() == 1);
    CHECK(setup.cache().size() == 3);
    CHECK(read_file(setup.local("locked/deeper/c.txt")) == "c");

    setup.memory().unlistable.clear();
    CHECK(setup.run().count(FileState::unchanged) == 3);
}

TEST_CASE("a connection that fails is skipped and the other connections go on") {
    Setup good{"memory", "good"};
    Setup bad{"memory", "bad"};
    good.put("a.txt", "a");
    bad.put("b.txt", "b");
    bad.memory().connect_error =
        UsageError{ErrorKind::authentication, "wrong password", "broken", {}, {}};
    auto settings = good.settings();
    settings.connections.insert(settings.connections.begin(), bad.connection("broken"));
    settings.subjects.push_back(
        Subject{"B", {Source{"broken", "EPJ", good.target().parent_path() / "B", {}, {}}}, {}});

    const auto report = good.run(settings);
    CHECK(report.exit_code() == 1);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].kind == ErrorKind::authentication);
    CHECK(report.errors[0].to_string() == "broken: wrong password (1 source skipped)");
    CHECK(read_file(good.local("a.txt")) == "a");
}

TEST_CASE("a plugin that says cancelled when nobody stopped the run is an error naming the "
          "plugin") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    const UsageError cancelled{ErrorKind::cancelled, "stopped", "uni", {}, {}};
    const std::string when = GENERATE(as<std::string>{}, "connect", "list", "retrieve");
    (when == "connect" ? setup.memory().connect_error
     : when == "list"  ? setup.memory().list_error
                       : setup.memory().retrieve_error) = cancelled;

    const auto report = setup.run();
    INFO(when);
    CHECK(report.exit_code() == 1);
    CHECK_FALSE(report.cancelled);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].kind == ErrorKind::internal);
    CHECK(report.errors[0].to_string().find("plugin 'memory'") != std::string::npos);
    CHECK(report.errors[0].to_string().find("no stop was asked for") != std::string::npos);
}

TEST_CASE("a source none of whose listed entries could be placed is not in step") {
    Setup setup{"memory"};
    for (const auto& bad : {"../escape.txt", ".kitovu-partial-x", "../../up.txt"})
        setup.memory().put(std::string{"EPJ/"} + bad, "evil");

    const auto report = setup.run();
    CHECK(report.exit_code() == 1);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].to_string().starts_with("uni: EPJ: none of the"));
}

TEST_CASE("a source whose remote-dir is missing is not in step") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("a.txt", "a");
    auto settings = setup.settings();
    settings.subjects[0].sources[0].remote_dir = "no such folder";

    const auto report = setup.run(settings);
    CHECK(report.exit_code() == 1);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].kind == ErrorKind::not_found);
}

TEST_CASE("a dry run decides and reports but changes nothing on disk") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("new.txt", "new");
    setup.put("conflict.txt", "remote");
    std::filesystem::create_directories(setup.target());
    write_file(setup.local("conflict.txt"), "mine");

    SyncOptions options;
    options.dry_run = true;
    const auto report = setup.run(options);
    CHECK(report.dry_run);
    CHECK(report.count(FileState::new_file) == 1);
    CHECK(report.count(FileState::conflict) == 1);
    CHECK(files_in(setup.target()) == std::map<std::string, std::string>{{"conflict.txt", "mine"}});
    CHECK_FALSE(std::filesystem::exists(setup.cache_file().parent_path()));
}

TEST_CASE("the tree and the cache are the same with 1 and with 8 workers") {
    const auto sync_with = [](unsigned jobs) {
        Setup setup{"memory", "jobs" + std::to_string(jobs)};
        std::mt19937 random{42};
        for (int i = 0; i < 300; ++i)
            setup.put(fmt::format("d{}/f{:03}.bin", i % 7, i),
                      std::string(random() % 5000, char('a' + i % 26)), old_time + i);
        SyncOptions options;
        options.jobs = jobs;
        const auto report = setup.run(options);
        CHECK(report.count(FileState::new_file) == 300);
        // The records without what differs between two copies of one file (inode, change time).
        std::map<std::string, std::string> cache;
        const FileCache records = setup.cache();
        for (const auto& [key, entry] : records.entries())
            cache[std::filesystem::path{key}.lexically_relative(setup.target()).string()] =
                fmt::format("{} {} {} {} {} {} {} {}", entry.connection, entry.plugin,
                            entry.remote_path, entry.remote_digest, entry.local.size,
                            entry.local.mtime_ns, entry.content_hash, entry.racy);
        return std::pair{files_in(setup.target()), cache};
    };
    const auto one = sync_with(1);
    const auto eight = sync_with(8);
    CHECK(one.first.size() == 300);
    CHECK(one.first == eight.first);
    CHECK(one.second == eight.second);
}

TEST_CASE("remote names that would leave the target folder are refused and the rest syncs") {
    Setup setup{"memory"};
    TempDir outside;
    for (const auto& bad : {"../escape.txt", "a/../../escape.txt", ".kitovu-partial-x"})
        setup.memory().put(std::string{"EPJ/"} + bad, "evil");
    setup.memory().put("EPJ//double.txt", "evil");
    setup.put("good:name?.txt", "fine");

    const auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"good_name_.txt", "fine"}});
    CHECK_FALSE(std::filesystem::exists(setup.target().parent_path() / "escape.txt"));
    CHECK(std::ranges::count_if(setup.warnings.warnings(), [](const Warning& w) {
              return w.kind == WarningKind::refused_name;
          }) >= 3);
}

TEST_CASE("a symbolic link planted in the target folder is not followed") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    TempDir outside;
    setup.put("sub/a.txt", "a");
    setup.put("b.txt", "b");
    std::filesystem::create_directories(setup.target());
    std::filesystem::create_directory_symlink(outside.path(), setup.local("sub"));
    std::filesystem::create_symlink(outside / "b.txt", setup.local("b.txt"));

    const auto report = setup.run();
    CHECK(report.exit_code() == 1);
    for (const auto& e : report.errors)
        UNSCOPED_INFO(e.to_string());
    CHECK(report.failed == 2);
    CHECK(std::filesystem::is_empty(outside.path()));
}

namespace {

// A folder mounted a second time under another name (as root; CI runs as root), unmounted at
// the end: how a share mounted with mount.cifs shows a link to a folder.
class BindMount {
  public:
    BindMount(const std::filesystem::path& from, const std::filesystem::path& at) : at_(at) {
        std::filesystem::create_directories(at);
        mounted_ = ::mount(from.c_str(), at.c_str(), nullptr, MS_BIND, nullptr) == 0;
    }
    BindMount(const BindMount&) = delete;
    BindMount& operator=(const BindMount&) = delete;
    ~BindMount() {
        if (mounted_)
            ::umount2(at_.c_str(), MNT_DETACH);
    }
    bool mounted() const { return mounted_; }

  private:
    std::filesystem::path at_;
    bool mounted_ = false;
};

} // namespace

// Each pair is read in the order the file system keeps its names (a hash on ext4), so some pairs
// come mount first: before, both names were synced, the files twice.
TEST_CASE("a local source's folder found under two names is synced once, under the same name "
          "whatever order they are read in, the other named") {
    Setup setup{"local"};
    const auto remote = setup.remote_root() / "EPJ";
    std::vector<std::unique_ptr<BindMount>> mounts;
    std::map<std::string, std::string> expected;
    for (int i = 1; i <= 6; ++i) {
        const std::string real = "Kapitel " + std::to_string(i);
        setup.put(real + "/blatt.txt", "blatt " + std::to_string(i));
        expected[real + "/blatt.txt"] = "blatt " + std::to_string(i);
        mounts.push_back(
            std::make_unique<BindMount>(remote / real, remote / ("Zusatz " + std::to_string(i))));
        REQUIRE(mounts.back()->mounted());
    }
    // A symbolic link is told apart: the real folder wins even over a name first in byte order.
    std::filesystem::create_directory_symlink("Kapitel 1", remote / "Aktuell");

    for (int run = 0; run < 2; ++run) {
        const auto report = setup.run();
        CHECK(report.exit_code() == 0);
        CHECK(report.count(FileState::new_file) == (run == 0 ? 6 : 0));
        CHECK(files_in(setup.target()) == expected);
    }
    std::map<std::string, std::string> named;
    for (const Warning& w : setup.warnings.warnings())
        if (w.kind == WarningKind::skipped)
            named[w.path] = w.message;
    for (int i = 1; i <= 6; ++i)
        CHECK_THAT(named["Zusatz " + std::to_string(i)],
                   Catch::Contains("the same folder as 'Kapitel " + std::to_string(i) + "'"));
    CHECK_THAT(named["Aktuell"], Catch::Contains("symbolic link to a folder"));
}

TEST_CASE("paths are met breadth first, then name by name in byte order") {
    struct Row {
        std::string a, b;
        bool before;
    };
    for (const Row& row :
         {Row{"", "a", true}, Row{"a", "", false}, Row{"z", "a/b", true}, Row{"a/b", "z", false},
          Row{"a/x", "b/a", true}, Row{"a/x", "a/y", true},
          // "a" before "a b", though ' ' comes before '/'
          Row{"a/x", "a b/x", true}, Row{"a b/x", "a/x", false}, Row{"a/x", "a/x", false}}) {
        INFO(row.a << " | " << row.b);
        CHECK(breadth_first_before(row.a, row.b) == row.before);
    }
}

TEST_CASE("the folders synced before are those holding a synced file and those above them") {
    const std::vector<std::string> files{"top.txt", "B/Woche 3/blatt.txt", "A/x.txt",
                                         "B/Woche 3/folien.pdf", "B/alt/a/b.txt"};
    CHECK(folders_holding(files) ==
          std::vector<std::string>{"A", "B", "B/Woche 3", "B/alt", "B/alt/a"});
    CHECK(folders_holding(std::vector<std::string>{"top.txt"}).empty());
}

// Each row: the folders synced before, what the folders read hold (read in every order; the
// listed folder's id is 1), and the names asked for in breadth-first order with the name each is
// synced under.
TEST_CASE("of a folder's names the one synced before keeps it, else the first met, whatever "
          "order the folders are read in") {
    using Subfolders = std::vector<FolderNames::Subfolder>;
    struct Ask {
        std::string path;
        std::uint64_t id;
        std::string synced_as;
    };
    struct Row {
        std::string what;
        std::vector<std::string> synced;
        std::vector<std::pair<std::string, Subfolders>> read;
        std::vector<Ask> asked;
    };
    const std::vector<Row> rows{
        {"nothing synced: the first met",
         {},
         {{"", {{"A", 3}, {"B", 2}}}},
         {{"A/Aktuell", 7, "A/Aktuell"}, {"B/Woche 3", 7, "A/Aktuell"}}},
        {"synced under the name met later",
         {"B", "B/Woche 3"},
         {{"", {{"A", 3}, {"B", 2}}}, {"B", {{"Woche 3", 7}}}},
         {{"A", 3, "A"},
          {"B", 2, "B"},
          {"A/Aktuell", 7, "B/Woche 3"},
          {"B/Woche 3", 7, "B/Woche 3"}}},
        {"synced under a deeper name",
         {"B", "B/x", "B/x/Woche 3"},
         {{"", {{"Aktuell", 7}, {"B", 2}}}, {"B", {{"x", 4}}}, {"B/x", {{"Woche 3", 7}}}},
         {{"Aktuell", 7, "B/x/Woche 3"},
          {"B", 2, "B"},
          {"B/x", 4, "B/x"},
          {"B/x/Woche 3", 7, "B/x/Woche 3"}}},
        {"both names synced: the first met",
         {"A", "B", "A/Aktuell", "B/Woche 3"},
         {{"", {{"A", 3}, {"B", 2}}}, {"A", {{"Aktuell", 7}}}, {"B", {{"Woche 3", 7}}}},
         {{"A", 3, "A"},
          {"B", 2, "B"},
          {"A/Aktuell", 7, "A/Aktuell"},
          {"B/Woche 3", 7, "A/Aktuell"}}},
        {"a synced folder gone: the name met first",
         {"Alt"},
         {{"", {{"Neu", 9}}}},
         {{"Neu", 9, "Neu"}, {"Neu/Aktuell", 9, "Neu"}}},
        {"a link back up is the listed folder",
         {"A"},
         {{"", {{"A", 3}}}},
         {{"A", 3, "A"}, {"A/up", 1, ""}}},
        {"below a synced name that lost its folder: not kept",
         {"A", "Z", "Z/w"},
         {{"", {{"A", 2}, {"Z", 2}}}, {"Z", {{"w", 7}}}},
         {{"A", 2, "A"}, {"Z", 2, "A"}, {"A/w", 7, "A/w"}}},
        {"renamed in case only: the server finds the old name, its parent lists the new",
         {"Folien"},
         {{"", {{"folien", 5}}}, {"Folien", {}}},
         {{"folien", 5, "folien"}}},
    };
    for (const Row& row : rows) {
        std::vector<std::size_t> order(row.read.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        do {
            INFO(row.what);
            FolderNames names{row.synced};
            CHECK(std::ranges::equal(names.synced().subspan(1), row.synced));
            CHECK_FALSE(names.decided(99)); // no name not synced before the ids come
            for (const std::size_t i : order)
                names.listed(row.read[i].first, 1, row.read[i].second);
            for (const Ask& ask : row.asked) {
                INFO(ask.path);
                REQUIRE(names.decided(ask.id));
                CHECK(names.choose(ask.path, ask.id).value_or(ask.path) == ask.synced_as);
            }
        } while (std::ranges::next_permutation(order).found);
    }
}

TEST_CASE("an empty remote folder is created locally") {
    Setup setup{"local"};
    std::filesystem::create_directories(setup.remote_root() / "EPJ/empty/deeper");
    setup.put("a.txt", "a");
    setup.run();
    CHECK(std::filesystem::is_directory(setup.local("empty/deeper")));
}

TEST_CASE("ignore rules of a source keep files and folders out") {
    Setup setup{"memory"};
    // A plugin need not prune with `keep`: the engine applies the rules itself.
    const bool plugin_prunes = GENERATE(true, false);
    setup.memory().ignores_keep = !plugin_prunes;
    setup.put("keep.pdf", "k");
    setup.put("Thumbs.db", "t");
    setup.put("big.bin", "b");
    setup.put("old/x.pdf", "x");
    setup.put("old/deeper/y.pdf", "y");
    auto settings = setup.settings();
    auto rules = IgnoreRules::compile({"Thumbs.db", "*.bin", "old/"});
    REQUIRE(rules);
    settings.subjects[0].sources[0].ignore = *rules;
    setup.run(settings);
    CHECK(files_in(setup.target()) == std::map<std::string, std::string>{{"keep.pdf", "k"}});
}

TEST_CASE("without a cache file the config's default is used, and without a config it is refused") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    TempDir data;
    ::setenv("XDG_DATA_HOME", data.path().c_str(), 1);
    auto settings = setup.settings();
    SyncOptions options; // cache_file left empty
    SECTION("settings read from a file: that file's default cache") {
        settings.file = data / "kitovu.toml";
        auto report = sync(settings, options, no_warnings);
        REQUIRE(report);
        CHECK(report->exit_code() == 0);
        const auto expected = default_cache_path(settings.file);
        REQUIRE(expected);
        CHECK(std::filesystem::exists(*expected));
    }
    SECTION("settings built in code: a clear error, nothing written") {
        auto report = sync(settings, options, no_warnings);
        REQUIRE_FALSE(report);
        CHECK(report.error().kind == ErrorKind::usage);
        CHECK(report.error().message.find("cache_file") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(".journal"));
        CHECK(files_in(setup.target()).empty());
    }
    ::unsetenv("XDG_DATA_HOME");
}

TEST_CASE("one local path claimed by two connections is reported, not flip-flopped") {
    Setup first{"memory", "first"};
    Setup second{"memory", "second"};
    first.put("same.txt", "from first");
    second.put("same.txt", "from second");
    auto settings = first.settings();
    settings.connections.push_back(second.connection("other"));
    settings.subjects[0].sources.push_back(Source{"other", "EPJ", first.target(), {}, {}});

    for (int run = 0; run < 2; ++run) {
        first.run(settings);
        CHECK(read_file(first.local("same.txt")) == "from first");
    }
    CHECK(has_warning(first.warnings, WarningKind::skipped));
    CHECK(first.warnings.warnings().back().message.find(
              "also provided by uni: EPJ; kept that one") != std::string::npos);
}

TEST_CASE("two remote folders of one source with one local name: the first keeps the name and "
          "all of its files, every run, whatever order the listing comes in") {
    Setup setup{GENERATE(as<std::string>{}, "memory", "local")};
    setup.put("x:y/a.txt", "colon a");
    setup.put("x:y/b.txt", "colon b");
    setup.put("x?y/a.txt", "question a");
    setup.put("x?y/c.txt", "question c");
    const std::map<std::string, std::string> expected{{"x_y/a.txt", "colon a"},
                                                      {"x_y/b.txt", "colon b"}};
    for (int run = 0; run < 2; ++run) {
        setup.run();
        CHECK(files_in(setup.target()) == expected);
    }
    CHECK(std::ranges::any_of(setup.warnings.warnings(), [](const Warning& w) {
        return w.kind == WarningKind::skipped && w.path == "EPJ/x?y" &&
               w.message.find("also provided by uni: EPJ") != std::string::npos;
    }));
}

TEST_CASE("downloads start while the remote is still being listed") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    setup.put("later/b.txt", "b");
    bool fetched_during_listing = false;
    setup.memory().after_batch = [&] {
        // The first batch holds a.txt: a worker fetches it before the listing goes on.
        for (int i = 0; i < 2000 && setup.memory().retrievals == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        fetched_during_listing = fetched_during_listing || setup.memory().retrievals > 0;
    };
    setup.run();
    CHECK(fetched_during_listing);
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"a.txt", "a"}, {"later/b.txt", "b"}});
}

TEST_CASE(
    "a local edit made during the download is kept and the download becomes a conflict copy") {
    Setup setup{"memory"};
    setup.put("a.txt", "v1", old_time);
    setup.run();
    setup.put("a.txt", "v2", new_time);
    setup.memory().during_retrieve = [&](const std::string&) {
        write_file(setup.local("a.txt"), "edited meanwhile");
    };
    const auto report = setup.run();
    CHECK(report.count(FileState::conflict) == 1);
    CHECK(read_file(setup.local("a.txt")) == "edited meanwhile");
    REQUIRE(conflict_copies(setup.target()).size() == 1);
    CHECK(read_file(setup.target() / conflict_copies(setup.target())[0]) == "v2");
}

namespace {
// Stops the run once a given number of files are in place.
class StopAfter final : public SyncObserver {
  public:
    StopAfter(std::stop_source& source, int files) : source_(source), left_(files) {}
    void finished(const FileEvent&, const UsageError* error) override {
        if (error == nullptr && --left_ == 0)
            source_.request_stop();
    }

  private:
    std::stop_source& source_;
    int left_;
};
} // namespace

TEST_CASE("a stopped run ends cleanly: no temporaries, the cache keeps what was done") {
    Setup setup{"memory"};
    for (int i = 0; i < 50; ++i)
        setup.put(fmt::format("f{:02}.txt", i), std::string(1000, 'x'));
    std::stop_source stop;
    StopAfter observer{stop, 5};
    SyncOptions options;
    options.jobs = 2;
    options.stop = stop.get_token();
    options.observer = &observer;

    const auto report = setup.run(options);
    CHECK(report.cancelled);
    CHECK(report.exit_code() == 1);
    const auto files = files_in(setup.target());
    CHECK(files.size() >= 5);
    CHECK(files.size() < 50);
    for (const auto& [name, content] : files) {
        CHECK_FALSE(name.starts_with(".kitovu-partial-"));
        CHECK(content == std::string(1000, 'x'));
    }
    CHECK(setup.cache().size() == files.size());
    CHECK(setup.run().count(FileState::new_file) == 50 - files.size());
}

TEST_CASE("temporaries left by a killed run are removed at the next start") {
    Setup setup{"memory"};
    std::map<std::string, std::string> expected{{"a.txt", "a"}};
    setup.put("a.txt", "a");
    // A folder with more files than the read-ahead looks at to tell whether it is in memory.
    for (int i = 0; i < 12; ++i) {
        const std::string name = "week/f" + std::to_string(i) + ".txt";
        setup.put(name, name);
        expected.emplace(name, name);
    }
    setup.run();
    write_file(setup.local(".kitovu-partial-0123456789abcdef"), "half a fi");
    for (int i = 0; i < 3; ++i)
        write_file(setup.local("week/.kitovu-partial-" + std::to_string(i) + "123456789abcdef"),
                   "half");
    write_file(setup.cache_file().string() + ".lock", "12345\n"); // left by the killed run
    setup.run();
    CHECK(files_in(setup.target()) == expected);
}

TEST_CASE("a second run on the same cache while one is running is refused") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    auto held = CacheLock::acquire(setup.cache_file());
    REQUIRE(held);
    SyncOptions options;
    options.cache_file = setup.cache_file();
    auto report = sync(setup.settings(), options, no_warnings);
    REQUIRE_FALSE(report);
    CHECK(report.error().kind == ErrorKind::usage);
    CHECK(report.error().message.find("another kitovu sync with this config is running") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(setup.local("a.txt")));
}

// The cache loads while the first connection logs in: one that cannot be read must still stop
// the run before anything is planned or downloaded.
TEST_CASE("a cache that cannot be read stops the run before any download, naming the cache") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    std::filesystem::create_directories(setup.cache_file()); // a folder where the file should be
    SyncOptions options;
    options.cache_file = setup.cache_file();
    auto report = sync(setup.settings(), options, no_warnings);
    REQUIRE_FALSE(report);
    CHECK(report.error().kind == ErrorKind::usage); // exit 2, as for `--cache FOLDER`
    CHECK(report.error().message ==
          "cannot read the file cache: it is a folder, not a regular file");
    CHECK(report.error().path == setup.cache_file().string());
    CHECK(files_in(setup.target()).empty());
}

TEST_CASE("the cache round-trips any path and refuses truncated or foreign files") {
    TempDir dir;
    FileCache cache;
    cache.put("/home/a\tb\nc\\d.txt",
              CacheEntry{"uni", "smb", "EPJ/a\tb", "1-2", {1, 2'000'000'003, 4, 5, 6}, "ab", true});
    cache.put("/home/x.txt", CacheEntry{"uni", "smb", "EPJ/x.txt", "3-4", {}, "", false, true});
    cache.put(
        "/home/y.txt",
        CacheEntry{
            "uni", "smb", "EPJ/y.txt", "5-6", {}, "", false, false, "id\t7", "fingerprint\t8"});
    REQUIRE(cache.save(dir / "c.cache"));
    auto loaded = FileCache::load(dir / "c.cache", no_warnings);
    REQUIRE(loaded);
    CHECK(loaded->entries() == cache.entries());

    const std::string text = cache.serialize();
    for (const std::string& bad :
         {text.substr(0, text.size() - 1), text.substr(0, text.find("end")),
          std::string{"kitovu-cache 3\nend 0\n"}, std::string{"\x89PNG\r\n"}, std::string{}}) {
        write_file(dir / "bad.cache", bad);
        CollectingSink warnings;
        auto damaged = FileCache::load(dir / "bad.cache", warnings);
        REQUIRE(damaged);
        CHECK(damaged->size() == 0);
        CHECK(warnings.warnings().size() == 1);
        CHECK_FALSE(std::filesystem::exists(dir / "bad.cache"));
    }
}

TEST_CASE("the default cache path is one file per config under XDG_DATA_HOME") {
    ::setenv("XDG_DATA_HOME", "/data", 1);
    const auto a = default_cache_path("/home/alice/.config/kitovu/kitovu.toml");
    const auto b = default_cache_path("/home/alice/other/kitovu.toml");
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->parent_path() == "/data/kitovu");
    CHECK(a->filename().string().starts_with("kitovu-"));
    CHECK(*a != *b);
    CHECK(*a == *default_cache_path("/home/alice/.config/kitovu/../kitovu/kitovu.toml"));
    ::unsetenv("XDG_DATA_HOME");
}

// SIGKILL can cut a write() that crosses a page of the file: a killed run's last journal line
// may lack its newline. The next run's first line must not be glued to it and lost: its file,
// placed and then unknown, would be a conflict once the remote changes it again.
TEST_CASE("a journal line cut by a kill does not swallow the next run's first line") {
    Setup setup{"local"};
    setup.put("a.txt", "a1");
    setup.run();
    const std::string before = read_file(setup.cache_file());
    // What a run that placed b.txt and was killed before saving the cache leaves: b.txt in
    // place and its journal line (taken from the cache of a run that completed, without forking
    // a run to kill: forks of a threaded process hang under TSan).
    setup.put("b.txt", "b1");
    setup.run();
    const std::string b = setup.local("b.txt").string();
    const FileCache completed = setup.cache();
    const CacheEntry* placed = completed.find(b);
    REQUIRE(placed != nullptr);
    const CacheEntry entry = *placed;
    write_file(setup.cache_file(), before);
    {
        // The run before it was killed in the middle of a line.
        std::ofstream journal{CacheJournal::path_for(setup.cache_file()), std::ios::app};
        journal << "an older line\n" << setup.local("a.txt").string() << "\tuni\tlocal\tEPJ/a.t";
    }
    {
        auto journal = CacheJournal::open(setup.cache_file());
        REQUIRE(journal);
        REQUIRE(journal->append(b, entry));
    }

    setup.put("b.txt", "b2", old_time + 10);
    const auto report = setup.run();
    CHECK(report.count(FileState::remote_changed) == 1);
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"a.txt", "a1"}, {"b.txt", "b2"}});
}

TEST_CASE("a sync killed at random points never leaves a partial file and a rerun converges") {
    // Each round forks a child that syncs a large tree and is killed with SIGKILL at a random
    // moment; the parent checks the tree, then the next round resumes from what was left.
    TempDir dir;
    const auto remote = dir / "remote";
    const auto target = dir / "target";
    std::mt19937 random{7};
    std::map<std::string, std::string> expected;
    for (int i = 0; i < 1500; ++i) {
        const std::string path = fmt::format("d{}/e{}/file{:04}.dat", i % 10, i % 3, i);
        std::string content(1 + random() % 40000, char('A' + i % 26));
        write_file(remote / "course" / path, content);
        expected[path] = std::move(content);
    }
    Settings settings;
    settings.root_dir = dir.path();
    Connection connection{"disk", "local", {}, {}};
    connection.options.set("path", remote.string());
    settings.connections.push_back(connection);
    settings.subjects.push_back(Subject{"course", {Source{"disk", "course", target, {}, {}}}, {}});
    SyncOptions options;
    options.cache_file = dir / "kitovu.cache";

    std::map<std::string, std::set<std::string>> versions;
    for (const auto& [path, content] : expected)
        versions[path].insert(content);
    const auto check_no_partial_files = [&] {
        if (!std::filesystem::exists(target))
            return;
        for (const auto& [path, content] : files_in(target)) {
            if (std::filesystem::path{path}.filename().string().starts_with(".kitovu-partial-"))
                continue;
            INFO("file: " << path);
            REQUIRE(versions.contains(path));
            REQUIRE(versions[path].contains(content));
        }
    };

    // Every round changes some remote files, so each killed run has work to be killed in (enough
    // that a run outlasts the kill window: with 200 the faster engine often finished first);
    // a file under its final name must always be one complete version of its remote.
    int kills = 0;
    for (int round = 0; round < 25; ++round) {
        for (int change = 0; change < 600; ++change) {
            auto it = std::next(expected.begin(), static_cast<long>(random() % expected.size()));
            it->second = std::string(1 + random() % 40000, char('a' + round));
            write_file(remote / "course" / it->first, it->second);
            test::set_mtime(remote / "course" / it->first, 1'650'000'000 + round);
            versions[it->first].insert(it->second);
        }
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            auto report = sync(settings, options, no_warnings);
            ::_exit(report && report->exit_code() == 0 ? 0 : 1);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(random() % 60'000));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        if (WIFSIGNALED(status))
            ++kills;
        check_no_partial_files();
    }
    CHECK(kills >= 20);

    auto report = sync(settings, options, no_warnings);
    REQUIRE(report);
    CHECK(report->exit_code() == 0);
    CHECK(files_in(target) == expected);
    auto cache = FileCache::load(options.cache_file, no_warnings);
    REQUIRE(cache);
    CHECK(cache->size() == expected.size());
    for (const auto& [key, entry] : cache->entries()) {
        const auto size = std::filesystem::file_size(key);
        CHECK(entry.local.matches(test::identity_of(key)));
        CHECK(entry.remote_digest == size_mtime_digest(size, mtime_of(key)));
    }
}

namespace {
// Opens only with the right password: a plugin that declares a secret.
class LockedPlugin final : public SyncPlugin {
  public:
    static constexpr auto password_command = string_option({.name = "password-command"});
    static constexpr auto host = string_option({.name = "host"});
    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{password_command.spec, host.spec};
        return specs;
    }
    static SecretSpec secret() {
        return {.what = "password",
                .command_option = &password_command,
                .environment_prefix = "KITOVU_TEST_PASSWORD_",
                .hint = "ask Bob",
                .server_option = &host};
    }
    expected<void, UsageError> configure(std::string_view, const Options& options) override {
        password_ = options.secret();
        return {};
    }
    expected<void, UsageError> connect() override {
        if (password_ != "open sesame")
            return fail(ErrorKind::authentication, "wrong password");
        return {};
    }
    expected<void, UsageError> list(std::string_view, ListFilter, WarningSink,
                                    ListSink out) override {
        std::vector<RemoteEntry> entries;
        for (int i = 0; i < 20; ++i)
            entries.push_back(RemoteEntry{
                .path = fmt::format("f{}.txt", i), .size = 2, .mtime = old_time, .locator = {}});
        out(entries);
        return {};
    }
    expected<Retrieved, UsageError> retrieve(const RemoteEntry&, ChunkWriter out) override {
        const std::string content = "ok";
        if (auto written = out(std::as_bytes(std::span{content})); !written)
            return fail(written.error());
        return Retrieved{};
    }

  private:
    std::string password_;
};
const PluginRegistry::Add<LockedPlugin> locked_plugin{"locked", "needs a password"};
} // namespace

TEST_CASE("a password is asked once per connection however many workers open it") {
    TempDir dir;
    Settings settings;
    settings.connections.push_back(Connection{"vault", "locked", {}, {}});
    settings.subjects.push_back(Subject{"S", {Source{"vault", "", dir / "S", {}, {}}}, {}});
    int asked = 0;
    SyncOptions options;
    options.cache_file = dir / "cache";
    options.jobs = 4;
    options.prompt = [&](std::string_view question) -> std::optional<std::string> {
        ++asked;
        CHECK(question == "password for vault (ask Bob): ");
        return "open sesame";
    };
    auto report = sync(settings, options, no_warnings);
    REQUIRE(report);
    CHECK(report->exit_code() == 0);
    CHECK(report->count(FileState::new_file) == 20);
    CHECK(asked == 1);

    options.prompt = [](std::string_view) -> std::optional<std::string> { return "wrong"; };
    std::filesystem::remove_all(dir / "S");
    report = sync(settings, options, no_warnings);
    REQUIRE(report);
    CHECK(report->exit_code() == 1);
    REQUIRE(report->errors.size() == 1);
    CHECK(report->errors[0].to_string() == "vault: wrong password (1 source skipped)");
}

TEST_CASE("a typed password is kept in the keyring only once the server accepted it") {
    TempDir dir;
    Settings settings;
    Options vault;
    vault.set("host", std::string{"vault.example"});
    settings.connections.push_back(Connection{"vault", "locked", vault, {}});
    settings.subjects.push_back(Subject{"S", {Source{"vault", "", dir / "S", {}, {}}}, {}});
    test::MemoryKeyring keyring;
    std::string typed = "wrong";
    int asked = 0;
    SyncOptions options;
    options.cache_file = dir / "cache";
    options.jobs = 4;
    options.keyring = &keyring;
    options.prompt = [&](std::string_view) -> std::optional<std::string> {
        ++asked;
        return typed;
    };
    options.offer_to_keep = [](std::string_view) { return true; };

    auto report = sync(settings, options, no_warnings);
    REQUIRE(report);
    CHECK(report->exit_code() == 1);
    CHECK(keyring.stores == 0);

    typed = "open sesame";
    report = sync(settings, options, no_warnings);
    REQUIRE(report);
    CHECK(report->exit_code() == 0);
    CHECK(keyring.stores == 1); // once, however many workers connected
    const test::MemoryKeyring::Attributes item{{"plugin", "locked"}, {"server", "vault.example"}};
    CHECK(keyring.items[item] == "open sesame");

    // Kept, then changed on the server: said so, not asked again.
    keyring.items[item] = "stale";
    asked = 0;
    std::filesystem::remove_all(dir / "S");
    report = sync(settings, options, no_warnings);
    REQUIRE(report);
    CHECK(report->exit_code() == 1);
    CHECK(asked == 0);
    REQUIRE(report->errors.size() == 1);
    CHECK(report->errors[0].to_string() == "vault: the password kept in the keyring for `vault` "
                                           "was refused: `kitovu login vault` (1 source skipped)");
}

TEST_CASE("two connections to one account ask for its password once and keep it once") {
    TempDir dir;
    Settings settings;
    Options account;
    account.set("host", std::string{"vault.example"});
    for (const char* name : {"first", "second"}) {
        settings.connections.push_back(Connection{name, "locked", account, {}});
        settings.subjects.push_back(Subject{name, {Source{name, "", dir / name, {}, {}}}, {}});
    }
    test::MemoryKeyring keyring;
    int asked = 0;
    SyncOptions options;
    options.cache_file = dir / "cache";
    options.keyring = &keyring;
    options.prompt = [&](std::string_view) -> std::optional<std::string> {
        ++asked;
        return "open sesame";
    };
    options.offer_to_keep = [](std::string_view) { return true; };
    auto report = sync(settings, options, no_warnings);
    REQUIRE(report);
    CHECK(report->exit_code() == 0);
    CHECK(report->count(FileState::new_file) == 40);
    CHECK(asked == 1);
    CHECK(keyring.stores == 1);
}

// A user who keeps the cache elsewhere (another disk, a dotfiles folder) and names it through a
// symbolic link means the file the link leads to. The cache is saved by rename, which would
// replace the link itself: it is saved at the target, and the lock and the journal sit beside
// the target, so every name of one cache shares one lock.
TEST_CASE("a cache named through a symbolic link is the file it leads to, the link stays") {
    Setup setup{"local"};
    setup.put("a.txt", "a");
    setup.run();
    TempDir elsewhere;
    const auto real = elsewhere / "real.cache";
    std::filesystem::rename(setup.cache_file(), real);
    const auto link = setup.cache_file().parent_path() / "named.cache";
    std::filesystem::create_symlink(real, link);
    SyncOptions options;
    options.cache_file = link;

    setup.put("b.txt", "b");
    const auto report = setup.run(options);
    CHECK(report.count(FileState::unchanged) == 1);
    CHECK(report.count(FileState::new_file) == 1);
    CHECK(std::filesystem::is_symlink(link));
    CHECK(read_file(real).find(setup.local("b.txt").string()) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(link.string() + ".lock"));
    CHECK(setup.run(options).count(FileState::unchanged) == 2);

    // The lock is the target's: a run that holds it there keeps a run through the link out.
    auto held = CacheLock::acquire(real);
    REQUIRE(held);
    CollectingSink sink;
    const auto refused = sync(setup.settings(), options, sink);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("another kitovu sync") != std::string::npos);
}

// A remote folder renamed: kitovu moves the local files one by one, and removes the old folders
// once the last file is out. A run killed in between leaves them empty; the journal says which
// folders it moved files out of, and the next run removes those, once empty.
TEST_CASE("old-name folders that a killed run emptied by moving files are removed by the next "
          "run, one the user put a file in stays") {
    Setup setup{"local"};
    setup.put("Woche 1/a.txt", "a");
    setup.put("Woche 2/Extra/b.txt", "b");
    setup.run();
    const std::string before = read_file(setup.cache_file());
    std::filesystem::rename(setup.remote_root() / "EPJ/Woche 1", setup.remote_root() / "EPJ/W1");
    std::filesystem::rename(setup.remote_root() / "EPJ/Woche 2", setup.remote_root() / "EPJ/W2");
    // What a run killed after moving both files leaves (built from a run that completed, without
    // forking a run to kill): the files at their new names, the old folders empty, the cache as
    // before and the journal's move lines.
    REQUIRE(setup.run().count(FileState::moved) == 2);
    const FileCache completed = setup.cache();
    write_file(setup.cache_file(), before);
    {
        auto journal = CacheJournal::open(setup.cache_file());
        REQUIRE(journal);
        for (const auto& [from, to] :
             {std::pair{"Woche 1/a.txt", "W1/a.txt"}, {"Woche 2/Extra/b.txt", "W2/Extra/b.txt"}}) {
            const CacheEntry* placed = completed.find(setup.local(to).string());
            REQUIRE(placed != nullptr);
            REQUIRE(journal->append_move(setup.local(from).string(), setup.local(to).string(),
                                         *placed));
        }
    }
    std::filesystem::create_directories(setup.local("Woche 1"));
    std::filesystem::create_directories(setup.local("Woche 2/Extra"));
    write_file(setup.local("Woche 1/notes.txt"), "mine");

    const auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::unchanged) == 2);
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{
              {"W1/a.txt", "a"}, {"W2/Extra/b.txt", "b"}, {"Woche 1/notes.txt", "mine"}});
    CHECK_FALSE(std::filesystem::exists(setup.local("Woche 2")));
    CHECK(std::filesystem::exists(setup.local("Woche 1/notes.txt")));
}

TEST_CASE("a file not placed because it changed while downloading makes the run exit 1") {
    Setup setup{"memory"};
    setup.put("a.txt", "stable");
    setup.put("b.txt", "being saved", old_time);
    setup.memory().during_retrieve = [&](const std::string& locator) {
        std::scoped_lock lock{setup.memory().mutex}; // not held while the hook runs
        if (locator == "EPJ/b.txt")
            setup.memory().files[locator].mtime = new_time;
    };
    const auto report = setup.run();
    CHECK(has_warning(setup.warnings, WarningKind::changing));
    CHECK_FALSE(std::filesystem::exists(setup.local("b.txt")));
    CHECK(report.exit_code() == 1); // not everything listed is in step
    CHECK(report.failed == 1);

    setup.memory().during_retrieve = nullptr;
    const auto again = setup.run();
    CHECK(again.exit_code() == 0);
    CHECK(read_file(setup.local("b.txt")) == "being saved");
}

// impacket's SMB server, say: links followed by the server, no file ids. Two links back up double
// the paths at every level, so a depth limit alone lists millions of folders first.
TEST_CASE("a remote without file ids whose folders link back up is listed once, each loop is one "
          "unlisted warning") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    setup.put("Sub/b.txt", "b");
    setup.memory().folder_links = {{"EPJ/current", "EPJ"}, {"EPJ/latest", "EPJ"}};
    const auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::new_file) == 2);
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"a.txt", "a"}, {"Sub/b.txt", "b"}});
    std::vector<std::string> unlisted;
    for (const Warning& w : setup.warnings.warnings())
        if (w.kind == WarningKind::unlisted) {
            unlisted.push_back(w.path);
            CHECK_THAT(w.message, Catch::Contains("lists the same as 'EPJ'"));
        }
    std::ranges::sort(unlisted);
    CHECK(unlisted == std::vector<std::string>{"EPJ/current", "EPJ/latest"});

    // Deeper: a link to the folder above a subfolder.
    test::forget_remote("main");
    setup.put("a.txt", "a");
    setup.put("Sub/b.txt", "b");
    setup.memory().folder_links = {{"EPJ/Sub/up", "EPJ"}};
    CHECK(setup.run().exit_code() == 0);
    CHECK(has_warning(setup.warnings, WarningKind::unlisted));
}

TEST_CASE("a loop of folders without files ends too, and a real chain of same-named folders (a "
          "zip unpacked into its name) is synced whole") {
    Setup setup{"memory"};
    setup.put("Material/Material/x.pdf", "x");
    setup.put("Folien/Folien/Folien/y.pdf", "y"); // no loop: the third level differs
    auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"Material/Material/x.pdf", "x"},
                                             {"Folien/Folien/Folien/y.pdf", "y"}});
    CHECK_FALSE(has_warning(setup.warnings, WarningKind::unlisted));

    // The top holds folders only: `current -> .` repeats a listing without a file.
    test::forget_remote("main");
    setup.put("Sub/b.txt", "b");
    setup.memory().folders = {"EPJ/Sub"};
    setup.memory().folder_links = {{"EPJ/current", "EPJ"}};
    report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(read_file(setup.local("Sub/b.txt")) == "b");
    CHECK(has_warning(setup.warnings, WarningKind::unlisted));
}
