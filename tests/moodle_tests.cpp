// The moodle plugin against a fake Moodle web service (tests/moodle/server.py on loopback, from
// tests/moodle/fixture.json), driven through the real engine: a student's courses as Moodle's
// REST API describes them, including the ways Moodle fails.
#include "moodle_fixture.hpp"
#include "support.hpp"
#ifdef KITOVU_BINARY
#include "process.hpp"
#include "samba_fixture.hpp"
#endif

#include <kitovu/engine/engine.hpp>
#include <kitovu/plugins/moodle.hpp>
#ifdef KITOVU_BINARY
#include <kitovu/plugins/smb.hpp>
#endif
#include <kitovu/testing/fixture.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

using namespace kitovu;
using kitovu::test::files_in;
using kitovu::test::MoodleServer;
using kitovu::test::mtime_of;
using kitovu::test::read_file;
using kitovu::test::served;
using kitovu::test::TempDir;

namespace {

constexpr std::string_view se1 = "Software Engineering 1";

// One connection "moodle" and one subject SE1 synced from the course `remote_dir`.
class Setup {
  public:
    Setup() : server{test::moodle_fixture_copy(dir_)} {}

    std::filesystem::path target() const { return dir_ / "home/SE1"; }
    std::filesystem::path local(const std::string& relative) const { return target() / relative; }
    std::filesystem::path cache_file() const { return dir_ / "state/kitovu.cache"; }
    const std::filesystem::path& fixture() const { return server.fixture(); }

    Options options() const {
        Options options = testing::with_defaults("moodle");
        options.set("url", server.url());
        options.set("timeout", std::int64_t{5});
        return options;
    }

    // `ignore` defaults to the module whose download Moodle refuses (tested on its own).
    Settings settings(std::string remote_dir = std::string{se1},
                      std::vector<std::string> ignore = {"Broken download/"}) const {
        Settings settings;
        settings.root_dir = dir_ / "home";
        settings.connections.push_back(Connection{"moodle", "moodle", options(), {}});
        Source source{"moodle", std::move(remote_dir), target(), {}, {}};
        source.ignore = IgnoreRules::compile(ignore).value();
        settings.subjects.push_back(Subject{"SE1", {std::move(source)}, {}});
        return settings;
    }

    SyncReport run(const Settings& settings, std::optional<std::string> token = {}) {
        SyncOptions options;
        options.cache_file = cache_file();
        const std::string secret = token.value_or(server.token());
        options.prompt = [secret](std::string_view) { return std::optional{secret}; };
        auto report = sync(settings, options, warnings);
        REQUIRE(report);
        return std::move(*report);
    }

    SyncReport run() { return run(settings()); }

    bool warned(std::string_view about, std::string_view path_part) const {
        return std::ranges::any_of(warnings.warnings(), [&](const Warning& w) {
            return w.message.find(about) != std::string::npos &&
                   w.path.find(path_part) != std::string::npos;
        });
    }

  private:
    TempDir dir_;

  public:
    MoodleServer server;
    CollectingSink warnings;
};

std::string problems(const SyncReport& report) {
    std::string out;
    for (const auto& e : report.errors)
        out += e.to_string() + '\n';
    for (const auto& w : report.warnings)
        out += w.message + " (" + w.path + ")\n";
    return out;
}

} // namespace

TEST_CASE("the moodle plugin declares url, token-command and timeout, and asks for a token") {
    auto entry = PluginRegistry::find("moodle");
    REQUIRE(entry);
    std::set<std::string> names;
    for (const OptionSpec& spec : (*entry)->options)
        names.insert(std::string{spec.name});
    CHECK(names == std::set<std::string>{"url", "token-command", "timeout"});
    REQUIRE((*entry)->secret);
    CHECK((*entry)->secret->what == "token");
    CHECK((*entry)->secret->command_name() == "token-command");
    CHECK((*entry)->secret->environment_prefix == "KITOVU_TOKEN_");
    CHECK((*entry)->secret->hint.find("Security keys") != std::string_view::npos);
}

TEST_CASE("a course arrives as NN - Section/Module/filepath/filename with Moodle's times") {
    Setup setup;
    const auto report = setup.run();
    INFO(problems(report));
    CHECK(report.exit_code() == 0);

    const auto files = files_in(setup.target());
    const std::set<std::string> want{
        "00 - General/Syllabus/Syllabus.pdf",
        "00 - General/Course rules/index.html",
        "01 - Week 1_ Introduction/Slides 01/Slides 01.pdf",
        "01 - Week 1_ Introduction/Moodle docs/Moodle docs.html",
        "01 - Week 1_ Introduction/Reader/Reader.pdf",
        "02 - Week 2_ Requirements/Exercises/Exercise 1.pdf",
        "02 - Week 2_ Requirements/Exercises/Exercise 2.pdf",
        "02 - Week 2_ Requirements/Exercises/solutions/Solution 1.pdf",
        "02 - Week 2_ Requirements/Exercises/solutions/extra/Bonus.txt",
        "02 - Week 2_ Requirements/Notes week 2/Notes_ week 2_.txt",
        "03 - New section/Extra reading/Extra reading.txt",
    };
    std::set<std::string> got;
    for (const auto& [path, content] : files)
        got.insert(path);
    CHECK(got == want);

    // Bytes as served, modification times as Moodle's timemodified.
    const auto slides = setup.local("01 - Week 1_ Introduction/Slides 01/Slides 01.pdf");
    CHECK(read_file(slides) == served(setup.fixture(), "Slides 01.pdf"));
    CHECK(mtime_of(slides) == 1700000003);
    const auto reader = setup.local("01 - Week 1_ Introduction/Reader/Reader.pdf");
    CHECK(read_file(reader).size() == 307200);
    CHECK(read_file(reader) == served(setup.fixture(), "Reader.pdf"));
    CHECK(read_file(setup.local("02 - Week 2_ Requirements/Exercises/solutions/extra/Bonus.txt")) ==
          served(setup.fixture(), "Bonus.txt"));
    // A page (Moodle gives it no size) is saved with what the server sent, in a document.
    CHECK(read_file(setup.local("00 - General/Course rules/index.html"))
              .find(served(setup.fixture(), "index.html")) != std::string::npos);
    // A link module becomes an HTML file that opens the link.
    const auto link =
        read_file(setup.local("01 - Week 1_ Introduction/Moodle docs/Moodle docs.html"));
    CHECK(link.find("url=https://www.example.org/some/page") != std::string::npos);
    CHECK(mtime_of(setup.local("01 - Week 1_ Introduction/Moodle docs/Moodle docs.html")) ==
          1700000004);
}

