// Passwords and tokens in the desktop keyring, end to end: the kitovu binary against a real smbd
// and the fake Moodle, with a real gnome-keyring-daemon on a private D-Bus session bus.
#include "keyring_fixture.hpp"
#include "moodle_fixture.hpp"
#include "process.hpp"
#include "samba_fixture.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>

using kitovu::test::Environment;
using kitovu::test::KeyringSession;
using kitovu::test::run_on_terminal;
using kitovu::test::run_process;
using kitovu::test::SambaServer;
using kitovu::test::TempDir;

namespace {

// One connection `connection` in a config, with what the keyring scenario needs to know of it.
struct Account {
    std::string connection;
    std::string what;                                      // "password", "token"
    std::string secret;                                    // what the server accepts now
    std::vector<std::string> attributes;                   // the keyring item's, for secret-tool
    std::function<void(const std::string&)> change_secret; // on the server
};

std::vector<std::string> command(const TempDir& dir, std::vector<std::string> args) {
    const bool syncing = args.front() == "sync";
    args.insert(args.begin(), KITOVU_BINARY);
    args.insert(args.end(), {"--config", (dir / "kitovu.toml").string()});
    if (syncing)
        args.insert(args.end(), {"--cache", (dir / "cache").string()});
    return args;
}

// The whole life of a kept secret: refused when typed wrong (not kept), typed right and kept,
// used without asking, refused after a change on the server (said so, not asked again),
// replaced with `kitovu login`, removed with `kitovu logout`.
void keep_use_replace_remove(const TempDir& dir, const KeyringSession& session, Account account) {
    const Environment env = session.environment();
    const auto sync = command(dir, {"sync"});
    // The question, maybe followed by a hint where to find the secret.
    const std::string prompt = account.what + " for " + account.connection;

    const auto wrong =
        run_on_terminal(sync, env, {{prompt, "not-the-" + account.what + "\n"}, {"[Y/n] ", "y\n"}});
    INFO(wrong.out);
    CHECK(wrong.exit_code == 1);
    CHECK(session.lookup(account.attributes).empty());

    const auto first =
        run_on_terminal(sync, env, {{prompt, account.secret + "\n"}, {"[Y/n] ", "\n"}});
    INFO(first.out);
    CHECK(first.exit_code == 0);
    CHECK(first.out.find(account.secret) == std::string::npos);
    CHECK(session.lookup(account.attributes) == account.secret);

    // No terminal: it could not ask, so the secret came from the keyring.
    const auto second = run_process(sync, env);
    INFO(second.err);
    CHECK(second.exit_code == 0);
    const auto info = run_process(command(dir, {"fileinfo"}), env);
    CHECK(info.out.find(account.what + " for " + account.connection + ": from the keyring") !=
          std::string::npos);
    CHECK(info.out.find(account.secret) == std::string::npos);

    const std::string changed = "changed-" + account.secret;
    account.change_secret(changed);
    const auto refused = run_on_terminal(sync, env, std::vector<kitovu::test::Reply>{});
    INFO(refused.out);
    CHECK(refused.exit_code == 1);
    CHECK(refused.out.find("the " + account.what + " kept in the keyring for `" +
                           account.connection + "` was refused: `kitovu login " +
                           account.connection + "`") != std::string::npos);
    CHECK(refused.out.find(prompt) == std::string::npos);

    const auto refused_login = run_on_terminal(command(dir, {"login", account.connection}), env,
                                               {{prompt, "still-not-the-" + account.what + "\n"}});
    INFO(refused_login.out);
    CHECK(refused_login.exit_code == 1);
    CHECK(refused_login.out.find("the " + account.what + " was not kept in the keyring") !=
          std::string::npos);
    CHECK(session.lookup(account.attributes) == account.secret);

    const auto login = run_on_terminal(command(dir, {"login", account.connection}), env,
                                       {{prompt, changed + "\n"}});
    INFO(login.out);
    CHECK(login.exit_code == 0);
    CHECK(session.lookup(account.attributes) == changed);
    CHECK(run_process(sync, env).exit_code == 0);

    const auto logout = run_process(command(dir, {"logout", account.connection}), env);
    CHECK(logout.exit_code == 0);
    CHECK(session.lookup(account.attributes).empty());
    CHECK(run_process(sync, env).exit_code == 1); // nothing kept, nobody to ask
}

// A real smbd sharing EPJ/Skript.pdf, and a config with one connection `uni` to it.
struct Uni {
    SambaServer server;
    TempDir dir;

