// The window in German (LANG=de_DE.UTF-8 as the program finds it: the default locale): the sync
// view with a connection error and the tray's menu, as pictures for the user guide, with no
// English words in them (real smbd, stopped); a sync another holds off and a password kept in the
// keyring that the server refused, in German words (chosen by the errors' causes, not their
// English text).
#include "gui_support.hpp"

#include "translations.hpp"
#include "tray.hpp"

#include <kitovu/cache/lock.hpp>
#include <kitovu/disk/folder_lock.hpp>

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

TEST_CASE("German: a sync held off by another (the cache's lock, a folder's lock) and a password "
          "kept in the keyring that the server refused, without English") {
    SmbPlace place;
    if (!place.ready())
        return;
    const QLocale before;
    QLocale::setDefault(QLocale{QStringLiteral("de_DE")});
    {
        const Translations translations;
        REQUIRE(translations.translated());
        MainWindow window{place.config(), place.cache()};
        auto keyring = std::make_unique<MemoryKeyring>();
        MemoryKeyring& kept = *keyring;
        window.set_keyring(std::move(keyring));
        window.show();
        const auto shown = [&] {
            QStringList texts{window.sync_view()->status()->text()};
            for (int i = 0; i < window.sync_view()->files()->topLevelItemCount(); ++i)
                for (int column = 0; column < 3; ++column)
                    texts << window.sync_view()->files()->topLevelItem(i)->text(column);
            return texts.join(QLatin1Char('\n'));
        };
        QStringList said;
        {
            auto held = CacheLock::acquire(place.cache()); // another window's or the timer's
            REQUIRE(held);
            CHECK_FALSE(sync_in(window).started);
            said << shown();
            CHECK(said.back().contains(
                QString::fromUtf8("Eine andere Synchronisation mit dieser Konfiguration läuft")));
        }
        {
            // A run of another config or cache placing files into this one's folder.
            const std::filesystem::path folders[] = {place.home() / "EPJ"};
            auto held = FolderLocks::acquire(folders);
            REQUIRE(held);
            CHECK_FALSE(sync_in(window).started);
            said << shown();
            CHECK(said.back().contains(QString::fromUtf8("Eine andere Synchronisation legt")));
        }
        {
            auto settings = load_settings(place.config());
            REQUIRE(settings);
            const auto item = secret_item(*settings, "skripte");
            REQUIRE(item);
            kept.items[item->attributes] = "an old password";
            QStringList asked;
            WhenShown<SecretDialog> retype{[&](SecretDialog& dialog) {
                asked << dialog.findChild<QLabel*>()->text();
                dialog.reject(); // not now
            }};
            const auto outcome = sync_in(window);
            REQUIRE(outcome.started);
            REQUIRE(wait_until([&] { return retype.times > 0; }));
            said << asked << shown();
            CHECK(said.back().contains(QString::fromUtf8(
                "skripte: Das im Schlüsselbund gespeicherte Passwort wurde abgelehnt")));
        }
        const QString all = said.join(QLatin1Char('\n'));
        INFO(all.toStdString());
        for (const char* english :
             {"another", "Another", "sync ", "running", "lock", "wait", "placing", "kept",
              "keyring", "refused", "password", "login", "did not"})
            CHECK_FALSE(all.contains(QLatin1String(english)));
    }
    QLocale::setDefault(before);
}
#endif
