#include "sync_view.hpp"

#include "shown_path.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace kitovu::gui {

namespace {

// The filter's entries: what they show; -1 everything, -2 failures (no FileState of their own).
constexpr int show_all = -1;
constexpr int show_failed = -2;
constexpr int stopped_row = -3; // shown with everything, in no filter of its own
constexpr int state_role = Qt::UserRole;

} // namespace

QString state_words(FileState state) {
    switch (state) {
    case FileState::new_file: return SyncView::tr("new");
    case FileState::remote_changed: return SyncView::tr("updated");
    case FileState::unchanged: return SyncView::tr("unchanged");
    case FileState::local_changed: return SyncView::tr("your edit kept");
    case FileState::conflict: return SyncView::tr("conflict");
    case FileState::remote_deleted: return SyncView::tr("gone remotely (kept)");
    case FileState::adopted: return SyncView::tr("already here");
    case FileState::moved: return SyncView::tr("moved");
    }
    return {};
}

SyncView::SyncView(SyncRun& run, QWidget* parent)
    : QWidget(parent), run_(run), progress_(new QProgressBar), numbers_(new QLabel),
      current_(new QLabel), status_(new QLabel), filter_(new QComboBox), files_(new QTreeWidget),
      cancel_(new QPushButton(tr("&Cancel"))) {
    auto* layout = new QVBoxLayout(this);
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    layout->addWidget(progress_);
    layout->addWidget(numbers_);
    current_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    current_->setTextFormat(Qt::PlainText);
    layout->addWidget(current_);
    auto* row = new QHBoxLayout;
    auto* show = new QLabel(tr("&Show:"));
    show->setBuddy(filter_);
    row->addWidget(show);
    filter_->addItem(tr("Everything that changed"), show_all);
    filter_->addItem(tr("New"), static_cast<int>(FileState::new_file));
    filter_->addItem(tr("Updated"), static_cast<int>(FileState::remote_changed));
    filter_->addItem(tr("Conflicts"), static_cast<int>(FileState::conflict));
    filter_->addItem(tr("Gone remotely"), static_cast<int>(FileState::remote_deleted));
    filter_->addItem(tr("Failed"), show_failed);
    row->addWidget(filter_, 1);
    row->addStretch();
    cancel_->setEnabled(false);
    row->addWidget(cancel_);
    layout->addLayout(row);
    files_->setHeaderLabels({tr("What"), tr("File"), tr("Detail")});
    files_->setRootIsDecorated(false);
    files_->setUniformRowHeights(true); // thousands of rows stay cheap
    files_->header()->setSectionResizeMode(1, QHeaderView::Stretch);
    layout->addWidget(files_, 1);
    status_->setTextFormat(Qt::PlainText);
    status_->setWordWrap(true);
    layout->addWidget(status_);

    connect(filter_, &QComboBox::currentIndexChanged, this, [this] {
        for (int i = 0; i < files_->topLevelItemCount(); ++i)
            apply_filter(files_->topLevelItem(i));
    });
    connect(cancel_, &QPushButton::clicked, this, [this] {
        run_.cancel();
        cancel_->setEnabled(false);
        enter(Phase::stopping);
    });
    connect(&run_, &SyncRun::planned, this, [this](qint64, qint64 bytes) {
        planned_bytes_ = bytes;
        enter(Phase::listing);
        update_numbers();
    });
    connect(&run_, &SyncRun::decided, this, [this](const QString&, const QString& path, int state) {
        enter(Phase::listing);
        const auto file_state = static_cast<FileState>(state);
        // Files in step are the bulk of a run and say nothing; the list shows what changed.
        if (file_state != FileState::unchanged)
            add_row(state_words(file_state), file_state, path, {});
    });
    connect(&run_, &SyncRun::started, this, [this](const QString& path, qint64) {
        enter(Phase::downloading);
        transfer_began();
        current_->setText(tr("Transferring %1").arg(shown(path)));
    });
    connect(&run_, &SyncRun::received, this, [this](qint64 bytes) {
        done_bytes_ += bytes;
        update_numbers();
    });
    connect(&run_, &SyncRun::finished, this, [this](const QString& path, const QString& error) {
        transfer_ended();
        if (!error.isEmpty())
            add_row(tr("failed"), FileState::unchanged, path, error);
    });
    connect(&run_, &SyncRun::stopped, this, [this](const QString& path) {
        transfer_ended();
        add_row(tr("stopped"), FileState::unchanged, path, tr("the next sync fetches it"));
    });
    connect(&run_, &SyncRun::warned, this,
            [this](const QString& kind, const QString& message, const QString& path) {
                if (kind == QLatin1String("conflict")) // the conflict row says it already
                    return;
                if (kind == QLatin1String("remote-deleted")) // the file's own row, filterable
                    add_row(state_words(FileState::remote_deleted), FileState::remote_deleted, path,
                            {});
                else
                    add_row(tr("note"), FileState::unchanged, path, message);
            });
    connect(&run_, &SyncRun::ended, this, &SyncView::ended);
    update_numbers();
}

void SyncView::begin() {
    files_->clear();
    planned_bytes_ = 0;
    done_bytes_ = 0;
    transferred_ms_ = 0;
    active_ = 0;
    progress_->setValue(0);
    current_->clear();
    phase_ = Phase::ended;
    enter(Phase::connecting);
    cancel_->setEnabled(true);
    update_numbers();
}