TEST_CASE("file names from Moodle cannot lead outside the target folder") {
    Setup setup;
    const auto report = setup.run();
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    // ../../escape.txt and /../../outside/evil.txt are refused with a warning each ...
    CHECK(setup.warned("remote name refused", "escape.txt"));
    CHECK(setup.warned("remote name refused", "evil.txt"));
    // ... and nothing was written beside or above the target folder.
    const auto home = setup.target().parent_path();
    std::set<std::string> outside;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(home.parent_path())) {
        const auto name = entry.path().filename().string();
        if (name == "escape.txt" || name == "evil.txt" || name == "outside")
            outside.insert(entry.path().string());
    }
    CHECK(outside.empty());
}

TEST_CASE("an unchanged resync downloads nothing, a new timemodified downloads again") {
    Setup setup;
    REQUIRE(setup.run().exit_code() == 0);
    setup.server.reset_stats();

    auto again = setup.run();
    INFO(problems(again));
    CHECK(again.exit_code() == 0);
    CHECK(again.count(FileState::unchanged) == 11);
    CHECK(setup.server.stats().at("downloads") == 0);

    test::edit_fixture(setup.fixture(), [](nlohmann::json& fixture) {
        test::change_fixture_file(fixture, "Slides 01.pdf", "Slides, second edition", 1700100000);
        // A page changes only its time: Moodle gives it no size.
        auto& page = test::fixture_content(fixture, "index.html");
        fixture.at("files").at(test::fixture_file_key(page))["text"] = "<p>New rules</p>";
        page["timemodified"] = 1700100001;
    });
    const auto changed = setup.run();
    INFO(problems(changed));
    CHECK(changed.exit_code() == 0);
    CHECK(changed.count(FileState::remote_changed) == 2);
    CHECK(setup.server.stats().at("downloads") == 2);
    const auto slides = setup.local("01 - Week 1_ Introduction/Slides 01/Slides 01.pdf");
    CHECK(read_file(slides) == "Slides, second edition");
    CHECK(mtime_of(slides) == 1700100000);
    CHECK(read_file(setup.local("00 - General/Course rules/index.html")).find("<p>New rules</p>") !=
          std::string::npos);
}

TEST_CASE("a local edit survives a Moodle update: the new version is saved beside it") {
    Setup setup;
    REQUIRE(setup.run().exit_code() == 0);
    const auto syllabus = setup.local("00 - General/Syllabus/Syllabus.pdf");
    test::write_file(syllabus, "my annotated syllabus");

    // Unchanged on Moodle: the edit is kept, nothing is downloaded.
    auto kept = setup.run();
    INFO(problems(kept));
    CHECK(kept.count(FileState::local_changed) == 1);
    CHECK(read_file(syllabus) == "my annotated syllabus");

    // Changed on Moodle too: a conflict, both versions kept.
    test::edit_fixture(setup.fixture(), [](nlohmann::json& fixture) {
        test::change_fixture_file(fixture, "Syllabus.pdf", "syllabus v2", 1700200000);
    });
    auto conflict = setup.run();
    INFO(problems(conflict));
    CHECK(conflict.exit_code() == 0);
    CHECK(conflict.count(FileState::conflict) == 1);
    CHECK(read_file(syllabus) == "my annotated syllabus");
    bool copy_found = false;
    for (const auto& entry : std::filesystem::directory_iterator(syllabus.parent_path()))
        if (entry.path().filename().string().starts_with("Syllabus.remote-conflict-"))
            copy_found = read_file(entry.path()) == "syllabus v2";
    CHECK(copy_found);
}

TEST_CASE("a renamed section: its files are moved to the new folder, nothing stale is left") {
    Setup setup;
    REQUIRE(setup.run().exit_code() == 0);
    test::edit_fixture(setup.fixture(), [](nlohmann::json& fixture) {
        for (auto& course : fixture.at("courses"))
            for (auto& section : course.at("sections"))
                if (section.at("name") == "Week 1: Introduction")
                    section["name"] = "Week 1: Overview";
    });
    setup.server.reset_stats();
    const auto report = setup.run();
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::moved) > 0);
    CHECK(report.count(FileState::remote_deleted) == 0);
    CHECK(std::filesystem::exists(setup.local("01 - Week 1_ Overview/Slides 01/Slides 01.pdf")));
    CHECK_FALSE(std::filesystem::exists(setup.local("01 - Week 1_ Introduction")));
    CHECK(setup.server.stats().at("downloads") == 0);
}

namespace {

// Renames the file content `from` as Moodle 4.5's file manager does (recorded on a real site):
// the name, and the URL with the resource's revision bumped (/content/0/Vorlesung%201.pdf ->
// /content/1/Vorlesung%2001.pdf); timemodified changes, timecreated and filesize stay.
void rename_fixture_file(nlohmann::json& fixture, std::string_view from, const std::string& to,
                         const std::string& url_name, std::int64_t timemodified) {
    auto& content = test::fixture_content(fixture, from);
    const std::string old_key = test::fixture_file_key(content);
    const std::string url = content.at("fileurl").get<std::string>();
    const auto name_at = old_key.rfind('/');
    const auto revision_at = old_key.rfind('/', name_at - 1) + 1;
    const int revision = std::stoi(old_key.substr(revision_at, name_at - revision_at));
    const std::string new_key =
        old_key.substr(0, revision_at) + std::to_string(revision + 1) + '/' + url_name;
    content["filename"] = to;
    content["fileurl"] = new_key + url.substr(old_key.size());
    content["timemodified"] = timemodified;
    auto& files = fixture.at("files");
    files[new_key] = files.at(old_key);
    files.erase(old_key);
}

// `report` says `moved` files were moved and nothing else happened: nothing downloaded (since
// the server's stats were reset), nothing new, nothing left behind as gone.
void check_moved_only(const Setup& setup, const SyncReport& report, std::size_t moved) {
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::moved) == moved);
    CHECK(report.count(FileState::new_file) == 0);
    CHECK(report.count(FileState::remote_deleted) == 0);
    CHECK(setup.server.stats().at("downloads") == 0);
}

} // namespace

