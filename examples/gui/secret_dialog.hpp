// Asking for a password or token: masked, the library's question as the label. Nothing typed is
// kept by the window; the engine keeps it only as long as the run (or in the keyring, when the
// user agrees).
#pragma once

#include <QDialog>

#include <optional>

class QLineEdit;

namespace kitovu::gui {

class SecretDialog : public QDialog {
    Q_OBJECT
  public:
    SecretDialog(const QString& question, QWidget* parent = nullptr);
    QLineEdit* field() const { return field_; }

    // The typed secret, or nothing when the user cancelled.
    static std::optional<QString> ask(QWidget* parent, const QString& question);

  private:
    QLineEdit* field_;
};

} // namespace kitovu::gui
