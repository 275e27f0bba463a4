// Renames and moves on the remote are followed locally: one rename, no download, local edits
// moved along, nothing stale left behind; anything uncertain falls back to downloading.
#include "disk_fixture.hpp"
#include "engine_setup.hpp"
#ifdef KITOVU_BINARY
#include "process.hpp"
#include "samba_fixture.hpp"

#include <nlohmann/json.hpp>
#endif

#include <kitovu/decide/moves.hpp>

#include <catch2/catch.hpp>

#include <pwd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <random>
#include <string>

using namespace kitovu;
using kitovu::test::files_in;
using kitovu::test::has_warning;
using kitovu::test::new_time;
using kitovu::test::old_time;
using kitovu::test::read_file;
using kitovu::test::Setup;
using kitovu::test::write_file;

namespace {

// Moves every remote file below `from` to below `to` (same bytes, same time), as a lecturer
// renaming a folder does.
void rename_remote_folder(Setup& setup, const std::string& from, const std::string& to,
                          const std::string& plugin) {
    if (plugin == "local") {
        std::filesystem::rename(setup.remote_root() / "EPJ" / from,
                                setup.remote_root() / "EPJ" / to);
        return;
    }
    auto& remote = setup.memory();
    std::scoped_lock lock{remote.mutex};
    std::map<std::string, test::MemoryFile> moved;
    for (auto it = remote.files.begin(); it != remote.files.end();) {
        if (it->first.starts_with("EPJ/" + from + "/")) {
            moved["EPJ/" + to + it->first.substr(4 + from.size())] = it->second;
            it = remote.files.erase(it);
        } else {
            ++it;
        }
    }
    remote.files.merge(moved);
}

std::map<std::string, std::string> tree_of(std::size_t files, const std::string& folder) {
    std::map<std::string, std::string> tree;
    for (std::size_t i = 0; i < files; ++i)
        tree[fmt::format("{}/f{:03}.pdf", folder, i)] = fmt::format("content of file {}", i);
    return tree;
}

} // namespace

TEST_CASE("moves are matched by the plugin's identity, else by a unique name and digest") {
    using C = MoveCandidate;
    const std::vector<C> vanished{{"a", "", "x.pdf", "1-1"},  {"b", "", "y.pdf", "2-2"},
                                  {"c", "", "y.pdf", "2-2"},  {"d", "7", "z.pdf", "3-3"},
                                  {"e", "8", "w.pdf", "4-4"}, {"f", "", "v.pdf", "5-5"}};
    const std::vector<C> arriving{
        {"A", "", "x.pdf", "1-1"},        // unique name and digest: a move
        {"B", "", "y.pdf", "2-2"},        // two identical candidates: none
        {"D", "7", "renamed.pdf", "9-9"}, // same identity, other name and digest: a move
        {"E", "9", "w.pdf", "4-4"},       // no identity matches: by name and digest
        {"F1", "", "v.pdf", "5-5"},       // two arrivals want one: none
        {"F2", "", "v.pdf", "5-5"},       {"G", "", "x.pdf", "1-2"}, // other digest: none
    };
    const auto moves = match_moves(vanished, arriving);
    REQUIRE(moves.size() == arriving.size());
    CHECK(moves[0] == std::optional<std::size_t>{0});
    CHECK_FALSE(moves[1]);
    CHECK(moves[2] == std::optional<std::size_t>{3});
    CHECK(moves[3] == std::optional<std::size_t>{4});
    CHECK_FALSE(moves[4]);
    CHECK_FALSE(moves[5]);
    CHECK_FALSE(moves[6]);
}

