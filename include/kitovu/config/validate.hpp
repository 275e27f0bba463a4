// validate(): everything a config must mean before a sync may start, whether it was read from a
// file (load_settings calls it) or built by a program. The file's shape (keys, types, positions)
// is the reader's job (detail/settings_reader.hpp); every rule about what a value means is here,
// said once: every option within its declaration, every key a plugin's, every plugin known and
// content with its options, every connection named once, every source on a connection that
// exists. Settings read from a file carry where each key was written, so each problem is
// reported at its place.
#pragma once

#include "kitovu/config/config_text.hpp"
#include "kitovu/config/options.hpp"
#include "kitovu/config/settings_model.hpp"
#include "kitovu/error.hpp"
#include "kitovu/plugin/plugin.hpp"
#include "kitovu/plugin/registry.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kitovu {

// Why `value` does not fit `spec`, or nothing when it does: its type, an empty required
// string, a string outside `allowed`, an integer outside min..max.
inline std::optional<std::string> option_problem(const OptionSpec& spec, const OptionValue& value) {
    const std::string name{spec.name};
    const OptionType type = std::holds_alternative<std::string>(value)    ? OptionType::string
                            : std::holds_alternative<std::int64_t>(value) ? OptionType::integer
                                                                          : OptionType::boolean;
    if (type != spec.type) // worded as the reader words a value of the wrong type
        return "expected " + std::string{detail::type_phrase(spec.type)} + " for '" + name +
               "', found " + std::string{detail::type_phrase(type)};
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
    // At its place in the file, or, in Settings a program built, under its connection's name.
    const auto placed = [&](std::string message, const ConfigLocation& at,
                            const std::string& connection) {
        problem(std::move(message), at, at.known() ? std::string{} : connection);
    };
    // In a file, a missing or empty name is the reader's to report.
    const auto unnamed_in_file = [](const std::string& name, const ConfigLocation& at) {
        return name.empty() && at.known();
    };
    std::vector<std::string> defined; // connection names in order, each once
    std::map<std::string, const Connection*, std::less<>> first_named;
    for (const Connection& connection : settings.connections) {
        const auto& at = connection.location;
        if (connection.name.empty() && !at.known()) {
            problem("a connection has no name", at);
        } else if (!connection.name.empty()) {
            const auto [first, added] = first_named.try_emplace(connection.name, &connection);
            if (added) {
                defined.push_back(connection.name);
            } else {
                const std::uint32_t line = first->second->place_of("name").line;
                problem("duplicate connection name '" + connection.name + "'" +
                            (line != 0 ? " (first defined on line " + std::to_string(line) + ")"
                                       : std::string{}),
                        connection.place_of("name"));
            }
        }
        if (unnamed_in_file(connection.plugin, at)) {
            // The reader said 'plugin' is missing; without a plugin no other key can be judged,
            // but one that is a missing key mistyped (`pluign`) is worth its own line.
            std::vector<std::string_view> missing{"plugin"};
            if (connection.name.empty())
                missing.push_back("name");
            for (const auto& [key, place] : connection.written)
                if (const auto guess = detail::near_miss(key, missing);
                    !guess.empty() && guess != key)
                    problem("unknown key '" + key + "' (did you mean '" + std::string{guess} +
                                "'?)",
                            place.key);
            continue;
        }
        auto entry = PluginRegistry::find(connection.plugin);
        if (!entry) {
            placed(entry.error().message, connection.place_of("plugin"), connection.name);
            continue;
        }
        bool options_valid = true;
        std::vector<std::string_view> known{"name", "plugin"};
        for (const OptionSpec& spec : (*entry)->options) {
            known.push_back(spec.name);
            const auto& values = connection.options.values();
            const auto value = values.find(spec.name);
            if (value != values.end()) {
                if (auto why = option_problem(spec, value->second)) {
                    placed(std::move(*why), connection.place_of(spec.name), connection.name);
                    options_valid = false;
                }
            } else if (connection.written.contains(spec.name)) {
                options_valid = false; // written, but not as its type: the reader said so
            } else if (spec.required) {
                problem("connection '" + connection.name + "' is missing required option '" +
                            std::string{spec.name} + "' of plugin '" + connection.plugin + "'",
                        at);
                options_valid = false;
            }
        }
        // What the plugin does not declare: keys written in the file, options a program set.
        std::vector<std::pair<std::string, ConfigLocation>> undeclared;
        const auto declared = [&](std::string_view key) {
            return std::ranges::find(known, key) != known.end();
        };
        for (const auto& [key, place] : connection.written)
            if (!declared(key))
                undeclared.emplace_back(key, place.key);
        for (const auto& [key, value] : connection.options.values())
            if (!declared(key) && !connection.written.contains(key))
                undeclared.emplace_back(key, at);
        for (const auto& [key, place] : undeclared) {
            const std::string_view guess = detail::near_miss(key, known);
            placed("unknown key '" + key + "' (" +
                       (guess.empty() ? "known keys: " + detail::join(known)
                                      : "did you mean '" + std::string{guess} + "'?") +
                       ")",
                   place, connection.name);
        }
        if (!options_valid || !undeclared.empty())
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
        if (subject.name.empty() && !subject.location.known())
            problem("a subject has no name", subject.location);
        for (const Source& source : subject.sources) {
            if (unnamed_in_file(source.connection, source.location) ||
                first_named.contains(source.connection))
                continue;
            problem("unknown connection '" + source.connection + "' (" +
                        (defined.empty() ? std::string{"no connections are defined"}
                                         : "defined connections: " + detail::join(defined)) +
                        ")",
                    source.place_of("connection"));
        }
    }
    return problems;
}

} // namespace kitovu
