// What the GUI tests share: waiting for what the window shows, a user's setup (a local remote or
// a real smbd), running a sync from the window, answering its dialogs, screenshots.
#pragma once

#include "gui_app.hpp"
#include "process.hpp" // patience_ms
#include "samba_fixture.hpp"
#include "support.hpp"

#include "memory_plugin.hpp"

#include "main_window.hpp"
#include "secret_dialog.hpp"

#include <catch2/catch.hpp>

#include <QAbstractButton>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>
#include <QTreeWidget>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>

namespace kitovu::test {

using namespace kitovu::gui;

// Events are processed until `done` holds; false if it never does within the patience.
template <class Done>
bool wait_until(Done done) {
    QElapsedTimer clock;
    clock.start();
    while (!done()) {
        if (clock.elapsed() > patience_ms)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    }
    return true;
}

// A user's setup: a remote folder (plugin local) with the subject EPJ, a config and a cache.
struct Place {
    TempDir dir;
    std::filesystem::path remote() const { return dir / "remote"; }
    std::filesystem::path home() const { return dir / "home"; }
    std::filesystem::path config() const { return dir / "config/kitovu.toml"; }
    std::filesystem::path cache() const { return dir / "state/kitovu.cache"; }

    Place() {
        std::filesystem::create_directories(remote() / "EPJ");
        std::filesystem::create_directories(remote() / "AnI");
        write_file(config(), "root-dir = \"" + home().string() +
                                 "\"\n\n[[connections]]\nname = \"uni\"\nplugin = \"local\"\n"
                                 "path = \"" +
                                 remote().string() +
                                 "\"\n\n[[subjects]]\nname = \"EPJ\"\n  [[subjects.sources]]\n"
                                 "  connection = \"uni\"\n  remote-dir = \"EPJ\"\n\n"
                                 "[[subjects]]\nname = \"AnI\"\n  [[subjects.sources]]\n"
                                 "  connection = \"uni\"\n  remote-dir = \"AnI\"\n");
    }
};

inline std::string text_of(const QTreeWidget* list) {
    std::string text;
    for (int i = 0; i < list->topLevelItemCount(); ++i) {
        const auto* row = list->topLevelItem(i);
        text += row->text(0).toStdString() + " | " + row->text(1).toStdString() + "\n";
    }
    return text;
}

// Runs a sync from the window and waits for its end.
inline SyncOutcome sync_in(MainWindow& window, const QStringList& subjects = {}) {
    QSignalSpy ended{&window.run(), &SyncRun::ended};
    REQUIRE(window.sync(subjects, false));
    REQUIRE(wait_until([&] { return ended.count() > 0; }));
    return qvariant_cast<SyncOutcome>(ended.takeFirst().at(0));
}

// Saves a screen as the PNG README shows (docs/images), as the test made it.
inline void screenshot(QWidget& widget, const char* name) {
    widget.resize(900, 520);
    QCoreApplication::processEvents();
    const auto file = std::filesystem::path{KITOVU_SOURCE_DIR} / "docs/images" / name;
    std::filesystem::create_directories(file.parent_path());
    CHECK(widget.grab().save(QString::fromStdString(file.string()), "PNG"));
}

// Answers the window's dialogs from inside their own event loops (exec() waits for them): the
// password dialog with `password`, the offer to remember it with `remember`. What was asked is
// kept, in order.
struct DialogAnswers {
    QStringList questions;
    bool masked = true;
    QTimer responder;

