// Passwords in the window: one changed on the server is typed again there and replaces the
// keyring's item, and "Forget password" removes a connection's item (real smbd, real keyring).
#include "gui_support.hpp"

#if KITOVU_WITH_SMB && KITOVU_WITH_KEYRING
#include "keyring_fixture.hpp"

#include "folder_browser.hpp"
#include "password_retry.hpp"
#include "subject_dialog.hpp"

#include <kitovu/plugin/keyring.hpp>

#include <QDialogButtonBox>
#include <QMenu>
#include <QMenuBar>

#include <algorithm>
#include <condition_variable>
#include <mutex>

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

// Adds a subject with the subject dialog, its folder picked with Browse: answers each dialog as it
// comes up (a click that opens a dialog is queued, so that this timer answers inside it too).
// `secrets`: what to type each time a password is asked; `keep`: the answer to "Remember …?".
// `pick`: the folder chosen in the browser.
// Whatever is still open after the patience is closed: a test never hangs.
struct BrowsingUser {
    QStringList secrets;
    bool keep = true;
    QString pick = "AnI";
    bool save = true;   // OK in the subject dialog (else Cancel, once the folder is picked)
    QStringList asked;  // the secret dialogs' questions
    QStringList offers; // the other questions
    QStringList listed; // the browser's folders when the pick was made
    QStringList states; // what the browser said, as it changed
    QString remote_dir; // the subject dialog's remote folder after Browse
    std::function<void(FolderBrowser&)> while_listing; // the browser asking the server
    QTimer timer;
    QElapsedTimer clock;

    BrowsingUser() {
        clock.start();
        QObject::connect(&timer, &QTimer::timeout, [this] { answer(); });
        timer.start(10);
    }

    void answer() {
        QWidget* top = QApplication::activeModalWidget();
        if (clock.elapsed() > patience_ms) {
            if (auto* dialog = qobject_cast<QDialog*>(top))
                dialog->reject();
            return;
        }
        if (auto* dialog = qobject_cast<SecretDialog*>(top)) {
            asked << dialog->findChild<QLabel*>()->text();
            QTest::keyClicks(dialog->field(), secrets.value(asked.size() - 1, "never asked"));
            QTest::keyClick(dialog->field(), Qt::Key_Return);
        } else if (auto* box = qobject_cast<QMessageBox*>(top)) {
            offers << box->text();
            box->button(keep ? QMessageBox::Yes : QMessageBox::No)->click();
        } else if (auto* browser = qobject_cast<FolderBrowser*>(top)) {
            if (states.isEmpty() || states.back() != browser->state()->text())
                states << browser->state()->text();
            if (while_listing && browser->state()->text() == "Asking the server…")
                std::exchange(while_listing, {})(*browser);
            QTreeWidget& tree = *browser->tree();
            if (tree.topLevelItemCount() == 0)
                return;
            for (int i = 0; i < tree.topLevelItemCount(); ++i) {
                listed << tree.topLevelItem(i)->text(0);
                tree.topLevelItem(i)->setSelected(tree.topLevelItem(i)->text(0) == pick);
            }
            browser->buttons()->button(QDialogButtonBox::Ok)->click();
        } else if (auto* dialog = qobject_cast<SubjectDialog*>(top)) {
            if (!browsed) {
                browsed = true;
                QMetaObject::invokeMethod(dialog->browse_button(), &QAbstractButton::click,
                                          Qt::QueuedConnection);
                return;
            }
            remote_dir = dialog->remote_dir()->text();
            auto* ok = dialog->buttons()->button(QDialogButtonBox::Ok);
            if (save && ok->isEnabled())
                ok->click();
            else
                dialog->reject();
        }
    }

  private:
    bool browsed = false;
};

// The real keyring, watched: how many calls were inside it at once. The first call is held
// inside until a second one comes in or the test releases it.
class WatchedKeyring final : public Keyring {
  public:
    explicit WatchedKeyring(std::unique_ptr<Keyring> real) : real_(std::move(real)) {}
    KeyringAnswer lookup(const KeyringItem& item) override {
        return inside([&] { return real_->lookup(item); });
    }
    KeyringAnswer store(const KeyringItem& item, const std::string& secret) override {
        return inside([&] { return real_->store(item, secret); });
    }
    KeyringAnswer forget(const KeyringItem& item) override {
        return inside([&] { return real_->forget(item); });
    }
    bool first_held() {
        std::scoped_lock lock{mutex_};
        return held_;
    }
    void release() {
        std::scoped_lock lock{mutex_};
        released_ = true;
        changed_.notify_all();
    }
    int most_at_once() {
        std::scoped_lock lock{mutex_};
        return most_;
    }