TEST_CASE("a file renamed in a resource is moved: nothing downloaded, nothing stale") {
    Setup setup;
    REQUIRE(setup.run().exit_code() == 0);
    const auto folder = setup.local("01 - Week 1_ Introduction/Slides 01");
    const auto reader_folder = setup.local("01 - Week 1_ Introduction/Reader");
    test::write_file(reader_folder / "Reader.pdf", "my notes in the reader");
    test::edit_fixture(setup.fixture(), [](nlohmann::json& fixture) {
        rename_fixture_file(fixture, "Slides 01.pdf", "Slides 1.pdf", "Slides%201.pdf", 1700300000);
        rename_fixture_file(fixture, "Reader.pdf", "Reader WS24.pdf", "Reader%20WS24.pdf",
                            1700300001);
    });
    setup.server.reset_stats();
    auto report = setup.run();
    check_moved_only(setup, report, 2);
    CHECK(read_file(folder / "Slides 1.pdf") == served(setup.fixture(), "Slides 1.pdf"));
    CHECK_FALSE(std::filesystem::exists(folder / "Slides 01.pdf"));
    // The edited file moved with its edit, and the user is told.
    CHECK(read_file(reader_folder / "Reader WS24.pdf") == "my notes in the reader");
    CHECK_FALSE(std::filesystem::exists(reader_folder / "Reader.pdf"));
    CHECK(setup.warned("moved with the remote", "Reader WS24.pdf"));

    report = setup.run(); // a no-op
    CHECK(report.count(FileState::moved) == 0);
    CHECK(report.count(FileState::local_changed) == 1);
    CHECK(setup.server.stats().at("downloads") == 0);
}

TEST_CASE("a tree and cache of kitovu's previous naming are moved to the new names, 0 downloads") {
    // Kitovu before 2026-11-30 named folders by Moodle's escaped names as sent ('&amp;',
    // trailing spaces kept) and a url module's file by Moodle's file name ('Moodle docs amp;
    // more.html'), and kept no file ids. Made here from a sync by the new names.
    Setup setup;
    test::edit_fixture(setup.fixture(), [](nlohmann::json& fixture) {
        for (auto& course : fixture.at("courses"))
            for (auto& section : course.at("sections"))
                for (auto& module : section.at("modules")) {
                    if (module.at("name") == "Slides 01")
                        module["name"] = "Slides 01 ";
                    if (module.at("name") == "Moodle docs") {
                        module["name"] = "Moodle docs & more";
                        module.at("contents").at(0).erase("filename"); // Moodle derives it
                    }
                }
    });
    REQUIRE(setup.run().exit_code() == 0);
    const auto new_tree = files_in(setup.target());
    const std::string week = "01 - Week 1_ Introduction/";
    REQUIRE(new_tree.contains(week + "Slides 01/Slides 01.pdf"));
    REQUIRE(new_tree.contains(week + "Moodle docs & more/Moodle docs & more.html"));

    const std::vector<std::pair<std::string, std::string>> renamed{
        {"/Slides 01/", "/Slides 01 /"},
        {"/Moodle docs & more/Moodle docs & more.html",
         "/Moodle docs &amp; more/Moodle docs amp; more.html"}};
    const auto old_name = [&](std::string path) {
        for (const auto& [now, before] : renamed)
            if (const auto at = path.find(now); at != std::string::npos)
                path.replace(at, now.size(), before);
        return path;
    };
    auto cache = FileCache::load(setup.cache_file(), no_warnings);
    REQUIRE(cache);
    FileCache old_cache;
    for (auto [key, entry] : cache->entries()) {
        entry.remote_path = old_name(entry.remote_path);
        entry.remote_id.clear();
        entry.remote_fingerprint.clear();
        old_cache.put(old_name(key), entry);
    }
    REQUIRE(old_cache.save(setup.cache_file()));
    const auto in_week = setup.local(week);
    std::filesystem::rename(in_week / "Slides 01", in_week / "Slides 01 ");
    std::filesystem::rename(in_week / "Moodle docs & more", in_week / "Moodle docs &amp; more");
    std::filesystem::rename(in_week / "Moodle docs &amp; more/Moodle docs & more.html",
                            in_week / "Moodle docs &amp; more/Moodle docs amp; more.html");

    setup.server.reset_stats();
    auto report = setup.run();
    check_moved_only(setup, report, 2);
    CHECK(files_in(setup.target()) == new_tree);
    report = setup.run(); // a no-op
    CHECK(report.count(FileState::moved) == 0);
    CHECK(setup.server.stats().at("downloads") == 0);
}

TEST_CASE("a refused download fails that file alone with exit 1 and Moodle's message") {
    Setup setup;
    const auto report = setup.run(setup.settings(std::string{se1}, {}));
    INFO(problems(report));
    CHECK(report.exit_code() == 1);
    REQUIRE(report.errors.size() == 1);
    const UsageError& e = report.errors.front();
    CHECK(e.path.find("Broken.pdf") != std::string::npos);
    CHECK(e.message.find("filenotfound") != std::string::npos);
    CHECK(e.connection == "moodle");
    // Nothing was written under its name, the rest arrived.
    CHECK_FALSE(std::filesystem::exists(
        setup.local("02 - Week 2_ Requirements/Broken download/Broken.pdf")));
    CHECK(std::filesystem::exists(setup.local("00 - General/Syllabus/Syllabus.pdf")));
}

TEST_CASE("an invalid token is an authentication error that says where to get one") {
    Setup setup;
    const auto report = setup.run(setup.settings(), "not-the-token");
    INFO(problems(report));
    CHECK(report.exit_code() == 1);
    REQUIRE_FALSE(report.errors.empty());
    const UsageError& e = report.errors.front();
    CHECK(e.kind == ErrorKind::authentication);
    CHECK(e.message.find("invalidtoken") != std::string::npos);
    CHECK(e.message.find("Security keys") != std::string::npos);
    CHECK(problems(report).find("not-the-token") == std::string::npos);
    CHECK(files_in(setup.target()).empty());
}

