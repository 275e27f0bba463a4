// The first-run assistant against real servers, as a student sets kitovu up: a real smbd and the
// fake Moodle, the password or token typed once, Test connection, folders or courses picked in
// the browser, Save, no TOML typed. The saved config passes `kitovu validate`, the secret is in
// a real keyring and not in the file, and Sync all then syncs without asking anything. In German,
// the assistant's picture for the user guide shows no English words.
#include "gui_support.hpp"

#if KITOVU_WITH_SMB && KITOVU_WITH_KEYRING && KITOVU_WITH_MOODLE
#include "keyring_fixture.hpp"
#include "moodle_fixture.hpp"

#include "first_run.hpp"
#include "translations.hpp"

#include <kitovu/plugin/keyring.hpp>

#include <QComboBox>
#include <QDialogButtonBox>
#include <QSpinBox>
#include <QTableWidget>

using namespace kitovu;
using namespace kitovu::gui;
using namespace kitovu::test;

namespace {

// The process's keyring session, holding no kitovu item yet.
struct TestKeyring {
    KeyringSession* session = nullptr;
    bool ready() { return (session = process_keyring()) != nullptr; }
    std::string kept(const KeyringItem& item) const {
        std::vector<std::string> attributes;
        for (const auto& [key, value] : item.attributes) {
            attributes.push_back(key);
            attributes.push_back(value);
        }
        return session->lookup(attributes);
    }
};

// In the browser: waits for the top level, picks the rows named `names`, and adds them.
void pick_in_browser(FolderBrowser& browser, const QStringList& names) {
    REQUIRE(wait_until([&] { return browser.tree()->topLevelItemCount() > 0; }));
    for (int i = 0; i < browser.tree()->topLevelItemCount(); ++i) {
        QTreeWidgetItem* item = browser.tree()->topLevelItem(i);
        item->setSelected(names.contains(item->text(0)));
    }
    auto* add = browser.buttons()->button(QDialogButtonBox::Ok);
    REQUIRE(add->isEnabled());
    QTest::mouseClick(add, Qt::LeftButton);
}

// Test connection, waited for; what it said.
QString tested(FirstRunAssistant& assistant) {
    QSignalSpy answered{&assistant, &FirstRunAssistant::tested};
    REQUIRE(assistant.test_button()->isEnabled());
    QTest::mouseClick(assistant.test_button(), Qt::LeftButton);
    REQUIRE(wait_until([&] { return answered.count() > 0; }));
    return assistant.test_result()->text();
}

std::string validated(const std::filesystem::path& config) {
    const auto result = run_process({KITOVU_BINARY, "validate", "--config", config.string()});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 0);
    return result.out;
}

} // namespace

TEST_CASE("setup: the assistant sets up a real smb share with the password typed once and "
          "folders picked, no TOML typed, and Sync all syncs them") {
    TestKeyring keyring;
    if (!keyring.ready())
        return;
    SambaServer server;
    if (!samba_ready(server))
        return;
    server.put("EPJ/Skript.pdf", "notes");
    server.put("AnI/blatt1.pdf", "sheet");
    server.put("Archiv/alt.pdf", "old");
    ::unsetenv("KITOVU_PASSWORD_UNI");
    TempDir dir;
    const auto config = dir / "config/kitovu.toml";
    MainWindow window{config, dir / "state/kitovu.cache"};
    window.show();

    QString wrong, right;
    WhenShown<FolderBrowser> browser{[](FolderBrowser& b) { pick_in_browser(b, {"EPJ", "AnI"}); }};
    WhenShown<FirstRunAssistant> assistant{[&](FirstRunAssistant& a) {
        a.root_dir()->setText(QString::fromStdString((dir / "Studium").string()));
        type_into(a.field("hostname"), "127.0.0.1");
        type_into(a.field("share"), "skripte");
        type_into(a.field("username"), QString::fromStdString(SambaServer::user()));
        QTest::mouseClick(a.more_button(), Qt::LeftButton);
        auto* port = qobject_cast<QSpinBox*>(a.field("port"));
        REQUIRE(port != nullptr);
        port->setValue(server.port());
        type_into(a.secret(), "not the password");
        wrong = tested(a);
        type_into(a.secret(), QString::fromStdString(SambaServer::password()));
        right = tested(a);
        QTest::mouseClick(a.pick_button(), Qt::LeftButton);
        CHECK(a.verdict()->text() == "Ready to save.");
        QTest::mouseClick(a.save_button(), Qt::LeftButton);
    }};
    window.run_assistant();
    CHECK(assistant.times == 1);
    CHECK(browser.times == 1);
    INFO(wrong.toStdString() << " / " << right.toStdString());
    CHECK(wrong.contains("wrong user name or password"));
    CHECK(right.contains("Connected"));

    REQUIRE(std::filesystem::exists(config));
    validated(config);
    const std::string text = read_file(config);
    INFO(text);
    CHECK(text.find(SambaServer::password()) == std::string::npos);
    auto settings = load_settings(config);
    REQUIRE(settings);
    REQUIRE(settings->subjects.size() == 2);
    const auto item = secret_item(*settings, "uni");
    REQUIRE(item);
    CHECK(keyring.kept(*item) == SambaServer::password());
    CHECK(window.subjects_model().rowCount() == 2);

    DialogAnswers none{"never asked", false};
    QSignalSpy ended{&window.run(), &SyncRun::ended};
    QTest::mouseClick(window.subjects()->sync_all_button(), Qt::LeftButton);
    REQUIRE(wait_until([&] { return ended.count() > 0; }));
    none.responder.stop();
    const auto outcome = qvariant_cast<SyncOutcome>(ended.takeFirst().at(0));
    CHECK(none.questions.isEmpty());
    REQUIRE(outcome.started);
    CHECK(outcome.report.errors.empty());
    CHECK(read_file(dir / "Studium/EPJ/Skript.pdf") == "notes");
    CHECK(read_file(dir / "Studium/AnI/blatt1.pdf") == "sheet");
    CHECK_FALSE(std::filesystem::exists(dir / "Studium/Archiv"));
}

