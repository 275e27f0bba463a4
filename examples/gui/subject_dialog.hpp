// Adding or changing a subject without writing TOML: its name, the connection, the remote folder
// (typed or picked in the folder browser, which asks for the password where none is kept) and, if
// not the usual one, the local folder (picked in a folder chooser). What the answers would make of
// the config is checked as they are typed.
#pragma once

#include "folder_browser.hpp"

#ifndef Q_MOC_RUN // moc reads only the Qt parts (it cannot parse all of C++23)
#include "subject_text.hpp"
#endif

#include <QDialog>

#include <functional>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace kitovu::gui {

class SubjectDialog : public QDialog {
    Q_OBJECT
  public:
    // `problems`: what is wrong with the config these answers make (empty: nothing).
    // `folders_for`: how the browser reaches a connection's folders.
    SubjectDialog(const QStringList& connections, const SubjectAnswer& start,
                  std::function<QStringList(const SubjectAnswer&)> problems,
                  std::function<RemoteFolders(const std::string& connection)> folders_for,
                  QWidget* parent = nullptr);

    SubjectAnswer answer() const;
    QLineEdit* name() const { return name_; }
    QComboBox* connection() const { return connection_; }
    QLineEdit* remote_dir() const { return remote_dir_; }
    QLineEdit* local_dir() const { return local_dir_; }
    QPushButton* browse_button() const { return browse_; }
    QLabel* verdict() const { return verdict_; }
    QDialogButtonBox* buttons() const { return buttons_; }

  private:
    void check();
    void browse();

    std::function<QStringList(const SubjectAnswer&)> problems_;
    std::function<RemoteFolders(const std::string&)> folders_for_;
    QLineEdit* name_;
    QComboBox* connection_;
    QLineEdit* remote_dir_;
    QPushButton* browse_;
    QLineEdit* local_dir_;
    QPushButton* choose_local_;
    QLabel* verdict_;
    QDialogButtonBox* buttons_;
};

} // namespace kitovu::gui
