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

    void begin(); // a run starts: clears the last run's rows
    // Files below `root` are shown relative to it.
    void set_root(std::filesystem::path root) { root_ = std::move(root); }

  private:
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
    QElapsedTimer clock_;
    qint64 planned_bytes_ = 0;
    qint64 done_bytes_ = 0;
};

} // namespace kitovu::gui