TEST_CASE("a token that stops working mid-sync fails the downloads, naming the cause") {
    Setup setup;
    // Listing works with the old token; the downloads then meet the new one.
    struct Rotate : SyncObserver {
        std::filesystem::path fixture;
        bool done = false;
        void decided(const FileEvent&, FileState) override {
            if (done)
                return;
            done = true;
            test::edit_fixture(fixture, [](nlohmann::json& f) { f["token"] = "rotated"; });
        }
    } rotate;
    rotate.fixture = setup.fixture();
    SyncOptions options;
    options.cache_file = setup.cache_file();
    const std::string token = setup.server.token();
    options.prompt = [token](std::string_view) { return std::optional{token}; };
    options.observer = &rotate;
    options.jobs = 1;
    auto report = sync(setup.settings(), options, setup.warnings);
    REQUIRE(report);
    INFO(problems(*report));
    CHECK(report->exit_code() == 1);
    REQUIRE_FALSE(report->errors.empty());
    CHECK(std::ranges::all_of(
        report->errors, [](const UsageError& e) { return e.kind == ErrorKind::authentication; }));
    CHECK(problems(*report).find(token) == std::string::npos);
    CHECK(read_file(setup.cache_file()).find(token) == std::string::npos);
}

TEST_CASE("a course the user is not enrolled in is not found, and the error lists their courses") {
    Setup setup;
    const auto report = setup.run(setup.settings("Geheimkurs"));
    INFO(problems(report));
    CHECK(report.exit_code() == 1);
    REQUIRE(report.errors.size() == 1);
    const UsageError& e = report.errors.front();
    CHECK(e.kind == ErrorKind::not_found);
    CHECK(e.message.find("Geheimkurs") != std::string::npos);
    CHECK(e.message.find("'Software Engineering 1'") != std::string::npos);
    CHECK(e.message.find("'Datenbanksysteme'") != std::string::npos);
}

TEST_CASE("a course the user is no longer enrolled in: an error saying so, the local files kept") {
    Setup setup;
    REQUIRE(setup.run().exit_code() == 0);
    const auto before = test::files_in(setup.target());
    test::edit_fixture(setup.fixture(), [](nlohmann::json& fixture) {
        for (auto& course : fixture.at("courses"))
            if (course.at("fullname") == se1)
                course["enrolled"] = false;
    });
    const auto report = setup.run();
    INFO(problems(report));
    CHECK(report.exit_code() == 1);
    REQUIRE(report.errors.size() == 1);
    const UsageError& e = report.errors.front();
    CHECK(e.kind == ErrorKind::not_found);
    CHECK(e.message ==
          "the course 'Software Engineering 1' is not, or no longer, among this user's courses "
          "('Datenbanksysteme', 'Mathe & Statistik für Informatik'): check remote-dir, or, if the "
          "enrolment ended, remove this source from the config (synced before: the local files "
          "are kept)");
    CHECK(report.count(FileState::remote_deleted) == 0);
    CHECK(test::files_in(setup.target()) == before);
}

TEST_CASE("remote-dir / syncs every course of the user, each in its own folder") {
    Setup setup;
    const auto report = setup.run(setup.settings("/"));
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    CHECK(std::filesystem::exists(
        setup.local("Software Engineering 1/00 - General/Syllabus/Syllabus.pdf")));
    CHECK(std::filesystem::exists(
        setup.local("Datenbanksysteme/00 - Allgemeines/Skript/Skript Kapitel 1.pdf")));
    CHECK(read_file(setup.local("Datenbanksysteme/00 - Allgemeines/Übung 1/Übung 1.txt")) ==
          served(setup.fixture(), "Übung 1.txt"));
    CHECK_FALSE(std::filesystem::exists(setup.local("Geheimkurs")));
}

TEST_CASE("remote-dir / with no course at all syncs nothing and is no error") {
    Setup setup;
    test::edit_fixture(setup.fixture(), [](nlohmann::json& fixture) {
        for (auto& course : fixture.at("courses"))
            course["enrolled"] = false;
    });
    const auto report = setup.run(setup.settings("/"));
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    CHECK(files_in(setup.target()).empty());
}

TEST_CASE("a Moodle that is down or not Moodle at all gives a connection or protocol error") {
    Setup setup;
    SECTION("stopped server") {
        setup.server.stop();
        const auto report = setup.run();
        CHECK(report.exit_code() == 1);
        REQUIRE_FALSE(report.errors.empty());
        CHECK(report.errors.front().kind == ErrorKind::connection);
        CHECK(report.errors.front().message.find("127.0.0.1") != std::string::npos);
    }
    SECTION("a URL that is no Moodle site") {
        auto settings = setup.settings();
        settings.connections.front().options.set("url", setup.server.url() + "nothing-here/");
        const auto report = setup.run(settings);
        CHECK(report.exit_code() == 1);
        REQUIRE_FALSE(report.errors.empty());
        CHECK(report.errors.front().message.find("url") != std::string::npos);
    }
}

TEST_CASE("a Moodle that stops answering is a connection error after the timeout") {
    Setup setup;
    test::edit_fixture(setup.fixture(), [](nlohmann::json& f) { f["rest_delay_ms"] = 4000; });
    auto settings = setup.settings();
    settings.connections.front().options.set("timeout", std::int64_t{1});
    const auto started = std::chrono::steady_clock::now();
    const auto report = setup.run(settings);
    INFO(problems(report));
    CHECK(report.exit_code() == 1);
    REQUIRE_FALSE(report.errors.empty());
    CHECK(report.errors.front().kind == ErrorKind::connection);
    CHECK(report.errors.front().message.find("no answer within 1 s") != std::string::npos);
    // One time-out, not one per call waiting for the server's 4 s.
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds{3500});
}

TEST_CASE("the token goes to the Moodle site only, never to another host a file URL names") {
    Setup setup;
    TempDir other_dir;
    const MoodleServer other{test::moodle_fixture_copy(other_dir)};
    test::edit_fixture(setup.fixture(), [&](nlohmann::json& f) {
        test::fixture_content(f, "Syllabus.pdf")["fileurl"] =
            other.url() + "webservice/pluginfile.php/201/mod_resource/content/1/Syllabus.pdf";
    });
    const auto report = setup.run();
    INFO(problems(report));
    // The other host was asked without a token (and refuses, as a Moodle would).
    CHECK(other.stats().at("downloads") == 1);
    const std::string log = other.log();
    INFO(log);
    CHECK(log.find("Syllabus.pdf") != std::string::npos);
    CHECK(log.find("token=") == std::string::npos);
}

TEST_CASE("the token is never written to the cache, the warnings or the report") {
    Setup setup;
    const auto token = setup.server.token();
    const auto report = setup.run(setup.settings(std::string{se1}, {}));
    CHECK(problems(report).find(token) == std::string::npos);
    CHECK(read_file(setup.cache_file()).find(token) == std::string::npos);
    for (const auto& w : setup.warnings.warnings())
        CHECK(w.message.find(token) == std::string::npos);
}

