// The subjects screen: the table of subjects with "Sync all", "Sync" for the selected subject,
// "Check" (a dry run: what is waiting), "Open folder", and adding, changing or removing a
// subject (the window opens the dialogs).
#pragma once

#include "subjects_model.hpp"

#include <QWidget>

class QPushButton;
class QTableView;

namespace kitovu::gui {

class SubjectsView : public QWidget {
    Q_OBJECT
  public:
    explicit SubjectsView(SubjectsModel& model, QWidget* parent = nullptr);
    QTableView* table() const { return table_; }
    QPushButton* sync_all_button() const { return sync_all_; }
    QPushButton* sync_button() const { return sync_; }
    QPushButton* open_folder_button() const { return open_; }
    QPushButton* add_button() const { return add_; }
    QPushButton* edit_button() const { return edit_; }
    QPushButton* remove_button() const { return remove_; }
    QStringList selected() const; // the selected subjects' names

  Q_SIGNALS:
    // Empty `subjects`: all of them.
    void sync_requested(QStringList subjects, bool dry_run);
    void add_requested();
    void edit_requested(int row);
    void remove_requested(int row);

  private:
    SubjectsModel& model_;
    QTableView* table_;
    QPushButton* sync_all_;
    QPushButton* sync_;
    QPushButton* check_;
    QPushButton* open_;
    QPushButton* add_;
    QPushButton* edit_;
    QPushButton* remove_;
};

} // namespace kitovu::gui
