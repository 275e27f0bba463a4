// The subjects screen: the table of subjects with "Sync all", "Sync" for the selected subject,
// "Check" (a dry run: what is waiting) and "Open folder".
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
    QStringList selected() const; // the selected subjects' names

  Q_SIGNALS:
    // Empty `subjects`: all of them.
    void sync_requested(QStringList subjects, bool dry_run);

  private:
    SubjectsModel& model_;
    QTableView* table_;
    QPushButton* sync_all_;
    QPushButton* sync_;
    QPushButton* check_;
    QPushButton* open_;
};

} // namespace kitovu::gui