// ---- Moodle 4.5 as a real site answers (names, subsections, pages, restrictions, errors) --------

constexpr std::string_view mus = "Mathe & Statistik für Informatik";

std::set<std::string> paths_in(const std::filesystem::path& root) {
    std::set<std::string> paths;
    for (const auto& [path, content] : files_in(root))
        paths.insert(path);
    return paths;
}

TEST_CASE("remote-dir names a course as Moodle shows it, escaped names become plain folders") {
    Setup setup;
    // Moodle sends "Mathe &amp; Statistik für Informatik", "Q&amp;A", "Links &amp; Tools".
    const auto report = setup.run(setup.settings(std::string{mus}, {}));
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    const std::set<std::string> want{
        "00 - General/Größe & Maße/diagram.png",
        "00 - General/Größe & Maße/index.html",
        "01 - Tests & Schätzer/Q&A/qa.txt",
        "01 - Tests & Schätzer/Links & Tools/Links & Tools.html",
        "02 - New section/Deep dive/Deep file/deep.txt",
        "03 - Ausblick/Outlook/outlook.txt",
    };
    CHECK(paths_in(setup.target()) == want);
    // The link itself keeps its query ("&" in an HTML attribute is written &amp;).
    CHECK(read_file(setup.local("01 - Tests & Schätzer/Links & Tools/Links & Tools.html"))
              .find("https://www.example.org/tools?a=1&amp;b=2") != std::string::npos);
}

TEST_CASE("remote-dir / names each course's folder as Moodle shows the course") {
    Setup setup;
    const auto report = setup.run(setup.settings("/"));
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    CHECK(read_file(setup.local(std::string{mus} + "/01 - Tests & Schätzer/Q&A/qa.txt")) ==
          "Q & A\n");
    CHECK_FALSE(std::filesystem::exists(setup.local("Mathe &amp; Statistik für Informatik")));
}

TEST_CASE("a course name the user copied with Moodle's escaping still finds the course") {
    Setup setup;
    const auto report = setup.run(setup.settings("Mathe &amp; Statistik f&#252;r Informatik", {}));
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    CHECK(std::filesystem::exists(setup.local("01 - Tests & Schätzer/Q&A/qa.txt")));
}

TEST_CASE("a site that answers from another address stops, naming it, the POST is not lost") {
    Setup setup;
    std::string site;
    SECTION("Moodle's 303 to its own host name") {
        test::edit_fixture(setup.fixture(),
                           [](nlohmann::json& f) { f["site_host"] = "localhost"; });
        site = "http://localhost:" + std::to_string(setup.server.port()) + "/";
    }
    SECTION("a web server's 301 from http to https") {
        site = "https://127.0.0.1:" + std::to_string(setup.server.port()) + "/";
        test::edit_fixture(setup.fixture(), [&](nlohmann::json& f) { f["moved_to"] = site; });
    }
    SECTION("a 301 to a site in a subfolder: the site, not the endpoint, is named") {
        site = "https://127.0.0.1:" + std::to_string(setup.server.port()) + "/moodle/";
        test::edit_fixture(setup.fixture(), [&](nlohmann::json& f) { f["moved_to"] = site; });
    }
    setup.server.reset_stats();
    const auto report = setup.run();
    INFO(problems(report));
    CHECK(report.exit_code() == 1);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors.front().message.find("the site answers from " + site + ": set url = \"" +
                                             site + "\"") != std::string::npos);
    // One request: the redirect was not followed, so the token went nowhere else.
    CHECK(setup.server.stats().at("rest_calls") == 1);
    CHECK(files_in(setup.target()).empty());
}

TEST_CASE("a page is saved as a complete UTF-8 HTML document titled with its name") {
    Setup setup;
    const auto report = setup.run(setup.settings(std::string{mus}, {}));
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    const auto page = read_file(setup.local("00 - General/Größe & Maße/index.html"));
    CHECK(page.starts_with("<!DOCTYPE html>"));
    CHECK(page.find("<meta charset=\"utf-8\">") != std::string::npos);
    CHECK(page.find("<title>Größe &amp; Maße</title>") != std::string::npos);
    // Moodle's fragment as it came, its image beside it under the name the fragment uses.
    CHECK(page.find("<h1>Größe und Maße</h1><p>Übersicht: <img src=\"diagram.png\"") !=
          std::string::npos);
    CHECK(read_file(setup.local("00 - General/Größe & Maße/diagram.png")) ==
          served(setup.fixture(), "diagram.png"));
}

TEST_CASE("a page an older kitovu saved as Moodle's bare fragment is saved again as a document") {
    Setup setup;
    REQUIRE(setup.run(setup.settings(std::string{mus}, {})).exit_code() == 0);
    // An older kitovu recorded a page's remote digest as "t" + its time (and saved the bare
    // fragment): the page document's digest differs, so the page is fetched and saved again.
    std::string cache = read_file(setup.cache_file());
    const std::string digest = "h1700000031";
    REQUIRE(cache.find(digest) != std::string::npos);
    cache.replace(cache.find(digest), digest.size(), "t1700000031");
    test::write_file(setup.cache_file(), cache);
    setup.server.reset_stats();

    const auto report = setup.run(setup.settings(std::string{mus}, {}));
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::remote_changed) == 1);
    CHECK(report.count(FileState::conflict) == 0);
    CHECK(setup.server.stats().at("download_paths") ==
          nlohmann::json::array({"/webservice/pluginfile.php/500/mod_page/content/index.html"}));
    CHECK(read_file(setup.local("00 - General/Größe & Maße/index.html"))
              .starts_with("<!DOCTYPE html>"));
}

TEST_CASE("a subsection lies in its parent section's folder, a new section moves nothing") {
    Setup setup;
    REQUIRE(setup.run(setup.settings(std::string{mus}, {})).exit_code() == 0);
    CHECK(std::filesystem::exists(setup.local("02 - New section/Deep dive/Deep file/deep.txt")));
    // A teacher adds a regular section: Moodle numbers the subsection's section one higher.
    test::edit_fixture(setup.fixture(), [](nlohmann::json& fixture) {
        for (auto& course : fixture.at("courses"))
            if (course.at("id") == 5)
                course.at("sections")
                    .push_back({{"id", 54},
                                {"section", 4},
                                {"name", "Neu"},
                                {"modules", nlohmann::json::array()}});
    });
    setup.server.reset_stats();
    const auto report = setup.run(setup.settings(std::string{mus}, {}));
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::remote_deleted) == 0);
    CHECK(setup.server.stats().at("downloads") == 0);
    CHECK(std::filesystem::exists(setup.local("02 - New section/Deep dive/Deep file/deep.txt")));
}

