// The config editor: the TOML text, checked by the library as you type. Every problem is
// underlined at its line and column and listed; clicking one jumps there; a "did you mean"
// hint is a quick fix; Save stays disabled while the config is broken.
#pragma once

#ifndef Q_MOC_RUN // moc reads only the Qt parts (it cannot parse all of C++23)
#include <kitovu/config/settings.hpp>
#include <kitovu/config/template.hpp>
#endif

#include <QWidget>

#include <filesystem>

class QLabel;
class QListWidget;
class QPlainTextEdit;
class QPushButton;

namespace kitovu::gui {

class ConfigEditor : public QWidget {
    Q_OBJECT
  public:
    explicit ConfigEditor(QWidget* parent = nullptr);

    void open(const std::filesystem::path& file); // a missing file starts from the template
    void set_text(const QString& text);
    const std::filesystem::path& file() const { return file_; }
    QPlainTextEdit* text() const { return text_; }
    QListWidget* problems() const { return problems_; }
    QPushButton* save_button() const { return save_; }
    QPushButton* fix_button() const { return fix_; }
    const ConfigErrors& errors() const { return errors_; }
    bool save(); // false, with the reason shown, when the file cannot be written
    // Edits not saved yet (typed since the file was opened or saved).
    bool modified() const;
    // Before the edits could be lost: none, or the student saved or dropped them (true), or
    // chose to go on editing (false). Asked in a dialog over `parent`.
    bool may_leave(QWidget* parent);

  Q_SIGNALS:
    void saved(const kitovu::Settings& settings);

  private:
    void check();
    void jump_to(int row);
    void apply_fix();

    std::filesystem::path file_;
    QPlainTextEdit* text_;
    QListWidget* problems_;
    QPushButton* fix_;
    QPushButton* save_;
    QLabel* state_;
    ConfigErrors errors_;
};

} // namespace kitovu::gui
