// One sync run off the GUI thread: kitovu::sync on a thread of its own, its observer, warnings
// and secret prompts turned into signals. The signals are emitted on the sync's thread and
// reach receivers on the GUI thread queued, so no widget is touched from the sync's thread.
#pragma once

#ifndef Q_MOC_RUN // moc reads only the Qt parts (it cannot parse all of C++23)
#include <kitovu/engine/engine.hpp>
#endif

#include <QObject>
#include <QString>
#include <QStringList>

#include <memory>
#include <stop_token>
#include <thread>

namespace kitovu::gui {

// What a run ended with, for the views.
struct SyncOutcome {
    bool started = false; // false: the run could not start (error says why)
    SyncReport report;
    QString error;
    UsageError start_error; // why it could not start, for the words of error_words()
};

QString question_without_terminal_hint(std::string_view question);

class SyncRun : public QObject {
    Q_OBJECT
  public:
    explicit SyncRun(QObject* parent = nullptr);
    ~SyncRun() override; // stops a run still going and waits for it

    // Starts a run unless one is going; false if one is.
    bool start(Settings settings, SyncOptions options);
    void cancel(); // the engine's stop token: temporaries removed, cache saved
    bool running() const { return thread_.joinable() && !finished_; }

    // Where a typed secret comes from: called on the GUI thread (the sync's thread waits).
    // Unset: never ask.
    std::function<std::optional<QString>(const QString& question)> ask_secret;
    // Whether to keep a typed secret in the keyring: called on the GUI thread. Unset: never.
    std::function<bool(const QString& question)> ask_yes;

  Q_SIGNALS:
    void planned(qint64 files, qint64 bytes);
    void decided(QString connection, QString local_path, int state);
    void started(QString local_path, qint64 size);
    void received(qint64 bytes);
    void finished(QString local_path, QString error);
    // A transfer Cancel stopped: neither done nor failed, the next run fetches it.
    void stopped(QString local_path);
    void warned(QString kind, QString message, QString path);
    void ended(kitovu::gui::SyncOutcome outcome);

  private:
    class Observer;
    std::optional<QString> ask_on_gui_thread(const QString& question);
    bool confirm_on_gui_thread(const QString& question);

    std::unique_ptr<Observer> observer_;
    std::stop_source stop_;
    std::thread thread_;
    bool finished_ = true;
};

} // namespace kitovu::gui

Q_DECLARE_METATYPE(kitovu::gui::SyncOutcome)
