// The first-run assistant: a config from a few fields. The connection's fields are made from
// the chosen plugin's declared option schema (PluginRegistry), never a hand-written form; the
// text is written by config_text() and checked by the library before it is offered.
#pragma once

#ifndef Q_MOC_RUN // moc reads only the Qt parts (it cannot parse all of C++23)
#include "config_text.hpp"

#include <kitovu/plugin/registry.hpp>
#endif

#include <QDialog>

#include <vector>

class QComboBox;
class QDialogButtonBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QTableWidget;

namespace kitovu::gui {

class FirstRunAssistant : public QDialog {
    Q_OBJECT
  public:
    explicit FirstRunAssistant(QWidget* parent = nullptr);

    AssistantAnswers answers() const;
    QString config() const; // the config the answers make
    // The library's verdict on config(): empty when valid.
    QStringList problems() const;

    QComboBox* plugin() const { return plugin_; }
    QLineEdit* root_dir() const { return root_dir_; }
    QLineEdit* connection_name() const { return name_; }
    // The field for the plugin's option `name`, null if the plugin has none.
    QWidget* field(std::string_view name) const;
    QTableWidget* subjects() const { return subjects_; }

  private:
    void show_plugin_fields();
    void check();

    QComboBox* plugin_;
    QLineEdit* root_dir_;
    QLineEdit* name_;
    QFormLayout* fields_;
    std::vector<std::pair<const OptionSpec*, QWidget*>> option_fields_;
    QTableWidget* subjects_;
    QLabel* verdict_;
    QDialogButtonBox* buttons_;
};

} // namespace kitovu::gui
