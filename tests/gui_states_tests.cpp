// The window's states can be trusted: each case a student met where the window said something
// untrue (in step after Cancel, 100 % for a run that did nothing, ...), driven through the real
// window against a real smbd.
#include "gui_support.hpp"

#include "first_run.hpp"

#include <kitovu/cache/lock.hpp>

#include <QComboBox>
#include <QProgressBar>
#include <QRegularExpression>
#include <QSettings>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTest>

#include <atomic>

using namespace kitovu;
using namespace kitovu::gui;
using namespace kitovu::test;

#if KITOVU_WITH_SMB
namespace {

// A real smbd with EPJ/Skript.pdf and AnI/Analysis.pdf, a config with the subjects EPJ and AnI
// on its connection `skripte`, the password from the environment (no dialog) unless cleared.
struct StatePlace : Place {
    SambaServer server;
    bool ready() {
        if (!samba_ready(server))
            return false;
        server.put("EPJ/Skript.pdf", "notes");
        server.put("AnI/Analysis.pdf", "analysis");
        ::setenv("KITOVU_PASSWORD_SKRIPTE", SambaServer::password().c_str(), 1);
        write_file(config(), server.kitovu_config(home(), "skripte") +
                                 "\n[[subjects]]\nname = \"AnI\"\n  [[subjects.sources]]\n"
                                 "  connection = \"skripte\"\n  remote-dir = \"AnI\"\n");
        return true;
    }
    ~StatePlace() { ::unsetenv("KITOVU_PASSWORD_SKRIPTE"); }
};

// The window of a test: no keyring of this machine.
struct StateWindow {
    MainWindow window;
    explicit StateWindow(const Place& place) : window{place.config(), place.cache()} {
        window.set_keyring(nullptr);
        window.show();
    }
    QString state(int row) {
        SubjectsModel& model = window.subjects_model();
        return model.data(model.index(row, SubjectsModel::state_column), Qt::DisplayRole)
            .toString();
    }
    SyncView& view() { return *window.sync_view(); }
    bool bar_full() { return view().progress()->value() == view().progress()->maximum(); }
    QStringList rows(const QString& what) {
        QStringList found;
        for (int i = 0; i < view().files()->topLevelItemCount(); ++i)
            if (const auto* row = view().files()->topLevelItem(i); row->text(0) == what)
                found << row->text(1);
        return found;
    }
    SyncOutcome check_all() {
        QSignalSpy ended{&window.run(), &SyncRun::ended};
        QTest::mouseClick(window.subjects()->findChild<QPushButton*>("check"), Qt::LeftButton);
        REQUIRE(wait_until([&] { return ended.count() > 0; }));
        return qvariant_cast<SyncOutcome>(ended.takeFirst().at(0));
    }
};

} // namespace

TEST_CASE("states: Cancel while the password is asked leaves every subject as it was") {
    StatePlace place;
    if (!place.ready())
        return;
    StateWindow w{place};
    w.check_all();
    REQUIRE(w.state(0) == "1 change waiting");
    REQUIRE(w.state(1) == "1 change waiting");

    ::unsetenv("KITOVU_PASSWORD_SKRIPTE");
    QTimer responder; // the student presses Cancel while the password dialog is open
    QObject::connect(&responder, &QTimer::timeout, [&] {
        if (auto* dialog = qobject_cast<SecretDialog*>(QApplication::activeModalWidget())) {
            QTest::mouseClick(w.view().cancel_button(), Qt::LeftButton);
            dialog->reject();
        }
    });
    responder.start(10);
    const auto outcome = sync_in(w.window);
    responder.stop();
    REQUIRE(outcome.started);
    CHECK(outcome.report.cancelled);
    CHECK(w.view().status()->text().startsWith("Cancelled."));
    CHECK_FALSE(w.bar_full());
    // Nothing was synced: both still have their change waiting, neither is "in step".
    CHECK(w.state(0) == "1 change waiting");
    CHECK(w.state(1) == "1 change waiting");
}