TEST_CASE("moves are matched by identity, then fingerprint, then name and digest in any case") {
    using C = MoveCandidate;
    const std::vector<C> vanished{
        {"a", "", "Skript.pdf", "1-1"},      {"b", "", "Blatt1.pdf", "2-2", "fp2"},
        {"c", "", "c.pdf", "3-3", "fp3"},    {"d", "", "d.pdf", "4-4", "fp3"},
        {"e", "id5", "e.pdf", "5-5", "fp5"}, {"f", "", "F.pdf", "6-6"},
        {"g", "", "f.pdf", "6-6"},           {"h", "", "h.pdf", "7-7", "fp7"},
        {"i", "id9", "i.pdf", "9-9", "fp9"}, {"l", "", "Links amp; Tools.html", "t5"}};
    const std::vector<C> arriving{
        {"A", "", "skript.pdf", "1-1"},                     // case-only rename: a move
        {"B", "", "Blatt 1.pdf", "2-3", "fp2"},             // renamed, fingerprint kept: a move
        {"C", "", "other.pdf", "3-3", "fp3"},               // fingerprint of two: no move by it
        {"E", "id5", "x.pdf", "5-6", "fp-new"},             // the identity decides before all else
        {"F", "", "f.PDF", "6-6"},                          // two names in another case: none
        {"H", "", "h-renamed.pdf", "7-7", "fp-x"},          // other fingerprint, other name: none
        {"I", "id-other", "i.pdf", "9-9", "fp-y"},          // nothing but name and digest: a move
        {"J", "", "Links & Tools.html", "t5", "", "h.pdf"}, // other digest than h: none
        {"L", "", "Links & Tools.html", "t5", "", "Links amp; Tools.html"}, // named anew: a move
    };
    const auto moves = match_moves(vanished, arriving);
    REQUIRE(moves.size() == arriving.size());
    CHECK(moves[0] == std::optional<std::size_t>{0});
    CHECK(moves[1] == std::optional<std::size_t>{1});
    CHECK_FALSE(moves[2]);
    CHECK(moves[3] == std::optional<std::size_t>{4});
    CHECK_FALSE(moves[4]);
    CHECK_FALSE(moves[5]);
    CHECK(moves[6] == std::optional<std::size_t>{8});
    CHECK_FALSE(moves[7]);
    CHECK(moves[8] == std::optional<std::size_t>{9});
}

TEST_CASE("a renamed remote folder is renamed locally: nothing downloaded, the edit moves along") {
    const std::string plugin = GENERATE("memory", "local");
    Setup setup{plugin};
    for (const auto& [path, content] : tree_of(200, "Woche 1"))
        setup.put(path, content, old_time);
    setup.put("other.pdf", "stays", old_time);
    setup.run();
    write_file(setup.local("Woche 1/f007.pdf"), "my notes on file 7");
    rename_remote_folder(setup, "Woche 1", "Woche 01", plugin);

    auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.bytes_downloaded == 0);
    CHECK(report.count(FileState::moved) == 200);
    CHECK(report.count(FileState::remote_deleted) == 0);
    CHECK_FALSE(std::filesystem::exists(setup.local("Woche 1")));
    auto expected = tree_of(200, "Woche 01");
    expected["Woche 01/f007.pdf"] = "my notes on file 7";
    expected["other.pdf"] = "stays";
    CHECK(files_in(setup.target()) == expected);
    // The user is told where the edited file went.
    CHECK(std::ranges::any_of(setup.warnings.warnings(), [](const Warning& w) {
        return w.kind == WarningKind::moved &&
               w.message == "moved with the remote: Woche 1/f007.pdf -> Woche 01/f007.pdf";
    }));

    report = setup.run(); // a no-op
    CHECK(report.bytes_downloaded == 0);
    CHECK(report.count(FileState::moved) == 0);
    CHECK(report.count(FileState::unchanged) == 200);
    CHECK(report.count(FileState::local_changed) == 1);
    // The edit is still an edit: a remote change makes a conflict copy, never overwrites it.
    setup.put("Woche 01/f007.pdf", "new version of file 7", new_time);
    report = setup.run();
    CHECK(report.count(FileState::conflict) == 1);
    CHECK(read_file(setup.local("Woche 01/f007.pdf")) == "my notes on file 7");
}

