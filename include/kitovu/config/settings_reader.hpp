// Reads one parsed TOML document into Settings, collecting every problem of its shape (keys,
// types, the values a path or pattern must be) with its position, and where each key of a
// connection or source was written. What the values mean (plugins, options, connections named
// once and used by name) is validate()'s, which reports at those positions.
#pragma once

#include "kitovu/config/config_text.hpp"
#include "kitovu/config/settings_model.hpp"
#include "kitovu/plugin/registry.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kitovu::detail {
// "Informatik//EPJ/" and "Informatik/EPJ" name the same remote folder.
inline std::string normal_remote_dir(std::string_view dir) {
    std::string out;
    while (!dir.empty()) {
        const std::size_t slash = dir.find('/');
        const std::string_view name = dir.substr(0, slash);
        if (!name.empty() && name != ".") {
            if (!out.empty())
                out += '/';
            out += name;
        }
        if (slash == std::string_view::npos)
            break;
        dir.remove_prefix(slash + 1);
    }
    return out;
}

// Absolute, lexically normal, without a trailing separator.
inline std::filesystem::path normal_absolute(const std::filesystem::path& path,
                                             const std::filesystem::path& base) {
    std::filesystem::path out = (path.is_absolute() ? path : base / path).lexically_normal();
    if (!out.has_filename() && out.has_relative_path())
        out = out.parent_path();
    return out;
}

// Why `name` cannot be a folder's name, or empty when it can.
inline std::string_view folder_name_problem(std::string_view name) noexcept {
    if (name == "." || name == "..")
        return "it is '.' or '..'";
    if (name.find('/') != std::string_view::npos)
        return "it contains '/'";
    if (name.find('\0') != std::string_view::npos)
        return "it contains a NUL character";
    return {};
}

inline constexpr std::string_view root_keys[] = {"root-dir", "global-ignore", "connections",
                                                 "subjects"};
inline constexpr std::string_view subject_keys[] = {"name", "sources"};
inline constexpr std::string_view source_keys[] = {"connection", "remote-dir", "local-dir",
                                                   "ignore"};

// Reads one parsed document into Settings, collecting every problem on the way.
class SettingsReader {
  public:
    using StringNode = toml::value<std::string>;

    SettingsReader(std::string label, std::filesystem::path base)
        : label_(std::move(label)), base_(std::move(base)) {}

    ConfigLocation location(const toml::source_position& at) const {
        return ConfigLocation{label_, at.line, at.line == 0 ? 0 : at.column};
    }
    ConfigLocation location(const toml::node& node) const { return location(node.source().begin); }

    void error(const toml::source_position& at, std::string message) {
        errors_.push_back(UsageError{ErrorKind::config, std::move(message), {}, {}, location(at)});
    }
    void error(const toml::node& node, std::string message) {
        error(node.source().begin, std::move(message));
    }

    // Every problem of the file's shape, in the order found.
    ConfigErrors take_errors() { return std::move(errors_); }

    void read(const toml::table& root, Settings& settings) {
        check_keys(root, root_keys);
        if (const StringNode* root_dir = string_at(root, "root-dir", true, {})) {
            if (root_dir->get().empty())
                error(*root_dir, "'root-dir' must not be empty");
            else if (auto dir = resolve_dir(root_dir->get()))
                settings.root_dir = std::move(*dir);
            else
                error(*root_dir, std::move(dir.error()));
        }
        bool ignore_valid = true;
        settings.global_ignore = patterns_at(root, "global-ignore", ignore_valid);
        global_ignore_valid_ = ignore_valid;

        for (const toml::table* table : tables_at(root, "connections", "connections"))
            settings.connections.push_back(read_connection(*table));
        for (const toml::table* table : tables_at(root, "subjects", "subjects"))
            settings.subjects.push_back(read_subject(*table, settings));
    }

  private:
    WrittenKeys written(const toml::table& table) const {
        WrittenKeys keys;
        for (auto&& [key, node] : table)
            keys.emplace(key.str(), Written{location(key.source().begin), location(node)});
        return keys;
    }

