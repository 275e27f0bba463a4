#include "subjects_view.hpp"

#include <QDesktopServices>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QPushButton>
#include <QTableView>
#include <QUrl>
#include <QVBoxLayout>

namespace kitovu::gui {

SubjectsView::SubjectsView(SubjectsModel& model, QWidget* parent)
    : QWidget(parent), model_(model), table_(new QTableView),
      sync_all_(new QPushButton(tr("Sync &all"))), sync_(new QPushButton(tr("S&ync"))),
      check_(new QPushButton(tr("C&heck for changes"))), open_(new QPushButton(tr("&Open folder"))),
      add_(new QPushButton(tr("A&dd…"))), edit_(new QPushButton(tr("&Edit…"))),
      remove_(new QPushButton(tr("&Remove…"))) {
    auto* layout = new QVBoxLayout(this);
    table_->setModel(&model_);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setAlternatingRowColors(true);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(SubjectsModel::sources_column,
                                                     QHeaderView::Stretch);
    table_->horizontalHeader()->setSectionResizeMode(SubjectsModel::name_column,
                                                     QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(SubjectsModel::state_column,
                                                     QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(SubjectsModel::synced_column,
                                                     QHeaderView::ResizeToContents);
    table_->setWordWrap(false);
    layout->addWidget(table_, 1);
    check_->setObjectName(QStringLiteral("check"));
    check_->setToolTip(tr("Lists what a sync would change, changing nothing"));
    auto* row = new QHBoxLayout;
    row->addWidget(sync_all_);
    row->addWidget(sync_);
    row->addWidget(check_);
    row->addStretch();
    row->addWidget(add_);
    row->addWidget(edit_);
    row->addWidget(remove_);
    row->addWidget(open_);
    layout->addLayout(row);
    add_->setToolTip(tr("Adds a subject to the configuration"));

    const auto update_buttons = [this] {
        const bool any = !selected().isEmpty();
        sync_->setEnabled(any);
        open_->setEnabled(any);
        edit_->setEnabled(selected().size() == 1);
        remove_->setEnabled(selected().size() == 1);
    };
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, update_buttons);
    connect(&model_, &QAbstractItemModel::modelReset, this, update_buttons);
    update_buttons();
    connect(sync_all_, &QPushButton::clicked, this, [this] { Q_EMIT sync_requested({}, false); });
    connect(sync_, &QPushButton::clicked, this,
            [this] { Q_EMIT sync_requested(selected(), false); });
    connect(check_, &QPushButton::clicked, this, [this] {
        Q_EMIT sync_requested({}, true); // all: a check is cheap, and no row is left stale
    });
    const auto current_row = [this] {
        const auto rows = table_->selectionModel()->selectedRows();
        return rows.size() == 1 ? rows.front().row() : -1;
    };
    connect(add_, &QPushButton::clicked, this, &SubjectsView::add_requested);
    connect(edit_, &QPushButton::clicked, this, [this, current_row] {
        if (const int row = current_row(); row >= 0)
            Q_EMIT edit_requested(row);
    });
    connect(remove_, &QPushButton::clicked, this, [this, current_row] {
        if (const int row = current_row(); row >= 0)
            Q_EMIT remove_requested(row);
    });
    connect(open_, &QPushButton::clicked, this, [this] {
        for (const QModelIndex& index : table_->selectionModel()->selectedRows()) {
            const Subject& subject =
                model_.settings().subjects[static_cast<std::size_t>(index.row())];
            if (subject.sources.empty())
                continue;
            // Never synced yet: the folder is made (empty), as the first sync would make it.
            const auto& folder = subject.sources.front().local_dir;
            std::error_code ec;
            std::filesystem::create_directories(folder, ec);
            QDesktopServices::openUrl(QUrl::fromLocalFile(QString::fromStdString(folder.string())));
        }
    });
}

QStringList SubjectsView::selected() const {
    QStringList names;
    if (table_->selectionModel() == nullptr)
        return names;
    for (const QModelIndex& index : table_->selectionModel()->selectedRows())
        names << model_.data(model_.index(index.row(), SubjectsModel::name_column), Qt::DisplayRole)
                     .toString();
    return names;
}

} // namespace kitovu::gui
