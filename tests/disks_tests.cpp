// The promise on the disks and editors students use: a target folder on ext4, tmpfs, a FAT32 or
// an exFAT USB stick (mounted through FUSE), and editors that save by renaming a new file over
// the old one at the last moment before kitovu replaces it.
#include "disk_fixture.hpp"
#include "engine_setup.hpp"

#include <kitovu/engine/conflicts.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <functional>
#include <string>

using namespace kitovu;
using kitovu::test::conflict_copies;
using kitovu::test::Disk;
using kitovu::test::disk_ready;
using kitovu::test::has_warning;
using kitovu::test::MountedDisk;
using kitovu::test::new_time;
using kitovu::test::old_time;
using kitovu::test::read_file;
using kitovu::test::Setup;
using kitovu::test::write_file;

namespace {

// Calls `hook` once, when kitovu has looked at a local file for the last time before replacing
// it: where an editor's save would race it.
class BeforeReplace final : public SyncObserver {
  public:
    explicit BeforeReplace(std::function<void()> hook) : hook_(std::move(hook)) {}
    void replacing(const FileEvent&) override {
        if (hook_)
            std::exchange(hook_, nullptr)();
    }

  private:
    std::function<void()> hook_;
};

// How vim, gedit, LibreOffice and VS Code save: a new file renamed over the old one.
void save_by_rename(const std::filesystem::path& file, const std::string& content) {
    const auto temporary = file.parent_path() / (file.filename().string() + ".swp-save");
    write_file(temporary, content);
    std::filesystem::rename(temporary, file);
}

void set_mtime_ns(const std::filesystem::path& file, const ::timespec& when) {
    const ::timespec times[2] = {{0, UTIME_OMIT}, when};
    REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
}

::timespec mtime_of(const std::filesystem::path& file) {
    struct ::stat info {};
    REQUIRE(::stat(file.c_str(), &info) == 0);
    return info.st_mtim;
}

// 30 files in three folders, as a course's first weeks.
void put_course(Setup& setup) {
    for (int week = 1; week <= 3; ++week)
        for (int sheet = 1; sheet <= 10; ++sheet)
            setup.put("Woche " + std::to_string(week) + "/Blatt " + std::to_string(sheet) + ".pdf",
                      "sheet " + std::to_string(week * 100 + sheet), old_time);
}

} // namespace

TEST_CASE("a target folder on any disk: everything placed once, a rerun or a replug is a no-op") {
    const Disk kind = GENERATE(Disk::ext4, Disk::tmpfs, Disk::fat32, Disk::exfat);
    MountedDisk disk{kind};
    if (!disk_ready(disk))
        return;
    INFO(to_string(kind));
    Setup setup{"memory", "main", disk.root()};
    put_course(setup);
    auto report = setup.run();
    CHECK(report.errors.empty());
    CHECK(report.count(FileState::new_file) == 30);
    CHECK(read_file(setup.local("Woche 2/Blatt 7.pdf")) == "sheet 207");

    report = setup.run();
    CHECK(report.count(FileState::unchanged) == 30);
    CHECK(report.bytes_downloaded == 0);

    disk.remount(); // new inode numbers on FUSE: the bytes still tell the files are kitovu's
    report = setup.run();
    CHECK(report.errors.empty());
    CHECK(report.count(FileState::unchanged) == 30);
    CHECK(report.bytes_downloaded == 0);
    CHECK(conflict_copies(setup.local("Woche 1")).empty());
    CHECK(setup.run().count(FileState::unchanged) == 30);
}

