// The webdav plugin: its address and answer readers as tables, the conformance suite against two
// real servers on loopback (Apache mod_dav and rclone, each with what it does differently), and
// whole syncs against a fake Nextcloud (share links, renames followed by file id, errors).
#include "folder_writer.hpp"
#include "support.hpp"
#include "webdav_fixture.hpp"

#include <kitovu/engine/engine.hpp>
#include <kitovu/plugins/webdav.hpp>
#include <kitovu/testing/catch2.hpp>
#include <kitovu/testing/hold_still.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <string>

using namespace kitovu;
using namespace kitovu::detail::webdav;

namespace {

Options dav_options(const test::DavServer& server, std::string url = {}) {
    Options options;
    options.set("url", url.empty() ? server.url() : url);
    options.set("username", std::string{test::DavServer::user});
    options = testing::with_defaults("webdav", options);
    options.set_secret(test::DavServer::password);
    return options;
}

testing::Fixture conformance_fixture(const test::DavServer& server, bool unreadable) {
    std::filesystem::create_directories(server.root() / "conformance");
    Options bad_url = dav_options(server, "ftp://127.0.0.1/");
    Options bad_share = dav_options(server, server.origin() + "/s/OtherToken");
    return testing::Fixture{.options = dav_options(server),
                            .refused_options = {bad_url, bad_share},
                            .remote_dir = "conformance",
                            .writer =
                                test::folder_writer(server.root() / "conformance", unreadable)};
}

bool root_user() {
    return ::geteuid() == 0;
}

// A whole sync of `remote_dir` from `server` into `target`, as the CLI runs one.
struct DavSync {
    const test::DavServer& server;
    std::filesystem::path target;
    std::string url{};
    std::string password = test::DavServer::password;
    std::string user = test::DavServer::user;
    std::string remote_dir = "course";
    std::int64_t timeout = 30;
    std::filesystem::path cache = target.parent_path() / "kitovu.cache";
    CollectingSink warnings{};

    SyncReport run(SyncOptions options = {}) {
        Settings settings;
        settings.root_dir = target.parent_path();
        Options given;
        given.set("url", url.empty() ? server.url() : url);
        given.set("username", user);
        given.set("password-command", "printf '%s\\n' '" + password + "'");
        given.set("timeout", timeout);
        settings.connections.push_back(
            Connection{"cloud", "webdav", testing::with_defaults("webdav", given), {}});
        settings.subjects.push_back(
            Subject{"course", {Source{"cloud", remote_dir, target, {}, {}}}, {}});
        options.cache_file = cache;
        auto report = sync(settings, options, warnings);
        REQUIRE(report);
        return std::move(*report);
    }
};

} // namespace

TEST_CASE("webdav: paths are escaped for requests and unescaped from answers") {
    CHECK(encode_path("Übung 1/a+b.pdf") == "%C3%9Cbung%201/a%2Bb.pdf");
    CHECK(encode_path("100%") == "100%25");
    CHECK(decode("%C3%9Cbung%201") == "Übung 1");
    CHECK(decode("a%2") == std::nullopt);
    CHECK(decode("a%zz") == std::nullopt);
    CHECK(folder_url("http://h/dav/", "/a b/") == "http://h/dav/a%20b/");
    CHECK(folder_url("http://h/dav/", "") == "http://h/dav/");

    // An answer's href placed below the folder asked for, whatever the server escaped.
    const std::string folder = "http://h/dav/%C3%9Cbung%201/";
    CHECK(below(folder, "/dav/%C3%9Cbung%201/") == "");
    CHECK(below(folder, "/dav/%c3%9cbung 1") == "");
    CHECK(below(folder, "http://h/dav/%C3%9Cbung%201/Blatt%20%231.pdf") == "Blatt #1.pdf");
    CHECK(below(folder, "/dav/%C3%9Cbung%201/sub/") == "sub");
    CHECK(below(folder, "/dav/%C3%9Cbung%201/sub/deeper.txt") == std::nullopt);
    CHECK(below(folder, "/dav/other/") == std::nullopt);
    CHECK(below(folder, "/dav/%C3%9Cbung%201/%zz") == std::nullopt);
}

