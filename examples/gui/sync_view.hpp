// The sync screen: overall progress with bytes, speed and time left, the file being
// transferred, what happened to each file (filterable), and Cancel.
#pragma once

#include "sync_run.hpp"

#include <QElapsedTimer>
#include <QWidget>

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QTreeWidget;
class QTreeWidgetItem;

namespace kitovu::gui {

// What a row of the file list says: the words of the CLI's summary.
QString state_words(FileState state);

class SyncView : public QWidget {
    Q_OBJECT
  public:
    explicit SyncView(SyncRun& run, QWidget* parent = nullptr);

    QProgressBar* progress() const { return progress_; }
    QPushButton* cancel_button() const { return cancel_; }
    QTreeWidget* files() const { return files_; }
    QComboBox* filter() const { return filter_; }
    QLabel* status() const { return status_; }
    QLabel* numbers() const { return numbers_; } // bytes, speed, time left

    void begin(); // a run starts: clears the last run's rows
    // Files below `root` are shown relative to it.
    void set_root(std::filesystem::path root) { root_ = std::move(root); }

  private:
    // What the run does now, shown until it ends (Cancel's "Stopping…" stays).
    enum class Phase { connecting, listing, downloading, stopping, ended };
    void enter(Phase phase);
    double transfer_seconds() const;
    void transfer_began();
    void transfer_ended();
    void add_row(const QString& what, FileState state, const QString& path, const QString& detail);
    void apply_filter(QTreeWidgetItem* row) const;
    void update_numbers();
    void ended(const SyncOutcome& outcome);

    SyncRun& run_;
    QProgressBar* progress_;
    QLabel* numbers_;
    QLabel* current_;
    QLabel* status_;
    QComboBox* filter_;
    QTreeWidget* files_;
    QPushButton* cancel_;
    QString shown(const QString& path) const;

    std::filesystem::path root_;
    Phase phase_ = Phase::ended;
    // Speed and time left count only the time transfers were going on (not a password dialog,
    // not the listing before the first download).
    QElapsedTimer transferring_;
    qint64 transferred_ms_ = 0;
    int active_ = 0;
    qint64 planned_bytes_ = 0;
    qint64 done_bytes_ = 0;
};

} // namespace kitovu::gui