TEST_CASE("a case-only rename of a file and of a folder is followed: nothing downloaded or stale") {
    Setup setup{"memory"};
    setup.put("Skript.pdf", "script", old_time);
    setup.put("Folien/v1.pdf", "slides 1", old_time);
    setup.put("Folien/v2.pdf", "slides 2", old_time);
    setup.run();
    write_file(setup.local("Folien/v2.pdf"), "my notes on slides 2");
    setup.remove("Skript.pdf");
    setup.put("skript.pdf", "script", old_time);
    rename_remote_folder(setup, "Folien", "folien", "memory");

    auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.bytes_downloaded == 0);
    CHECK(report.count(FileState::moved) == 3);
    CHECK(report.count(FileState::remote_deleted) == 0);
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"skript.pdf", "script"},
                                             {"folien/v1.pdf", "slides 1"},
                                             {"folien/v2.pdf", "my notes on slides 2"}});
    CHECK(has_warning(setup.warnings, WarningKind::moved));
    report = setup.run(); // a no-op
    CHECK(report.count(FileState::moved) == 0);
    CHECK(report.count(FileState::unchanged) == 2);
    CHECK(report.count(FileState::local_changed) == 1);
}

TEST_CASE("a renamed file whose fingerprint stays is moved though its digest changed") {
    // Moodle's rename: the URL and timemodified change, module, timecreated and size stay.
    Setup setup{"memory"};
    setup.put("Vorlesung 1.pdf", "lecture", old_time);
    setup.memory().files["EPJ/Vorlesung 1.pdf"].fingerprint = "module 7 1700000000 7";
    setup.put("other.pdf", "other", old_time);
    setup.memory().files["EPJ/other.pdf"].fingerprint = "module 8 1700000000 5";
    setup.run();
    setup.remove("Vorlesung 1.pdf");
    setup.put("Vorlesung 01.pdf", "lecture", new_time);
    setup.memory().files["EPJ/Vorlesung 01.pdf"].fingerprint = "module 7 1700000000 7";

    auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.bytes_downloaded == 0);
    CHECK(report.count(FileState::moved) == 1);
    CHECK(report.count(FileState::remote_deleted) == 0);
    CHECK(files_in(setup.target()) == std::map<std::string, std::string>{
                                          {"Vorlesung 01.pdf", "lecture"}, {"other.pdf", "other"}});
    report = setup.run(); // a no-op: the record took the new digest
    CHECK(report.bytes_downloaded == 0);
    CHECK(report.count(FileState::unchanged) == 2);

    // Renamed and replaced (another fingerprint): no move, the new file is fetched.
    setup.remove("Vorlesung 01.pdf");
    setup.put("Vorlesung 2.pdf", "lecture, new", new_time + 5);
    setup.memory().files["EPJ/Vorlesung 2.pdf"].fingerprint = "module 7 1700000999 12";
    report = setup.run();
    CHECK(report.count(FileState::moved) == 0);
    CHECK(report.count(FileState::new_file) == 1);
}

TEST_CASE("renamed and changed, with an id: moved, then updated, or the edit kept beside it") {
    Setup setup{"memory"};
    setup.put("Blatt1.pdf", "sheet 1", old_time);
    setup.put("Blatt2.pdf", "sheet 2", old_time);
    setup.memory().files["EPJ/Blatt1.pdf"].id = "inode 1";
    setup.memory().files["EPJ/Blatt2.pdf"].id = "inode 2";
    setup.run();
    write_file(setup.local("Blatt2.pdf"), "my answers on sheet 2");
    for (const std::string n : {"1", "2"}) {
        setup.remove("Blatt" + n + ".pdf");
        setup.put("Blatt " + n + ".pdf", "sheet " + n + ", corrected", new_time);
        setup.memory().files["EPJ/Blatt " + n + ".pdf"].id = "inode " + n;
    }

    const auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::moved) == 2);
    CHECK(report.count(FileState::remote_changed) == 1);
    CHECK(report.count(FileState::conflict) == 1);
    CHECK(report.count(FileState::remote_deleted) == 0);
    const auto here = files_in(setup.target());
    CHECK(here.size() == 3); // nothing left at the old names
    CHECK(here.at("Blatt 1.pdf") == "sheet 1, corrected");
    CHECK(here.at("Blatt 2.pdf") == "my answers on sheet 2");
    CHECK(std::ranges::any_of(here, [](const auto& file) {
        return file.first.starts_with("Blatt 2.remote-conflict-") &&
               file.second == "sheet 2, corrected";
    }));
    CHECK(std::ranges::any_of(setup.warnings.warnings(), [](const Warning& w) {
        return w.kind == WarningKind::moved &&
               w.message == "moved with the remote: Blatt2.pdf -> Blatt 2.pdf";
    }));
}