    // Call first: false (a failure under CI) when smbd cannot run here.
    bool ready() {
        if (!kitovu::test::samba_ready(server))
            return false;
        server.put("EPJ/Skript.pdf", "lecture", 1'600'000'000);
        kitovu::test::write_file(dir / "kitovu.toml", server.kitovu_config(dir / "root", "uni"));
        return true;
    }
    // The keyring item's attributes, for secret-tool.
    std::vector<std::string> attributes() const {
        return {"plugin", "smb",
                "server", "127.0.0.1:" + std::to_string(server.port()),
                "user",   SambaServer::user()};
    }
    std::vector<std::string> sync() const { return command(dir, {"sync"}); }
    bool synced() const {
        return kitovu::test::read_file(dir / "root/EPJ/Skript.pdf") == "lecture";
    }
};

} // namespace

TEST_CASE("an smb password is kept in the keyring once the server accepted it, and asked once") {
    Uni uni;
    if (!uni.ready())
        return;
    KeyringSession session;
    if (!kitovu::test::keyring_ready(session))
        return;
    keep_use_replace_remove(
        uni.dir, session,
        {"uni", "password", SambaServer::password(), uni.attributes(),
         [&](const std::string& password) {
             const auto set =
                 run_process({"/bin/sh", "-c",
                              "printf '%s\\n%s\\n' \"$1\" \"$1\" | smbpasswd -c \"$2\" "
                              "-s \"$3\" >/dev/null",
                              "sh", password, uni.server.config().string(), SambaServer::user()});
             REQUIRE(set.exit_code == 0);
         }});
    CHECK(uni.synced());
}

TEST_CASE("a Moodle token is kept in the keyring once the site accepted it, and asked once") {
    KeyringSession session;
    if (!kitovu::test::keyring_ready(session))
        return;
    TempDir dir;
    const kitovu::test::MoodleServer moodle{kitovu::test::moodle_fixture_copy(dir)};
    kitovu::test::write_file(dir / "kitovu.toml",
                             "root-dir = \"" + (dir / "root").string() +
                                 "\"\n[[connections]]\nname = \"moodle\"\nplugin = \"moodle\"\n"
                                 "url = \"" +
                                 moodle.url() +
                                 "\"\ntimeout = 5\n[[subjects]]\nname = \"SE1\"\n"
                                 "  [[subjects.sources]]\n  connection = \"moodle\"\n"
                                 "  remote-dir = \"Software Engineering 1\"\n"
                                 "  ignore = [\"Broken download/\"]\n");
    std::string site = moodle.url();
    site.pop_back(); // kept without the trailing slash
    keep_use_replace_remove(dir, session,
                            {"moodle",
                             "token",
                             moodle.token(),
                             {"plugin", "moodle", "server", site},
                             [&](const std::string& token) {
                                 auto fixture = kitovu::test::load_fixture(moodle.fixture());
                                 fixture["token"] = token;
                                 kitovu::test::save_fixture(moodle.fixture(), fixture);
                             }});
}

TEST_CASE("without a Secret Service the prompt still works and says why nothing is remembered") {
    Uni uni;
    if (!uni.ready())
        return;
    // No session bus at all, as on a server or in a container.
    const Environment env{{"DBUS_SESSION_BUS_ADDRESS", ""},
                          {"XDG_RUNTIME_DIR", (uni.dir / "run").string()},
                          {"DISPLAY", ""},
                          {"HOME", uni.dir.path().string()}};
    const auto result =
        run_on_terminal(uni.sync(), env, {{"password for uni: ", SambaServer::password() + "\n"}});
    INFO(result.out);
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("the password cannot be remembered: there is no D-Bus session to find a "
                          "keyring on") != std::string::npos);
    CHECK(result.out.find("[Y/n]") == std::string::npos);
    CHECK(uni.synced());

    // A session bus without a keyring on it, and no terminal: the error says why.
    KeyringSession bus_only{false};
    if (!kitovu::test::keyring_ready(bus_only))
        return;
    const auto piped = run_process(uni.sync(), bus_only.environment());
    CHECK(piped.exit_code == 1);
    CHECK(piped.err.find("the keyring cannot help: no Secret Service (such as GNOME Keyring or "
                         "KeePassXC) runs in this session") != std::string::npos);
    const auto login = run_process(command(uni.dir, {"login", "uni"}), bus_only.environment());
    CHECK(login.exit_code == 1);
    CHECK(login.err.find("uni: no keyring to keep the password in: no Secret Service") !=
          std::string::npos);
}

TEST_CASE("kitovu login and logout name a connection that is not there or keeps no password") {
    TempDir dir;
    kitovu::test::write_file(dir / "kitovu.toml",
                             "root-dir = \"" + (dir / "root").string() +
                                 "\"\n[[connections]]\nname = \"mirror\"\nplugin = \"local\"\n"
                                 "path = \"" +
                                 dir.path().string() + "\"\n");
    for (const char* verb : {"login", "logout"}) {
        const auto unknown = run_process(command(dir, {verb, "uni"}));
        CHECK(unknown.exit_code == 2);
        CHECK(unknown.err.find("no connection `uni` in the config (connections: mirror)") !=
              std::string::npos);
        const auto local = run_process(command(dir, {verb, "mirror"}));
        CHECK(local.exit_code == 2);
        CHECK(
            local.err.find("connection `mirror` (plugin local) has no password or token to keep") !=
            std::string::npos);
    }
}

TEST_CASE("a keyring that never answers costs its time limit once, then the prompt") {
    Uni uni;
    if (!uni.ready())
        return;
    KeyringSession session;
    if (!kitovu::test::keyring_ready(session))
        return;
    session.freeze();
    auto env = session.environment();
    env["KITOVU_KEYRING_TIMEOUT"] = "1";
    const auto started = std::chrono::steady_clock::now();
    const auto result =
        run_on_terminal(uni.sync(), env, {{"password for uni: ", SambaServer::password() + "\n"}});
    INFO(result.out);
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("the password cannot be remembered: the keyring did not answer within "
                          "1 s") != std::string::npos);
    // Far below the default limit (25 s) and D-Bus's own: the limit set was the one kept.
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds{20});
}
