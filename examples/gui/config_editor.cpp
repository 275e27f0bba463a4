#include "config_editor.hpp"

#include "problems.hpp"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSaveFile>
#include <QTextBlock>
#include <QVBoxLayout>

#include <fstream>
#include <sstream>

namespace kitovu::gui {

ConfigEditor::ConfigEditor(QWidget* parent)
    : QWidget(parent), text_(new QPlainTextEdit), problems_(new QListWidget),
      fix_(new QPushButton(tr("&Quick fix"))), save_(new QPushButton(tr("&Save"))),
      state_(new QLabel) {
    auto* layout = new QVBoxLayout(this);
    text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    text_->setLineWrapMode(QPlainTextEdit::NoWrap);
    text_->setTabChangesFocus(true); // keyboard users can leave the editor
    layout->addWidget(text_, 3);
    auto* label = new QLabel(tr("&Problems:"));
    label->setBuddy(problems_);
    layout->addWidget(label);
    layout->addWidget(problems_, 1);
    auto* row = new QHBoxLayout;
    state_->setTextFormat(Qt::PlainText);
    row->addWidget(state_, 1);
    fix_->setEnabled(false);
    row->addWidget(fix_);
    row->addWidget(save_);
    layout->addLayout(row);

    connect(text_, &QPlainTextEdit::textChanged, this, &ConfigEditor::check);
    connect(problems_, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* item) { jump_to(problems_->row(item)); });
    connect(problems_, &QListWidget::itemClicked, this,
            [this](QListWidgetItem* item) { jump_to(problems_->row(item)); });
    connect(problems_, &QListWidget::currentRowChanged, this, [this](int row) {
        fix_->setEnabled(row >= 0 && row < static_cast<int>(errors_.size()) &&
                         did_you_mean(errors_[static_cast<std::size_t>(row)].message));
    });
    connect(fix_, &QPushButton::clicked, this, &ConfigEditor::apply_fix);
    connect(save_, &QPushButton::clicked, this, &ConfigEditor::save);
}

void ConfigEditor::open(const std::filesystem::path& file) {
    file_ = file;
    std::ifstream in{file, std::ios::binary};
    if (!in) {
        const std::string text = config_template();
        set_text(QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size())));
        return;
    }
    std::ostringstream content;
    content << in.rdbuf();
    set_text(QString::fromStdString(content.str()));
    text_->document()->setModified(false);
}

bool ConfigEditor::modified() const {
    return text_->document()->isModified();
}

bool ConfigEditor::may_leave(QWidget* parent) {
    if (!modified())
        return true;
    QMessageBox ask{QMessageBox::Question, tr("kitovu"),
                    errors_.empty()
                        ? tr("The configuration has edits that are not saved. Save them?")
                        : tr("The configuration has edits that are not saved, and problems: it "
                             "cannot be saved as it is. Drop the edits?"),
                    QMessageBox::Discard | QMessageBox::Cancel, parent};
    if (errors_.empty() && !file_.empty())
        ask.addButton(QMessageBox::Save);
    ask.setDefaultButton(QMessageBox::Cancel);
    switch (ask.exec()) {
    case QMessageBox::Save: return save();
    case QMessageBox::Discard: open(file_); return true;
    default: return false;
    }
}

void ConfigEditor::set_text(const QString& text) {
    text_->setPlainText(text);
    check();
}