TEST_CASE("on a FAT or exFAT stick too, renames, case-only renames and moves are followed") {
    const test::Disk kind = GENERATE(test::Disk::ext4, test::Disk::fat32, test::Disk::exfat);
    test::MountedDisk disk{kind};
    if (!test::disk_ready(disk))
        return;
    INFO(to_string(kind));
    Setup setup{"memory", "main", disk.root()};
    setup.put("Skript.pdf", "script", old_time);
    setup.put("Notizen.pdf", "notes template", old_time);
    setup.put("Blatt1.pdf", "sheet 1", old_time);
    setup.memory().files["EPJ/Blatt1.pdf"].id = "inode 1";
    setup.put("Alt/loesung.pdf", "solution", old_time);
    setup.put("Folien/v1.pdf", "slides", old_time);
    REQUIRE(setup.run().exit_code() == 0);
    // Longer than before: fusefat keeps the mtime of a file written in place.
    write_file(setup.local("Notizen.pdf"), "my notes, longer than the template");
    for (const auto& [from, to] :
         std::map<std::string, std::string>{{"Skript.pdf", "skript.pdf"},
                                            {"Notizen.pdf", "notizen.pdf"},
                                            {"Blatt1.pdf", "Blatt 1.pdf"},
                                            {"Alt/loesung.pdf", "Neu/loesung.pdf"}}) {
        std::scoped_lock lock{setup.memory().mutex};
        auto& files = setup.memory().files;
        files["EPJ/" + to] = files.at("EPJ/" + from);
        files.erase("EPJ/" + from);
    }
    rename_remote_folder(setup, "Folien", "folien", "memory");

    auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.bytes_downloaded == 0);
    CHECK(report.count(FileState::moved) == 5);
    CHECK(report.count(FileState::remote_deleted) == 0);
    // Names as the file system keeps them, in their case. A folder's case-only rename keeps the
    // folder's old case where the file system folds case (its file is in step all the same).
    const std::string slides = disk.folds_case() ? "Folien/v1.pdf" : "folien/v1.pdf";
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"skript.pdf", "script"},
                                             {"notizen.pdf", "my notes, longer than the template"},
                                             {"Blatt 1.pdf", "sheet 1"},
                                             {"Neu/loesung.pdf", "solution"},
                                             {slides, "slides"}});
    CHECK(std::ranges::any_of(setup.warnings.warnings(), [](const Warning& w) {
        return w.message == "moved with the remote: Notizen.pdf -> notizen.pdf";
    }));
    report = setup.run(); // a no-op
    CHECK(report.count(FileState::moved) == 0);
    CHECK(report.count(FileState::unchanged) == 4);
    CHECK(report.count(FileState::local_changed) == 1);
    CHECK(report.bytes_downloaded == 0);
}

TEST_CASE("a file moved into another folder is moved locally") {
    const std::string plugin = GENERATE("memory", "local");
    Setup setup{plugin};
    setup.put("Blatt 1/loesung.pdf", "solution", old_time);
    setup.put("Blatt 1/aufgabe.pdf", "task", old_time);
    setup.run();
    setup.remove("Blatt 1/loesung.pdf");
    setup.put("Archiv/loesung.pdf", "solution", old_time);
    if (plugin == "local") { // a real move keeps the file's identity
        std::filesystem::rename(setup.remote_root() / "EPJ/Blatt 1/aufgabe.pdf",
                                setup.remote_root() / "EPJ/Archiv/aufgabe-alt.pdf");
        std::filesystem::remove(setup.remote_root() / "EPJ/Blatt 1");
    }
    const auto report = setup.run();
    CHECK(report.bytes_downloaded == 0);
    CHECK(report.count(FileState::moved) == (plugin == "local" ? 2 : 1));
    CHECK(read_file(setup.local("Archiv/loesung.pdf")) == "solution");
    CHECK_FALSE(std::filesystem::exists(setup.local("Blatt 1/loesung.pdf")));
    if (plugin == "local") {
        CHECK(read_file(setup.local("Archiv/aufgabe-alt.pdf")) == "task");
        CHECK_FALSE(std::filesystem::exists(setup.local("Blatt 1")));
    }
}

