// Setting kitovu up without writing TOML: the first-run assistant in the student's words (a
// password field kept in the keyring, problems in words, Save writes the config), subjects
// added, changed and removed with dialogs, and unsaved edits in the Configuration tab asked
// about before they are lost. Driven through the real widgets (QTest, offscreen).
#include "gui_support.hpp"

#include "first_run.hpp"
#include "option_words.hpp"
#include "subject_dialog.hpp"
#include "subject_text.hpp"
#include "translations.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QPlainTextEdit>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>

using namespace kitovu;
using namespace kitovu::gui;
using namespace kitovu::test;

namespace {

// The labels of a form's rows that are shown.
QStringList shown_labels(const QWidget& form_owner) {
    QStringList labels;
    for (const auto* form : form_owner.findChildren<QFormLayout*>())
        for (int row = 0; row < form->rowCount(); ++row)
            if (auto* item = form->itemAt(row, QFormLayout::LabelRole))
                if (auto* label = qobject_cast<QLabel*>(item->widget());
                    label != nullptr && label->isVisibleTo(&form_owner))
                    labels << label->text();
    return labels;
}

} // namespace

TEST_CASE("setup: a subject's lines in the config's text are added, changed and removed, as a "
          "table") {
    const std::string text = "# my config\nroot-dir = \"/h\"\n\n[[connections]]\nname = \"uni\"\n"
                             "plugin = \"local\"\npath = \"/r\"\n\n"
                             "[[subjects]]\nname = \"EPJ\"\n  [[subjects.sources]]\n"
                             "  connection = \"uni\"\n  remote-dir = \"EPJ\"\n\n"
                             "# the next one\n[[subjects]]\nname = \"AnI\"\n"
                             "  [[subjects.sources]]\n  connection = \"uni\"\n"
                             "  remote-dir = \"AnI\"\n";
    const SubjectAnswer dbs{"DBS", "uni", "Kurse/DBS", ""};
    const SubjectAnswer moved{"EPJ 2", "uni", "EPJ2", "/elsewhere/EPJ"};
    struct Case {
        std::optional<std::string> out;
        std::string expected; // nothing expected: no change possible
    };
    const std::vector<Case> cases{
        {with_subject_added(text, dbs),
         text + "\n[[subjects]]\nname = \"DBS\"\n  [[subjects.sources]]\n  connection = "
                "\"uni\"\n  remote-dir = \"Kurse/DBS\"\n"},
        {with_subject_changed(text, 9, moved),
         "# my config\nroot-dir = \"/h\"\n\n[[connections]]\nname = \"uni\"\nplugin = "
         "\"local\"\npath = \"/r\"\n\n[[subjects]]\nname = \"EPJ 2\"\n  [[subjects.sources]]\n"
         "  connection = \"uni\"\n  remote-dir = \"EPJ2\"\n  local-dir = \"/elsewhere/EPJ\"\n\n"
         "# the next one\n[[subjects]]\nname = \"AnI\"\n  [[subjects.sources]]\n  connection "
         "= \"uni\"\n  remote-dir = \"AnI\"\n"},
        {with_subject_changed(text, 9, std::nullopt),
         "# my config\nroot-dir = \"/h\"\n\n[[connections]]\nname = \"uni\"\nplugin = "
         "\"local\"\npath = \"/r\"\n\n# the next one\n[[subjects]]\nname = \"AnI\"\n  "
         "[[subjects.sources]]\n  connection = \"uni\"\n  remote-dir = \"AnI\"\n"},
        {with_subject_changed(text, 16, std::nullopt),
         "# my config\nroot-dir = \"/h\"\n\n[[connections]]\nname = \"uni\"\nplugin = "
         "\"local\"\npath = \"/r\"\n\n[[subjects]]\nname = \"EPJ\"\n  [[subjects.sources]]\n"
         "  connection = \"uni\"\n  remote-dir = \"EPJ\"\n\n# the next one\n"},
        {with_subject_changed(text, 4, std::nullopt), ""}, // a connection, not a subject
        {with_subject_changed(text, 99, dbs), ""},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        INFO("case " << i);
        if (cases[i].expected.empty()) {
            CHECK_FALSE(cases[i].out.has_value());
            continue;
        }
        REQUIRE(cases[i].out.has_value());
        CHECK(*cases[i].out == cases[i].expected);
        CHECK(parse_settings(*cases[i].out, {}).has_value());
    }
}

TEST_CASE("setup: the library's config problems in the fields' words, as a table") {
    const std::vector<std::pair<std::string, QString>> cases{
        {"connection 'uni' is missing required option 'hostname' of plugin 'smb'",
         "Connection 'uni' is missing required “Server” of plugin 'smb'"},
        {"'port' must be between 1 and 65535, found 0",
         "“Port” must be between 1 and 65535, found 0"},
        {"unknown key 'pluign'", "Unknown key 'pluign'"},
    };
    for (const auto& [message, words] : cases)
        CHECK(OptionWords::problem(message).toStdString() == words.toStdString());
}

