// Races with the outside world: a source that changes under the reader after the listing (a
// FIFO, a device, a link out of the source, a rewrite that puts size and time back) and two syncs
// with different caches writing into one folder at once. Every race is set up with the engine's
// observer at the moment it matters, never with sleeps.
#include "engine_setup.hpp"
#include "reliability_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <string>

using namespace kitovu;
using kitovu::test::conflict_copies;
using kitovu::test::files_in;
using kitovu::test::has_warning;
using kitovu::test::old_time;
using kitovu::test::read_file;
using kitovu::test::Setup;
using kitovu::test::TempDir;
using kitovu::test::write_file;

namespace {

// Calls `hook` once, when the file `name` has been decided (listed, not yet downloaded), and
// `on_bytes` once, when the first bytes of a download have been written.
class Hooks final : public SyncObserver {
  public:
    std::string name;
    std::function<void()> on_decided;
    std::function<void()> on_started;
    std::function<void()> on_bytes;
    std::atomic<std::uint64_t> received_bytes{0};

    void decided(const FileEvent& file, FileState) override {
        if (on_decided && file.remote_path.ends_with(name))
            std::exchange(on_decided, nullptr)();
    }
    void started(const FileEvent&) override {
        if (on_started)
            std::exchange(on_started, nullptr)();
    }
    void received(std::uint64_t bytes) override {
        received_bytes += bytes;
        if (on_bytes)
            std::exchange(on_bytes, nullptr)();
    }
};

bool has_error(const SyncReport& report, std::string_view path, std::string_view words) {
    return std::ranges::any_of(report.errors, [&](const UsageError& e) {
        return e.path.find(path) != std::string::npos && e.message.find(words) != std::string::npos;
    });
}

// Rewrites a file in place (same inode) and puts its modification time back, as a program that
// saves into an open file and restores the time would: only the change time tells.
void rewrite_keeping_size_and_time(const std::filesystem::path& file, const std::string& content) {
    struct ::stat before {};
    REQUIRE(::stat(file.c_str(), &before) == 0);
    const int fd = ::open(file.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, content.data(), content.size(), 0) ==
            static_cast<ssize_t>(content.size()));
    const ::timespec times[2] = {{0, UTIME_OMIT}, before.st_mtim};
    REQUIRE(::futimens(fd, times) == 0);
    ::close(fd);
}

// Waits until the coarse clock that stamps change times has passed `file`'s change time: on
// kernels before 6.13 a rewrite in the same tick would get the same change time.
void wait_for_the_clock_to_pass(const std::filesystem::path& file) {
    struct ::stat info {};
    REQUIRE(::stat(file.c_str(), &info) == 0);
    const std::int64_t changed = LocalIdentity::nanoseconds(info.st_ctim);
    ::timespec now{};
    do {
        ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    } while (LocalIdentity::nanoseconds(now) <= changed);
}

} // namespace

TEST_CASE("a file replaced by a FIFO after the listing is refused and the run ends") {
    const bool writer = GENERATE(false, true); // a FIFO nobody writes, or one a writer holds open
    Setup setup{"local"};
    setup.put("a.txt", "listed!");
    setup.put("b.txt", "stays a file");
    const auto source = setup.remote_root() / "EPJ/a.txt";
    int held = -1;
    Hooks hooks;
    hooks.name = "a.txt";
    hooks.on_decided = [&] {
        std::filesystem::remove(source);
        REQUIRE(::mkfifo(source.c_str(), 0644) == 0);
        if (writer)
            held = ::open(source.c_str(), O_RDWR | O_CLOEXEC); // never blocks
    };
    std::stop_source stop;
    SyncOptions options;
    options.observer = &hooks;
    options.stop = stop.get_token();
    options.cache_file = setup.cache_file();
    auto running = std::async(std::launch::async,
                              [&] { return sync(setup.settings(), options, setup.warnings); });
    // The bound only tells a hang from an end; a run that works ends at once.
    if (running.wait_for(std::chrono::seconds{60}) != std::future_status::ready) {
        stop.request_stop(); // a stop must end it too
        const bool stopped =
            running.wait_for(std::chrono::seconds{10}) == std::future_status::ready;
        if (!stopped) { // let the reader go, so that the test can end
            if (const int fd = ::open(source.c_str(), O_WRONLY | O_NONBLOCK); fd >= 0)
                ::close(fd);
            if (held >= 0)
                ::close(std::exchange(held, -1));
        }
        running.wait();
        FAIL("the run hung on the FIFO" << (stopped ? "" : ", and a stop did not end it"));
    }
    if (held >= 0)
        ::close(held);
    auto report = running.get();
    REQUIRE(report);
    CHECK(report->exit_code() == 1);
    CHECK(has_error(*report, "a.txt", "not a regular file"));
    CHECK(files_in(setup.target()) ==
          std::map<std::string, std::string>{{"b.txt", "stays a file"}});
}