TEST_CASE("a restricted module is skipped without error, what was synced from it is kept") {
    Setup setup;
    const auto restrict_exam = [&](bool restricted) {
        test::edit_fixture(setup.fixture(), [&](nlohmann::json& fixture) {
            for (auto& course : fixture.at("courses"))
                for (auto& section : course.at("sections"))
                    for (auto& module : section.at("modules"))
                        if (module.at("name") == "Exam (later)") {
                            if (restricted)
                                module["availabilityinfo"] =
                                    "Available from <strong>1 January 2099</strong>";
                            else
                                module.erase("availabilityinfo");
                        }
        });
    };
    const auto exam = setup.local("01 - Tests & Schätzer/Exam (later)/exam.txt");
    // Restricted from the start: nothing, and no error.
    auto first = setup.run(setup.settings(std::string{mus}, {}));
    INFO(problems(first));
    CHECK(first.exit_code() == 0);
    CHECK_FALSE(std::filesystem::exists(exam));

    restrict_exam(false);
    REQUIRE(setup.run(setup.settings(std::string{mus}, {})).exit_code() == 0);
    REQUIRE(std::filesystem::exists(exam));

    // Restricted again (a teacher closes it): kept, not reported gone, not an error.
    restrict_exam(true);
    auto closed = setup.run(setup.settings(std::string{mus}, {}));
    INFO(problems(closed));
    CHECK(closed.exit_code() == 0);
    CHECK(closed.count(FileState::remote_deleted) == 0);
    CHECK(std::filesystem::exists(exam));
    // Not news for every run: an `unavailable` note (the CLI shows it with -v only).
    CHECK(std::ranges::any_of(closed.warnings,
                              [](const Warning& w) { return w.kind == WarningKind::unavailable; }));
    CHECK(std::ranges::none_of(closed.warnings,
                               [](const Warning& w) { return w.kind == WarningKind::unlisted; }));

    // Open again: in step, nothing downloaded.
    restrict_exam(false);
    setup.server.reset_stats();
    auto reopened = setup.run(setup.settings(std::string{mus}, {}));
    INFO(problems(reopened));
    CHECK(reopened.exit_code() == 0);
    CHECK(reopened.count(FileState::conflict) == 0);
    CHECK(setup.server.stats().at("downloads") == 0);
}

TEST_CASE("the mobile web service switched off is explained, naming who can fix it") {
    Setup setup;
    test::edit_fixture(setup.fixture(), [](nlohmann::json& f) { f["mobile_service"] = false; });
    const auto report = setup.run();
    INFO(problems(report));
    CHECK(report.exit_code() == 1);
    REQUIRE(report.errors.size() == 1);
    const UsageError& e = report.errors.front();
    CHECK(e.kind == ErrorKind::permission);
    CHECK(e.message.find("accessexception") != std::string::npos);
    CHECK(e.message.find("mobile web service") != std::string::npos);
    CHECK(e.message.find("administrator") != std::string::npos);
}

TEST_CASE("web services switched off on the site (HTTP 403, no body) are explained") {
    Setup setup;
    test::edit_fixture(setup.fixture(), [](nlohmann::json& f) { f["webservices"] = false; });
    const auto report = setup.run();
    INFO(problems(report));
    CHECK(report.exit_code() == 1);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors.front().kind == ErrorKind::permission);
    CHECK(report.errors.front().message.find("HTTP 403") != std::string::npos);
    CHECK(report.errors.front().message.find("administrator") != std::string::npos);
}

TEST_CASE("a course that is not available to the user is a permission error saying so") {
    Setup setup;
    test::edit_fixture(setup.fixture(), [](nlohmann::json& fixture) {
        for (auto& course : fixture.at("courses"))
            if (course.at("fullname") == "Datenbanksysteme")
                course["suspended"] = true;
    });
    SECTION("the course itself") {
        const auto report = setup.run(setup.settings("Datenbanksysteme"));
        INFO(problems(report));
        CHECK(report.exit_code() == 1);
        REQUIRE(report.errors.size() == 1);
        CHECK(report.errors.front().kind == ErrorKind::permission);
        CHECK(report.errors.front().message.find("not available to this user") !=
              std::string::npos);
    }
    SECTION("remote-dir /: that course is reported, the others are synced") {
        const auto report = setup.run(setup.settings("/"));
        INFO(problems(report));
        CHECK(report.exit_code() == 1);
        REQUIRE(report.errors.size() == 1);
        CHECK(report.errors.front().path == "Datenbanksysteme");
        CHECK(report.errors.front().message.find("not available to this user") !=
              std::string::npos);
        CHECK(std::filesystem::exists(
            setup.local("Software Engineering 1/00 - General/Syllabus/Syllabus.pdf")));
        CHECK(std::filesystem::exists(
            setup.local(std::string{mus} + "/03 - Ausblick/Outlook/outlook.txt")));
    }
}

TEST_CASE("unnamed sections are named as Moodle sends them (topics and weeks formats)") {
    Setup setup;
    const auto report = setup.run(setup.settings("/"));
    INFO(problems(report));
    CHECK(std::filesystem::exists(
        setup.local("Datenbanksysteme/01 - 17 February - 23 February/Blatt 1/Blatt 1.txt")));
    CHECK(std::filesystem::exists(
        setup.local("Software Engineering 1/03 - New section/Extra reading/Extra reading.txt")));
}

TEST_CASE("names from Moodle are decoded as a browser shows them") {
    using detail::moodle::decode_entities;
    const std::vector<std::pair<std::string, std::string>> table{
        {"Mathe &amp; Statistik", "Mathe & Statistik"},
        {"Q&amp;A ", "Q&A "},
        {"f&uuml;r &Auml;rzte &szlig;", "für Ärzte ß"},
        {"&#252;ber &#xFC;ber &#XFC;", "über über ü"},
        {"&lt;b&gt; &quot;x&quot; &apos;y&apos; &ndash; &euro;", "<b> \"x\" 'y' – €"},
        {"&#128512;", "\xF0\x9F\x98\x80"},
        {"&#0; &#xD800; &#x110000;", "\xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD"},
        {"AT&T & Co; &unknown; &amp", "AT&T & Co; &unknown; &amp"},
        {"&amp;amp;", "&amp;"},
        {"&#;&#x;&", "&#;&#x;&"},
    };
    for (const auto& [sent, shown] : table) {
        INFO(sent);
        CHECK(decode_entities(sent) == shown);
    }
    CHECK(detail::moodle::plain_text("Available from <strong>1 January 2099</strong>\n and "
                                     "&amp; more") == "Available from 1 January 2099 and & more");
}