    Connection read_connection(const toml::table& table) {
        Connection connection;
        connection.location = location(table);
        connection.written = written(table);
        std::string owner = "connection";
        if (const StringNode* name = string_at(table, "name", true, owner)) {
            connection.name = name->get();
            if (connection.name.empty())
                error(*name, "'name' must not be empty");
            else
                owner = "connection '" + connection.name + "'";
        }

        const PluginRegistry::Entry* plugin = nullptr;
        if (const StringNode* name = string_at(table, "plugin", true, owner)) {
            connection.plugin = name->get();
            if (connection.plugin.empty())
                error(*name, "'plugin' must not be empty (known plugins: " +
                                 PluginRegistry::known_names() + ")");
            else if (auto found = PluginRegistry::find(connection.plugin))
                plugin = *found;
        }
        // Without a known plugin, nobody can say which other keys are options of which type.
        if (plugin != nullptr)
            connection.options = read_options(table, *plugin);
        return connection;
    }

    // The plugin's options as written, each read as its declared type; defaults filled in.
    Options read_options(const toml::table& table, const PluginRegistry::Entry& plugin) {
        Options options;
        for (const OptionSpec& spec : plugin.options) {
            if (const toml::node* node = table.get(spec.name)) {
                if (auto value = option_value(spec, *node))
                    options.set(std::string{spec.name}, std::move(*value));
            } else if (auto value = default_value(spec)) {
                options.set(std::string{spec.name}, std::move(*value));
            }
        }
        return options;
    }

    std::optional<OptionValue> option_value(const OptionSpec& spec, const toml::node& node) {
        std::optional<OptionValue> value;
        if (const StringNode* text = node.as_string(); text && spec.type == OptionType::string)
            value = text->get();
        else if (const auto* number = node.as_integer(); number && spec.type == OptionType::integer)
            value = number->get();
        else if (const auto* flag = node.as_boolean(); flag && spec.type == OptionType::boolean)
            value = flag->get();
        if (!value) {
            const std::string_view hint = !node.is_string() ? ""
                                          : spec.type == OptionType::integer
                                              ? " (write numbers without quotes)"
                                              : " (write true or false without quotes)";
            error(node, "expected " + std::string{type_phrase(spec.type)} + " for '" +
                            std::string{spec.name} + "', found " +
                            std::string{type_phrase(node.type())} + std::string{hint});
            return std::nullopt;
        }
        return value; // what it means (empty, allowed, in range) is validate()'s
    }

    Subject read_subject(const toml::table& table, const Settings& settings) {
        // remote-dir in a subject is a common slip: the source's header was forgotten.
        check_keys(table, subject_keys, source_keys, "it belongs in a [[subjects.sources]] entry");
        Subject subject;
        subject.location = location(table);
        std::string owner = "source";
        bool name_valid = false;
        if (const StringNode* name = string_at(table, "name", true, "subject")) {
            subject.name = name->get();
            if (subject.name.empty()) {
                error(*name, "'name' must not be empty");
            } else if (const auto problem = folder_name_problem(subject.name); !problem.empty()) {
                error(*name, "subject name '" + subject.name + "' cannot be a folder name (" +
                                 std::string{problem} + ")");
            } else {
                name_valid = true;
            }
            if (!subject.name.empty()) {
                owner = "source of subject '" + subject.name + "'";
                const auto [first, added] =
                    subject_lines_.try_emplace(subject.name, name->source().begin.line);
                if (!added)
                    error(*name, "duplicate subject name '" + subject.name +
                                     "' (first defined on line " + std::to_string(first->second) +
                                     ")");
            }
        }
        const std::filesystem::path default_dir = name_valid && !settings.root_dir.empty()
                                                      ? settings.root_dir / subject.name
                                                      : std::filesystem::path{};
        for (const toml::table* source : tables_at(table, "sources", "subjects.sources"))
            subject.sources.push_back(read_source(*source, owner, default_dir, settings));
        return subject;
    }

