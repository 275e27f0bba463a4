// Picking remote folders instead of typing them: a share's folders or a Moodle site's courses,
// listed level by level as the student opens them (off the GUI thread), through the library's
// browse call, so the CLI's `kitovu ls` and the window see the same.
#pragma once

#include "off_thread.hpp"

#ifndef Q_MOC_RUN // moc reads only the Qt parts (it cannot parse all of C++23)
#include <kitovu/error.hpp>
#include <kitovu/expected.hpp>
#include <kitovu/plugin/browse_entry.hpp>
#endif

#include <QDialog>

#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

class QDialogButtonBox;
class QLabel;
class QTreeWidget;
class QTreeWidgetItem;

namespace kitovu::gui {

// A remote folder's entries; `dir` is "" for the top, else a path below it ("Informatik/EPJ").
using RemoteLister = std::function<expected<std::vector<BrowseEntry>, UsageError>(
    const std::string& dir, std::stop_token stop)>;

// Asked on the GUI thread when a listing failed for want of a password or token, or because the
// server refused it (`why`): a lister with the one the student then typed, or none (cancelled).
using Relogin = std::function<std::optional<RemoteLister>(const UsageError& why)>;

// A connection's folders as the browser reaches them; `relogin` may be empty (no second try).
struct RemoteFolders {
    RemoteLister lister;
    Relogin relogin{};
};

// A folder picked: its path below the connection's root, and the name for a subject.
struct PickedFolder {
    std::string path;
    std::string title; // the entry's title, else its name
};

class FolderBrowser : public QDialog {
    Q_OBJECT
  public:
    // `several`: more than one folder may be picked (a subject per course).
    FolderBrowser(RemoteFolders remote, const QString& what, bool several,
                  QWidget* parent = nullptr);

    QTreeWidget* tree() const { return tree_; }
    QLabel* state() const { return state_; }
    QDialogButtonBox* buttons() const { return buttons_; }
    std::vector<PickedFolder> picked() const;

  Q_SIGNALS:
    void listed(); // a folder's entries are shown (or why they cannot be)

  private:
    void list(QTreeWidgetItem* item); // null: the top
    void list_next();

    RemoteLister lister_;
    Relogin relogin_;
    QTreeWidget* tree_;
    QLabel* state_;
    QDialogButtonBox* buttons_;
    std::vector<QTreeWidgetItem*> waiting_; // opened before the last listing ended
    OffThread work_;
};

} // namespace kitovu::gui