  private:
    template <class Call>
    KeyringAnswer inside(Call call) {
        {
            std::unique_lock lock{mutex_};
            most_ = std::max(most_, ++now_);
            changed_.notify_all();
            if (!held_) {
                held_ = true;
                changed_.wait_for(lock, std::chrono::milliseconds{patience_ms},
                                  [&] { return released_ || now_ > 1; });
            }
        }
        KeyringAnswer answer = call();
        std::scoped_lock lock{mutex_};
        --now_;
        return answer;
    }

    std::unique_ptr<Keyring> real_;
    std::mutex mutex_;
    std::condition_variable changed_;
    int now_ = 0, most_ = 0;
    bool held_ = false, released_ = false;
};

} // namespace

TEST_CASE("passwords: Browse in the subject dialog asks for the password as a sync does, again "
          "with the reason when the server refuses it, keeps it when asked, and lists (real "
          "smbd, real keyring)") {
    KeptPlace place;
    if (!place.ready())
        return;
    place.server.put("AnI/Blatt1.pdf", "sheet");
    REQUIRE(place.kept().empty());
    MainWindow window{place.config(), place.cache()};
    window.show();
    BrowsingUser user;
    user.secrets = {"not the password", QString::fromStdString(SambaServer::password())};
    window.add_subject();
    user.timer.stop();

    INFO(user.asked.join(" / ").toStdString() << " | " << user.states.join(" / ").toStdString());
    REQUIRE(user.asked.size() == 2);
    CHECK(user.asked[0] == "The password for skripte:");
    CHECK(user.asked[1] == "skripte: wrong user name or password\nThe password for skripte:");
    CHECK(user.offers == QStringList{"Remember the password for skripte in the keyring?"});
    CHECK(user.listed.contains("EPJ"));
    CHECK(user.listed.contains("AnI"));
    CHECK(user.remote_dir == "AnI");
    CHECK(place.kept() == SambaServer::password()); // kept once the server took it
    auto settings = load_settings(place.config());
    REQUIRE(settings);
    REQUIRE(settings->subjects.size() == 2);
    CHECK(settings->subjects[1].sources.front().remote_dir == "AnI");

    // Kept: the next Browse asks nothing.
    BrowsingUser again;
    again.pick = "EPJ";
    window.add_subject();
    again.timer.stop();
    CHECK(again.asked.isEmpty());
    CHECK(again.listed.contains("AnI"));
}

TEST_CASE("passwords: a folder browsed while a sync runs, both asking the real keyring, asks it "
          "one call at a time and both succeed (real smbd, real keyring)") {
    KeptPlace place;
    if (!place.ready())
        return;
    place.server.put("AnI/Blatt1.pdf", "sheet");
    REQUIRE(SecretServiceKeyring{}.store(*place.item, SambaServer::password()).status ==
            KeyringAnswer::Status::done);
    MainWindow window{place.config(), place.cache()};
    auto watched = std::make_unique<WatchedKeyring>(std::make_unique<SecretServiceKeyring>(
        SecretServiceKeyring::time_limit_from_environment()));
    WatchedKeyring& keyring = *watched;
    window.set_keyring(std::move(watched));
    window.show();

    QSignalSpy ended{&window.run(), &SyncRun::ended};
    REQUIRE(window.sync({}, false));
    REQUIRE(wait_until([&] { return keyring.first_held(); })); // the sync's lookup, held
    BrowsingUser user;
    user.save = false;
    // The browse's lookup has a second to come in beside the held one (one at a time: it waits).
    user.while_listing = [&](FolderBrowser& browser) {
        QTimer::singleShot(1000, &browser, [&keyring] { keyring.release(); });
    };
    window.add_subject();
    user.timer.stop();
    keyring.release();
    REQUIRE(wait_until([&] { return ended.count() > 0; }));

    INFO(user.states.join(" / ").toStdString());
    CHECK(keyring.most_at_once() == 1);
    CHECK(user.asked.isEmpty());
    CHECK(user.listed.contains("AnI"));
    CHECK(user.remote_dir == "AnI");
    const auto outcome = qvariant_cast<SyncOutcome>(ended.takeFirst().at(0));
    REQUIRE(outcome.started);
    CHECK(outcome.report.errors.empty());
    CHECK(read_file(place.home() / "EPJ/Skript.pdf") == "notes");
}

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
