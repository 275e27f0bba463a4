#include "sync_run.hpp"

#include <QMetaObject>
#include <QRegularExpression>
#include <QThread>

namespace kitovu::gui {

// The library words its yes/no questions for a terminal ("… in the keyring? [Y/n] "); a
// dialog has buttons instead. Its offer to remember a secret (credentials.hpp: "remember the
// WHAT for NAME in the keyring?") is asked in the window's language; any other question as the
// library words it.
QString question_without_terminal_hint(std::string_view question) {
    constexpr std::string_view hint = " [Y/n] ";
    if (question.ends_with(hint))
        question.remove_suffix(hint.size());
    QString text = QString::fromUtf8(question.data(), static_cast<qsizetype>(question.size()));
    static const QRegularExpression offer{
        QStringLiteral("^remember the (password|token) for (.+) in the keyring\\?$")};
    if (const auto match = offer.match(text); match.hasMatch())
        return (match.captured(1) == QLatin1String("password")
                    ? SyncRun::tr("Remember the password for %1 in the keyring?")
                    : SyncRun::tr("Remember the token for %1 in the keyring?"))
            .arg(match.captured(2));
    if (!text.isEmpty())
        text[0] = text[0].toUpper();
    return text;
}

class SyncRun::Observer final : public SyncObserver {
  public:
    explicit Observer(SyncRun& run) : run_(run) {}
    void planned(std::size_t files, std::uint64_t bytes) override {
        Q_EMIT run_.planned(static_cast<qint64>(files), static_cast<qint64>(bytes));
    }
    void decided(const FileEvent& file, FileState state) override {
        Q_EMIT run_.decided(QString::fromStdString(std::string{file.connection}),
                            QString::fromStdString(file.local_path.string()),
                            static_cast<int>(state));
    }
    void started(const FileEvent& file) override {
        Q_EMIT run_.started(QString::fromStdString(file.local_path.string()),
                            static_cast<qint64>(file.size));
    }
    void received(std::uint64_t bytes) override {
        Q_EMIT run_.received(static_cast<qint64>(bytes));
    }
    void finished(const FileEvent& file, const UsageError* error) override {
        if (error != nullptr && error->kind == ErrorKind::cancelled) {
            Q_EMIT run_.stopped(QString::fromStdString(file.local_path.string()));
            return;
        }
        Q_EMIT run_.finished(QString::fromStdString(file.local_path.string()),
                             error != nullptr ? QString::fromStdString(error->message) : QString{});
    }

  private:
    SyncRun& run_;
};

SyncRun::SyncRun(QObject* parent) : QObject(parent), observer_(std::make_unique<Observer>(*this)) {
    qRegisterMetaType<SyncOutcome>();
}

SyncRun::~SyncRun() {
    cancel();
    if (thread_.joinable())
        thread_.join();
}

bool SyncRun::start(Settings settings, SyncOptions options) {
    if (running())
        return false;
    if (thread_.joinable())
        thread_.join(); // the last run has ended; its thread is done
    stop_ = std::stop_source{};
    finished_ = false;
    options.stop = stop_.get_token();
    options.observer = observer_.get();
    if (ask_secret)
        options.prompt = [this](std::string_view question) -> std::optional<std::string> {
            auto answer = ask_on_gui_thread(
                QString::fromUtf8(question.data(), static_cast<qsizetype>(question.size())));
            if (!answer)
                return std::nullopt;
            return answer->toStdString();
        };
    if (ask_yes)
        options.offer_to_keep = [this](std::string_view question) {
            return confirm_on_gui_thread(question_without_terminal_hint(question));
        };
    thread_ = std::thread{[this, settings = std::move(settings), options = std::move(options)] {
        SyncOutcome outcome;
        auto report = sync(settings, options, [this](const Warning& warning) {
            Q_EMIT warned(QString::fromStdString(std::string{to_string(warning.kind)}),
                          QString::fromStdString(warning.message),
                          QString::fromStdString(warning.path));
        });
        if (report) {
            outcome.started = true;
            outcome.report = std::move(*report);
        } else {
            outcome.error = QString::fromStdString(report.error().to_string());
        }
        // finished_ is only read and written on the GUI thread: set there, with the outcome.
        QMetaObject::invokeMethod(
            this,
            [this, outcome = std::move(outcome)] {
                finished_ = true;
                Q_EMIT ended(outcome);
            },
            Qt::QueuedConnection);
    }};
    return true;
}

void SyncRun::cancel() {
    stop_.request_stop();
}

bool SyncRun::confirm_on_gui_thread(const QString& question) {
    bool yes = false;
    QMetaObject::invokeMethod(
        this, [&] { yes = ask_yes(question); }, Qt::BlockingQueuedConnection);
    return yes;
}

std::optional<QString> SyncRun::ask_on_gui_thread(const QString& question) {
    std::optional<QString> answer;
    QMetaObject::invokeMethod(
        this, [&] { answer = ask_secret(question); }, Qt::BlockingQueuedConnection);
    return answer;
}

} // namespace kitovu::gui