TEST_CASE("setup: the assistant sets up Moodle with the token typed once and a course picked "
          "by its name, no TOML typed, and Sync all syncs it") {
    TestKeyring keyring;
    if (!keyring.ready())
        return;
    TempDir dir;
    MoodleServer moodle{moodle_fixture_copy(dir)};
    ::unsetenv("KITOVU_TOKEN_UNI");
    const auto config = dir / "config/kitovu.toml";
    MainWindow window{config, dir / "state/kitovu.cache"};
    window.show();

    QStringList courses;
    WhenShown<FolderBrowser> browser{[&](FolderBrowser& b) {
        REQUIRE(wait_until([&] { return b.tree()->topLevelItemCount() > 0; }));
        for (int i = 0; i < b.tree()->topLevelItemCount(); ++i)
            courses << b.tree()->topLevelItem(i)->text(0);
        pick_in_browser(b, {"Datenbanksysteme"});
    }};
    QString result, wrong, hint;
    WhenShown<FirstRunAssistant> assistant{[&](FirstRunAssistant& a) {
        a.plugin()->setCurrentIndex(a.plugin()->findData("moodle"));
        a.root_dir()->setText(QString::fromStdString((dir / "Studium").string()));
        type_into(a.field("url"), QString::fromStdString(moodle.url()));
        REQUIRE(a.secret() != nullptr);
        REQUIRE(a.secret_hint() != nullptr);
        hint = a.secret_hint()->text();
        type_into(a.secret(), "a token copied wrong");
        wrong = tested(a);
        CHECK(a.secret_hint()->isVisibleTo(&a)); // shown once the events that show it ran
        type_into(a.secret(), QString::fromStdString(moodle.token()));
        result = tested(a);
        QTest::mouseClick(a.pick_button(), Qt::LeftButton);
        QTest::mouseClick(a.save_button(), Qt::LeftButton);
    }};
    window.run_assistant();
    CHECK(assistant.times == 1);
    CHECK(browser.times == 1);
    CHECK(result.contains("Connected"));
    // Where the key is, and a wrong one said in words (not a password's words).
    INFO(hint.toStdString() << " / " << wrong.toStdString());
    for (const QString& words : {hint, wrong}) {
        CHECK(words.contains(QString::fromUtf8("Preferences → Security keys")));
        CHECK(words.contains("Moodle mobile web service"));
    }
    CHECK(wrong.contains("uni: the site does not accept this token"));
    CHECK_FALSE(wrong.contains("password"));
    CHECK_FALSE(wrong.contains("invalidtoken"));
    INFO(courses.join(", ").toStdString());
    CHECK(courses.contains("Datenbanksysteme"));
    CHECK(courses.contains("Software Engineering 1"));

    validated(config);
    CHECK(read_file(config).find(moodle.token()) == std::string::npos);
    auto settings = load_settings(config);
    REQUIRE(settings);
    REQUIRE(settings->subjects.size() == 1);
    CHECK(settings->subjects[0].name == "Datenbanksysteme");
    const auto item = secret_item(*settings, "uni");
    REQUIRE(item);
    CHECK(keyring.kept(*item) == moodle.token());

    DialogAnswers none{"never asked", false};
    const auto outcome = sync_in(window);
    none.responder.stop();
    CHECK(none.questions.isEmpty());
    REQUIRE(outcome.started);
    CHECK(outcome.report.errors.empty());
    CHECK(outcome.report.count(FileState::new_file) > 0);
    CHECK(std::filesystem::is_directory(dir / "Studium/Datenbanksysteme"));
}