TEST_CASE("setup: the assistant asks in words, for a password and not a command, and says what "
          "is missing as it is typed") {
    FirstRunAssistant assistant;
    assistant.show();
    REQUIRE(assistant.plugin()->currentData().toString() == "smb");
    const QStringList labels = shown_labels(assistant);
    INFO(labels.join(" | ").toStdString());
    for (const char* key : {"hostname", "share", "username", "password-command", "signing", "*"})
        for (const QString& label : labels)
            CHECK_FALSE(label.contains(QLatin1String(key)));
    CHECK(labels.contains("Server:"));
    CHECK(labels.contains("Share:"));
    CHECK(labels.contains("User name:"));
    CHECK(labels.contains("Password:"));
    REQUIRE(assistant.secret() != nullptr);
    CHECK(assistant.secret()->echoMode() == QLineEdit::Password);
    CHECK_FALSE(assistant.field("password-command")->isVisibleTo(&assistant));
    CHECK(assistant.plugin()->currentText().contains("Windows"));

    // Nothing typed: what is missing, in words, at once (not after other fields).
    QString verdict = assistant.verdict()->text();
    CHECK(verdict.contains("Fill in “Server”."));
    CHECK(verdict.contains("Fill in “User name”."));
    CHECK_FALSE(assistant.save_button()->isEnabled());
    type_into(assistant.field("hostname"), "files.example.edu");
    verdict = assistant.verdict()->text();
    CHECK_FALSE(verdict.contains("Server"));
    CHECK(verdict.contains("Fill in “Share”."));
    type_into(assistant.field("share"), "skripte");
    type_into(assistant.field("username"), "alice");
    type_into(assistant.secret(), "geheim");
    CHECK(assistant.verdict()->text() == "Ready to save.");
    CHECK(assistant.save_button()->isEnabled());
    CHECK_FALSE(assistant.config().contains("geheim"));
    // A problem the library finds is said without a place in a file nobody sees.
    for (int row : {0, 1}) {
        assistant.subjects()->setItem(row, 0, new QTableWidgetItem("EPJ"));
        assistant.subjects()->setItem(row, 1, new QTableWidgetItem("EPJ"));
    }
    verdict = assistant.verdict()->text();
    INFO(verdict.toStdString());
    CHECK(verdict.contains("EPJ"));
    CHECK_FALSE(verdict.contains("<string>"));
    CHECK_FALSE(assistant.save_button()->isEnabled());

    // More settings shows the rest, still in words.
    QTest::mouseClick(assistant.more_button(), Qt::LeftButton);
    CHECK(assistant.field("password-command")->isVisibleTo(&assistant));
    CHECK(shown_labels(assistant).contains("Command that prints the password:"));
}

TEST_CASE("setup: subjects are added, changed and removed with dialogs, each saved and shown at "
          "once") {
    Place place;
    std::filesystem::create_directories(place.remote() / "Kurse/DBS");
    write_file(place.remote() / "Kurse/DBS/folien.pdf", "slides");
    const std::string before = read_file(place.config());
    MainWindow window{place.config(), place.cache()};
    window.show();
    REQUIRE(window.subjects_model().rowCount() == 2);

    {
        WhenShown<SubjectDialog> add{[](SubjectDialog& dialog) {
            CHECK_FALSE(dialog.buttons()->button(QDialogButtonBox::Ok)->isEnabled());
            type_into(dialog.name(), "DBS");
            type_into(dialog.remote_dir(), "Kurse/DBS");
            CHECK(dialog.verdict()->text().isEmpty());
            QTest::mouseClick(dialog.buttons()->button(QDialogButtonBox::Ok), Qt::LeftButton);
        }};
        QTest::mouseClick(window.subjects()->add_button(), Qt::LeftButton);
        CHECK(add.times == 1);
    }
    REQUIRE(window.subjects_model().rowCount() == 3);
    auto settings = load_settings(place.config());
    REQUIRE(settings);
    CHECK(settings->subjects[2].name == "DBS");
    CHECK(read_file(place.config()).starts_with(before)); // the rest as it was
    CHECK(sync_in(window).report.count(FileState::new_file) == 1);
    CHECK(read_file(place.home() / "DBS/folien.pdf") == "slides");

    {
        WhenShown<SubjectDialog> edit{[&](SubjectDialog& dialog) {
            CHECK(dialog.name()->text() == "DBS");
            CHECK(dialog.remote_dir()->text() == "Kurse/DBS");
            dialog.local_dir()->clear();
            type_into(dialog.local_dir(), QString::fromStdString((place.dir / "DBS").string()));
            QTest::mouseClick(dialog.buttons()->button(QDialogButtonBox::Ok), Qt::LeftButton);
        }};
        window.subjects()->table()->selectRow(2);
        QTest::mouseClick(window.subjects()->edit_button(), Qt::LeftButton);
        CHECK(edit.times == 1);
    }
    settings = load_settings(place.config());
    REQUIRE(settings);
    REQUIRE(settings->subjects.size() == 3);
    CHECK(settings->subjects[2].sources.front().local_dir == place.dir / "DBS");

    {
        WhenShown<QMessageBox> sure{[](QMessageBox& box) {
            CHECK(box.text().contains("EPJ"));
            CHECK(box.text().contains("stay"));
            box.button(QMessageBox::Yes)->click();
        }};
        window.subjects()->table()->selectRow(0);
        QTest::mouseClick(window.subjects()->remove_button(), Qt::LeftButton);
        CHECK(sure.times == 1);
    }
    settings = load_settings(place.config());
    REQUIRE(settings);
    REQUIRE(settings->subjects.size() == 2);
    CHECK(settings->subjects[0].name == "AnI");
    CHECK(window.subjects_model().rowCount() == 2);
}