TEST_CASE("two files swapped by name are not taken for moves: both are fetched") {
    Setup setup{"memory"};
    setup.put("a.pdf", "content A", old_time);
    setup.put("b.pdf", "content B", old_time + 1);
    setup.run();
    setup.put("a.pdf", "content B", old_time + 1);
    setup.put("b.pdf", "content A", old_time);
    const auto report = setup.run();
    CHECK(report.count(FileState::moved) == 0);
    CHECK(report.count(FileState::remote_changed) == 2);
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"a.pdf", "content B"}, {"b.pdf", "content A"}});
}

TEST_CASE("an ambiguous match falls back to downloading, leaving the old copies reported") {
    Setup setup{"memory"};
    setup.put("x/same.pdf", "same", old_time);
    setup.put("y/same.pdf", "same", old_time);
    setup.run();
    setup.remove("x/same.pdf");
    setup.remove("y/same.pdf");
    setup.put("z/same.pdf", "same", old_time);
    const auto report = setup.run();
    CHECK(report.count(FileState::moved) == 0);
    CHECK(report.count(FileState::new_file) == 1);
    CHECK(report.count(FileState::remote_deleted) == 2);
    CHECK(read_file(setup.local("z/same.pdf")) == "same");
    CHECK(read_file(setup.local("x/same.pdf")) == "same");
}

TEST_CASE("a move onto a path taken locally falls back to a conflict copy") {
    Setup setup{"memory"};
    setup.put("old/a.pdf", "remote", old_time);
    setup.run();
    setup.remove("old/a.pdf");
    setup.put("new/a.pdf", "remote", old_time);
    write_file(setup.local("new/a.pdf"), "mine, made here");
    const auto report = setup.run();
    CHECK(report.count(FileState::moved) == 0);
    CHECK(read_file(setup.local("new/a.pdf")) == "mine, made here");
    CHECK(read_file(setup.local("old/a.pdf")) == "remote");
}

TEST_CASE("a dry run shows moves and changes nothing") {
    Setup setup{"memory"};
    setup.put("Woche 1/a.pdf", "a", old_time);
    setup.run();
    rename_remote_folder(setup, "Woche 1", "Woche 01", "memory");
    const auto before = files_in(setup.target());
    const auto cache_before = setup.cache().serialize();
    SyncOptions options;
    options.dry_run = true;
    const auto report = setup.run(options);
    CHECK(report.count(FileState::moved) == 1);
    CHECK(report.count(FileState::remote_deleted) == 0);
    CHECK(files_in(setup.target()) == before);
    CHECK(setup.cache().serialize() == cache_before);
}

