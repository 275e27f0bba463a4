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
      check_(new QPushButton(tr("C&heck for changes"))),
      open_(new QPushButton(tr("&Open folder"))) {
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
    row->addWidget(open_);
    layout->addLayout(row);

    const auto update_buttons = [this] {
        const bool any = !selected().isEmpty();
        sync_->setEnabled(any);
        open_->setEnabled(any);
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
    connect(open_, &QPushButton::clicked, this, [this] {
        for (const QModelIndex& index : table_->selectionModel()->selectedRows()) {
            const Subject& subject =
                model_.settings().subjects[static_cast<std::size_t>(index.row())];
            if (!subject.sources.empty())
                QDesktopServices::openUrl(QUrl::fromLocalFile(
                    QString::fromStdString(subject.sources.front().local_dir.string())));
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
