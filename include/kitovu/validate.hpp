// validate(): everything a config must mean before a sync may start, whether it was read from a
// file (load_settings calls it) or built by a program. The file's shape (keys, types, positions)
// is the reader's job in settings.hpp; this is what stays true of Settings however they were
// made: every option within its declaration, every plugin known and content with its options,
// every source on a connection that exists.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/options.hpp"
#include "kitovu/plugin.hpp"
#include "kitovu/registry.hpp"
#include "kitovu/settings_model.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace kitovu {

// Why `value` does not fit `spec`, or nothing when it does: its type, an empty required
// string, a string outside `allowed`, an integer outside min..max.
inline std::optional<std::string> option_problem(const OptionSpec& spec, const OptionValue& value) {
    const std::string name{spec.name};
    const bool typed = (spec.type == OptionType::string && value.index() == 0) ||
                       (spec.type == OptionType::integer && value.index() == 1) ||
                       (spec.type == OptionType::boolean && value.index() == 2);
    if (!typed)
        return "option '" + name + "' must be of type " + std::string{to_string(spec.type)};
    if (const auto* text = std::get_if<std::string>(&value)) {
        if (spec.required && text->empty())
            return "option '" + name + "' must not be empty";
        if (!spec.allowed.empty() &&
            std::ranges::find(spec.allowed, std::string_view{*text}) == spec.allowed.end()) {
            std::string allowed;
            for (std::string_view one : spec.allowed)
                allowed += (allowed.empty() ? "" : ", ") + std::string{one};
            return "invalid value '" + *text + "' for '" + name + "' (allowed values: " + allowed +
                   ")";
        }
    }
    if (const auto* number = std::get_if<std::int64_t>(&value);
        number && spec.min < spec.max && (*number < spec.min || *number > spec.max))
        return "'" + name + "' must be between " + std::to_string(spec.min) + " and " +
               std::to_string(spec.max) + ", found " + std::to_string(*number);
    return std::nullopt;
}

// Every problem of `settings`, in order; empty when a sync may start. Each error is of kind
// config and names the connection or subject, and its place in the file when it came from one.
// Plugins are only configured, never connected: nothing here touches the network.
inline std::vector<UsageError> validate(const Settings& settings) {
    std::vector<UsageError> problems;
    const auto problem = [&](std::string message, const ConfigLocation& at,
                             std::string connection = {}) {
        problems.push_back(
            UsageError{ErrorKind::config, std::move(message), std::move(connection), {}, at});
    };
    std::set<std::string, std::less<>> names;
    for (const Connection& connection : settings.connections) {
        const auto& at = connection.location;
        if (connection.name.empty())
            problem("a connection has no name", at);
        else if (!names.insert(connection.name).second)
            problem("duplicate connection name '" + connection.name + "'", at);
        auto entry = PluginRegistry::find(connection.plugin);
        if (!entry) {
            problem(entry.error().message, at, connection.name);
            continue;
        }
        bool options_valid = true;
        for (const OptionSpec& spec : (*entry)->options) {
            const auto& values = connection.options.values();
            const auto value = values.find(spec.name);
            std::optional<std::string> why;
            if (value != values.end())
                why = option_problem(spec, value->second);
            else if (spec.required)
                why = "missing required option '" + std::string{spec.name} + "' of plugin '" +
                      connection.plugin + "'";
            if (why) {
                problem(std::move(*why), at, connection.name);
                options_valid = false;
            }
        }
        for (const auto& [name, value] : connection.options.values())
            if (std::ranges::none_of((*entry)->options,
                                     [&](const OptionSpec& spec) { return spec.name == name; }))
                problem("plugin '" + connection.plugin + "' has no option '" + name + "'", at,
                        connection.name);
        if (!options_valid)
            continue; // a plugin may rely on its declared options being valid
        auto plugin = (*entry)->create();
        if (auto configured = plugin->configure(connection.name, connection.options); !configured) {
            UsageError error = configured.error();
            error.kind = ErrorKind::config;
            if (!error.location.known())
                error.location = at;
            if (error.connection.empty())
                error.connection = connection.name;
            problems.push_back(std::move(error));
        }
    }
    for (const Subject& subject : settings.subjects) {
        if (subject.name.empty())
            problem("a subject has no name", subject.location);
        for (const Source& source : subject.sources)
            if (settings.connection(source.connection) == nullptr)
                problem("subject '" + subject.name + "' uses unknown connection '" +
                            source.connection + "'",
                        source.location);
    }
    return problems;
}

} // namespace kitovu