TEST_CASE("a run that moves 500 files killed at 20 points loses nothing and converges") {
    Setup setup{"memory"};
    auto tree = tree_of(500, "A");
    for (const auto& [path, content] : tree)
        setup.put(path, content, old_time);
    setup.run();
    std::mt19937 random{7};
    int kills = 0;
    std::string folder = "A";
    for (int round = 0; round < 20; ++round) {
        const std::string next = folder == "A" ? "B" : "A";
        rename_remote_folder(setup, folder, next, "memory");
        folder = next;
        // The child kills itself at a random file of the run: after the rename of some moved
        // file, before the cache is saved (the journal must carry it).
        const int at = static_cast<int>(random() % 500);
        const pid_t child = ::fork();
        if (child == 0) {
            struct KillAt final : SyncObserver {
                int left;
                explicit KillAt(int n) : left(n) {}
                void decided(const FileEvent&, FileState) override {
                    if (left-- == 0)
                        ::kill(::getpid(), SIGKILL);
                }
            } killer{at};
            SyncOptions options;
            options.cache_file = setup.cache_file();
            options.observer = &killer;
            auto report = sync(setup.settings(), options, no_warnings);
            ::_exit(report ? 0 : 3);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        kills += WIFSIGNALED(status) ? 1 : 0;
        // Nothing lost, nothing twice: each file is in exactly one of the two folders.
        const auto here = files_in(setup.target());
        CHECK(here.size() == 500);
        for (std::size_t i = 0; i < 500; ++i) {
            const auto name = fmt::format("/f{:03}.pdf", i);
            CHECK(here.contains("A" + name) != here.contains("B" + name));
        }
    }
    CHECK(kills == 20);
    const auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.bytes_downloaded == 0);
    CHECK(files_in(setup.target()) == tree_of(500, folder));
    CHECK(setup.run().count(FileState::unchanged) == 500);
}

// Renames counted, for a kill at an exact step of a move: defined here, these take the C
// library's place for the whole test program (the engine is compiled into it). A process that
// sets renames_until_kill to N is killed just after its Nth rename that succeeded.
namespace {
std::atomic<int> renames_until_kill{0};
int counted(long result) {
    if (result == 0 && renames_until_kill.load() > 0 && --renames_until_kill == 0)
        ::kill(::getpid(), SIGKILL);
    return static_cast<int>(result);
}
} // namespace

extern "C" int renameat2(int from_folder, const char* from, int to_folder, const char* to,
                         unsigned int flags) noexcept {
    return counted(::syscall(SYS_renameat2, from_folder, from, to_folder, to, flags));
}
extern "C" int renameat(int from_folder, const char* from, int to_folder, const char* to) noexcept {
    return counted(::syscall(SYS_renameat, from_folder, from, to_folder, to));
}

// Where the file system folds case, a case-only rename goes by way of a temporary name (two
// renames): a kill between them left the file there, the journal saying it was at the new name,
// and the next run fetched it again and left the old copy, edits and all, as NAME.kitovu-rename.
TEST_CASE("a case-only rename of a file and of a folder killed after any of its renames: the next "
          "run fetches nothing, leaves nothing stale, keeps the edit") {
    const test::Disk kind = GENERATE(test::Disk::ext4, test::Disk::fat32, test::Disk::exfat);
    test::MountedDisk disk{kind};
    if (!test::disk_ready(disk))
        return;
    INFO(to_string(kind));
    bool ran_through = false;
    for (int kill_after = 1; !ran_through && kill_after <= 12; ++kill_after) {
        INFO("killed after rename " << kill_after);
        Setup setup{"memory", "main", disk.root() / std::to_string(kill_after)};
        setup.put("Skript.pdf", "script", old_time);
        setup.put("Folien/v1.pdf", "slides 1", old_time);
        setup.put("Folien/v2.pdf", "slides 2", old_time);
        REQUIRE(setup.run().exit_code() == 0);
        // Longer than before: fusefat keeps the mtime of a file written in place.
        write_file(setup.local("Folien/v2.pdf"), "my notes on slides 2, longer");
        setup.remove("Skript.pdf");
        setup.put("skript.pdf", "script", old_time);
        rename_remote_folder(setup, "Folien", "folien", "memory");

        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            renames_until_kill = kill_after;
            SyncOptions options;
            options.cache_file = setup.cache_file();
            auto report = sync(setup.settings(), options, no_warnings);
            ::_exit(report ? 0 : 3);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        ran_through = !WIFSIGNALED(status);
        // The next run comes later: FUSE's look-up cache, which for a second still finds the
        // file under the name the killed run looked it up by, is gone by then (unplugging the
        // stick drops it at once).
        disk.remount();
        std::string left; // what the kill left, for the failure message
        for (const auto& [path, content] : files_in(setup.target()))
            left += path + "=" + content + "; ";
        INFO("left by the kill: " << left);
        auto report = setup.run();
        CHECK(report.exit_code() == 0);
        CHECK(report.bytes_downloaded == 0);
        const std::string slides = disk.folds_case() ? "Folien/" : "folien/";
        CHECK(files_in(setup.target()) == std::map<std::string, std::string>{
                                              {"skript.pdf", "script"},
                                              {slides + "v1.pdf", "slides 1"},
                                              {slides + "v2.pdf", "my notes on slides 2, longer"}});
        report = setup.run(); // a no-op
        CHECK(report.count(FileState::moved) == 0);
        CHECK(report.count(FileState::unchanged) == 2);
        CHECK(report.count(FileState::local_changed) == 1);
        CHECK(report.bytes_downloaded == 0);
    }
    CHECK(ran_through); // every rename of the run was a kill point
}

