#include "subjects_model.hpp"

#include <kitovu/engine/conflicts.hpp>

#include <QSettings>

namespace kitovu::gui {

QString state_text(const SubjectState& state) {
    // English plurals without a translation loaded; a translation gives its own forms.
    const auto count = [](std::size_t n, const char* one, const char* many) {
        return n == 1 ? SubjectsModel::tr(one) : SubjectsModel::tr(many).arg(n);
    };
    // Marked for lupdate, which finds only literals in its own macros.
    if (state.failed > 0)
        return count(state.failed, QT_TRANSLATE_NOOP("kitovu::gui::SubjectsModel", "1 failed"),
                     QT_TRANSLATE_NOOP("kitovu::gui::SubjectsModel", "%1 failed"));
    if (state.conflicts > 0)
        return count(state.conflicts, QT_TRANSLATE_NOOP("kitovu::gui::SubjectsModel", "1 conflict"),
                     QT_TRANSLATE_NOOP("kitovu::gui::SubjectsModel", "%1 conflicts"));
    if (state.waiting > 0)
        return count(state.waiting,
                     QT_TRANSLATE_NOOP("kitovu::gui::SubjectsModel", "1 change waiting"),
                     QT_TRANSLATE_NOOP("kitovu::gui::SubjectsModel", "%1 changes waiting"));
    if (!state.checked) // this session has not looked; the last sync (another session's) did
        return state.last_synced.isValid() ? SubjectsModel::tr("last sync complete")
                                           : SubjectsModel::tr("not checked yet");
    return SubjectsModel::tr("in step");
}

SubjectsModel::SubjectsModel(QObject* parent) : QAbstractTableModel(parent) {}

void SubjectsModel::set_settings(Settings settings) {
    beginResetModel();
    settings_ = std::move(settings);
    states_.assign(settings_.subjects.size(), SubjectState{});
    QSettings stored;
    for (std::size_t row = 0; row < states_.size(); ++row)
        states_[row].last_synced = stored.value(settings_key(static_cast<int>(row))).toDateTime();
    endResetModel();
    count_conflicts();
}

QString SubjectsModel::settings_key(int row) const {
    // Per config file, so two configs with a subject of the same name do not mix.
    return QStringLiteral("last-synced/%1/%2")
        .arg(QString::fromStdString(settings_.file.string()).toUtf8().toHex(),
             QString::fromStdString(settings_.subjects[static_cast<std::size_t>(row)].name)
                 .toUtf8()
                 .toHex());
}

int SubjectsModel::subject_of(const std::filesystem::path& local) const {
    const std::string path = local.string();
    for (std::size_t row = 0; row < settings_.subjects.size(); ++row)
        for (const Source& source : settings_.subjects[row].sources) {
            const std::string dir = source.local_dir.string();
            if (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/')
                return static_cast<int>(row);
        }
    return -1;
}

void SubjectsModel::count_conflicts() {
    for (std::size_t row = 0; row < states_.size(); ++row) {
        std::size_t found = 0;
        for (const Source& source : settings_.subjects[row].sources)
            found += find_conflicts(source.local_dir).size();
        states_[row].conflicts = found;
        changed_row(static_cast<int>(row));
    }
}

void SubjectsModel::run_started(const QStringList& subjects, bool dry_run) {
    before_run_ = states_;
    for (std::size_t row = 0; row < states_.size(); ++row)
        if (subjects.contains(QString::fromStdString(settings_.subjects[row].name))) {
            if (!dry_run)
                states_[row].failed = 0;
            states_[row].waiting = 0;
            changed_row(static_cast<int>(row));
        }
}

void SubjectsModel::file_decided(const QString& local_path, FileState state, bool dry_run) {
    const int row = subject_of(local_path.toStdString());
    if (row < 0 || !dry_run || state == FileState::unchanged || state == FileState::local_changed)
        return;
    ++states_[static_cast<std::size_t>(row)].waiting;
    changed_row(row);
}

void SubjectsModel::file_failed(const QString& local_path) {
    const int row = subject_of(local_path.toStdString());
    if (row < 0)
        return;
    ++states_[static_cast<std::size_t>(row)].failed;
    changed_row(row);
}

void SubjectsModel::run_ended(const QStringList& subjects, const SyncOutcome& outcome,
                              bool dry_run) {
    QSettings stored;
    const QDateTime now = QDateTime::currentDateTime();
    for (std::size_t row = 0; row < states_.size(); ++row) {
        if (!subjects.contains(QString::fromStdString(settings_.subjects[row].name)))
            continue;
        SubjectState& state = states_[row];
        const SubjectState before = row < before_run_.size() ? before_run_[row] : SubjectState{};
        if (!outcome.started) { // nothing was looked at (another run holds the lock, say)
            state = before;
            changed_row(static_cast<int>(row));
            continue;
        }
        if (outcome.report.cancelled) {
            // Stopped before it was seen through: what was known before still holds, except
            // failures this run met.
            state.checked = before.checked;
            state.waiting = before.waiting;
            if (state.failed == 0)
                state.failed = before.failed;
        } else {
            state.checked = true;
        }
        // A connection or source that failed as a whole (a file's failure names its path).
        for (const UsageError& error : outcome.report.errors)
            for (const Source& source : settings_.subjects[row].sources)
                if (error.path.empty() && error.connection == source.connection &&
                    error.kind != ErrorKind::cancelled)
                    ++state.failed;
        if (!dry_run && !outcome.report.cancelled && state.failed == 0) {
            state.last_synced = now;
            stored.setValue(settings_key(static_cast<int>(row)), now);
        }
    }
    count_conflicts();
}

void SubjectsModel::changed_row(int row) {
    Q_EMIT dataChanged(index(row, 0), index(row, column_count - 1));
}

int SubjectsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(settings_.subjects.size());
}

int SubjectsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : column_count;
}

QVariant SubjectsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || role != Qt::DisplayRole)
        return {};
    const auto row = static_cast<std::size_t>(index.row());
    const Subject& subject = settings_.subjects[row];
    switch (index.column()) {
    case name_column: return QString::fromStdString(subject.name);
    case sources_column: {
        QStringList sources;
        for (const Source& source : subject.sources)
            sources << QStringLiteral("%1: %2").arg(QString::fromStdString(source.connection),
                                                    QString::fromStdString(source.remote_dir));
        return sources.join(QStringLiteral("; "));
    }
    case synced_column:
        return states_[row].last_synced.isValid()
                   ? QLocale().toString(states_[row].last_synced, QLocale::ShortFormat)
                   : tr("never");
    case state_column: return state_text(states_[row]);
    default: return {};
    }
}

QVariant SubjectsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case name_column: return tr("Subject");
    case sources_column: return tr("Sources");
    case synced_column: return tr("Last synced");
    case state_column: return tr("State");
    default: return {};
    }
}

} // namespace kitovu::gui
