#include "subject_dialog.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace kitovu::gui {

namespace {

// A field with a button beside it ("Browse…").
QWidget* with_button(QLineEdit* field, QPushButton* button) {
    auto* box = new QWidget;
    auto* row = new QHBoxLayout(box);
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(field, 1);
    row->addWidget(button);
    return box;
}

} // namespace

SubjectDialog::SubjectDialog(const QStringList& connections, const SubjectAnswer& start,
                             std::function<QStringList(const SubjectAnswer&)> problems,
                             std::function<RemoteFolders(const std::string&)> folders_for,
                             QWidget* parent)
    : QDialog(parent), problems_(std::move(problems)), folders_for_(std::move(folders_for)),
      name_(new QLineEdit), connection_(new QComboBox), remote_dir_(new QLineEdit),
      browse_(new QPushButton(tr("&Browse…"))), local_dir_(new QLineEdit),
      choose_local_(new QPushButton(tr("C&hoose…"))), verdict_(new QLabel),
      buttons_(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel)) {
    setWindowTitle(start.name.empty() ? tr("Add a subject") : tr("Change a subject"));
    auto* layout = new QVBoxLayout(this);
    auto* form = new QFormLayout;
    name_->setText(QString::fromStdString(start.name));
    form->addRow(tr("&Name:"), name_);
    connection_->addItems(connections);
    if (!start.connection.empty())
        connection_->setCurrentText(QString::fromStdString(start.connection));
    form->addRow(tr("&From the connection:"), connection_);
    remote_dir_->setText(QString::fromStdString(start.remote_dir));
    form->addRow(tr("&Remote folder:"), with_button(remote_dir_, browse_));
    local_dir_->setText(QString::fromStdString(start.local_dir));
    local_dir_->setPlaceholderText(tr("the subject's name in the folder for the files"));
    form->addRow(tr("&Local folder:"), with_button(local_dir_, choose_local_));
    layout->addLayout(form);
    verdict_->setTextFormat(Qt::PlainText);
    verdict_->setWordWrap(true);
    layout->addWidget(verdict_);
    layout->addWidget(buttons_);
    setMinimumWidth(520);
    browse_->setVisible(static_cast<bool>(folders_for_));

    connect(name_, &QLineEdit::textChanged, this, &SubjectDialog::check);
    connect(remote_dir_, &QLineEdit::textChanged, this, &SubjectDialog::check);
    connect(local_dir_, &QLineEdit::textChanged, this, &SubjectDialog::check);
    connect(connection_, &QComboBox::currentIndexChanged, this, &SubjectDialog::check);
    connect(browse_, &QPushButton::clicked, this, &SubjectDialog::browse);
    connect(choose_local_, &QPushButton::clicked, this, [this] {
        const QString folder =
            QFileDialog::getExistingDirectory(this, tr("The local folder"), local_dir_->text());
        if (!folder.isEmpty())
            local_dir_->setText(folder);
    });
    connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
    check();
}

SubjectAnswer SubjectDialog::answer() const {
    return {name_->text().trimmed().toStdString(), connection_->currentText().toStdString(),
            remote_dir_->text().trimmed().toStdString(),
            local_dir_->text().trimmed().toStdString()};
}

void SubjectDialog::check() {
    QStringList found;
    const SubjectAnswer now = answer();
    if (now.name.empty())
        found << tr("Give the subject a name.");
    if (now.connection.empty())
        found << tr("There is no connection to take it from: set one up first.");
    if (found.isEmpty())
        found = problems_(now);
    verdict_->setText(found.join(QLatin1Char('\n')));
    buttons_->button(QDialogButtonBox::Ok)->setEnabled(found.isEmpty());
    browse_->setEnabled(!now.connection.empty() && folders_for_);
}

void SubjectDialog::browse() {
    FolderBrowser browser{folders_for_(answer().connection), tr("Choose the remote folder"), false,
                          this};
    if (browser.exec() != QDialog::Accepted)
        return;
    const auto picked = browser.picked();
    if (picked.empty())
        return;
    remote_dir_->setText(QString::fromStdString(picked.front().path));
    if (name_->text().trimmed().isEmpty())
        name_->setText(QString::fromStdString(picked.front().title));
}

} // namespace kitovu::gui