TEST_CASE("setup: unsaved edits are asked about when leaving the Configuration tab and when "
          "quitting") {
    Place place;
    const std::string before = read_file(place.config());
    MainWindow window{place.config(), place.cache()};
    window.show();
    window.tabs()->setCurrentWidget(window.editor());
    window.editor()->text()->moveCursor(QTextCursor::End);
    QTest::keyClicks(window.editor()->text(), "# a note");
    REQUIRE(window.editor()->modified());

    { // Cancel: the tab stays, the edits too.
        WhenShown<QMessageBox> ask{
            [](QMessageBox& box) { box.button(QMessageBox::Cancel)->click(); }};
        window.tabs()->setCurrentWidget(window.subjects());
        CHECK(ask.times == 1);
        CHECK(window.tabs()->currentWidget() == window.editor());
        CHECK(window.editor()->text()->toPlainText().contains("# a note"));
    }
    { // Quitting asks too; Save keeps them.
        WhenShown<QMessageBox> ask{[](QMessageBox& box) {
            CHECK(box.text().contains("not saved"));
            box.button(QMessageBox::Save)->click();
        }};
        window.close();
        CHECK(ask.times == 1);
        CHECK(read_file(place.config()) == before + "# a note");
    }
    MainWindow again{place.config(), place.cache()};
    again.show();
    again.tabs()->setCurrentWidget(again.editor());
    again.editor()->text()->moveCursor(QTextCursor::End);
    QTest::keyClick(again.editor()->text(), Qt::Key_Return);
    QTest::keyClicks(again.editor()->text(), "oops = ");
    REQUIRE_FALSE(again.editor()->errors().empty());
    { // Broken edits cannot be saved: dropped on request, and the file is as it was.
        WhenShown<QMessageBox> ask{[](QMessageBox& box) {
            CHECK(box.button(QMessageBox::Save) == nullptr);
            box.button(QMessageBox::Discard)->click();
        }};
        again.tabs()->setCurrentWidget(again.subjects());
        CHECK(ask.times == 1);
        CHECK(again.tabs()->currentWidget() == again.subjects());
        CHECK_FALSE(again.editor()->modified());
        CHECK_FALSE(again.editor()->text()->toPlainText().contains("oops"));
    }
}

TEST_CASE("setup: every Alt+letter of the assistant and the subject dialog is used once, in "
          "English and in German") {
    const auto check = [] {
        FirstRunAssistant assistant;
        assistant.show();
        QTest::mouseClick(assistant.more_button(), Qt::LeftButton);
        SubjectDialog subject{{"uni"},
                              {},
                              [](const SubjectAnswer&) { return QStringList{}; },
                              [](const std::string&) -> RemoteFolders { return {}; }};
        for (const QWidget* dialog :
             {static_cast<QWidget*>(&assistant), static_cast<QWidget*>(&subject)})
            for (const auto& [letter, texts] : mnemonics_in(*dialog)) {
                INFO(dialog->windowTitle().toStdString()
                     << ": Alt+" << QString{letter}.toStdString() << " in "
                     << texts.join(", ").toStdString());
                CHECK(texts.size() == 1);
            }
    };
    check();
    const QLocale before;
    QLocale::setDefault(QLocale{QStringLiteral("de_DE")});
    {
        const Translations translations;
        REQUIRE(translations.translated());
        check();
    }
    QLocale::setDefault(before);
}
