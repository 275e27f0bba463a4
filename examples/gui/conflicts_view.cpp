#include "conflicts_view.hpp"

#include "shown_path.hpp"

#include <QDateTime>
#include <QDesktopServices>
#include <QFile>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QTreeWidget>
#include <QUrl>
#include <QVBoxLayout>

#include <ctime>

namespace kitovu::gui {

namespace {

QString describe(const std::filesystem::path& file) {
    const QFileInfo info{QString::fromStdString(file.string())};
    const QLocale locale;
    return ConflictsView::tr("%1, %2").arg(
        locale.formattedDataSize(info.size()),
        locale.toString(info.lastModified(), QLocale::ShortFormat));
}

} // namespace

ConflictsView::ConflictsView(QWidget* parent)
    : QWidget(parent), list_(new QTreeWidget), open_both_(new QPushButton(tr("&Open both"))),
      keep_mine_(new QPushButton(tr("&Keep mine"))),
      take_theirs_(new QPushButton(tr("&Take theirs"))), status_(new QLabel) {
    auto* layout = new QVBoxLayout(this);
    list_->setHeaderLabels({tr("File"), tr("Mine (edited here)"), tr("Theirs (from the remote)")});
    list_->setRootIsDecorated(false);
    list_->header()->setStretchLastSection(false);
    list_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    list_->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    list_->header()->setSectionResizeMode(2, QHeaderView::ResizeToContents);
    layout->addWidget(list_, 1);
    keep_mine_->setToolTip(tr("Keeps your version; the remote copy goes to the trash"));
    take_theirs_->setToolTip(tr("The remote version replaces yours; yours is kept beside it "
                                "as a backup"));
    auto* row = new QHBoxLayout;
    row->addWidget(open_both_);
    row->addStretch();
    row->addWidget(keep_mine_);
    row->addWidget(take_theirs_);
    layout->addLayout(row);
    status_->setTextFormat(Qt::PlainText);
    status_->setWordWrap(true);
    layout->addWidget(status_);

    const auto update_buttons = [this] {
        const bool any = current() != nullptr;
        open_both_->setEnabled(any);
        keep_mine_->setEnabled(any);
        take_theirs_->setEnabled(any);
    };
    connect(list_, &QTreeWidget::currentItemChanged, this, update_buttons);
    update_buttons();
    connect(open_both_, &QPushButton::clicked, this, [this] {
        if (const Conflict* conflict = current()) {
            QDesktopServices::openUrl(
                QUrl::fromLocalFile(QString::fromStdString(conflict->mine.string())));
            QDesktopServices::openUrl(
                QUrl::fromLocalFile(QString::fromStdString(conflict->theirs.string())));
        }
    });
    connect(keep_mine_, &QPushButton::clicked, this, &ConflictsView::keep_mine);
    connect(take_theirs_, &QPushButton::clicked, this, &ConflictsView::take_theirs);
}

void ConflictsView::set_place(const Settings& settings, std::filesystem::path cache_file) {
    folders_.clear();
    for (const Subject& subject : settings.subjects)
        for (const Source& source : subject.sources)
            folders_.push_back(source.local_dir);
    cache_file_ = std::move(cache_file);
    root_ = settings.root_dir;
    refresh();
}

void ConflictsView::refresh() {
    conflicts_.clear();
    for (const auto& folder : folders_)
        for (Conflict& conflict : find_conflicts(folder))
            if (std::ranges::find(conflicts_, conflict.theirs, &Conflict::theirs) ==
                conflicts_.end())
                conflicts_.push_back(std::move(conflict));
    list_->clear();
    for (const Conflict& conflict : conflicts_)
        list_->addTopLevelItem(
            new QTreeWidgetItem({QString::fromStdString(conflict.mine.string()),
                                 describe(conflict.mine), describe(conflict.theirs)}));
    if (list_->topLevelItemCount() > 0)
        list_->setCurrentItem(list_->topLevelItem(0));
}

const Conflict* ConflictsView::current() const {
    const int row = list_->indexOfTopLevelItem(list_->currentItem());
    return row >= 0 && row < static_cast<int>(conflicts_.size())
               ? &conflicts_[static_cast<std::size_t>(row)]
               : nullptr;
}

// The engine's record already says the remote side is in step and the local file is an edit,
// so removing the copy is all: the next run keeps the edit and fetches nothing.
void ConflictsView::keep_mine() {
    const Conflict* conflict = current();
    if (conflict == nullptr)
        return;
    const QString theirs = QString::fromStdString(conflict->theirs.string());
    QFile file{theirs};
    if (file.moveToTrash())
        status_->setText(
            tr("Kept yours; the remote copy is in the trash: %1").arg(file.fileName()));
    else if (QFile::remove(theirs)) // no trash on this system: the click said remove it
        status_->setText(tr("Kept yours; the remote copy was removed."));
    else {
        status_->setText(tr("Cannot remove %1: %2").arg(theirs, file.errorString()));
        return;
    }
    refresh();
    Q_EMIT resolved();
}

void ConflictsView::take_theirs() {
    const Conflict* conflict = current();
    if (conflict == nullptr)
        return;
    auto backup = kitovu::take_theirs(*conflict, cache_file_, std::time(nullptr));
    if (!backup) {
        status_->setText(QString::fromStdString(backup.error().to_string()));
        return;
    }
    status_->setText(tr("Took the remote version; yours is kept as %1")
                         .arg(QString::fromStdString(backup->string())));
    refresh();
    Q_EMIT resolved();
}

} // namespace kitovu::gui