TEST_CASE("a course's sections and subsections become folders independent of section numbers") {
    const auto sections = nlohmann::json::parse(R"([
      {"section": 0, "name": "General", "modules": [
        {"name": "A &amp; B", "modname": "resource", "contents": []},
        {"name": " A &amp; B\n", "modname": "resource", "contents": []},
        {"name": "Forum", "modname": "forum"},
        {"name": "x &amp;lt; y", "modname": "resource", "contents": []}]},
      {"section": 1, "name": "Week 1 / 2", "component": null, "itemid": null, "modules": [
        {"name": "Deep dive", "modname": "subsection", "instance": 7},
        {"name": "Later", "modname": "resource", "uservisible": false,
         "availabilityinfo": "Available from <strong>1 January 2099</strong>"},
        {"name": "Quiz", "modname": "quiz", "uservisible": false}]},
      {"section": 2, "name": "Hidden", "uservisible": false, "modules": [
        {"name": "Secret", "modname": "resource", "contents": []}]},
      {"section": 3, "name": "Deep dive", "component": "mod_subsection", "itemid": 7, "modules": [
        {"name": "Deep file", "modname": "resource", "contents": []}]},
      {"section": 4, "name": "Orphan", "component": "mod_subsection", "itemid": 8, "modules": [
        {"name": "Lost", "modname": "resource", "contents": []}]}
    ])");
    std::vector<std::string> got;
    for (const auto& placed : detail::moodle::place_modules(sections, "Kurs/"))
        got.push_back(placed.folder + (placed.restricted ? " [" + placed.restriction + "]" : ""));
    CHECK(got == std::vector<std::string>{
                     "Kurs/00 - General/A & B",
                     "Kurs/00 - General/A & B (2)",
                     "Kurs/00 - General/x &lt; y",
                     "Kurs/01 - Week 1 _ 2/Deep dive/Deep file",
                     "Kurs/01 - Week 1 _ 2/Later [Available from 1 January 2099]",
                 });
}

TEST_CASE("moodle tokens are masked wherever a URL is shown") {
    CHECK(detail::moodle::mask_token("https://m.example.edu/f.pdf?forcedownload=1&token=abc123") ==
          "https://m.example.edu/f.pdf?forcedownload=1&token=***");
    CHECK(detail::moodle::mask_token("wstoken=abc&x=1 token=def") == "wstoken=***&x=1 token=***");
}

// ---- The kitovu binary with a Moodle and an SMB connection, as a student runs it ---------------
#ifdef KITOVU_BINARY

namespace {

struct Cli {
    TempDir dir;
    std::filesystem::path config = dir / "kitovu.toml";
    std::filesystem::path subject = dir / "home/SE1";

    test::ProcessResult kitovu(std::vector<std::string> args, const test::Environment& env) const {
        const bool syncing = args.front() == "sync";
        args.insert(args.begin(), KITOVU_BINARY);
        args.insert(args.end(), {"--config", config.string()});
        if (syncing)
            args.insert(args.end(), {"--cache", (dir / "cache").string()});
        return test::run_process(args, env);
    }
};

std::string moodle_connection(const MoodleServer& server) {
    return "[[connections]]\nname = \"moodle\"\nplugin = \"moodle\"\nurl = \"" + server.url() +
           "\"\ntimeout = 5\n";
}

} // namespace

// The course is named with "&" and "ü" (Moodle sends "&amp;"), has a subsection and a page
// with an image.
TEST_CASE("kitovu sync fills one subject folder from an SMB share and a Moodle course") {
    test::SambaServer samba;
    if (!test::samba_ready(samba))
        return;
    test::write_file(samba.share() / "EPJ/Skript/Kapitel 1.pdf", "smb chapter one");
    test::write_file(samba.share() / "EPJ/Uebungen/Serie 1.pdf", "smb exercises");
    Cli cli;
    const MoodleServer moodle{test::moodle_fixture_copy(cli.dir)};
    test::write_file(
        cli.config,
        "root-dir = \"" + (cli.dir / "home").string() +
            "\"\n\n[[connections]]\nname = \"skripte\"\nplugin = \"smb\"\nhostname = "
            "\"127.0.0.1\"\nport = " +
            std::to_string(samba.port()) + "\nshare = \"skripte\"\nusername = \"" +
            test::SambaServer::user() + "\"\ntimeout = 5\n\n" + moodle_connection(moodle) +
            "\n[[subjects]]\nname = \"SE1\"\n  [[subjects.sources]]\n  connection = \"skripte\"\n"
            "  remote-dir = \"EPJ\"\n  [[subjects.sources]]\n  connection = \"moodle\"\n"
            "  remote-dir = \"Mathe & Statistik für Informatik\"\n");
    const test::Environment env{{"KITOVU_PASSWORD_SKRIPTE", test::SambaServer::password()},
                                {"KITOVU_TOKEN_MOODLE", moodle.token()}};
    const auto result = cli.kitovu({"sync"}, env);
    INFO(result.out << result.err);
    CHECK(result.exit_code == 0);
    CHECK(read_file(cli.subject / "Skript/Kapitel 1.pdf") == "smb chapter one");
    CHECK(read_file(cli.subject / "Uebungen/Serie 1.pdf") == "smb exercises");
    CHECK(read_file(cli.subject / "01 - Tests & Schätzer/Q&A/qa.txt") ==
          served(moodle.fixture(), "qa.txt"));
    CHECK(read_file(cli.subject / "02 - New section/Deep dive/Deep file/deep.txt") ==
          served(moodle.fixture(), "deep.txt"));
    const auto page = read_file(cli.subject / "00 - General/Größe & Maße/index.html");
    CHECK(page.find("<meta charset=\"utf-8\">") != std::string::npos);
    CHECK(page.find("<img src=\"diagram.png\"") != std::string::npos);
    CHECK(read_file(cli.subject / "00 - General/Größe & Maße/diagram.png") ==
          served(moodle.fixture(), "diagram.png"));
    CHECK((result.out + result.err).find(moodle.token()) == std::string::npos);
    CHECK(read_file(cli.dir / "cache").find(moodle.token()) == std::string::npos);

    // A token that Moodle no longer accepts: exit 1, the SMB side still in step.
    test::write_file(samba.share() / "EPJ/Skript/Kapitel 2.pdf", "smb chapter two");
    test::edit_fixture(moodle.fixture(), [](nlohmann::json& f) { f["token"] = "renewed"; });
    const auto refused = cli.kitovu({"sync"}, env);
    INFO(refused.out << refused.err);
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("invalidtoken") != std::string::npos);
    CHECK(refused.err.find("Security keys") != std::string::npos);
    CHECK(read_file(cli.subject / "Skript/Kapitel 2.pdf") == "smb chapter two");
}

