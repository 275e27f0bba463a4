// kitovu-gui's life of its own: the tray, syncs on an interval that share the kitovu command's
// lock, autostart, and desktop notifications (a fake org.freedesktop.Notifications on the session
// bus records them). Run offscreen by ctest, where Qt has no tray, and under Xvfb with a window
// manager and an XEmbed tray by gui_tray_test.sh (the [tray] cases).
#include "gui_support.hpp"

#include "fake_notifications.hpp"
#if KITOVU_WITH_KEYRING
#include "keyring_fixture.hpp" // a private session bus
#endif

#include "autostart.hpp"
#include "notifier.hpp"
#include "tray.hpp"

#include <kitovu/cache/lock.hpp>
#include <kitovu/disk/folder_lock.hpp>

#include <QCheckBox>
#include <QMenu>
#include <QMessageBox>
#include <QSettings>
#include <QSystemTrayIcon>

#include <optional>

using namespace kitovu;
using namespace kitovu::gui;
using namespace kitovu::test;

TEST_CASE("background: the tray's state at a glance, as a table") {
    CHECK(tray_state(false, false, 0, 0) == TrayState::in_step);
    CHECK(tray_state(true, false, 2, 1) == TrayState::syncing);
    CHECK(tray_state(false, true, 2, 1) == TrayState::paused);
    CHECK(tray_state(false, false, 2, 1) == TrayState::failed);
    CHECK(tray_state(false, false, 2, 0) == TrayState::conflicts);
    CHECK(tray_words(TrayState::failed) == "kitovu: the last sync failed");
}

TEST_CASE("background: what a run tells the student, as a table") {
    CHECK(notices_for({}, 0, {}).empty());
    CHECK(notices_for({{"EPJ", 0}, {"AnI", 0}}, 0, {}).empty());
    CHECK(notices_for({{"EPJ", 3}, {"AnI", 1}}, 0, {}) ==
          std::vector<Notice>{{"3 new files in EPJ", {}}, {"1 new file in AnI", {}}});
    const auto bad = notices_for({{"EPJ", 1}}, 2, "skripte: wrong user name or password");
    REQUIRE(bad.size() == 3);
    CHECK(bad[0] == Notice{"The sync failed", "skripte: wrong user name or password"});
    CHECK(bad[1].title == "2 conflicts: both versions kept");
    CHECK(bad[2].title == "1 new file in EPJ");
}

namespace {

// A session bus to notify on: the one the test runs in (gui_tray_test.sh starts one), else the
// process's private one; false (with a warning) where neither can be had.
struct NotificationBus {
    bool ready() {
        if (!qEnvironmentVariableIsEmpty("DBUS_SESSION_BUS_ADDRESS"))
            return true;
#if KITOVU_WITH_KEYRING
        return keyring_ready(process_session());
#else
        WARN("skipped: no session bus and no way to start one (built without the keyring)");
        return false;
#endif
    }
};

// A subject EPJ with three sheets waiting on the remote.
struct WaitingPlace : Place {
    WaitingPlace() {
        for (int i = 1; i <= 3; ++i)
            write_file(remote() / "EPJ" / ("Blatt " + std::to_string(i) + ".pdf"),
                       "sheet " + std::to_string(i));
    }
};

// On a real X display (gui_tray_test.sh) the tray must be there; it may take its selection a
// moment after its window appeared.
bool tray_here() {
    if (QGuiApplication::platformName() == QLatin1String("xcb"))
        REQUIRE(wait_until([] { return QSystemTrayIcon::isSystemTrayAvailable(); }));
    return QSystemTrayIcon::isSystemTrayAvailable();
}

} // namespace

TEST_CASE("background: autostart on, kitovu in the tray syncs on its interval and notifies what "
          "came",
          "[tray]") {
    const bool tray = tray_here();
    NotificationBus bus;
    if (!bus.ready())
        return;
    FakeNotifications notifications;
    REQUIRE(notifications.registered());
    WaitingPlace place;
    {
        // The student switches autostart on in the window.
        MainWindow window{place.config(), place.cache()};
        window.show();
        window.tabs()->setCurrentWidget(window.background());
        CHECK_FALSE(window.background()->autostart()->isChecked());
        // On its box (a check box takes clicks on its box and words, not on its whole row).
        QCheckBox* box = window.background()->autostart();
        QTest::mouseClick(box, Qt::LeftButton, {}, QPoint{8, box->height() / 2});
        CHECK(window.background()->autostart()->isChecked());
    }
    REQUIRE(autostart_enabled());
    const std::string entry = read_file(autostart_file());
    CHECK(entry.find("\nExec=") != std::string::npos);
    CHECK(entry.find(" --background\n") != std::string::npos);

    // Started as the session starts it (--background): the tray, no window.
    MainWindow window{place.config(), place.cache()};
    window.set_keyring(nullptr);
    if (tray) {
        CHECK(window.tray().icon()->isVisible());
        CHECK(window.tray().icon()->toolTip() == "kitovu: in step");
    } else {
        WARN("Qt finds no system tray on this platform ("
             << QGuiApplication::platformName().toStdString() << "): the icon is not shown");
    }
    CHECK_FALSE(window.isVisible());
    window.set_interval(std::chrono::milliseconds{200});
    REQUIRE(wait_until([&] { return notifications.titles.contains("3 new files in EPJ"); }));
    CHECK(notifications.apps.front() == "kitovu");
    CHECK(read_file(place.home() / "EPJ/Blatt 2.pdf") == "sheet 2");
    // The next turns find nothing new: the student hears nothing more.
    QSignalSpy ended{&window.run(), &SyncRun::ended};
    REQUIRE(wait_until([&] { return ended.count() >= 2; }));
    CHECK(notifications.titles == QStringList{"3 new files in EPJ"});
    window.set_interval({});
    REQUIRE(wait_until([&] { return !window.run().running(); }));
    CHECK(window.tray().state() == TrayState::in_step);
}