    Source read_source(const toml::table& table, const std::string& owner,
                       const std::filesystem::path& default_dir, const Settings& settings) {
        check_keys(table, source_keys);
        Source source;
        source.location = location(table);
        source.written = written(table);
        bool complete = true; // connection, remote-dir and local folder are all known

        if (const StringNode* name = string_at(table, "connection", true, owner)) {
            source.connection = name->get();
            if (source.connection.empty()) {
                error(*name, "'connection' must not be empty");
                complete = false;
            }
        } else {
            complete = false;
        }

        if (const StringNode* dir = string_at(table, "remote-dir", true, owner))
            source.remote_dir = dir->get();
        else
            complete = false;

        if (const toml::node* node = table.get("local-dir")) {
            if (const StringNode* dir = node->as_string(); dir == nullptr) {
                wrong_type(*node, "a string", "local-dir");
            } else if (dir->get().empty()) {
                error(*dir, "'local-dir' must not be empty (leave it out to sync into "
                            "root-dir/subject name)");
            } else if (auto resolved = resolve_dir(dir->get())) {
                source.local_dir = std::move(*resolved);
            } else {
                error(*dir, std::move(resolved.error()));
            }
        } else {
            source.local_dir = default_dir;
        }
        complete = complete && !source.local_dir.empty();

        bool ignore_valid = global_ignore_valid_;
        std::vector<std::string> patterns = settings.global_ignore;
        for (std::string& pattern : patterns_at(table, "ignore", ignore_valid))
            patterns.push_back(std::move(pattern));
        if (ignore_valid)
            if (auto rules = IgnoreRules::compile(patterns))
                source.ignore = std::move(*rules);

        if (complete) {
            std::string identity = source.connection;
            identity += '\0';
            identity += normal_remote_dir(source.remote_dir);
            identity += '\0';
            identity += source.local_dir.string();
            const auto [first, added] =
                source_lines_.try_emplace(std::move(identity), table.source().begin.line);
            if (!added)
                error(table.source().begin, "duplicate source: connection '" + source.connection +
                                                "', remote-dir '" + source.remote_dir + "' into '" +
                                                source.local_dir.string() +
                                                "' is already synced by the source on line " +
                                                std::to_string(first->second));
        }
        return source;
    }

    // The string at `key`, or null when it is absent (an error if required) or not a string.
    const StringNode* string_at(const toml::table& table, std::string_view key, bool required,
                                std::string_view owner) {
        const toml::node* node = table.get(key);
        if (node == nullptr) {
            if (required)
                error(table.source().begin,
                      owner.empty() ? "missing required key '" + std::string{key} + "'"
                                    : std::string{owner} + " is missing required key '" +
                                          std::string{key} + "'");
            return nullptr;
        }
        if (const StringNode* value = node->as_string())
            return value;
        wrong_type(*node, "a string", key);
        return nullptr;
    }

    void wrong_type(const toml::node& node, std::string_view expected, std::string_view key,
                    std::string_view hint = {}) {
        error(node, "expected " + std::string{expected} + " for '" + std::string{key} +
                        "', found " + std::string{type_phrase(node.type())} + std::string{hint});
    }

    // The tables of the array of tables at `key` ([[header]] in the file); empty when absent.
    std::vector<const toml::table*> tables_at(const toml::table& table, std::string_view key,
                                              std::string_view header) {
        std::vector<const toml::table*> tables;
        const toml::node* node = table.get(key);
        if (node == nullptr)
            return tables;
        const toml::array* array = node->as_array();
        if (array == nullptr) {
            wrong_type(*node, "an array of tables", key,
                       node->is_table() ? " (write [[" + std::string{header} + "]] for each entry)"
                                        : std::string{});
            return tables;
        }
        for (const toml::node& element : *array) {
            if (const toml::table* entry = element.as_table())
                tables.push_back(entry);
            else
                error(element, "expected a table in '" + std::string{key} + "', found " +
                                   std::string{type_phrase(element.type())});
        }
        return tables;
    }

