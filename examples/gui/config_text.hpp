// The config the first-run assistant writes: a pure function of the answers, so what it writes
// is tested as a table. The options come from the chosen plugin's declared schema; only the
// ones the user set (or that have no default) are written.
#pragma once

#include "subject_text.hpp"

#include <kitovu/config/options.hpp>
#include <kitovu/config/settings.hpp>

#include <string>
#include <utility>
#include <vector>

namespace kitovu::gui {

struct AssistantSubject {
    std::string name;
    std::string remote_dir;
};

struct AssistantAnswers {
    std::string root_dir;
    std::string connection; // its name
    std::string plugin;
    std::vector<std::pair<std::string, OptionValue>> options; // in schema order
    std::vector<AssistantSubject> subjects;
};

inline std::string config_text(const AssistantAnswers& answers) {
    std::string text =
        "# Written by kitovu-gui's first-run assistant; `kitovu validate` checks it.\n";
    text += "root-dir = " + detail::toml_quoted(answers.root_dir) + "\n\n";
    text += "[[connections]]\n";
    text += "name = " + detail::toml_quoted(answers.connection) + "\n";
    text += "plugin = " + detail::toml_quoted(answers.plugin) + "\n";
    for (const auto& [name, value] : answers.options)
        text += name + " = " + display(value) + "\n";
    for (const AssistantSubject& subject : answers.subjects)
        text += "\n" + subject_block({subject.name, answers.connection, subject.remote_dir, ""});
    return text;
}

} // namespace kitovu::gui
