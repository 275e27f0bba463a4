// Subjects at a glance: one row per subject with its sources, when it was last synced, and its
// state (in step, N changes waiting, conflicts, failed), kept up to date from sync runs.
#pragma once

#include "sync_run.hpp"

#include <QAbstractTableModel>
#include <QDateTime>

#include <map>

namespace kitovu::gui {

// What is known of one subject, from the runs of this session and the files on disk.
struct SubjectState {
    std::size_t waiting = 0;   // changes a check (dry run) found
    std::size_t conflicts = 0; // conflict copies next to the subject's files
    std::size_t failed = 0;
    bool checked = false; // a run or a check has looked at it
    QDateTime last_synced{};
};

// The state's words; pure, so the table of cases is tested.
QString state_text(const SubjectState& state);

class SubjectsModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column { name_column, sources_column, synced_column, state_column, column_count };

    explicit SubjectsModel(QObject* parent = nullptr);

    void set_settings(Settings settings);
    const Settings& settings() const { return settings_; }
    // The subject a local path belongs to (by its sources' folders); -1 when none.
    int subject_of(const std::filesystem::path& local) const;
    // Conflict copies on disk, counted again (after a sync, a resolved conflict).
    void count_conflicts();
    // A run over `subjects` (names) starts: its tallies start from zero.
    void run_started(const QStringList& subjects, bool dry_run);
    void file_decided(const QString& local_path, FileState state, bool dry_run);
    void file_failed(const QString& local_path);
    void run_ended(const QStringList& subjects, const SyncOutcome& outcome, bool dry_run);
    const SubjectState& state(int row) const { return states_[static_cast<std::size_t>(row)]; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  private:
    QString settings_key(int row) const;
    void changed_row(int row);

    Settings settings_;
    std::vector<SubjectState> states_;
    std::vector<SubjectState> before_run_; // what a run that did not happen leaves as it was
};

} // namespace kitovu::gui