TEST_CASE("on any disk an edit survives a remote change, however its time was put back") {
    const Disk kind = GENERATE(Disk::ext4, Disk::tmpfs, Disk::fat32, Disk::exfat);
    const std::string how = GENERATE("touch -d back", "cp -p");
    MountedDisk disk{kind};
    if (!disk_ready(disk))
        return;
    INFO(to_string(kind) << ", " << how);
    Setup setup{"memory", "main", disk.root()};
    setup.put("notes.txt", "remote v1", old_time);
    setup.run();
    const auto file = setup.local("notes.txt");
    const ::timespec placed = mtime_of(file);
    if (how == std::string{"cp -p"}) {
        // cp -p onto an existing file: truncated and written in place, then the source's time.
        const auto mine = setup.target() / "mine.txt";
        write_file(mine, "MY EDIT!!");
        set_mtime_ns(mine, placed);
        write_file(file, read_file(mine));
        set_mtime_ns(file, mtime_of(mine));
        std::filesystem::remove(mine);
    } else {
        write_file(file, "MY EDIT!!"); // same size
    }
    set_mtime_ns(file, placed);

    setup.put("notes.txt", "remote v2", new_time);
    const auto report = setup.run();
    CHECK(read_file(file) == "MY EDIT!!");
    const auto copies = conflict_copies(setup.target());
    REQUIRE(copies.size() == 1);
    CHECK(read_file(setup.target() / copies[0]) == "remote v2");
    CHECK(report.count(FileState::conflict) == 1);
    // And it stays an edit: the next run keeps it and saves nothing more beside it.
    setup.run();
    CHECK(read_file(file) == "MY EDIT!!");
    CHECK(conflict_copies(setup.target()).size() == 1);
}

TEST_CASE("on any disk files already there after a lost cache are adopted, not copied beside") {
    const Disk kind = GENERATE(Disk::ext4, Disk::tmpfs, Disk::fat32, Disk::exfat);
    MountedDisk disk{kind};
    if (!disk_ready(disk))
        return;
    INFO(to_string(kind));
    Setup setup{"memory", "main", disk.root()};
    put_course(setup);
    setup.run();
    write_file(setup.local("Woche 3/Blatt 1.pdf"), "my own version");
    std::filesystem::remove(setup.cache_file());

    auto report = setup.run();
    CHECK(report.errors.empty());
    CHECK(report.count(FileState::adopted) + report.count(FileState::unchanged) == 29);
    CHECK(report.count(FileState::conflict) == 1); // only the file really edited
    CHECK(conflict_copies(setup.local("Woche 1")).empty());
    CHECK(read_file(setup.local("Woche 3/Blatt 1.pdf")) == "my own version");

    // Adopted files are kitovu's again: a remote change replaces them.
    setup.put("Woche 1/Blatt 1.pdf", "sheet 101, corrected", new_time);
    report = setup.run();
    CHECK(report.count(FileState::remote_changed) == 1);
    CHECK(read_file(setup.local("Woche 1/Blatt 1.pdf")) == "sheet 101, corrected");
    CHECK(conflict_copies(setup.local("Woche 1")).empty());
}

TEST_CASE("names that differ only in case are both placed, or one is reported, never merged") {
    const Disk kind = GENERATE(Disk::ext4, Disk::tmpfs, Disk::fat32, Disk::exfat);
    MountedDisk disk{kind};
    if (!disk_ready(disk))
        return;
    INFO(to_string(kind));
    Setup setup{"memory", "main", disk.root()};
    setup.put("Notes.txt", "capital", old_time);
    setup.put("notes.txt", "small", old_time);
    setup.put("Folien/a.pdf", "a", old_time);
    setup.put("folien/b.pdf", "b", old_time);
    for (int run = 1; run <= 3; ++run) {
        INFO("run " << run);
        const auto report = setup.run();
        CHECK(report.errors.empty());
        CHECK(report.count(FileState::conflict) == 0);
        CHECK(conflict_copies(setup.target()).empty());
        if (disk.folds_case()) {
            // The first by name keeps it; the other is named in a warning on every run.
            CHECK(read_file(setup.local("Notes.txt")) == "capital");
            CHECK(read_file(setup.local("Folien/a.pdf")) == "a");
            CHECK(!std::filesystem::exists(setup.local("Folien/b.pdf")));
            const auto skipped = std::ranges::count_if(setup.warnings.warnings(), [](auto& w) {
                return w.kind == WarningKind::skipped &&
                       w.message.find("differs only in case") != std::string::npos;
            });
            CHECK(skipped == 2 * run);
        } else {
            CHECK(read_file(setup.local("Notes.txt")) == "capital");
            CHECK(read_file(setup.local("notes.txt")) == "small");
            CHECK(read_file(setup.local("folien/b.pdf")) == "b");
        }
    }
}

