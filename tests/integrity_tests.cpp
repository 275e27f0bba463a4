// Never lose an edit, never keep a wrong file, under real timing: files deleted and uploaded
// again, edits that keep size and second, files rewritten while they download, long names,
// files and folders swapping places, names that clash after sanitising, rewrites within one
// second, and what killed runs leave behind.
#include "engine_setup.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>

using namespace kitovu;
using kitovu::test::conflict_copies;
using kitovu::test::files_in;
using kitovu::test::has_warning;
using kitovu::test::new_time;
using kitovu::test::old_time;
using kitovu::test::read_file;
using kitovu::test::Setup;
using kitovu::test::TempDir;
using kitovu::test::write_file;

namespace {

// Sets a file's modification time with nanoseconds, as editors, `touch -r` and `cp -p` do.
void set_mtime_ns(const std::filesystem::path& file, std::int64_t seconds, long nanoseconds) {
    const ::timespec times[2] = {{0, UTIME_OMIT}, {static_cast<std::time_t>(seconds), nanoseconds}};
    REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
}

::timespec mtime_ns_of(const std::filesystem::path& file) {
    struct ::stat info {};
    REQUIRE(::stat(file.c_str(), &info) == 0);
    return info.st_mtim;
}

// Rewrites a file in place (same inode), as a program saving into an open file does.
void rewrite_in_place(const std::filesystem::path& file, const std::string& content) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_TRUNC);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
}

std::size_t warnings_of(const CollectingSink& sink, std::string_view kind) {
    return static_cast<std::size_t>(std::ranges::count_if(
        sink.warnings(), [&](const Warning& w) { return to_string(w.kind) == kind; }));
}

// Calls `hook` once, when the first bytes of a download have been written.
class FirstBytes final : public SyncObserver {
  public:
    explicit FirstBytes(std::function<void()> hook) : hook_(std::move(hook)) {}
    void received(std::uint64_t) override {
        if (hook_)
            std::exchange(hook_, nullptr)();
    }

  private:
    std::function<void()> hook_;
};

} // namespace

TEST_CASE("a file deleted remotely and uploaded again is judged against what kitovu placed") {
    const std::string plugin = GENERATE("memory", "local");
    Setup setup{plugin};
    setup.put("blatt3.pdf", "version 1", old_time);
    setup.put("blatt1.pdf", "stays", old_time);
    setup.run();
    setup.remove("blatt3.pdf");
    setup.run();
    CHECK(warnings_of(setup.warnings, "remote-deleted") == 1);
    setup.run(); // reported once, not every run
    CHECK(warnings_of(setup.warnings, "remote-deleted") == 1);

    SECTION("uploaded again with the same content: nothing to do, no conflict") {
        setup.put("blatt3.pdf", "version 1", old_time);
        const auto report = setup.run();
        CHECK(report.count(FileState::conflict) == 0);
        CHECK(read_file(setup.local("blatt3.pdf")) == "version 1");
    }
    SECTION("uploaded again changed, the local copy untouched: replaced, no conflict copy") {
        setup.put("blatt3.pdf", "version 2!", new_time);
        const auto report = setup.run();
        CHECK(report.count(FileState::remote_changed) == 1);
        CHECK(read_file(setup.local("blatt3.pdf")) == "version 2!");
        CHECK(conflict_copies(setup.target()).empty());
        // and later updates replace it too
        setup.put("blatt3.pdf", "version 3!!", new_time + 10);
        CHECK(setup.run().count(FileState::remote_changed) == 1);
        CHECK(read_file(setup.local("blatt3.pdf")) == "version 3!!");
        CHECK(conflict_copies(setup.target()).empty());
    }
    SECTION("uploaded again changed, the local copy edited: the edit stays, a conflict copy") {
        write_file(setup.local("blatt3.pdf"), "my notes on version 1");
        setup.put("blatt3.pdf", "version 2!", new_time);
        const auto report = setup.run();
        CHECK(report.count(FileState::conflict) == 1);
        CHECK(read_file(setup.local("blatt3.pdf")) == "my notes on version 1");
        CHECK(conflict_copies(setup.target()).size() == 1);
    }
    SECTION("the local copy deleted while gone remotely: forgotten, fetched again on return") {
        std::filesystem::remove(setup.local("blatt3.pdf"));
        setup.run();
        setup.put("blatt3.pdf", "version 2!", new_time);
        CHECK(setup.run().count(FileState::new_file) == 1);
        CHECK(read_file(setup.local("blatt3.pdf")) == "version 2!");
    }
}