TEST_CASE("states: a run that fails as a whole counts as failed, the bar never full") {
    StatePlace place;
    if (!place.ready())
        return;
    const bool server_down = GENERATE(false, true);
    INFO((server_down ? "server down" : "wrong password"));
    if (server_down)
        place.server.stop();
    else
        ::setenv("KITOVU_PASSWORD_SKRIPTE", "not it", 1);
    StateWindow w{place};
    const auto outcome = sync_in(w.window);
    REQUIRE(outcome.started);
    const QString status = w.view().status()->text();
    INFO(status.toStdString());
    CHECK(status.startsWith("Finished with problems."));
    CHECK(status.contains("1 failed"));
    CHECK_FALSE(w.bar_full());
    CHECK(w.rows("failed").size() == 1);
    CHECK(w.state(0) == "1 failed");
    CHECK(w.state(1) == "1 failed");
}

TEST_CASE("states: Cancel on a frozen server: the files it stopped are stopped, not failed, and "
          "no subject is in step") {
    StatePlace place;
    if (!place.ready())
        return;
    for (int i = 0; i < 30; ++i)
        place.server.put("EPJ/Folie " + std::to_string(i) + ".pdf",
                         random_bytes(256 * 1024, static_cast<std::uint64_t>(i)));
    StateWindow w{place};
    // The server freezes after the second file, from the sync's own thread (no race with it).
    std::atomic<int> done{0};
    std::atomic<bool> frozen{false};
    QObject::connect(
        &w.window.run(), &SyncRun::finished, &w.window.run(),
        [&](const QString&, const QString&) {
            if (++done == 2) {
                place.server.freeze();
                frozen = true;
            }
        },
        Qt::DirectConnection);
    QSignalSpy ended{&w.window.run(), &SyncRun::ended};
    QTest::mouseClick(w.window.subjects()->sync_all_button(), Qt::LeftButton);
    REQUIRE(wait_until([&] { return frozen.load() || ended.count() > 0; }));
    QTest::mouseClick(w.view().cancel_button(), Qt::LeftButton);
    REQUIRE(wait_until([&] { return ended.count() > 0; }));
    place.server.thaw();
    const auto outcome = qvariant_cast<SyncOutcome>(ended.at(0).at(0));
    REQUIRE(outcome.started);
    REQUIRE(outcome.report.cancelled);
    const QString status = w.view().status()->text();
    INFO(status.toStdString());
    INFO(text_of(w.view().files()));
    CHECK(status.startsWith("Cancelled."));
    CHECK(status.contains(" 0 failed"));
    CHECK(w.rows("failed").isEmpty());
    CHECK_FALSE(w.rows("stopped").isEmpty());
    CHECK_FALSE(w.bar_full());
    // What the student sees for the subjects: neither failed nor in step.
    for (int row : {0, 1}) {
        INFO(w.state(row).toStdString());
        CHECK(w.state(row) != "in step");
        CHECK_FALSE(w.state(row).contains("failed"));
    }
    // No time left for a run that has ended.
    CHECK_FALSE(w.view().numbers()->text().contains("left"));
}

TEST_CASE("states: a file gone from the server is named in its row and its filter shows it") {
    StatePlace place;
    if (!place.ready())
        return;
    StateWindow w{place};
    REQUIRE(sync_in(w.window).report.errors.empty());
    std::filesystem::remove(place.server.share() / "EPJ/Skript.pdf");
    const auto outcome = sync_in(w.window);
    REQUIRE(outcome.report.count(FileState::remote_deleted) == 1);
    INFO(text_of(w.view().files()));
    CHECK(w.rows("gone remotely (kept)") == QStringList{"EPJ/Skript.pdf"});
    CHECK(w.rows("note").isEmpty());
    w.view().filter()->setCurrentIndex(w.view().filter()->findText("Gone remotely"));
    QStringList shown;
    for (int i = 0; i < w.view().files()->topLevelItemCount(); ++i)
        if (!w.view().files()->topLevelItem(i)->isHidden())
            shown << w.view().files()->topLevelItem(i)->text(1);
    CHECK(shown == QStringList{"EPJ/Skript.pdf"});
}