#ifdef KITOVU_BINARY
namespace {

// Uploads `files` (path below the share -> content) through SMB with smbclient, as a lecturer
// does: smbd then keeps each file's creation time (which a rename or a rewrite keeps), while a
// file written into the share directly shows the earliest of its times, which a rewrite changes.
// The share must be writable (ServerOptions{.skripte = "read only = no"}).
void upload(const test::SambaServer& server, const test::TempDir& dir,
            const std::map<std::string, std::string>& files) {
    const passwd* smb_user = ::getpwnam(test::SambaServer::user().c_str());
    REQUIRE(smb_user != nullptr);
    const auto give = [&](const std::filesystem::path& path) {
        REQUIRE(::chown(path.c_str(), smb_user->pw_uid, smb_user->pw_gid) == 0);
    };
    give(server.share());
    std::string commands;
    for (const auto& [path, content] : files) {
        const auto folder = (server.share() / path).parent_path();
        server.make_folders(folder);
        for (auto at = folder; at != server.share(); at = at.parent_path())
            give(at);
        const auto local = dir / "upload" / path;
        std::filesystem::create_directories(local.parent_path());
        write_file(local, content);
        commands += "put \"" + local.string() + "\" \"" + path + "\"; ";
    }
    write_file(dir / "smb-auth", "username = " + test::SambaServer::user() +
                                     "\npassword = " + test::SambaServer::password() + "\n");
    const auto smbclient = test::find_program("smbclient");
    REQUIRE(smbclient); // in cmake/install-deps.sh
    const auto result = test::run_process({smbclient->string(), "//127.0.0.1/skripte", "-p",
                                           std::to_string(server.port()), "-A",
                                           (dir / "smb-auth").string(), "-c", commands});
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 0);
    for (const auto& [path, content] : files)
        REQUIRE(read_file(server.share() / path) == content);
}

// `kitovu sync --json` of the subject EPJ from `server` into dir/home, as a student runs it;
// its report.
nlohmann::json sync_share(const test::SambaServer& server, const test::TempDir& dir) {
    if (!std::filesystem::exists(dir / "kitovu.toml"))
        write_file(dir / "kitovu.toml", server.kitovu_config(dir / "home", "uni"));
    const test::Environment environment{{"HOME", (dir / "home").string()},
                                        {"XDG_DATA_HOME", (dir / "data").string()},
                                        {"KITOVU_PASSWORD_UNI", test::SambaServer::password()},
                                        {"NO_COLOR", "1"}};
    const auto result = test::run_process(
        {KITOVU_BINARY, "sync", "--json", "-q", "--config", (dir / "kitovu.toml").string()},
        environment);
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    return nlohmann::json::parse(result.out);
}

} // namespace