TEST_CASE("an edit that keeps the size and the second of the recorded time is not overwritten") {
    Setup setup{"local"};
    setup.put("a.txt", "remote v1", old_time);
    setup.run();
    const auto placed = mtime_ns_of(setup.local("a.txt"));
    // Same size, and the time put back as `touch -r`, `cp -p` or unzip would.
    write_file(setup.local("a.txt"), "MY EDIT!!");
    set_mtime_ns(setup.local("a.txt"), placed.tv_sec, placed.tv_nsec);

    setup.put("a.txt", "remote v2", new_time);
    const auto report = setup.run();
    CHECK(report.count(FileState::conflict) == 1);
    CHECK(read_file(setup.local("a.txt")) == "MY EDIT!!");
    const auto copies = conflict_copies(setup.target());
    REQUIRE(copies.size() == 1);
    CHECK(read_file(setup.target() / copies[0]) == "remote v2");
}

TEST_CASE("a local file only touched (same bytes, new time) is not taken for an edit") {
    Setup setup{"local"};
    setup.put("a.txt", "remote v1", old_time);
    setup.run();
    set_mtime_ns(setup.local("a.txt"), new_time, 0); // `touch`: the bytes are kitovu's
    setup.put("a.txt", "remote v2", new_time + 5);
    const auto report = setup.run();
    CHECK(report.count(FileState::remote_changed) == 1);
    CHECK(read_file(setup.local("a.txt")) == "remote v2");
    CHECK(conflict_copies(setup.target()).empty());
}

TEST_CASE("a remote file rewritten in place while it downloads is not placed as the new version") {
    Setup setup{"local"};
    const std::string v1(3 << 20, 'a'); // more than one read block of the local plugin
    std::string v2 = v1;
    std::ranges::fill(v2, 'b');
    setup.put("big.bin", v1, old_time);
    const auto source = setup.remote_root() / "EPJ/big.bin";
    FirstBytes rewrite{[&] {
        rewrite_in_place(source, v2);
        set_mtime_ns(source, new_time, 0); // a save gets a later time than the listing saw
    }};
    SyncOptions options;
    options.observer = &rewrite;
    options.jobs = 1;
    setup.run(options);
    // Never a mix of both at the final name.
    if (std::filesystem::exists(setup.local("big.bin"))) {
        const auto got = read_file(setup.local("big.bin"));
        CHECK((got == v1 || got == v2));
    }
    CHECK(warnings_of(setup.warnings, "changing") == 1);

    setup.run();
    CHECK(read_file(setup.local("big.bin")) == v2);
}

TEST_CASE("a remote file rewritten within the same second is fetched again") {
    Setup setup{"local"};
    const auto source = setup.remote_root() / "EPJ/a.txt";
    setup.put("a.txt", "remote v1", old_time);
    set_mtime_ns(source, old_time, 100'000'000);
    setup.run();
    write_file(source, "remote v2");
    set_mtime_ns(source, old_time, 600'000'000); // same size, same second
    const auto report = setup.run();
    CHECK(report.count(FileState::remote_changed) == 1);
    CHECK(read_file(setup.local("a.txt")) == "remote v2");
}

TEST_CASE("a conflict copy of a file with a 250-byte name gets a name that fits") {
    Setup setup{"memory"};
    // 246 bytes of stem in two-byte characters, then ".txt": 250 bytes.
    std::string stem;
    for (int i = 0; i < 123; ++i)
        stem += "ü";
    const std::string name = stem + ".txt";
    REQUIRE(name.size() == 250);
    setup.put(name, "remote v1", old_time);
    setup.run();
    write_file(setup.local(name), "my edit");
    setup.put(name, "remote v2!", new_time);
    auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::conflict) == 1);
    const auto copies = conflict_copies(setup.target());
    REQUIRE(copies.size() == 1);
    CHECK(copies[0].size() <= 255);
    CHECK(copies[0].ends_with(".txt"));
    CHECK(read_file(setup.target() / copies[0]) == "remote v2!");
    CHECK(read_file(setup.local(name)) == "my edit");
    // The warning names the copy it made.
    CHECK(std::ranges::any_of(setup.warnings.warnings(), [&](const Warning& w) {
        return w.kind == WarningKind::conflict && w.message.find(copies[0]) != std::string::npos;
    }));

    report = setup.run(); // converges: no new copy, no error
    CHECK(report.exit_code() == 0);
    CHECK(conflict_copies(setup.target()).size() == 1);
}