TEST_CASE("webdav: Nextcloud share links become the share's WebDAV root with the token as user") {
    const auto share = share_link("https://cloud.example.org/s/AbC123");
    REQUIRE(share);
    CHECK(share->root == "https://cloud.example.org/public.php/webdav/");
    CHECK(share->token == "AbC123");
    CHECK(share_link("https://cloud.example.org/index.php/s/AbC123/")->root ==
          "https://cloud.example.org/public.php/webdav/");
    CHECK(share_link("https://uni.example/nextcloud/s/X9")->root ==
          "https://uni.example/nextcloud/public.php/webdav/");
    CHECK_FALSE(share_link("https://cloud.example.org/remote.php/dav/files/alice/"));
    CHECK_FALSE(share_link("https://s/AbC123"));
    CHECK_FALSE(share_link("https://cloud.example.org/s/a-b"));
}

TEST_CASE("webdav: HTTP dates are UTC whatever the machine's time zone") {
    const char* before = std::getenv("TZ");
    const std::string saved = before ? before : "";
    for (const char* zone : {"UTC", "Pacific/Kiritimati", "America/Adak"}) {
        ::setenv("TZ", zone, 1);
        ::tzset();
        CHECK(http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
        CHECK(http_date("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
    }
    before ? ::setenv("TZ", saved.c_str(), 1) : ::unsetenv("TZ");
    ::tzset();
    CHECK(http_date("Sun, 06 Nov 1994 08:49:37 CET") == std::nullopt);
    CHECK(http_date("Sun, 31 Feb 1994 08:49:37 GMT") == std::nullopt);
    CHECK(http_date("") == std::nullopt);
}

TEST_CASE("webdav: a Nextcloud PROPFIND answer gives ids, quoted ETags and only 200 properties") {
    const auto entries = read_multistatus(R"(<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:response>
<d:href>/remote.php/dav/files/alice/Kurs/</d:href><d:propstat><d:prop>
<d:resourcetype><d:collection/></d:resourcetype><d:getetag>&quot;65f1&quot;</d:getetag>
<oc:fileid>17</oc:fileid></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
<d:propstat><d:prop><d:getcontentlength/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status>
</d:propstat></d:response><d:response><d:href>/remote.php/dav/files/alice/Kurs/Blatt%201.pdf</d:href>
<d:propstat><d:prop><d:resourcetype/><d:getcontentlength>1234</d:getcontentlength>
<d:getlastmodified>Tue, 05 Mar 2024 10:00:00 GMT</d:getlastmodified>
<d:getetag>"abc"</d:getetag><oc:fileid>42</oc:fileid><oc:permissions>RGDNVW</oc:permissions>
</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/remote.php/dav/files/alice/Kurs/x</d:href>
<d:status>HTTP/1.1 403 Forbidden</d:status></d:response></d:multistatus>)");
    REQUIRE(entries);
    REQUIRE(entries->size() == 3);
    CHECK((*entries)[0].is_folder);
    CHECK((*entries)[0].file_id == "17");
    CHECK_FALSE((*entries)[0].length);
    CHECK((*entries)[1].length == 1234);
    CHECK((*entries)[1].mtime == 1709632800);
    CHECK((*entries)[1].etag == "\"abc\"");
    CHECK((*entries)[1].file_id == "42");
    CHECK((*entries)[1].permissions == "RGDNVW");
    CHECK((*entries)[2].status == 403);
    CHECK_FALSE(read_multistatus("<d:multistatus xmlns:d='DAV:'><d:response>"));
}

TEST_CASE("webdav keeps every promise of the plugin interface against Apache mod_dav") {
    test::DavServer apache{"apache"};
    INFO(apache.log());
    testing::require_passed(testing::check_plugin(testing::registered("webdav"),
                                                  conformance_fixture(apache, root_user())));
}

// rclone answers a folder it cannot read with 207 and no entries (as an empty folder) and a file
// it cannot read with 200 and a broken body: the suite runs without unreadable entries, and the
// two are tested on their own below.
TEST_CASE("webdav keeps every promise of the plugin interface against rclone serve webdav") {
    test::DavServer rclone{"rclone"};
    INFO(rclone.log());
    testing::require_passed(
        testing::check_plugin(testing::registered("webdav"), conformance_fixture(rclone, false)));
}

// The fake Nextcloud gives file ids (oc:fileid): the suite's rename check runs on them.
TEST_CASE("webdav keeps every promise of the plugin interface against the fake Nextcloud") {
    test::DavServer cloud{"nextcloud"};
    INFO(cloud.log());
    testing::require_passed(
        testing::check_plugin(testing::registered("webdav"), conformance_fixture(cloud, false)));
}

TEST_CASE("webdav: a folder rclone cannot read is not taken for emptied, its files stay known") {
    if (!root_user()) {
        WARN("not checked: rclone runs as nobody only when the tests run as root");
        return;
    }
    test::DavServer rclone{"rclone"};
    test::TempDir home;
    test::write_file(rclone.root() / "course/open.txt", "open");
    test::write_file(rclone.root() / "course/locked/inside.txt", "inside");
    DavSync sync{rclone, home / "course"};
    REQUIRE(sync.run().exit_code() == 0);
    REQUIRE(test::read_file(home / "course/locked/inside.txt") == "inside");

    std::filesystem::permissions(rclone.root() / "course/locked", std::filesystem::perms::none);
    const auto report = sync.run();
    CHECK(report.count(FileState::remote_deleted) == 0);
    CHECK(report.count(FileState::unchanged) == 1);
    CHECK(test::read_file(home / "course/locked/inside.txt") == "inside");
}

TEST_CASE("webdav: a file rclone cannot read fails alone and leaves nothing behind") {
    if (!root_user()) {
        WARN("not checked: rclone runs as nobody only when the tests run as root");
        return;
    }
    test::DavServer rclone{"rclone"};
    test::TempDir home;
    test::write_file(rclone.root() / "course/open.txt", "open");
    test::write_file(rclone.root() / "course/secret.txt", "secret");
    test::write_file(rclone.root() / "course/summary.txt", "summary");
    std::filesystem::permissions(rclone.root() / "course/secret.txt", std::filesystem::perms::none);
    DavSync sync{rclone, home / "course"};
    // rclone answers 200 and then breaks the transfer off: the server still answers, so the file
    // after it (one download at a time, in byte order) is tried, not given up with it.
    SyncOptions one_at_a_time;
    one_at_a_time.jobs = 1;
    const auto report = sync.run(one_at_a_time);
    std::string said;
    for (const auto& error : report.errors)
        said += error.to_string() + '\n';
    for (const auto& warning : report.warnings)
        said += warning.to_string() + '\n';
    INFO(said << rclone.log());
    CHECK(report.exit_code() == 1);
    CHECK(report.failed == 1);
    CHECK(test::files_in(home / "course") ==
          std::map<std::string, std::string>{{"open.txt", "open"}, {"summary.txt", "summary"}});
}

TEST_CASE("webdav keeps every promise against Apache behind a proxy that holds still") {
    test::DavServer apache{"apache"};
    testing::HoldStill proxy{static_cast<std::uint16_t>(apache.port())};
    auto fixture = conformance_fixture(apache, false);
    fixture.options.set("url", "http://127.0.0.1:" + std::to_string(proxy.port()) + "/");
    fixture.options.set("timeout", std::int64_t{2});
    fixture.hold_still = proxy.hook(std::chrono::seconds{2});
    INFO(apache.log());
    testing::require_passed(testing::check_plugin(testing::registered("webdav"), fixture));
}

TEST_CASE("webdav syncs a Nextcloud folder and follows a rename by file id without a download") {
    test::DavServer cloud{"nextcloud"};
    test::TempDir home;
    test::write_file(cloud.root() / "course/Woche 1/Blatt #1.pdf", test::random_bytes(5000, 1));
    test::write_file(cloud.root() / "course/Übersicht.txt", "hallo");
    DavSync sync{cloud, home / "course"};
    const auto first = sync.run();
    INFO(cloud.log());
    CHECK(first.exit_code() == 0);
    CHECK(first.count(FileState::new_file) == 2);
    CHECK(test::read_file(home / "course/Woche 1/Blatt #1.pdf") == test::random_bytes(5000, 1));
    CHECK(test::read_file(home / "course/Übersicht.txt") == "hallo");
    const auto sent = cloud.bytes_sent();

    std::filesystem::rename(cloud.root() / "course/Woche 1/Blatt #1.pdf",
                            cloud.root() / "course/Woche 1/Blatt 1 (korrigiert).pdf");
    const auto second = sync.run();
    CHECK(second.exit_code() == 0);
    CHECK(second.count(FileState::moved) == 1);
    CHECK(second.bytes_downloaded == 0);
    CHECK(cloud.bytes_sent() == sent);
    CHECK(test::read_file(home / "course/Woche 1/Blatt 1 (korrigiert).pdf") ==
          test::random_bytes(5000, 1));
    CHECK_FALSE(std::filesystem::exists(home / "course/Woche 1/Blatt #1.pdf"));
}

TEST_CASE("webdav syncs a Nextcloud public share link with its share password") {
    test::DavServer cloud{"nextcloud"};
    test::TempDir home;
    test::write_file(cloud.root() / "Skript/kapitel.pdf", "kapitel");
    DavSync sync{cloud, home / "course"};
    sync.url = cloud.origin() + "/s/" + test::DavServer::token;
    sync.user = test::DavServer::token;
    sync.password = test::DavServer::share_password;
    sync.remote_dir = "Skript";
    const auto report = sync.run();
    INFO(cloud.log());
    CHECK(report.exit_code() == 0);
    CHECK(test::read_file(home / "course/kapitel.pdf") == "kapitel");
}

TEST_CASE("webdav says what is wrong: password, folder, moved server") {
    test::DavServer cloud{"nextcloud"};
    test::TempDir home;
    test::write_file(cloud.root() / "course/a.txt", "a");
    DavSync sync{cloud, home / "course"};

    sync.password = "wrong";
    auto report = sync.run();
    REQUIRE(report.errors.size() == 1);
    CHECK(report.exit_code() == 1);
    CHECK(report.errors[0].kind == ErrorKind::authentication);
    CHECK(report.errors[0].to_string().find("refuses this user name and password (401)") !=
          std::string::npos);
    CHECK(report.errors[0].to_string().find("wrong") == std::string::npos);

    sync.password = test::DavServer::password;
    sync.remote_dir = "no such course";
    report = sync.run();
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].kind == ErrorKind::not_found);
    CHECK(report.errors[0].path == "no such course");

    sync.remote_dir = "course";
    sync.url = cloud.origin() + "/old/";
    report = sync.run();
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].kind == ErrorKind::config);
    CHECK(report.errors[0].message.find("set url = \"" + cloud.url() + "\"") != std::string::npos);
    CHECK(test::files_in(home / "course").empty());
}

TEST_CASE("webdav: a server that stops answering ends the run within its timeout") {
    test::DavServer cloud{"nextcloud"};
    test::TempDir home;
    test::write_file(cloud.root() / "course/a.txt", "a");
    DavSync sync{cloud, home / "course"};
    testing::HoldStill proxy{static_cast<std::uint16_t>(cloud.port())};
    sync.url = "http://127.0.0.1:" + std::to_string(proxy.port()) + "/remote.php/dav/files/" +
               test::DavServer::user + "/";
    sync.timeout = 2;
    proxy.freeze();
    const auto started = std::chrono::steady_clock::now();
    const auto report = sync.run();
    const auto took = std::chrono::steady_clock::now() - started;
    proxy.thaw();
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].kind == ErrorKind::connection);
    INFO(report.errors[0].to_string());
    CHECK(report.errors[0].message.find("no answer within 2 s") != std::string::npos);
    CHECK(took < std::chrono::seconds{20});
}