void SyncView::enter(Phase phase) {
    // Phases only go forward: listing goes on while files download, and Stopping stays.
    if (phase <= phase_ && !(phase == Phase::connecting && phase_ == Phase::ended))
        return;
    phase_ = phase;
    switch (phase) {
    case Phase::connecting: status_->setText(tr("Connecting…")); break;
    case Phase::listing: status_->setText(tr("Listing…")); break;
    case Phase::downloading: status_->setText(tr("Downloading…")); break;
    case Phase::stopping: status_->setText(tr("Stopping…")); break;
    case Phase::ended: break;
    }
}

void SyncView::transfer_began() {
    if (active_++ == 0)
        transferring_.start();
}

void SyncView::transfer_ended() {
    if (active_ > 0 && --active_ == 0)
        transferred_ms_ += transferring_.elapsed();
}

double SyncView::transfer_seconds() const {
    const qint64 ms = transferred_ms_ + (active_ > 0 ? transferring_.elapsed() : 0);
    return static_cast<double>(ms) / 1000.0;
}

void SyncView::add_row(const QString& what, FileState state, const QString& path,
                       const QString& detail) {
    auto* row = new QTreeWidgetItem({what, shown(path), detail});
    row->setToolTip(1, path);
    const int role = what == tr("failed")    ? show_failed
                     : what == tr("stopped") ? stopped_row
                                             : static_cast<int>(state);
    row->setData(0, state_role, role);
    files_->addTopLevelItem(row);
    apply_filter(row);
}

QString SyncView::shown(const QString& path) const {
    return QString::fromStdString(shown_path(path.toStdString(), root_));
}

void SyncView::apply_filter(QTreeWidgetItem* row) const {
    const int wanted = filter_->currentData().toInt();
    row->setHidden(wanted != show_all && row->data(0, state_role).toInt() != wanted);
}

void SyncView::update_numbers() {
    if (planned_bytes_ > 0)
        progress_->setValue(
            static_cast<int>(1000 * std::min(done_bytes_, planned_bytes_) / planned_bytes_));
    const QLocale locale;
    QString text =
        tr("%1 of %2")
            .arg(locale.formattedDataSize(done_bytes_), locale.formattedDataSize(planned_bytes_));
    const double seconds = transfer_seconds();
    // Speed and time left only while the run goes on: after it they would be stale.
    if (phase_ != Phase::ended && seconds > 0 && done_bytes_ > 0) {
        const double speed = static_cast<double>(done_bytes_) / seconds;
        const auto left =
            static_cast<qint64>(static_cast<double>(planned_bytes_ - done_bytes_) / speed);
        text += tr(", %1/s, %2 s left")
                    .arg(locale.formattedDataSize(static_cast<qint64>(speed)))
                    .arg(std::max<qint64>(left, 0));
    }
    numbers_->setText(text);
}

void SyncView::ended(const SyncOutcome& outcome) {
    cancel_->setEnabled(false);
    current_->clear();
    phase_ = Phase::ended;
    active_ = 0;
    update_numbers();
    if (!outcome.started) {
        add_row(tr("failed"), FileState::unchanged, {}, outcome.error);
        status_->setText(tr("The sync could not start: %1").arg(outcome.error));
        return;
    }
    const SyncReport& report = outcome.report;
    // Full only for a run that did all it set out to do, nothing planned included.
    if (!report.cancelled && report.errors.empty())
        progress_->setValue(progress_->maximum());
    // A file a worker could not start because Cancel came first is in the report as an error
    // of kind `cancelled`: stopped, like the transfers Cancel ended, not a failure.
    std::vector<const UsageError*> failures;
    std::size_t stopped = 0;
    for (const UsageError& error : report.errors)
        if (error.kind == ErrorKind::cancelled)
            ++stopped;
        else
            failures.push_back(&error);
    QString text = report.cancelled   ? tr("Cancelled. ")
                   : failures.empty() ? tr("Done. ")
                                      : tr("Finished with problems. ");
    if (report.dry_run)
        text = tr("Checked (nothing changed on disk). ");
    text += tr("%1 new, %2 updated, %3 conflicts, %4 failed; %5 downloaded.")
                .arg(report.count(FileState::new_file))
                .arg(report.count(FileState::remote_changed))
                .arg(report.count(FileState::conflict))
                // A connection that failed as a whole is a failure too (no file of its own).
                .arg(std::max(report.failed - std::min(report.failed, stopped), failures.size()))
                .arg(QLocale().formattedDataSize(static_cast<qint64>(report.bytes_downloaded)));
    for (const UsageError& error : report.errors)
        if (error.kind == ErrorKind::cancelled)
            add_row(tr("stopped"), FileState::unchanged, QString::fromStdString(error.path),
                    tr("the next sync fetches it"));
        else
            add_row(tr("failed"), FileState::unchanged, QString::fromStdString(error.path),
                    QString::fromStdString(error.to_string()));
    // The first problem in words, e.g. a refused password: "skripte: login failed for user
    // alice: wrong user name or password".
    if (!failures.empty())
        text += QLatin1Char('\n') + QString::fromStdString(failures.front()->to_string());
    status_->setText(text);
}

} // namespace kitovu::gui
