// The window in German (LANG=de_DE.UTF-8 as the program finds it: the default locale): the sync
// view with a connection error and the tray's menu, as pictures for the user guide, with no
// English words in them (real smbd, stopped).
#include "gui_support.hpp"

#include "translations.hpp"
#include "tray.hpp"

#include <QAction>
#include <QMenu>

using namespace kitovu;
using namespace kitovu::gui;
using namespace kitovu::test;

#if KITOVU_WITH_SMB
TEST_CASE("German: the sync view with a connection error and the tray menu, without English") {
    SmbPlace place;
    if (!place.ready())
        return;
    ::setenv("KITOVU_PASSWORD_SKRIPTE", SambaServer::password().c_str(), 1);
    place.server.stop();
    const QLocale before;
    QLocale::setDefault(QLocale{QStringLiteral("de_DE")});
    {
        const Translations translations;
        REQUIRE(translations.translated());
        MainWindow window{place.config(), place.cache()};
        window.set_keyring(nullptr);
        window.show();
        const auto outcome = sync_in(window);
        REQUIRE(outcome.started);
        REQUIRE_FALSE(outcome.report.errors.empty());
        const QString status = window.sync_view()->status()->text();
        INFO(status.toStdString());
        CHECK(status.contains(QString::fromUtf8("skripte: Der Server ist nicht erreichbar")));
        CHECK(status.contains(QString::fromUtf8("1 fehlgeschlagen")));
        QStringList shown{status};
        for (int i = 0; i < window.sync_view()->files()->topLevelItemCount(); ++i)
            for (int column = 0; column < 3; ++column)
                shown << window.sync_view()->files()->topLevelItem(i)->text(column);
        shown << window.sync_view()->numbers()->text();
        const QString all = shown.join(QLatin1Char('\n'));
        INFO(all.toStdString());
        for (const char* english : {"cannot", "reach", "failed", "new,", "updated", "downloaded",
                                    "Finished", "connection", "refused", "university"})
            CHECK_FALSE(all.contains(QLatin1String(english)));
        screenshot(window, "sync-error-de.png");

        QMenu& menu = *window.tray().menu();
        QStringList items;
        for (const QAction* action : menu.actions())
            if (!action->isSeparator())
                items << action->text();
        CHECK(items == QStringList{QString::fromUtf8("Jetzt &synchronisieren"),
                                   QString::fromUtf8("&Pausieren"),
                                   QString::fromUtf8("&Fenster öffnen"),
                                   QString::fromUtf8("&Beenden")});
        menu.adjustSize();
        const auto file = std::filesystem::path{KITOVU_SOURCE_DIR} / "docs/images/tray-menu-de.png";
        CHECK(menu.grab().save(QString::fromStdString(file.string()), "PNG"));
    }
    QLocale::setDefault(before);
    ::unsetenv("KITOVU_PASSWORD_SKRIPTE");
}
#endif