TEST_CASE("states: a sync that cannot start (another holds the lock) leaves the subjects as they "
          "were and says why") {
    StatePlace place;
    if (!place.ready())
        return;
    StateWindow w{place};
    REQUIRE(sync_in(w.window).report.errors.empty());
    REQUIRE(w.state(0) == "in step");
    auto held = CacheLock::acquire(place.cache()); // the other window's (or the timer's) run
    REQUIRE(held);
    const auto outcome = sync_in(w.window);
    CHECK_FALSE(outcome.started);
    const QString status = w.view().status()->text();
    INFO(status.toStdString());
    CHECK(status.contains("Another sync with this configuration is running"));
    CHECK_FALSE(w.bar_full());
    CHECK(w.state(0) == "in step");
    CHECK(w.state(1) == "in step");
}

TEST_CASE("states: speed and time left count only the time files were transferred") {
    StatePlace place;
    if (!place.ready())
        return;
    constexpr std::size_t size = 4 * 1024 * 1024;
    place.server.put("EPJ/Skript.pdf", random_bytes(size, 7));
    ::unsetenv("KITOVU_PASSWORD_SKRIPTE");
    StateWindow w{place};
    // The student takes 3 s to type the password; that is not transfer time.
    constexpr qint64 typing_ms = 3000;
    QElapsedTimer open_for;
    QTimer responder;
    QObject::connect(&responder, &QTimer::timeout, [&] {
        if (auto* offer = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            offer->button(QMessageBox::No)->click();
            return;
        }
        auto* dialog = qobject_cast<SecretDialog*>(QApplication::activeModalWidget());
        if (dialog == nullptr)
            return;
        if (!open_for.isValid())
            open_for.start();
        if (open_for.elapsed() < typing_ms)
            return;
        dialog->field()->setText(QString::fromStdString(SambaServer::password()));
        QTest::keyClick(dialog->field(), Qt::Key_Return);
    });
    responder.start(10);
    QString last; // the numbers as the view showed them after the last bytes came
    QObject::connect(&w.window.run(), &SyncRun::received, &w.window,
                     [&](qint64) { last = w.view().numbers()->text(); });
    const auto outcome = sync_in(w.window);
    responder.stop();
    REQUIRE(outcome.report.errors.empty());
    INFO(last.toStdString());
    static const QRegularExpression speed_pattern{R"(([0-9.]+) (B|KiB|MiB|GiB)/s)"};
    const auto match = speed_pattern.match(last);
    REQUIRE(match.hasMatch());
    const QString unit = match.captured(2);
    const double factor = unit == "GiB"   ? 1024.0 * 1024 * 1024
                          : unit == "MiB" ? 1024.0 * 1024
                          : unit == "KiB" ? 1024.0
                                          : 1.0;
    // Measured over the whole run (typing included) it would be below size / 3 s.
    CHECK(match.captured(1).toDouble() * factor > static_cast<double>(size) * 1000 / typing_ms);
    CHECK_FALSE(w.view().numbers()->text().contains("left"));
}

TEST_CASE("states: the phase is shown: connecting, listing, downloading") {
    StatePlace place;
    if (!place.ready())
        return;
    StateWindow w{place};
    QStringList seen;
    const auto record = [&] {
        if (seen.isEmpty() || seen.back() != w.view().status()->text())
            seen << w.view().status()->text();
    };
    QObject::connect(&w.window.run(), &SyncRun::decided, &w.window, record);
    QObject::connect(&w.window.run(), &SyncRun::started, &w.window, record);
    QSignalSpy ended{&w.window.run(), &SyncRun::ended};
    QTest::mouseClick(w.window.subjects()->sync_all_button(), Qt::LeftButton);
    record();
    REQUIRE(wait_until([&] { return ended.count() > 0; }));
    INFO(seen.join(" / ").toStdString());
    REQUIRE(seen.size() >= 3);
    CHECK(seen[0].startsWith("Connecting"));
    CHECK(seen[1].startsWith("Listing"));
    CHECK(seen[2].startsWith("Downloading"));
}

