// The small ones of issue 35: Open folder on a subject never synced, the first start's window
// size, the password dialog's size, and the quick fix one click away.
#include "gui_support.hpp"

#include "opened_urls.hpp"
#include "problems.hpp"
#include "translations.hpp"

#include <QAbstractButton>
#include <QMenuBar>
#include <QTabWidget>

#include <QListWidget>
#include <QPlainTextEdit>
#include <QSettings>
#include <QTableView>
#include <QTextBlock>

#include <map>

using namespace kitovu;
using namespace kitovu::gui;
using namespace kitovu::test;

TEST_CASE("small: Open folder on a subject never synced makes its folder and opens it") {
    Place place;
    MainWindow window{place.config(), place.cache()};
    window.show();
    OpenedUrls opened;
    window.subjects()->table()->selectRow(1);
    QTest::mouseClick(window.subjects()->open_folder_button(), Qt::LeftButton);
    CHECK(std::filesystem::is_directory(place.home() / "AnI"));
    CHECK(opened.urls == QList<QUrl>{QUrl::fromLocalFile(
                             QString::fromStdString((place.home() / "AnI").string()))});
}

TEST_CASE("small: the first start's window and the password dialog have room for their text") {
    QSettings{}.remove(QStringLiteral("window/geometry"));
    Place place;
    MainWindow window{place.config(), place.cache()};
    window.show();
    CHECK(window.width() >= 800);
    CHECK(window.height() >= 500);
    SecretDialog dialog{"password for skripte (the university account): ", &window};
    dialog.show();
    CHECK(dialog.width() >= 420);
    CHECK(dialog.width() > dialog.fontMetrics().horizontalAdvance(dialog.windowTitle()));
}

TEST_CASE("small: the quick fix is one click away even when the first problem has none") {
    Place place;
    MainWindow window{place.config(), place.cache()};
    ConfigEditor& editor = *window.editor();
    // Line 1 has a problem without a fix (no key is near it), line 2 one with ("did you mean
    // 'global-ignore'?").
    const QString text = QStringLiteral("qqqqqqqq = 1\nglobal-ignor = []\n") +
                         QString::fromStdString(read_file(place.config()));
    editor.set_text(text);
    std::string problems;
    for (const UsageError& error : editor.errors())
        problems += std::to_string(error.location.line) + ": " + error.message + "\n";
    INFO(problems);
    REQUIRE(editor.errors().size() >= 2);
    CHECK_FALSE(did_you_mean(editor.errors()[0].message));
    CHECK(editor.fix_button()->isEnabled());
    QTest::mouseClick(editor.fix_button(), Qt::LeftButton);
    CHECK(editor.text()->document()->findBlockByNumber(1).text() == "global-ignore = []");
}

namespace {

// The mnemonic letters a page of the window offers at once: the tabs, the menu bar and the
// page's own buttons and labels.
std::map<QChar, QStringList> mnemonics_on(MainWindow& window, QWidget* page) {
    std::map<QChar, QStringList> letters = mnemonics_in(*page);
    for (int i = 0; i < window.tabs()->count(); ++i)
        add_mnemonic(letters, window.tabs()->tabText(i));
    for (const QAction* action : window.menuBar()->actions())
        add_mnemonic(letters, action->text());
    return letters;
}

void check_each_mnemonic_once(MainWindow& window) {
    for (int i = 0; i < window.tabs()->count(); ++i)
        for (const auto& [letter, texts] : mnemonics_on(window, window.tabs()->widget(i))) {
            INFO(window.tabs()->tabText(i).toStdString()
                 << ": Alt+" << QString{letter}.toStdString() << " in "
                 << texts.join(", ").toStdString());
            CHECK(texts.size() == 1);
        }
}

} // namespace

TEST_CASE("small: every Alt+letter of the window is used once, in English and in German") {
    Place place;
    {
        MainWindow window{place.config(), place.cache()};
        check_each_mnemonic_once(window);
    }
    const QLocale before;
    QLocale::setDefault(QLocale{QStringLiteral("de_DE")});
    {
        const Translations translations;
        REQUIRE(translations.translated());
        MainWindow window{place.config(), place.cache()};
        check_each_mnemonic_once(window);
    }
    QLocale::setDefault(before);
}