TEST_CASE("a name the target's file system refuses is reported, and the rest is synced") {
    const Disk kind = GENERATE(Disk::ext4, Disk::fat32, Disk::exfat);
    MountedDisk disk{kind};
    if (!disk_ready(disk))
        return;
    INFO(to_string(kind));
    Setup setup{"memory", "main", disk.root()};
    setup.put("\xC3\x9C"
              "bung 1.pdf",
              "uebung", old_time); // fusefat takes ASCII names only
    setup.put("Blatt.pdf", "blatt", old_time);
    const auto report = setup.run();
    CHECK(read_file(setup.local("Blatt.pdf")) == "blatt");
    if (std::filesystem::exists(setup.local("\xC3\x9C"
                                            "bung 1.pdf"))) {
        CHECK(read_file(setup.local("\xC3\x9C"
                                    "bung 1.pdf")) == "uebung");
        CHECK(report.errors.empty());
    } else {
        REQUIRE(report.errors.size() == 1);
        CHECK(report.errors[0].message.find("refuses this name") != std::string::npos);
        CHECK(report.exit_code() == 1);
    }
    // Never a leftover temporary.
    for (const auto& entry : std::filesystem::directory_iterator(setup.target()))
        CHECK(!entry.path().filename().string().starts_with(temporary_prefix));
}

TEST_CASE("an editor's save between kitovu's last look and its replace is kept") {
    const Disk kind = GENERATE(Disk::ext4, Disk::tmpfs, Disk::fat32, Disk::exfat);
    const std::string how = GENERATE("save by rename", "save in place");
    MountedDisk disk{kind};
    if (!disk_ready(disk))
        return;
    INFO(to_string(kind) << ", " << how);
    Setup setup{"memory", "main", disk.root()};
    setup.put("notes.txt", "remote v1", old_time);
    setup.run();
    setup.put("notes.txt", "remote v2, longer", new_time);
    const auto file = setup.local("notes.txt");
    std::string saved; // what the save left (fusefat ignores O_TRUNC: a shorter save keeps a tail)
    BeforeReplace editor{[&] {
        if (how == std::string{"save by rename"}) {
            save_by_rename(file, "my edit");
        } else {
            write_file(file, "my edit"); // a save into the open file: same inode
            set_mtime_ns(file, {new_time + 60, 0});
        }
        saved = read_file(file);
    }};
    SyncOptions options;
    options.observer = &editor;
    const auto report = setup.run(options);
    CHECK(saved.starts_with("my edit"));
    CHECK(read_file(file) == saved);
    const auto copies = conflict_copies(setup.target());
    REQUIRE(copies.size() == 1);
    CHECK(read_file(setup.target() / copies[0]) == "remote v2, longer");
    CHECK(report.count(FileState::conflict) == 1);
    CHECK(has_warning(setup.warnings, WarningKind::conflict));
    CHECK(report.exit_code() == 0);

    setup.run(); // the save is an edit from now on
    CHECK(read_file(file) == saved);
    CHECK(conflict_copies(setup.target()).size() == 1);
}

TEST_CASE("take theirs on any disk: the remote version in place, mine kept, nothing replaced") {
    const Disk kind = GENERATE(Disk::ext4, Disk::fat32, Disk::exfat);
    MountedDisk disk{kind};
    if (!disk_ready(disk))
        return;
    INFO(to_string(kind));
    Setup setup{"memory", "main", disk.root()};
    setup.put("blatt.txt", "remote v1", old_time);
    setup.run();
    write_file(setup.local("blatt.txt"), "my notes, longer");
    setup.put("blatt.txt", "remote v2", new_time);
    setup.run();
    const auto conflicts = find_conflicts(setup.target());
    REQUIRE(conflicts.size() == 1);
    const std::time_t when = 1'764'500'000;
    const auto backup = take_theirs(conflicts[0], setup.cache_file(), when);
    REQUIRE(backup);
    CHECK(read_file(setup.local("blatt.txt")) == "remote v2");
    CHECK(read_file(*backup) == "my notes, longer");
    CHECK(conflict_copies(setup.target()).empty());
    const auto report = setup.run();
    CHECK(report.count(FileState::unchanged) == 1);
    CHECK(report.bytes_downloaded == 0);
}