TEST_CASE("states: after a restart a synced subject says when, not \"not checked yet\"") {
    StatePlace place;
    if (!place.ready())
        return;
    {
        StateWindow w{place};
        REQUIRE(sync_in(w.window).report.errors.empty());
    }
    StateWindow again{place};
    SubjectsModel& model = again.window.subjects_model();
    CHECK(model.data(model.index(0, SubjectsModel::synced_column), Qt::DisplayRole) != "never");
    CHECK(again.state(0) != "not checked yet");
    CHECK(again.state(0) != "in step"); // not checked in this session: not claimed either
}

TEST_CASE("states: Check for changes checks every subject, whichever row is selected") {
    StatePlace place;
    if (!place.ready())
        return;
    StateWindow w{place};
    w.window.subjects()->table()->selectRow(0);
    w.check_all();
    CHECK(w.state(0) == "1 change waiting");
    CHECK(w.state(1) == "1 change waiting");
}
#endif // KITOVU_WITH_SMB

TEST_CASE("states: a broken config at start is shown, and Sync all does not say Done") {
    Place place;
    write_file(place.config(), read_file(place.config()) + "pluign = \"local\"\n");
    QSettings{}.setValue(QStringLiteral("window/tab"), 0); // the Subjects tab, as last left
    MainWindow window{place.config(), place.cache()};
    window.show();
    CHECK(window.tabs()->currentWidget() == window.editor());
    CHECK_FALSE(window.editor()->errors().empty());
    QTest::mouseClick(window.subjects()->sync_all_button(), Qt::LeftButton);
    QCoreApplication::processEvents();
    const QString status = window.sync_view()->status()->text();
    INFO(status.toStdString());
    CHECK_FALSE(window.run().running());
    CHECK_FALSE(status.startsWith("Done"));
    CHECK(status.contains("configuration"));
}

TEST_CASE("states: the first-run assistant's Save saves the config, and the window uses it") {
    TempDir dir;
    std::filesystem::create_directories(dir / "remote/EPJ");
    write_file(dir / "remote/EPJ/a.txt", "sheet");
    const auto config = dir / "config/kitovu.toml";
    MainWindow window{config, dir / "state/kitovu.cache"};
    window.show();
    QTimer responder;
    QObject::connect(&responder, &QTimer::timeout, [&] {
        auto* assistant = qobject_cast<FirstRunAssistant*>(QApplication::activeModalWidget());
        if (assistant == nullptr)
            return;
        responder.stop();
        assistant->plugin()->setCurrentIndex(assistant->plugin()->findData("local"));
        QTest::keyClicks(qobject_cast<QLineEdit*>(assistant->field("path")),
                         QString::fromStdString((dir / "remote").string()));
        assistant->root_dir()->setText(QString::fromStdString((dir / "home").string()));
        assistant->subjects()->setItem(0, 0, new QTableWidgetItem("EPJ"));
        assistant->subjects()->setItem(0, 1, new QTableWidgetItem("EPJ"));
        QTest::mouseClick(assistant->save_button(), Qt::LeftButton);
    });
    responder.start(10);
    window.run_assistant();
    REQUIRE(std::filesystem::exists(config));
    CHECK(load_settings(config).has_value());
    CHECK(window.subjects_model().rowCount() == 1);
    const auto outcome = sync_in(window);
    CHECK(outcome.report.count(FileState::new_file) == 1);
}