    // The glob patterns at `key`, each checked; clears `valid` when any is wrong.
    std::vector<std::string> patterns_at(const toml::table& table, std::string_view key,
                                         bool& valid) {
        std::vector<std::string> patterns;
        const toml::node* node = table.get(key);
        if (node == nullptr)
            return patterns;
        const toml::array* array = node->as_array();
        if (array == nullptr) {
            const StringNode* single = node->as_string();
            wrong_type(*node, "an array of strings", key,
                       single != nullptr ? " (write [" + toml_quoted(single->get()) + "])"
                                         : std::string{});
            valid = false;
            return patterns;
        }
        for (const toml::node& element : *array) {
            const StringNode* pattern = element.as_string();
            if (pattern == nullptr) {
                error(element, "expected a string in '" + std::string{key} + "', found " +
                                   std::string{type_phrase(element.type())});
                valid = false;
                continue;
            }
            if (auto compiled = IgnoreRules::compile({pattern->get()}); !compiled) {
                error(element, compiled.error().message);
                valid = false;
                continue;
            }
            patterns.push_back(pattern->get());
        }
        return patterns;
    }

    // Reports keys not in `known`; those in `misplaced` get `hint` instead of a suggestion.
    void check_keys(const toml::table& table, std::span<const std::string_view> known,
                    std::span<const std::string_view> misplaced = {}, std::string_view hint = {}) {
        for (auto&& [key, node] : table) {
            if (std::ranges::find(known, key.str()) != known.end())
                continue;
            if (std::ranges::find(misplaced, key.str()) != misplaced.end())
                error(key.source().begin,
                      "unknown key '" + std::string{key.str()} + "' (" + std::string{hint} + ")");
            else
                unknown_key(key, known);
        }
    }

    void unknown_key(const toml::key& key, std::span<const std::string_view> known) {
        const std::string_view guess = near_miss(key.str(), known);
        error(key.source().begin,
              "unknown key '" + std::string{key.str()} + "' (" +
                  (guess.empty() ? "known keys: " + join(known)
                                 : "did you mean '" + std::string{guess} + "'?") +
                  ")");
    }

    // `written` made absolute: '~' is $HOME, a relative path is relative to the config's folder.
    expected<std::filesystem::path, std::string> resolve_dir(std::string_view written) const {
        if (written.starts_with('~')) {
            if (written.size() > 1 && written[1] != '/')
                return unexpected{"cannot expand '" + std::string{written} +
                                  "': only '~' and '~/...' are supported, write the full path"};
            const char* home = std::getenv("HOME");
            if (home == nullptr || *home == '\0' || home[0] != '/')
                return unexpected{"cannot expand '~' in '" + std::string{written} +
                                  "': HOME is not set to an absolute path"};
            written.remove_prefix(1);
            while (written.starts_with('/'))
                written.remove_prefix(1);
            return normal_absolute(std::filesystem::path{home} / written, base_);
        }
        return normal_absolute(std::filesystem::path{written}, base_);
    }

    std::string label_;
    std::filesystem::path base_;
    ConfigErrors errors_;
    bool global_ignore_valid_ = true;
    std::map<std::string, std::uint32_t, std::less<>> subject_lines_;
    std::map<std::string, std::uint32_t, std::less<>> source_lines_;
};

// Problems sorted by their place in the file (stable: one place's keep their order).
inline void in_file_order(ConfigErrors& errors) {
    std::ranges::stable_sort(errors, [](const UsageError& a, const UsageError& b) {
        return std::pair{a.location.line, a.location.column} <
               std::pair{b.location.line, b.location.column};
    });
}

inline unexpected<ConfigErrors> config_error(std::string file, std::string message,
                                             std::uint32_t line = 0, std::uint32_t column = 0) {
    return unexpected{ConfigErrors{UsageError{ErrorKind::config,
                                              std::move(message),
                                              {},
                                              {},
                                              ConfigLocation{std::move(file), line, column}}}};
}

} // namespace kitovu::detail
