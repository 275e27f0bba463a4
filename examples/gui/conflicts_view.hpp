// Conflicts made easy: each conflict with both files' sizes and dates, "Open both", "Keep mine"
// (the remote copy goes to the trash) and "Take theirs" (the remote version replaces mine, mine
// kept as a backup). Nothing is lost without the user's click.
#pragma once

#ifndef Q_MOC_RUN // moc reads only the Qt parts (it cannot parse all of C++23)
#include <kitovu/config/settings.hpp>
#include <kitovu/engine/conflicts.hpp>
#endif

#include <QWidget>

class QLabel;
class QPushButton;
class QTreeWidget;

namespace kitovu::gui {

class ConflictsView : public QWidget {
    Q_OBJECT
  public:
    explicit ConflictsView(QWidget* parent = nullptr);

    void set_place(const Settings& settings, std::filesystem::path cache_file);
    void refresh(); // looks for conflict copies again
    const std::vector<Conflict>& conflicts() const { return conflicts_; }
    QTreeWidget* list() const { return list_; }
    QPushButton* open_both_button() const { return open_both_; }
    QPushButton* keep_mine_button() const { return keep_mine_; }
    QPushButton* take_theirs_button() const { return take_theirs_; }
    QLabel* status() const { return status_; }

  Q_SIGNALS:
    void resolved(); // a conflict was resolved: the subjects' states change

  private:
    const Conflict* current() const;
    void keep_mine();
    void take_theirs();

    std::vector<std::filesystem::path> folders_;
    std::filesystem::path cache_file_;
    std::filesystem::path root_; // files below it are shown relative to it
    std::vector<Conflict> conflicts_;
    QTreeWidget* list_;
    QPushButton* open_both_;
    QPushButton* keep_mine_;
    QPushButton* take_theirs_;
    QLabel* status_;
};

} // namespace kitovu::gui
