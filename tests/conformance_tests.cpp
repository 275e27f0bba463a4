// The plugin conformance suite (kitovu/testing.hpp) against every plugin kitovu ships and the
// tests' in-memory one: each against its own remote, one test case each.
#include "folder_writer.hpp"
#include "memory_plugin.hpp"
#include "moodle_fixture.hpp"
#include "samba_fixture.hpp"
#include "support.hpp"

#include <kitovu/plugins/local.hpp>
#include <kitovu/plugins/moodle.hpp>
#include <kitovu/plugins/smb.hpp>
#include <kitovu/testing/catch2.hpp>

#include <catch2/catch.hpp>

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace kitovu;
using testing::check_plugin;
using testing::registered;
using testing::require_passed;
using testing::with_defaults;

namespace {

Options option(std::string name, OptionValue value) {
    Options options;
    options.set(std::move(name), std::move(value));
    return options;
}

} // namespace

TEST_CASE("the in-memory test plugin keeps every promise of the plugin interface") {
    test::forget_remote("conformance");
    auto remote = test::remote("conformance");
    const auto at = [](const std::string& path) { return "folder/" + path; };
    testing::Fixture fixture{
        .options = option("remote", std::string{"conformance"}),
        .remote_dir = "folder",
        .writer = testing::RemoteWriter{
            .make_file = [&](const std::string& path, const std::string& bytes,
                             std::int64_t mtime) { remote->put(at(path), bytes, mtime); },
            .make_folder =
                [&](const std::string& path) {
                    std::scoped_lock lock{remote->mutex};
                    remote->folders.insert(at(path));
                },
            .remove = [&](const std::string& path) { remote->remove(at(path)); },
            .make_unreadable_folder =
                [&](const std::string& path) {
                    std::scoped_lock lock{remote->mutex};
                    remote->unlistable.insert(at(path));
                },
            .make_unreadable_file =
                [&](const std::string& path) {
                    std::scoped_lock lock{remote->mutex};
                    remote->failing.insert(at(path));
                },
        }};
    require_passed(check_plugin(registered("memory"), fixture));
}