TEST_CASE("a file replaced by a device or a link to /dev/zero after the listing is not read") {
    const bool device = GENERATE(true, false);
    Setup setup{"local"};
    // A small disk under the target: the old reader filled it, and must now read nothing.
    auto disk = test::Mount::small_disk(setup.target(), "8m");
    if (!test::mount_ready(disk))
        return;
    setup.put("a.txt", "listed!");
    const auto source = setup.remote_root() / "EPJ/a.txt";
    Hooks hooks;
    hooks.name = "a.txt";
    hooks.on_decided = [&] {
        std::filesystem::remove(source);
        if (device)
            REQUIRE(::mknod(source.c_str(), S_IFCHR | 0644, ::makedev(1, 5)) == 0); // /dev/zero
        else
            std::filesystem::create_symlink("/dev/zero", source);
    };
    SyncOptions options;
    options.observer = &hooks;
    const auto report = setup.run(options);
    CHECK(hooks.received_bytes == 0);
    CHECK(report.exit_code() == 1);
    CHECK(has_error(report, "a.txt", "now a device, not a regular file"));
    CHECK(files_in(setup.target()).empty());
}

TEST_CASE("the engine stops a download at the listed size, whatever the plugin sends") {
    Setup setup{"memory"};
    setup.put("a.txt", "listed!");
    setup.memory().extra_bytes = std::size_t{64} << 20; // a file that keeps growing, a device
    Hooks hooks;
    SyncOptions options;
    options.observer = &hooks;
    const auto report = setup.run(options);
    CHECK(hooks.received_bytes <= 7);
    CHECK(setup.memory().sent_bytes <= 7 + (std::size_t{64} << 10)); // refused at the first block
    CHECK(report.exit_code() == 1);
    CHECK(has_error(report, "a.txt", "more bytes than the listing said"));
    CHECK(files_in(setup.target()).empty());
}

TEST_CASE("a file rewritten during the read with size and time put back is not placed") {
    Setup setup{"local"};
    const std::string v1(3 << 20, 'a'); // more than one read block of the local plugin
    const std::string v2(3 << 20, 'b');
    setup.put("big.bin", v1, old_time);
    const auto source = setup.remote_root() / "EPJ/big.bin";
    wait_for_the_clock_to_pass(source);
    Hooks hooks;
    hooks.on_bytes = [&] { rewrite_keeping_size_and_time(source, v2); };
    SyncOptions options;
    options.observer = &hooks;
    options.jobs = 1;
    CHECK(setup.run(options).exit_code() == 1);                   // not in step: not exit 0
    CHECK_FALSE(std::filesystem::exists(setup.local("big.bin"))); // never the mix of both
    CHECK(has_warning(setup.warnings, WarningKind::changing));

    const auto report = setup.run();
    CHECK(report.exit_code() == 0);
    CHECK((read_file(setup.local("big.bin")) == v2)); // not printed: 3 MiB
}