TEST_CASE("German: the assistant, in the student's words, without English") {
    const QLocale before;
    QLocale::setDefault(QLocale{QStringLiteral("de_DE")});
    {
        const Translations translations;
        REQUIRE(translations.translated());
        FirstRunAssistant assistant{nullptr, {}, nullptr, library_remote_calls(nullptr)};
        assistant.root_dir()->setText("/home/anna/Studium");
        type_into(assistant.field("hostname"), "dateien.hs-beispiel.de");
        assistant.show();
        QStringList shown{assistant.windowTitle(), assistant.verdict()->text(),
                          assistant.plugin()->currentText()};
        for (const QLabel* label : assistant.findChildren<QLabel*>())
            if (label->isVisibleTo(&assistant)) {
                shown << label->text();
                INFO(label->text().toStdString());
                CHECK((label->buddy() != nullptr || !label->text().contains('&'))); // no stray &
            }
        for (const QAbstractButton* button : assistant.findChildren<QAbstractButton*>())
            if (button->isVisibleTo(&assistant))
                shown << button->text();
        const QString all = shown.join('\n');
        INFO(all.toStdString());
        CHECK(all.contains(QString::fromUtf8("Füllen Sie „Freigabe“ aus.")));
        CHECK(all.contains(QString::fromUtf8("Verbindung &testen")));
        CHECK(all.contains(QString::fromUtf8("Dateien ablegen &in:")));
        for (const char* english : {"Share", "User name", "Password", "Fill in", "Save", "Cancel",
                                    "Test", "Pick", "More", "Where", "Keep"})
            CHECK_FALSE(all.contains(QLatin1String(english)));
        assistant.resize(680, 640);
        QCoreApplication::processEvents();
        const auto file = std::filesystem::path{KITOVU_SOURCE_DIR} / "docs/images/assistant-de.png";
        CHECK(assistant.grab().save(QString::fromStdString(file.string()), "PNG"));
    }
    QLocale::setDefault(before);
}

TEST_CASE("German: the assistant for Moodle says where the key is, and a wrong key in words, "
          "without English") {
    TempDir dir;
    MoodleServer moodle{moodle_fixture_copy(dir)};
    const QLocale before;
    QLocale::setDefault(QLocale{QStringLiteral("de_DE")});
    {
        const Translations translations;
        REQUIRE(translations.translated());
        FirstRunAssistant assistant{nullptr, {}, nullptr, library_remote_calls(nullptr)};
        assistant.plugin()->setCurrentIndex(assistant.plugin()->findData("moodle"));
        assistant.root_dir()->setText("/home/anna/Studium");
        type_into(assistant.field("url"), QString::fromStdString(moodle.url()));
        assistant.show();
        REQUIRE(assistant.secret_hint() != nullptr);
        type_into(assistant.secret(), "falsch kopiert");
        const QString wrong = tested(assistant);
        const QString all = assistant.secret_hint()->text() + '\n' + wrong;
        INFO(all.toStdString());
        CHECK(
            wrong.contains(QString::fromUtf8("uni: Die Website nimmt diesen Schlüssel nicht an")));
        CHECK(all.contains(QString::fromUtf8("Einstellungen → Sicherheitsschlüssel")));
        // "Moodle mobile web service" is the row's name in a German Moodle too.
        for (const char* english : {"Preferences", "Security", "keys", "does not", "accept",
                                    "token", "password", "wrong", "user name", "invalid"})
            CHECK_FALSE(all.contains(QLatin1String(english)));
    }
    QLocale::setDefault(before);
}
#endif