// The local plugin's checks, in a child process as an unprivileged user when this is root (CI
// is): root reads every folder, and a folder it cannot list is among the checks.
TEST_CASE("the local plugin keeps every promise of the plugin interface") {
    const auto run = [] {
        const test::TempDir dir;
        std::filesystem::create_directories(dir / "remote");
        const testing::Fixture fixture{
            .options = option("path", dir.path().string()),
            .remote_dir = "remote",
            .writer = test::folder_writer(dir / "remote", ::geteuid() != 0),
        };
        return check_plugin(registered("local"), fixture);
    };
    if (::geteuid() != 0)
        return require_passed(run());
    int pipe_ends[2];
    REQUIRE(::pipe(pipe_ends) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) { // nobody (65534): no Catch2 here, the report goes to the parent
        ::close(pipe_ends[0]);
        if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
            ::_exit(3);
        const auto report = run();
        const std::string text = report.to_string();
        const bool written =
            ::write(pipe_ends[1], text.data(), text.size()) == static_cast<ssize_t>(text.size());
        ::_exit(report.passed() && written ? 0 : 1);
    }
    ::close(pipe_ends[1]);
    std::string text;
    char buffer[4096];
    for (ssize_t got; (got = ::read(pipe_ends[0], buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<std::size_t>(got));
    ::close(pipe_ends[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    INFO(text);
    // All but what a local folder has not: options configure refuses, a server to hold still.
    std::size_t not_checked = 0;
    for (auto at = text.find("not checked"); at != std::string::npos;
         at = text.find("not checked", at + 1))
        ++not_checked;
    CHECK(not_checked == 2);
    CHECK(text.find("(no refused_options)") != std::string::npos);
    CHECK(text.find("(no hold_still)") != std::string::npos);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
}

TEST_CASE("the smb plugin keeps every promise of the plugin interface, against a real smbd") {
    test::SambaServer server;
    if (!test::samba_ready(server))
        return;
    std::filesystem::create_directories(server.share() / "suite");
    Options options = with_defaults("smb", option("hostname", std::string{"127.0.0.1"}));
    options.set("port", std::int64_t{server.port()});
    options.set("share", std::string{"skripte"});
    options.set("username", test::SambaServer::user());
    options.set("timeout", std::int64_t{5});
    options.set_secret(test::SambaServer::password());
    Options bad_host = options;
    bad_host.set("hostname", std::string{"user@127.0.0.1"});
    Options bad_share = options;
    bad_share.set("share", std::string{"skripte/sub"});
    const testing::Fixture fixture{
        .options = options,
        .refused_options = {bad_host, bad_share},
        .remote_dir = "suite",
        .writer = test::folder_writer(server.share() / "suite", true), // smbd serves as its user
    };
    require_passed(check_plugin(registered("smb"), fixture));
}

TEST_CASE("the moodle plugin keeps every promise of the plugin interface, against the fake") {
    const test::TempDir dir;
    const test::MoodleServer server{test::moodle_fixture_copy(dir)};
    Options options = with_defaults("moodle", option("url", server.url()));
    options.set("timeout", std::int64_t{5});
    options.set_secret(server.token());
    // What tests/moodle/fixture.json serves in the course, as the plugin names it: names as
    // Moodle sends them (the engine refuses the hostile ones), pages and links without a size.
    const auto file = [&](std::string path, std::uint64_t size, std::int64_t mtime) {
        const std::string name = path.substr(path.rfind('/') + 1);
        const bool plain = size != 0 && path.find("..") == std::string::npos;
        return testing::TreeEntry{
            .path = std::move(path),
            .size = size,
            .mtime = mtime,
            .bytes = plain ? std::optional{test::served(server.fixture(), name)} : std::nullopt};
    };
    const std::string week1 = "01 - Week 1: Introduction/", week2 = "02 - Week 2: Requirements/";
    testing::Fixture fixture{
        .options = options,
        .refused_options = {option("url", std::string{"ftp://127.0.0.1/"})},
        .remote_dir = "Software Engineering 1",
        .tree = {file("00 - General/Course rules/index.html", 0, 1700000002),
                 file("00 - General/Syllabus/Syllabus.pdf", 57, 1700000001),
                 file(week1 + "Moodle docs/Moodle docs.html", 0, 1700000004),
                 file(week1 + "Reader/Reader.pdf", 307200, 1700000005),
                 file(week1 + "Slides 01/Slides 01.pdf", 58, 1700000003),
                 {.path = week2 + "Broken download/Broken.pdf",
                  .size = 1234,
                  .mtime = 1700000012,
                  .refused = ErrorKind::protocol},
                 file(week2 + "Escape attempt/../../escape.txt", 57, 1700000010),
                 file(week2 + "Exercises/Exercise 1.pdf", 59, 1700000006),
                 file(week2 + "Exercises/Exercise 2.pdf", 59, 1700000007),
                 file(week2 + "Exercises/solutions/Solution 1.pdf", 59, 1700000008),
                 file(week2 + "Exercises/solutions/extra/Bonus.txt", 41, 1700000009),
                 file(week2 + "Notes week 2/Notes: week 2?.txt", 55, 1700000013),
                 file(week2 + "Outside attempt/../../outside/evil.txt", 57, 1700000011),
                 file("03 - New section/Extra reading/Extra reading.txt", 39, 1700000014)},
    };
    require_passed(check_plugin(registered("moodle"), fixture));
}

namespace {

// Breaks one promise of each kind: a folder's entries split over batches, a folder after its
// entries, a Retrieved that contradicts the listing, stop() ignored, a missing folder that is
// not "not found", a writer's error replaced, options taken that should be refused.
class CarelessPlugin final : public SyncPlugin {
  public:
    static std::span<const OptionSpec> schema() noexcept { return {}; }
    expected<void, UsageError> configure(std::string_view, const Options&) override { return {}; }
    expected<void, UsageError> list(std::string_view dir, ListFilter, WarningSink,
                                    ListSink out) override {
        if (!dir.empty())
            return fail(ErrorKind::io, "cannot list");
        for (RemoteEntry entry : {RemoteEntry{.path = "f/a.txt", .size = 1, .mtime = 10},
                                  RemoteEntry{.path = "f", .is_folder = true},
                                  RemoteEntry{.path = "f/b.txt", .size = 1, .mtime = 10}})
            out(std::span{&entry, 1});
        return {};
    }
    expected<Retrieved, UsageError> retrieve(const RemoteEntry&, ChunkWriter out) override {
        const std::string text = "x";
        for (int i = 0; i < 2; ++i)
            if (auto written = out(std::as_bytes(std::span{text}).first(i == 0 ? 1 : 0)); !written)
                return fail(ErrorKind::io, "write failed");
        return Retrieved{.size = 1, .mtime = 11};
    }
};

inline const PluginRegistry::Add<CarelessPlugin> careless{"careless", "breaks every promise"};

} // namespace

TEST_CASE("the suite reports a careless plugin's broken promises, each naming what broke") {
    const auto entry = [](std::string path) {
        return testing::TreeEntry{.path = std::move(path), .size = 1, .mtime = 10, .bytes = "x"};
    };
    const testing::Fixture fixture{
        .refused_options = {option("anything", std::int64_t{1})},
        .tree = {entry("f/a.txt"), entry("f/b.txt"), {.path = "f", .is_folder = true}}};
    const auto report = check_plugin(registered("careless"), fixture);
    INFO(report.to_string());
    CHECK_FALSE(report.passed());
    for (const char* broken :
         {"configure: refused_options[0] gave success", "list: batches: 'f/b.txt' came in batch 2",
          "list: batches: folder 'f' came in batch 1, after its entries in batch 0",
          "retrieve: Retrieved: 'f/a.txt' reports mtime 11.0, listed with 10.0",
          "retrieve: writer's error", "stop: list() after stop() gave success",
          "list: missing folder: listing 'no such folder (conformance)' gave io error"})
        CHECK(std::ranges::any_of(report.failures, [&](const std::string& failure) {
            return failure.starts_with(broken);
        }));
}

TEST_CASE("the suite reports a renamed file that lost its id and fingerprint") {
    const test::TempDir dir;
    const auto root = dir / "remote";
    std::filesystem::create_directories(root);
    auto writer = test::folder_writer(root, false);
    writer.rename = [root](const std::string& from, const std::string& to) {
        std::filesystem::copy_file(root / from, root / to); // a new file: a new inode
        std::filesystem::remove(root / from);
    };
    const testing::Fixture fixture{
        .options = option("path", dir.path().string()), .remote_dir = "remote", .writer = writer};
    const auto report = check_plugin(registered("local"), fixture);
    INFO(report.to_string());
    CHECK(std::ranges::any_of(report.failures, [](const std::string& failure) {
        return failure.starts_with("rename: a renamed file's id '");
    }));
}