// The library is the only judge: parse_settings returns every problem with its place.
void ConfigEditor::check() {
    const std::string text = text_->toPlainText().toStdString();
    auto settings = parse_settings(text, file_);
    errors_ = settings ? ConfigErrors{} : settings.error();
    problems_->clear();
    QList<QTextEdit::ExtraSelection> marks;
    for (const UsageError& error : errors_) {
        const auto& at = error.location;
        QString where = at.line != 0 ? tr("line %1").arg(at.line) : tr("file");
        if (at.column != 0)
            where += tr(", column %1").arg(at.column);
        problems_->addItem(where + ": " + QString::fromStdString(error.message));
        if (at.line == 0)
            continue;
        const QTextBlock block =
            text_->document()->findBlockByNumber(static_cast<int>(at.line) - 1);
        if (!block.isValid())
            continue;
        const long column = at.column == 0 ? -1 : static_cast<long>(at.column) - 1;
        const std::u16string line = block.text().toStdU16String();
        QTextCursor cursor{block};
        cursor.movePosition(QTextCursor::Right, QTextCursor::MoveAnchor,
                            static_cast<int>(std::max(column, 0L)));
        cursor.movePosition(QTextCursor::Right, QTextCursor::KeepAnchor,
                            static_cast<int>(underline_length(line, column)));
        QTextEdit::ExtraSelection mark;
        mark.cursor = cursor;
        mark.format.setUnderlineStyle(QTextCharFormat::WaveUnderline);
        mark.format.setUnderlineColor(Qt::red);
        mark.format.setBackground(QColor(255, 0, 0, 48)); // visible on light and dark themes
        mark.format.setToolTip(QString::fromStdString(error.message));
        marks.append(mark);
    }
    text_->setExtraSelections(marks);
    save_->setEnabled(errors_.empty() && !file_.empty());
    fix_->setEnabled(false);
    if (!errors_.empty()) {
        // The first problem that has a quick fix, one click away; else the first.
        const auto fixable = std::find_if(errors_.begin(), errors_.end(), [](const auto& error) {
            return did_you_mean(error.message).has_value();
        });
        problems_->setCurrentRow(
            fixable == errors_.end() ? 0 : static_cast<int>(fixable - errors_.begin()));
    }
    state_->setText(
        errors_.empty() ? tr("The config is valid.")
        : errors_.size() == 1
            ? tr("1 problem: Save is disabled until it is fixed.")
            : tr("%1 problems: Save is disabled until they are fixed.").arg(errors_.size()));
}

void ConfigEditor::jump_to(int row) {
    if (row < 0 || row >= static_cast<int>(errors_.size()))
        return;
    const auto& at = errors_[static_cast<std::size_t>(row)].location;
    if (at.line == 0)
        return;
    const QTextBlock block = text_->document()->findBlockByNumber(static_cast<int>(at.line) - 1);
    QTextCursor cursor{block};
    if (at.column > 1)
        cursor.movePosition(QTextCursor::Right, QTextCursor::MoveAnchor,
                            static_cast<int>(at.column) - 1);
    text_->setTextCursor(cursor);
    text_->setFocus();
}

// Replaces the word the problem points at with the library's suggestion.
void ConfigEditor::apply_fix() {
    const int row = problems_->currentRow();
    if (row < 0 || row >= static_cast<int>(errors_.size()))
        return;
    const UsageError error = errors_[static_cast<std::size_t>(row)];
    const auto suggestion = did_you_mean(error.message);
    if (!suggestion || error.location.line == 0 || error.location.column == 0)
        return;
    const QTextBlock block =
        text_->document()->findBlockByNumber(static_cast<int>(error.location.line) - 1);
    const long column = static_cast<long>(error.location.column) - 1;
    QTextCursor cursor{block};
    cursor.movePosition(QTextCursor::Right, QTextCursor::MoveAnchor, static_cast<int>(column));
    cursor.movePosition(QTextCursor::Right, QTextCursor::KeepAnchor,
                        static_cast<int>(underline_length(block.text().toStdU16String(), column)));
    cursor.insertText(QString::fromStdString(*suggestion)); // one undo step; rechecks
}

bool ConfigEditor::save() {
    if (!errors_.empty() || file_.empty())
        return false;
    const QByteArray bytes = text_->toPlainText().toUtf8();
    auto settings = parse_settings(
        std::string_view{bytes.constData(), static_cast<std::size_t>(bytes.size())}, file_);
    if (!settings)
        return false;
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    QSaveFile out{QString::fromStdString(file_.string())};
    if (!out.open(QIODevice::WriteOnly) || out.write(bytes) != bytes.size() || !out.commit()) {
        state_->setText(tr("Cannot save %1: %2")
                            .arg(QString::fromStdString(file_.string()), out.errorString()));
        return false;
    }
    text_->document()->setModified(false);
    state_->setText(tr("Saved."));
    Q_EMIT saved(*settings);
    return true;
}

} // namespace kitovu::gui
