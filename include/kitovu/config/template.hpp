// The commented config `kitovu edit` starts from, written from the registered plugins' option
// schemas, so a new plugin or option appears in it without anyone editing a text.
#pragma once

#include "kitovu/config/config_text.hpp"
#include "kitovu/config/options.hpp"
#include "kitovu/plugin/credentials.hpp"
#include "kitovu/plugin/registry.hpp"

#include <string>
#include <string_view>

namespace kitovu {

namespace detail {

// `text` as comment lines of at most 92 columns, each starting with `lead`.
inline std::string wrapped(std::string_view text, std::string_view lead) {
    constexpr std::size_t width = 92;
    std::string out, line{lead};
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t end = std::min(text.find(' ', at), text.size());
        const std::string_view word = text.substr(at, end - at);
        if (line.size() > lead.size() && line.size() + 1 + word.size() > width) {
            out += line + '\n';
            line = lead;
        }
        if (line.size() > lead.size())
            line += ' ';
        line += word;
        at = end + 1;
    }
    return out + line + '\n';
}

// `# key = value`, then the comment lined up at column 37, below it when the code is long.
inline void template_line(std::string& out, std::string_view indent, std::string_view code,
                          std::string_view comment) {
    std::string line = "# " + std::string{indent} + std::string{code};
    if (comment.empty()) {
        out += line + '\n';
        return;
    }
    const std::string lead = "#" + std::string(35, ' ') + "# ";
    if (line.size() >= 35) {
        out += line + '\n';
        out += wrapped(comment, lead);
        return;
    }
    line.resize(36, ' ');
    const std::string rest = wrapped(comment, lead);
    out += line + rest.substr(lead.size() - 2); // the first line goes beside the code
}

// The value an example shows: the declared example, else the default, else something of the
// right type that the schema accepts.
inline std::string example_value(const OptionSpec& spec) {
    if (!spec.example.empty())
        return spec.type == OptionType::string ? toml_quoted(spec.example)
                                               : std::string{spec.example};
    if (auto value = default_value(spec))
        return display(*value);
    switch (spec.type) {
    case OptionType::string:
        return toml_quoted(spec.allowed.empty() ? spec.name : spec.allowed.front());
    case OptionType::integer: return std::to_string(spec.min);
    case OptionType::boolean: return "false";
    }
    return "\"\"";
}

inline std::string option_comment(const OptionSpec& spec) {
    std::string comment{spec.help};
    if (!spec.allowed.empty()) {
        comment += ": ";
        for (std::size_t i = 0; i < spec.allowed.size(); ++i)
            comment += (i == 0                         ? ""
                        : i + 1 == spec.allowed.size() ? " or "
                                                       : ", ") +
                       toml_quoted(spec.allowed[i]);
    }
    if (spec.required)
        comment += " (required)";
    else if (auto value = default_value(spec))
        comment += " (default " + display(*value) + ")";
    return comment;
}

} // namespace detail

// One commented [[connections]] block for `plugin`, named `name`: every option it declares,
// with an example value, its help and its default; then where its secret comes from.
inline std::string connection_example(const PluginRegistry::Entry& plugin, std::string_view name) {
    std::string out = detail::wrapped("plugin \"" + std::string{plugin.name} +
                                          "\": " + std::string{plugin.description},
                                      "# ") +
                      "#\n# [[connections]]\n";
    detail::template_line(out, "", "name = " + detail::toml_quoted(name), "");
    detail::template_line(out, "", "plugin = " + detail::toml_quoted(plugin.name), "");
    for (const OptionSpec& spec : plugin.options)
        detail::template_line(out, "", std::string{spec.name} + " = " + detail::example_value(spec),
                              detail::option_comment(spec));
    if (plugin.secret) {
        const SecretSpec& secret = *plugin.secret;
        const std::string variable = secret_variable(secret.environment_prefix, name);
        std::string text =
            "Without " + std::string{secret.command_name()} + ", the " + std::string{secret.what} +
            " comes from $" + variable + ", " +
            (secret.server_option ? "the keyring (kitovu login " + std::string{name} + "), "
                                  : std::string{}) +
            "or kitovu asks for it.";
        if (!secret.hint.empty())
            text += " " + std::string{secret.hint} + ".";
        out += "#\n" + detail::wrapped(text, "# ");
    }
    return out;
}

// A commented config for `kitovu edit` to start from. As it stands it validates and syncs
// nothing; the examples are commented out, so that using one means removing "# " in front of
// its lines (the tests uncomment them all that way and validate the result).
inline std::string config_template() {
    std::string out =
        R"toml(# kitovu configuration: which remote folders are kept in step with which local folders.
# Check it with `kitovu validate`; `kitovu plugins` lists the plugins and their options.
#
# Lines starting with '#' are comments. To use an example below, remove the "# " in front
# of its lines and put in your own values.

# Where the subjects' folders go: each subject is synced into root-dir/<subject name>,
# unless a source says otherwise with local-dir. "~" is your home folder; a relative path
# is relative to the folder this file is in.
root-dir = "~/kitovu"

# Files and folders never synced, for every subject. A pattern matches a file's or
# folder's name: * is any characters, ? one character, [abc] one of a, b, c, [!abc] none
# of them. A pattern containing "/" matches the path below remote-dir, e.g. "Archiv/2019";
# a pattern ending in "/" matches folders only, e.g. "old/".
global-ignore = ["Thumbs.db", ".DS_Store", "desktop.ini", "~$*", "*.tmp"]


# ---- Connections: where the files come from ------------------------------------------
# Each [[connections]] block is one server or folder. Its name (your choice, unique) is
# what subjects refer to; its plugin says what kind of remote it is.
)toml";
    const auto plugins = PluginRegistry::entries();
    for (const auto* plugin : plugins)
        out += "#\n" + connection_example(*plugin, plugin->name);
    out += R"toml(

# ---- Subjects: what to sync ----------------------------------------------------------
# Each [[subjects]] block has a name and one or more sources. A source takes the folder
# remote-dir of a connection, with everything below it; several sources may fill one
# subject.
#
# [[subjects]]
# name = "EPJ"                      # also the folder's name: root-dir/EPJ
)toml";
    bool first = true;
    for (const auto* plugin : plugins) {
        out += "#\n";
        detail::template_line(out, "  ", "[[subjects.sources]]", "");
        detail::template_line(out, "  ", "connection = " + detail::toml_quoted(plugin->name),
                              "the name of a connection above");
        detail::template_line(out, "  ", "remote-dir = \"EPJ\"",
                              "a folder of that connection, \"/\" for all of it");
        if (first)
            detail::template_line(out, "  ", R"(ignore = ["*.bak", "old/"])",
                                  "optional, in addition to global-ignore");
        else
            detail::template_line(
                out, "  ", "local-dir = \"~/Documents/EPJ-" + std::string{plugin->name} + "\"",
                "optional: sync here instead of root-dir/EPJ");
        first = false;
    }
    return out;
}

} // namespace kitovu
