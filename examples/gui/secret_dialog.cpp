#include "secret_dialog.hpp"

#include <QDialogButtonBox>
#include <QLabel>
#include <QLineEdit>
#include <QVBoxLayout>

#include <algorithm>

namespace kitovu::gui {

SecretDialog::SecretDialog(const QString& question, QWidget* parent)
    : QDialog(parent), field_(new QLineEdit) {
    setWindowTitle(tr("kitovu needs a secret"));
    auto* layout = new QVBoxLayout(this);
    auto* label = new QLabel(question);
    label->setTextFormat(Qt::PlainText);
    label->setWordWrap(true);
    label->setBuddy(field_);
    layout->addWidget(label);
    field_->setEchoMode(QLineEdit::Password);
    field_->setInputMethodHints(Qt::ImhHiddenText | Qt::ImhSensitiveData | Qt::ImhNoPredictiveText);
    layout->addWidget(field_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    // Wide enough for its title and a long question on one or two lines.
    setMinimumWidth(std::max(420, fontMetrics().horizontalAdvance(windowTitle()) + 160));
}

std::optional<QString> SecretDialog::ask(QWidget* parent, const QString& question) {
    SecretDialog dialog{question, parent};
    if (dialog.exec() != QDialog::Accepted)
        return std::nullopt;
    QString secret = dialog.field_->text();
    dialog.field_->clear();
    return secret;
}

} // namespace kitovu::gui
