#include "folder_browser.hpp"

#include "error_words.hpp"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace kitovu::gui {

namespace {

constexpr int path_role = Qt::UserRole;
constexpr int title_role = Qt::UserRole + 1;
constexpr int listed_role = Qt::UserRole + 2;

QString qt(const std::string& text) {
    return QString::fromStdString(text);
}

} // namespace

FolderBrowser::FolderBrowser(RemoteFolders remote, const QString& what, bool several,
                             QWidget* parent)
    : QDialog(parent), lister_(std::move(remote.lister)), relogin_(std::move(remote.relogin)),
      tree_(new QTreeWidget), state_(new QLabel),
      buttons_(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel)) {
    setWindowTitle(what);
    auto* layout = new QVBoxLayout(this);
    tree_->setHeaderLabels({tr("Name"), tr("Title")});
    tree_->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    tree_->setSelectionMode(several ? QAbstractItemView::ExtendedSelection
                                    : QAbstractItemView::SingleSelection);
    layout->addWidget(tree_, 1);
    state_->setTextFormat(Qt::PlainText);
    state_->setWordWrap(true);
    layout->addWidget(state_);
    buttons_->button(QDialogButtonBox::Ok)
        ->setText(several ? tr("&Add the chosen") : tr("&Choose"));
    buttons_->button(QDialogButtonBox::Ok)->setEnabled(false);
    layout->addWidget(buttons_);
    resize(560, 420);

    connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(tree_, &QTreeWidget::itemSelectionChanged, this,
            [this] { buttons_->button(QDialogButtonBox::Ok)->setEnabled(!picked().empty()); });
    connect(tree_, &QTreeWidget::itemExpanded, this, [this](QTreeWidgetItem* item) {
        if (!item->data(0, listed_role).toBool())
            list(item);
    });
    list(nullptr);
}

std::vector<PickedFolder> FolderBrowser::picked() const {
    std::vector<PickedFolder> folders;
    for (const QTreeWidgetItem* item : tree_->selectedItems()) {
        const QString path = item->data(0, path_role).toString();
        if (path.isEmpty())
            continue; // a placeholder row ("listing…")
        const QString title = item->data(0, title_role).toString();
        folders.push_back(
            {path.toStdString(), (title.isEmpty() ? item->text(0) : title).toStdString()});
    }
    return folders;
}

void FolderBrowser::list(QTreeWidgetItem* item) {
    if (item != nullptr)
        item->setData(0, listed_role, true);
    waiting_.push_back(item);
    if (!work_.busy())
        list_next();
}

// One listing at a time: a second folder opened meanwhile waits its turn.
void FolderBrowser::list_next() {
    if (waiting_.empty())
        return;
    QTreeWidgetItem* item = waiting_.front();
    waiting_.erase(waiting_.begin());
    const std::string dir =
        item != nullptr ? item->data(0, path_role).toString().toStdString() : std::string{};
    state_->setText(tr("Asking the server…"));
    work_.run([lister = lister_, dir](std::stop_token stop) { return lister(dir, stop); },
              [this, item](expected<std::vector<BrowseEntry>, UsageError> entries) {
                  if (!entries) {
                      state_->setText(error_words(entries.error()));
                      if (entries.error().kind == ErrorKind::authentication && relogin_)
                          if (auto again = relogin_(entries.error())) { // the same folder again
                              lister_ = std::move(*again);
                              waiting_.insert(waiting_.begin(), item);
                              list_next();
                              return;
                          }
                  } else {
                      state_->setText(entries->empty() ? tr("This folder is empty.")
                                                       : tr("Open a folder to see inside it."));
                      const std::string base =
                          item != nullptr ? item->data(0, path_role).toString().toStdString()
                                          : std::string{};
                      for (const BrowseEntry& entry : *entries) {
                          if (!entry.is_folder)
                              continue; // a subject is a folder
                          auto* row = new QTreeWidgetItem{{qt(entry.name), qt(entry.title)}};
                          row->setData(0, path_role,
                                       qt(base.empty() ? entry.name : base + "/" + entry.name));
                          row->setData(0, title_role, qt(entry.title));
                          row->setChildIndicatorPolicy(QTreeWidgetItem::ShowIndicator);
                          if (item != nullptr)
                              item->addChild(row);
                          else
                              tree_->addTopLevelItem(row);
                      }
                      if (item != nullptr && item->childCount() == 0)
                          item->setChildIndicatorPolicy(QTreeWidgetItem::DontShowIndicator);
                  }
                  Q_EMIT listed();
                  list_next();
              });
}

} // namespace kitovu::gui