TEST_CASE("background: the timer skips its turn while another run holds the lock (of the cache or "
          "of a folder), and while paused") {
    WaitingPlace place;
    MainWindow window{place.config(), place.cache()};
    window.set_keyring(nullptr);
    {
        auto held = CacheLock::acquire(place.cache()); // `kitovu sync` from the systemd timer
        REQUIRE(held);
        CHECK_FALSE(window.background_sync());
        CHECK_FALSE(window.run().running());
        CHECK(window.subjects_model().state(0).failed == 0);
    }
    {
        // A run of another config or cache placing files into this config's folder.
        const std::filesystem::path folders[] = {place.home() / "EPJ"};
        auto held = FolderLocks::acquire(folders);
        REQUIRE(held);
        CHECK_FALSE(window.background_sync());
        CHECK_FALSE(window.run().running());
        CHECK(window.subjects_model().state(0).failed == 0);
    }
    window.tray().pause()->setChecked(true);
    CHECK(window.tray().state() == TrayState::paused);
    CHECK_FALSE(window.background_sync());
    window.tray().pause()->setChecked(false);
    QSignalSpy ended{&window.run(), &SyncRun::ended};
    QWidget* const tab = window.tabs()->currentWidget();
    REQUIRE(window.background_sync());
    CHECK(window.tray().state() == TrayState::syncing);
    REQUIRE(wait_until([&] { return ended.count() > 0; }));
    CHECK(window.tabs()->currentWidget() == tab); // the window left as it was
    CHECK(read_file(place.home() / "EPJ/Blatt 1.pdf") == "sheet 1");
}

TEST_CASE("background: closing keeps kitovu in the tray and says so once", "[tray]") {
    if (!tray_here()) {
        WARN("skipped: Qt finds no system tray here (run by gui_tray_test.sh under Xvfb)");
        return;
    }
    NotificationBus bus;
    if (!bus.ready())
        return;
    FakeNotifications notifications;
    REQUIRE(notifications.registered());
    QSettings{}.remove(QStringLiteral("background/told-tray"));
    Place place;
    MainWindow window{place.config(), place.cache()};
    window.show();
    REQUIRE(window.close() == false); // closed, not ended: hidden in the tray
    CHECK_FALSE(window.isVisible());
    CHECK(window.tray().icon()->isVisible());
    REQUIRE(wait_until([&] { return !notifications.titles.isEmpty(); }));
    CHECK(notifications.titles == QStringList{"kitovu keeps running in the tray"});
    window.tray().open_window()->trigger();
    CHECK(window.isVisible());
    window.close();
    QCoreApplication::processEvents();
    CHECK(notifications.titles.size() == 1); // once
}

TEST_CASE("background: quitting during a run asks first, No keeps the run going") {
    Place place;
    Gate gate;
    write_file(place.config(), memory_config(place, "gui-quit", 5, gate));
    MainWindow window{place.config(), place.cache()};
    window.show();
    QSignalSpy ended{&window.run(), &SyncRun::ended};
    QTest::mouseClick(window.subjects()->sync_all_button(), Qt::LeftButton);
    REQUIRE(wait_until([&] { return gate.was_reached(); }));
    QStringList asked;
    bool agree = false;
    QTimer responder;
    QObject::connect(&responder, &QTimer::timeout, [&] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            asked << box->text();
            box->button(agree ? QMessageBox::Yes : QMessageBox::No)->click();
        }
    });
    responder.start(10);
    window.close(); // offscreen there is no tray: closing is quitting
    REQUIRE(asked.size() == 1);
    CHECK(asked[0].startsWith("A sync is going on. Stop it and quit?"));
    CHECK(window.isVisible());
    CHECK(window.run().running());
    agree = true;
    CHECK(window.close());
    responder.stop();
    CHECK(asked.size() == 2);
    gate.release();
    REQUIRE(wait_until([&] { return ended.count() > 0; }));
    CHECK(qvariant_cast<SyncOutcome>(ended.at(0).at(0)).report.cancelled);
}
