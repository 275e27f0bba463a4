// Passwords in the window: one changed on the server is typed again there and replaces the
// keyring's item, and "Forget password" removes a connection's item (real smbd, real keyring).
#include "gui_support.hpp"

#if KITOVU_WITH_SMB && KITOVU_WITH_KEYRING
#include "keyring_fixture.hpp"

#include "password_retry.hpp"

#include <kitovu/plugin/keyring.hpp>

#include <QMenu>
#include <QMenuBar>

using namespace kitovu;
using namespace kitovu::gui;
using namespace kitovu::test;

namespace {

// A real smbd, a real keyring on a private session bus holding an old password for it.
struct KeptPlace : SmbPlace {
    KeyringSession* session = nullptr;
    std::optional<KeyringItem> item;
    bool ready() {
        if (!SmbPlace::ready() || (session = process_keyring()) == nullptr)
            return false;
        auto settings = load_settings(config());
        REQUIRE(settings);
        item = secret_item(*settings, "skripte");
        REQUIRE(item);
        return true;
    }
    std::string kept() const {
        std::vector<std::string> attributes;
        for (const auto& [key, value] : item->attributes) {
            attributes.push_back(key);
            attributes.push_back(value);
        }
        return session->lookup(attributes);
    }
};

} // namespace

TEST_CASE("passwords: one changed on the server is typed again in the window, replaces the "
          "keyring's, and the next sync asks nothing (real smbd, real keyring)") {
    KeptPlace place;
    if (!place.ready())
        return;
    SecretServiceKeyring keyring{SecretServiceKeyring::time_limit_from_environment()};
    REQUIRE(keyring.store(*place.item, "the old password").status == KeyringAnswer::Status::done);
    REQUIRE(place.kept() == "the old password");

    MainWindow window{place.config(), place.cache()};
    window.show();
    DialogAnswers answers{QString::fromStdString(SambaServer::password()), false};
    QSignalSpy ended{&window.run(), &SyncRun::ended};
    QTest::mouseClick(window.subjects()->sync_all_button(), Qt::LeftButton);
    // The refused run, then the run with the password typed again.
    REQUIRE(wait_until([&] { return ended.count() >= 2; }));
    answers.responder.stop();
    INFO(answers.questions.join(" / ").toStdString());
    REQUIRE(answers.questions.size() == 1); // asked once, in words, no terminal command
    CHECK(answers.questions[0].contains("refused"));
    CHECK(answers.questions[0].contains("skripte"));
    CHECK_FALSE(answers.questions[0].contains("kitovu login"));
    const auto retried = qvariant_cast<SyncOutcome>(ended.at(1).at(0));
    REQUIRE(retried.started);
    CHECK(retried.report.errors.empty());
    CHECK(read_file(place.home() / "EPJ/Skript.pdf") == "notes");
    CHECK(place.kept() == SambaServer::password());

    place.server.put("EPJ/Skript2.pdf", "more notes");
    DialogAnswers none{"never asked", false};
    const auto again = sync_in(window);
    none.responder.stop();
    CHECK(again.report.errors.empty());
    CHECK(again.report.count(FileState::new_file) == 1);
    CHECK(none.questions.isEmpty());

    // Forget password, from the File menu: the item is gone.
    QAction* forget = nullptr;
    for (QAction* action : window.forget_menu()->actions())
        if (action->text().contains("skripte"))
            forget = action;
    REQUIRE(forget != nullptr);
    forget->trigger();
    CHECK(place.kept().empty());
}
#endif