TEST_CASE("kitovu: Moodle errors give the contract's exit codes and say what to do") {
    Cli cli;
    const MoodleServer moodle{test::moodle_fixture_copy(cli.dir)};
    const auto config_for = [&](const std::string& connection, const std::string& course) {
        return "root-dir = \"" + (cli.dir / "home").string() + "\"\n\n" + connection +
               "\n[[subjects]]\nname = \"SE1\"\n  [[subjects.sources]]\n  connection = "
               "\"moodle\"\n  remote-dir = \"" +
               course + "\"\n";
    };
    const test::Environment env{{"KITOVU_TOKEN_MOODLE", moodle.token()}};

    SECTION("a course the user is not enrolled in: exit 1, naming the courses there are") {
        test::write_file(cli.config, config_for(moodle_connection(moodle), "Geheimkurs"));
        const auto result = cli.kitovu({"sync"}, env);
        INFO(result.out << result.err);
        CHECK(result.exit_code == 1);
        CHECK(result.err.find("the course 'Geheimkurs' is not, or no longer, among this user's "
                              "courses") != std::string::npos);
        CHECK(result.err.find("'Datenbanksysteme'") != std::string::npos);
    }
    SECTION("a download Moodle refuses: exit 1, the rest synced") {
        test::write_file(cli.config,
                         config_for(moodle_connection(moodle), "Software Engineering 1"));
        const auto result = cli.kitovu({"sync"}, env);
        INFO(result.out << result.err);
        CHECK(result.exit_code == 1);
        CHECK(result.err.find("Broken.pdf") != std::string::npos);
        CHECK(result.err.find("filenotfound") != std::string::npos);
        CHECK(std::filesystem::exists(cli.subject / "00 - General/Syllabus/Syllabus.pdf"));
    }
    SECTION("no token anywhere and no terminal: exit 1, saying where the token comes from") {
        test::write_file(cli.config,
                         config_for(moodle_connection(moodle), "Software Engineering 1"));
        const auto result = cli.kitovu({"sync"}, {{"KITOVU_TOKEN_MOODLE", ""}});
        INFO(result.out << result.err);
        CHECK(result.exit_code == 1);
        CHECK(result.err.find("token-command") != std::string::npos);
        CHECK(result.err.find("KITOVU_TOKEN_MOODLE") != std::string::npos);
    }
    SECTION("token-command supplies the token, and the token is not in the process list") {
        const auto token_file = cli.dir / "token";
        test::write_file(token_file, moodle.token() + "\n");
        test::write_file(cli.config,
                         config_for(moodle_connection(moodle) + "token-command = \"cat " +
                                        token_file.string() + "\"\n",
                                    "Datenbanksysteme"));
        const auto result = cli.kitovu({"sync"}, {});
        INFO(result.out << result.err);
        CHECK(result.exit_code == 0);
        CHECK(
            std::filesystem::exists(cli.subject / "00 - Allgemeines/Skript/Skript Kapitel 1.pdf"));
    }
    SECTION("a url that is no web address: kitovu validate exits 2 naming the line") {
        test::write_file(cli.config,
                         config_for("[[connections]]\nname = \"moodle\"\nplugin = \"moodle\"\n"
                                    "url = \"moodle.example.edu\"\n",
                                    "Software Engineering 1"));
        const auto validated = cli.kitovu({"validate"}, env);
        INFO(validated.out << validated.err);
        CHECK(validated.exit_code == 2);
        CHECK(validated.err.find("kitovu.toml:") != std::string::npos);
        CHECK(validated.err.find("url") != std::string::npos);
        CHECK(cli.kitovu({"sync"}, env).exit_code == 2);
    }
    SECTION("kitovu plugins lists moodle with its options") {
        const auto result = test::run_process({KITOVU_BINARY, "plugins"});
        CHECK(result.exit_code == 0);
        CHECK(result.out.find("moodle") != std::string::npos);
        CHECK(result.out.find("token-command") != std::string::npos);
    }
}
#endif // KITOVU_BINARY

TEST_CASE("a section inserted before others: the files of the renumbered sections are moved") {
    Setup setup;
    REQUIRE(setup.run(setup.settings(std::string{mus}, {})).exit_code() == 0);
    const auto before = test::files_in(setup.target());
    // A teacher inserts a section at the top: every later section's number goes up by one.
    test::edit_fixture(setup.fixture(), [](nlohmann::json& fixture) {
        for (auto& course : fixture.at("courses"))
            if (course.at("id") == 5) {
                auto& sections = course.at("sections");
                for (auto& section : sections)
                    if (section.at("section").get<int>() >= 1)
                        section["section"] = section.at("section").get<int>() + 1;
                sections.push_back({{"id", 55},
                                    {"section", 1},
                                    {"name", "Einleitung"},
                                    {"modules", nlohmann::json::array()}});
            }
    });
    setup.server.reset_stats();
    const auto report = setup.run(setup.settings(std::string{mus}, {}));
    INFO(problems(report));
    CHECK(report.exit_code() == 0);
    CHECK(report.count(FileState::remote_deleted) == 0);
    CHECK(report.count(FileState::moved) > 0);
    // Files Moodle gives no size (pages, links) are fetched again; the others are moved.
    CHECK(setup.server.stats().at("downloads") <= 2);
    const auto after = test::files_in(setup.target());
    CHECK(after.size() == before.size());
    CHECK_FALSE(std::filesystem::exists(setup.local("01 - Tests & Schätzer")));
    CHECK(std::filesystem::exists(setup.local("02 - Tests & Schätzer")));
}