TEST_CASE("on a real share, renamed and moved files are followed: only changed bytes are fetched") {
    test::SambaServer server{test::ServerOptions{.skripte = "read only = no"}};
    if (!test::samba_ready(server))
        return;
    test::TempDir dir;
    std::map<std::string, std::string> files{
        {"EPJ/Blatt1.pdf", "exercise sheet 1"},    {"EPJ/Skript.pdf", "the script"},
        {"EPJ/Folien/v1.pdf", "slides 1"},         {"EPJ/Folien/v2.pdf", "slides 2"},
        {"EPJ/Blatt 2/loesung.pdf", "solution 2"}, {"EPJ/Notizen.pdf", "notes template"}};
    for (const auto& [path, content] : tree_of(20, "Woche 2"))
        files["EPJ/" + path] = content;
    upload(server, dir, files);
    const auto sync_json = [&] { return sync_share(server, dir); };
    CHECK(sync_json()["counts"]["new"] == 26);
    const auto target = dir / "home/EPJ";
    write_file(target / "Notizen.pdf", "my own notes");

    const auto share = server.share() / "EPJ";
    const auto rename = [&](const std::string& from, const std::string& to) {
        std::filesystem::rename(share / from, share / to);
    };
    rename("Blatt1.pdf", "Blatt 1.pdf");   // a file renamed
    rename("Skript.pdf", "skript.pdf");    // case only: a file
    rename("Folien", "folien");            // and a folder
    server.make_folders(share / "Archiv"); // moved to another folder
    rename("Blatt 2/loesung.pdf", "Archiv/loesung.pdf");
    rename("Woche 2", "Woche 02"); // a folder renamed, one file in it changed
    const std::string changed = "content of file 5, corrected and longer";
    {
        std::ofstream out{share / "Woche 02/f005.pdf", std::ios::binary | std::ios::trunc};
        out << changed;
    }
    rename("Notizen.pdf", "Notizen WS.pdf"); // a file edited here, renamed there

    auto report = sync_json();
    INFO(report.dump(2));
    CHECK(report["bytes_downloaded"] == changed.size());
    CHECK(report["counts"]["moved"] == 26);
    CHECK(report["counts"]["new"] == 0);
    CHECK(report["counts"]["remote-deleted"] == 0);
    auto expected = tree_of(20, "Woche 02");
    expected["Woche 02/f005.pdf"] = changed;
    expected["Blatt 1.pdf"] = "exercise sheet 1";
    expected["skript.pdf"] = "the script";
    expected["folien/v1.pdf"] = "slides 1";
    expected["folien/v2.pdf"] = "slides 2";
    expected["Archiv/loesung.pdf"] = "solution 2";
    expected["Notizen WS.pdf"] = "my own notes";
    CHECK(files_in(target) == expected);
    CHECK(std::ranges::any_of(report["warnings"], [](const nlohmann::json& w) {
        return w["message"] == "moved with the remote: Notizen.pdf -> Notizen WS.pdf";
    }));

    report = sync_json(); // a no-op
    CHECK(report["bytes_downloaded"] == 0);
    CHECK(report["counts"]["moved"] == 0);
    CHECK(report["counts"]["local-changed"] == 1);
    CHECK(files_in(target) == expected);
}

TEST_CASE("on a real share, a renamed folder of 200 files is moved: 0 bytes downloaded") {
    test::SambaServer server;
    if (!test::samba_ready(server))
        return;
    test::TempDir dir;
    for (const auto& [path, content] : tree_of(200, "Woche 1"))
        server.put("EPJ/" + path, content, old_time);
    const auto sync_json = [&] { return sync_share(server, dir); };
    CHECK(sync_json()["counts"]["new"] == 200);
    const auto target = dir / "home/EPJ";
    write_file(target / "Woche 1/f007.pdf", "my notes on file 7");
    std::filesystem::rename(server.share() / "EPJ/Woche 1", server.share() / "EPJ/Woche 01");

    auto report = sync_json();
    CHECK(report["bytes_downloaded"] == 0);
    CHECK(report["counts"]["moved"] == 200);
    auto expected = tree_of(200, "Woche 01");
    expected["Woche 01/f007.pdf"] = "my notes on file 7";
    CHECK(files_in(target) == expected);

    report = sync_json(); // a no-op
    CHECK(report["bytes_downloaded"] == 0);
    CHECK(report["counts"]["moved"] == 0);
    CHECK(files_in(target) == expected);
}
#endif