TEST_CASE("a symbolic link in a local source is followed only when it stays inside it") {
    Setup setup{"local"};
    TempDir outside;
    write_file(outside / "id_ed25519", "SECRET KEY");
    const auto remote = setup.remote_root() / "EPJ";
    setup.put("real/doc.txt", "inside");
    setup.put("a.txt", "listed!");
    std::filesystem::create_symlink(outside / "id_ed25519", remote / "notes");
    std::filesystem::create_symlink("real/doc.txt", remote / "relative.txt");
    std::filesystem::create_symlink(remote / "real/doc.txt", remote / "absolute.txt");
    std::filesystem::create_symlink("../../EPJ/real/doc.txt", remote / "real/up.txt");
    // Inside the connection's folder, outside remote-dir: still inside what the user chose.
    write_file(setup.remote_root() / "Shared/common.txt", "shared");
    std::filesystem::create_symlink("../Shared/common.txt", remote / "common.txt");

    SECTION("in the listing") {
        const auto report = setup.run();
        CHECK(report.exit_code() == 0);
        CHECK(files_in(setup.target()) ==
              std::map<std::string, std::string>{{"a.txt", "listed!"},
                                                 {"absolute.txt", "inside"},
                                                 {"common.txt", "shared"},
                                                 {"real/doc.txt", "inside"},
                                                 {"real/up.txt", "inside"},
                                                 {"relative.txt", "inside"}});
        const auto& warnings = setup.warnings.warnings();
        const auto named = std::ranges::find_if(warnings, [](const Warning& w) {
            return w.path == "notes" && w.kind == WarningKind::skipped;
        });
        REQUIRE(named != warnings.end());
        CHECK(named->message.find("outside") != std::string::npos);
    }
    SECTION("a file swapped for a link out of the source after the listing") {
        Hooks hooks;
        hooks.name = "a.txt";
        hooks.on_decided = [&] {
            std::filesystem::remove(remote / "a.txt");
            std::filesystem::create_symlink(outside / "id_ed25519", remote / "a.txt");
        };
        SyncOptions options;
        options.observer = &hooks;
        const auto report = setup.run(options);
        CHECK(report.exit_code() == 1);
        CHECK(has_error(report, "a.txt", "outside"));
        CHECK_FALSE(std::filesystem::exists(setup.local("a.txt")));
        for (const auto& [path, content] : files_in(setup.target()))
            CHECK(content != "SECRET KEY");
    }
}

TEST_CASE("two syncs into one folder at once: the second is refused, no false conflict copy") {
    Setup setup{"memory"};
    for (int i = 0; i < 20; ++i)
        setup.put(fmt::format("f{:02}.txt", i), fmt::format("file {}", i));
    TempDir other_state;
    SyncOptions other;
    other.cache_file = other_state / "other.cache";
    // The second run starts while the first downloads its first file, and runs to its end
    // before the first goes on: the worst interleaving for the first.
    std::optional<expected<SyncReport, UsageError>> second;
    Hooks hooks;
    hooks.on_started = [&] { second = sync(setup.settings(), other, no_warnings); };
    SyncOptions first;
    first.observer = &hooks;
    first.jobs = 1;
    const auto report = setup.run(first);
    CHECK(conflict_copies(setup.target()).empty());
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::new_file) == 20);
    REQUIRE(second.has_value());
    REQUIRE_FALSE(second->has_value());
    CHECK(second->error().kind == ErrorKind::usage); // exit 2, as for a held cache lock
    CHECK(second->error().message.find("another kitovu sync") != std::string::npos);
    CHECK(second->error().path == setup.target().string());

    // One after the other, both configs are in step and neither makes a copy.
    auto again = sync(setup.settings(), other, no_warnings);
    REQUIRE(again);
    CHECK(again->exit_code() == 0);
    CHECK(conflict_copies(setup.target()).empty());
    CHECK(setup.run().exit_code() == 0);
    CHECK(conflict_copies(setup.target()).empty());
}