TEST_CASE("a remote file replaced by a folder of its name") {
    Setup setup{"memory"};
    setup.put("Blatt", "was a file", old_time);
    setup.run();
    setup.remove("Blatt");
    setup.put("Blatt/aufgabe.pdf", "now in a folder", new_time);

    SECTION("untouched locally: the file gives way") {
        auto report = setup.run();
        CHECK(report.exit_code() == 0);
        CHECK(read_file(setup.local("Blatt/aufgabe.pdf")) == "now in a folder");
        CHECK(setup.run().exit_code() == 0);
    }
    SECTION("edited locally: the edit stays, the folder is saved beside it, reruns converge") {
        write_file(setup.local("Blatt"), "my edit");
        auto report = setup.run();
        CHECK(report.exit_code() == 0);
        CHECK(read_file(setup.local("Blatt")) == "my edit");
        CHECK(has_warning(setup.warnings, WarningKind::conflict));
        const auto copies = conflict_copies(setup.target());
        REQUIRE(copies.size() == 1);
        CHECK(read_file(setup.target() / copies[0] / "aufgabe.pdf") == "now in a folder");
        report = setup.run();
        CHECK(report.exit_code() == 0);
        CHECK(report.count(FileState::new_file) == 0);
        CHECK(conflict_copies(setup.target()) == copies);
    }
}

TEST_CASE("a remote folder replaced by a file of its name") {
    Setup setup{"memory"};
    setup.put("Blatt/aufgabe.pdf", "in a folder", old_time);
    setup.run();
    setup.remove("Blatt/aufgabe.pdf");
    setup.put("Blatt", "now a file", new_time);

    SECTION("untouched locally: the folder gives way") {
        auto report = setup.run();
        CHECK(report.exit_code() == 0);
        CHECK(read_file(setup.local("Blatt")) == "now a file");
        CHECK_FALSE(has_warning(setup.warnings, WarningKind::remote_deleted));
        CHECK(setup.run().exit_code() == 0);
    }
    SECTION("a file in it edited: the folder stays, the file is saved beside it, reruns converge") {
        write_file(setup.local("Blatt/aufgabe.pdf"), "my notes");
        auto report = setup.run();
        CHECK(report.exit_code() == 0);
        CHECK(read_file(setup.local("Blatt/aufgabe.pdf")) == "my notes");
        const auto copies = conflict_copies(setup.target());
        REQUIRE(copies.size() == 1);
        CHECK(read_file(setup.target() / copies[0]) == "now a file");
        report = setup.run();
        CHECK(report.exit_code() == 0);
        CHECK(conflict_copies(setup.target()) == copies);
    }
}

TEST_CASE("a remote name that sanitises onto a synced folder does not take its place") {
    const std::string plugin = GENERATE("memory", "local");
    Setup setup{plugin};
    setup.put("x_/a.txt", "the real x_", old_time);
    setup.run();
    setup.put("x:/a.txt", "a newcomer", old_time); // also `x_` on disk
    auto report = setup.run();
    CHECK(read_file(setup.local("x_/a.txt")) == "the real x_");
    CHECK_FALSE(has_warning(setup.warnings, WarningKind::remote_deleted));
    CHECK(has_warning(setup.warnings, WarningKind::skipped)); // about the newcomer
    const auto cache = setup.cache();
    const CacheEntry* record = cache.find(setup.local("x_/a.txt").string());
    REQUIRE(record != nullptr);
    CHECK(record->remote_path == "EPJ/x_/a.txt");
    // Later changes of the real one still arrive.
    setup.put("x_/a.txt", "the real x_, v2", new_time);
    setup.run();
    CHECK(read_file(setup.local("x_/a.txt")) == "the real x_, v2");
}

