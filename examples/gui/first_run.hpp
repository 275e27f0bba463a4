// The first-run assistant: a config from a few fields in the student's words. The connection's
// fields are made from the chosen plugin's declared option schema (PluginRegistry), named as
// people name them (OptionWords); the password goes to the keyring, never into the file. The
// text is written by config_text() and checked by the library as it is typed; "Test connection"
// logs in, "Pick from the server" lists the share's folders or the site's courses, and Save
// writes the config itself.
#pragma once

#include "off_thread.hpp"
#include "remote_calls.hpp"

#ifndef Q_MOC_RUN // moc reads only the Qt parts (it cannot parse all of C++23)
#include "config_text.hpp"

#include <kitovu/plugin/registry.hpp>
#endif

#include <QDialog>

#include <filesystem>
#include <optional>
#include <vector>

class QComboBox;
class QDialogButtonBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace kitovu::gui {

class FirstRunAssistant : public QDialog {
    Q_OBJECT
  public:
    // Save writes `config_file` (none: OK only closes) and keeps the typed secret in `keyring`.
    explicit FirstRunAssistant(QWidget* parent = nullptr, std::filesystem::path config_file = {},
                               Keyring* keyring = nullptr, RemoteCalls calls = {});

    AssistantAnswers answers() const;
    QString config() const; // the config the answers make
    // What is wrong with the answers, in words: empty when Save may write them.
    QStringList problems() const;
    // After Save: what became of the password (kept in the keyring, or why not).
    const QString& saved_note() const { return saved_note_; }

    QComboBox* plugin() const { return plugin_; }
    QLineEdit* root_dir() const { return root_dir_; }
    QLineEdit* connection_name() const { return name_; }
    QLineEdit* secret() const { return secret_; } // null while the plugin needs none
    // Where a student finds the secret (Moodle's security key); null where the plugin says not.
    QLabel* secret_hint() const { return secret_hint_; }
    // The field for the plugin's option `name`, null if the plugin has none.
    QWidget* field(std::string_view name) const;
    QPushButton* more_button() const { return more_; }
    QTableWidget* subjects() const { return subjects_; }
    QPushButton* test_button() const { return test_; }
    QLabel* test_result() const { return test_result_; }
    QPushButton* pick_button() const { return pick_; }
    QPushButton* save_button() const;
    QLabel* verdict() const { return verdict_; }

  Q_SIGNALS:
    void tested(); // Test connection's answer is shown

  private:
    void show_plugin_fields();
    void check();
    void test_connection();
    void pick_folders();
    void save_and_close();
    std::optional<Settings> settings() const;
    bool secret_from_command() const;

    std::filesystem::path config_file_;
    Keyring* keyring_;
    RemoteCalls calls_;
    QComboBox* plugin_;
    QLineEdit* root_dir_;
    QLineEdit* name_;
    QFormLayout* fields_;
    QFormLayout* more_fields_;
    QWidget* more_box_;
    QPushButton* more_;
    QLineEdit* secret_ = nullptr;
    QLabel* secret_hint_ = nullptr;
    std::string secret_what_;
    std::string secret_command_; // the option naming a command that prints the secret
    std::vector<std::pair<const OptionSpec*, QWidget*>> option_fields_;
    QPushButton* test_;
    QLabel* test_result_;
    QTableWidget* subjects_;
    QPushButton* pick_;
    QLabel* verdict_;
    QDialogButtonBox* buttons_;
    QString saved_note_;
    OffThread work_;
};

} // namespace kitovu::gui