    DialogAnswers(const QString& password, bool remember) {
        QObject::connect(&responder, &QTimer::timeout, [this, password, remember] {
            if (auto* offer = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
                questions << offer->text();
                offer->button(remember ? QMessageBox::Yes : QMessageBox::No)->click();
                return;
            }
            auto* dialog = qobject_cast<SecretDialog*>(QApplication::activeModalWidget());
            if (dialog == nullptr)
                return;
            questions << dialog->findChild<QLabel*>()->text();
            masked = masked && dialog->field()->echoMode() == QLineEdit::Password;
            QTest::keyClicks(dialog->field(), password);
            QTest::keyClick(dialog->field(), Qt::Key_Return);
        });
        responder.start(10);
    }
};

// A real smbd sharing EPJ/Skript.pdf and a config with its connection `skripte`.
struct SmbPlace : Place {
    SambaServer server;
    bool ready() {
        if (!samba_ready(server))
            return false;
        server.put("EPJ/Skript.pdf", "notes");
        ::unsetenv("KITOVU_PASSWORD_SKRIPTE");
        write_file(config(), server.kitovu_config(home(), "skripte"));
        return true;
    }
};

// The mnemonic letter of `text` (after '&'), with the text, into `letters`.
inline void add_mnemonic(std::map<QChar, QStringList>& letters, const QString& text) {
    for (qsizetype i = text.indexOf('&'); i >= 0 && i + 1 < text.size();
         i = text.indexOf('&', i + 2))
        if (text[i + 1] != '&')
            letters[text[i + 1].toLower()] << text;
}

// The Alt+letters `widget` offers at once (its shown buttons and labels with a buddy), each with
// every text that claims it.
inline std::map<QChar, QStringList> mnemonics_in(const QWidget& widget) {
    std::map<QChar, QStringList> letters;
    for (const QAbstractButton* button : widget.findChildren<QAbstractButton*>())
        if (button->isVisibleTo(&widget))
            add_mnemonic(letters, button->text());
    for (const QLabel* label : widget.findChildren<QLabel*>())
        if (label->buddy() != nullptr && label->isVisibleTo(&widget))
            add_mnemonic(letters, label->text());
    return letters;
}

// Runs `act` on each modal dialog of type Dialog as it comes up (from inside its exec(), which
// waits for it); `act` closes it. Counts how many came.
template <class Dialog>
struct WhenShown {
    QTimer timer;
    int times = 0;
    explicit WhenShown(std::function<void(Dialog&)> act) {
        QObject::connect(&timer, &QTimer::timeout, [this, act = std::move(act)] {
            if (auto* dialog = qobject_cast<Dialog*>(QApplication::activeModalWidget())) {
                ++times;
                act(*dialog);
            }
        });
        timer.start(10);
    }
};

// Types `text` into the line edit `field` as a user would, replacing what it held.
inline void type_into(QWidget* field, const QString& text) {
    auto* line = qobject_cast<QLineEdit*>(field);
    REQUIRE(line != nullptr);
    line->setFocus();
    line->selectAll();
    QTest::keyClicks(line, text);
}

// Holds one download of the memory remote mid-transfer until released, so a test sees a run
// in the middle (progress, Cancel) without depending on how fast the machine is.
struct Gate {
    std::mutex mutex;
    std::condition_variable changed;
    bool reached = false;
    bool released = false;

    void hold() {
        std::unique_lock lock{mutex};
        reached = true;
        changed.notify_all();
        changed.wait(lock, [&] { return released; });
    }
    bool was_reached() {
        std::scoped_lock lock{mutex};
        return reached;
    }
    void release() {
        std::scoped_lock lock{mutex};
        released = true;
        changed.notify_all();
    }
};

// A config with one memory remote `name` holding EPJ/ files 0..count-1, the last held by `gate`.
inline std::string memory_config(const Place& place, const std::string& name, int count,
                                 Gate& gate) {
    forget_remote(name);
    auto remote = test::remote(name);
    for (int i = 0; i < count; ++i)
        remote->put("EPJ/" + std::to_string(i) + ".pdf", random_bytes(20'000, i));
    remote->during_retrieve = [&gate, held = "EPJ/" + std::to_string(count - 1) +
                                             ".pdf"](const std::string& locator) {
        if (locator == held)
            gate.hold();
    };
    return "root-dir = \"" + place.home().string() +
           "\"\n[[connections]]\nname = \"uni\"\nplugin = \"memory\"\nremote = \"" + name +
           "\"\n[[subjects]]\nname = \"EPJ\"\n  [[subjects.sources]]\n  connection = \"uni\"\n"
           "  remote-dir = \"EPJ\"\n";
}

} // namespace kitovu::test