TEST_CASE("what a killed run left is removed even when its lock file is gone") {
    Setup setup{"memory"};
    setup.put("a.txt", "a");
    setup.run();
    // A temporary of a run that died (nobody holds it), and a cache save it never finished;
    // the lock file went with the cache folder's cleanup.
    write_file(setup.local(".kitovu-partial-0123456789abcdef"), "half a fi");
    write_file(setup.local(".kitovu-partial-00000001-0123456789abcdef"), "half");
    write_file(setup.cache_file().string() + ".tmp-4242", "kitovu-cache");
    std::filesystem::remove(setup.cache_file().string() + ".lock");
    setup.run();
    CHECK(files_in(setup.target()) == std::map<std::string, std::string>{{"a.txt", "a"}});
    CHECK_FALSE(std::filesystem::exists(setup.cache_file().string() + ".tmp-4242"));
}

TEST_CASE("a cache of the first format loads and no edit recorded in it is lost") {
    Setup setup{"local"};
    setup.put("kept.txt", "remote v1", old_time);
    setup.put("edited.txt", "remote v1", old_time);
    setup.run();
    // What kitovu 1 wrote: SIZE-MTIME in whole seconds for both digests.
    const auto dir = setup.target();
    std::filesystem::create_directories(setup.cache_file().parent_path());
    write_file(setup.cache_file(),
               fmt::format("kitovu-cache 1\n"
                           "{0}/kept.txt\tuni\tlocal\tEPJ/kept.txt\t9-{1}\t9-{1}\n"
                           "{0}/edited.txt\tuni\tlocal\tEPJ/edited.txt\t9-{1}\t9-{1}\n"
                           "end 2\n",
                           dir.string(), old_time));
    write_file(setup.local("edited.txt"), "my edit");
    auto report = setup.run();
    CHECK(report.count(FileState::unchanged) == 1);
    CHECK(report.count(FileState::local_changed) == 1);
    setup.put("kept.txt", "remote v2", new_time);
    setup.put("edited.txt", "remote v2", new_time);
    report = setup.run();
    CHECK(read_file(setup.local("kept.txt")) == "remote v2");
    CHECK(read_file(setup.local("edited.txt")) == "my edit");
    CHECK(report.count(FileState::conflict) == 1);
}

TEST_CASE("the cache folder is kitovu's user's alone, and links planted at its names are refused") {
    TempDir dir;
    const auto folder = dir / "cache";
    SECTION("a folder created for the cache is private") {
        REQUIRE(CacheLock::acquire(folder / "k.cache"));
        struct ::stat info {};
        REQUIRE(::stat(folder.c_str(), &info) == 0);
        CHECK((info.st_mode & 0777) == 0700);
    }
    SECTION("a link planted at the lock file's name is not followed") {
        std::filesystem::create_directories(folder);
        write_file(dir / "victim", "precious");
        std::filesystem::create_symlink(dir / "victim", folder / "k.cache.lock");
        CHECK_FALSE(CacheLock::acquire(folder / "k.cache"));
        CHECK(read_file(dir / "victim") == "precious");
    }
    SECTION("a link planted at the journal's name is not followed") {
        std::filesystem::create_directories(folder);
        write_file(dir / "victim", "precious");
        std::filesystem::create_symlink(dir / "victim", folder / "k.cache.journal");
        CHECK_FALSE(CacheJournal::open(folder / "k.cache"));
        CHECK(read_file(dir / "victim") == "precious");
    }
    SECTION("a cache folder that belongs to another user is refused") {
        REQUIRE(std::system("useradd -M kitovu-other 2>/dev/null || id kitovu-other >/dev/null") ==
                0);
        const ::passwd* other = ::getpwnam("kitovu-other");
        REQUIRE(other != nullptr);
        std::filesystem::create_directories(folder);
        REQUIRE(::chown(folder.c_str(), other->pw_uid, other->pw_gid) == 0);
        auto lock = CacheLock::acquire(folder / "k.cache");
        REQUIRE_FALSE(lock);
        CHECK(lock.error().message.find("belongs to another user") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(folder / "k.cache.lock"));
    }
    SECTION("without HOME the cache goes to the home folder of the password database") {
        const std::string home = std::getenv("HOME") != nullptr ? std::getenv("HOME") : "";
        ::unsetenv("HOME");
        ::unsetenv("XDG_DATA_HOME");
        const auto path = default_cache_path("/etc/kitovu.toml");
        if (!home.empty())
            ::setenv("HOME", home.c_str(), 1);
        REQUIRE(path);
        const ::passwd* user = ::getpwuid(::geteuid());
        REQUIRE(user != nullptr);
        CHECK(path->parent_path() == std::filesystem::path{user->pw_dir} / ".local/share/kitovu");
    }
}
