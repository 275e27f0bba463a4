// The small ones of issue 35: Open folder on a subject never synced, the first start's window
// size, the password dialog's size, and the quick fix one click away.
#include "gui_support.hpp"

#include "opened_urls.hpp"
#include "problems.hpp"

#include <QListWidget>
#include <QPlainTextEdit>
#include <QSettings>
#include <QTableView>
#include <QTextBlock>

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
