// Settings: the TOML config file, parsed with toml++ and validated against the plugins' option
// schemas in one pass, every problem reported as `FILE:LINE:COLUMN: message`.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/ignore.hpp"
#include "kitovu/options.hpp"
#include "kitovu/registry.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

// kitovu uses toml++'s exception mode (Debian's shared libtomlplusplus is built that way);
// every toml::parse_error is caught in this header.
static_assert(TOML_EXCEPTIONS, "kitovu needs toml++ with exceptions enabled");

namespace kitovu {

struct Connection {
    std::string name;
    std::string plugin;
    Options options; // validated against the plugin's schema, defaults filled in
    ConfigLocation location;

    friend bool operator==(const Connection&, const Connection&) = default;
};

struct Source {
    std::string connection;          // names a Connection
    std::string remote_dir;          // as written, relative to the connection's root
    std::filesystem::path local_dir; // absolute: local-dir, or root-dir/subject name
    IgnoreRules ignore;              // global-ignore followed by the source's own patterns
    ConfigLocation location;

    friend bool operator==(const Source&, const Source&) = default;
};

struct Subject {
    std::string name;
    std::vector<Source> sources;
    ConfigLocation location;

    friend bool operator==(const Subject&, const Subject&) = default;
};

struct Settings {
    std::filesystem::path file;     // the config file (absolute); "" when parsed from a string
    std::filesystem::path root_dir; // absolute, ~ expanded
    std::vector<std::string> global_ignore;
    std::vector<Connection> connections;
    std::vector<Subject> subjects;

    const Connection* connection(std::string_view name) const {
        for (const auto& connection : connections)
            if (connection.name == name)
                return &connection;
        return nullptr;
    }
};

// Every problem found, each a UsageError of kind config with its location, in file order.
using ConfigErrors = std::vector<UsageError>;

// A config file larger than this is refused unread: it is surely not a kitovu config (think of
// `--config /dev/zero`).
inline constexpr std::size_t max_config_bytes = 16 * 1024 * 1024;

// Where the config is unless --config says otherwise: $XDG_CONFIG_HOME/kitovu/kitovu.toml, else
// ~/.config/kitovu/kitovu.toml.
inline std::filesystem::path default_config_path() {
    if (const char* config = std::getenv("XDG_CONFIG_HOME"); config != nullptr && *config == '/')
        return std::filesystem::path{config} / "kitovu/kitovu.toml";
    const char* home = std::getenv("HOME");
    return std::filesystem::path{home != nullptr ? home : "/"} / ".config/kitovu/kitovu.toml";
}

namespace detail {

// "a string", "an integer", ...: how a TOML value is named in messages.
constexpr std::string_view type_phrase(toml::node_type type) noexcept {
    switch (type) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    }
    return "a value";
}

constexpr std::string_view type_phrase(OptionType type) noexcept {
    switch (type) {
    case OptionType::string: return "a string";
    case OptionType::integer: return "an integer";
    case OptionType::boolean: return "a boolean";
    }
    return "a value";
}

template <class Names>
std::string join(const Names& names, std::string_view separator = ", ") {
    std::string out;
    for (const auto& name : names) {
        if (!out.empty())
            out += separator;
        out += name;
    }
    return out;
}

// A string as a TOML basic string, for hints that show what to write.
inline std::string toml_quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + '"';
}

// Levenshtein distance; only called for unknown keys, which are short.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j < row.size(); ++j)
        row[j] = j;
    for (std::size_t i = 0; i < a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i + 1;
        for (std::size_t j = 0; j < b.size(); ++j) {
            const std::size_t above = row[j + 1];
            row[j + 1] = std::min({above + 1, row[j] + 1, diagonal + (a[i] == b[j] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// The known key `key` was probably meant as: the same but for '_' or case (remote_dir,
// Remote-Dir), or within two edits; short keys allow fewer edits, so `port` does not become
// `path`. Empty when nothing is near.
inline std::string_view near_miss(std::string_view key, std::span<const std::string_view> known) {
    std::string normal{key};
    for (char& c : normal) {
        if (c == '_')
            c = '-';
        else if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    }
    std::string_view best;
    std::size_t best_distance = 3;
    for (const std::string_view candidate : known) {
        if (candidate == normal)
            return candidate;
        const std::size_t allowed =
            std::min<std::size_t>(2, std::max<std::size_t>(1, candidate.size() / 3));
        const std::size_t distance = edit_distance(normal, candidate);
        if (distance <= allowed && distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

struct TextPosition {
    std::uint32_t line = 1;
    std::uint32_t column = 1; // in characters, as toml++ counts
};

struct InvalidUtf8 {
    TextPosition position;
    unsigned char byte = 0;
};

// The first byte that is not part of valid UTF-8. toml++ rejects such files too, but reports the
// position of the character before the bad byte; this finds the exact place.
inline std::optional<InvalidUtf8> first_invalid_utf8(std::string_view text) noexcept {
    TextPosition position;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t start = pos;
        const char32_t c = next_code_point(text, pos);
        if (c >= raw_byte_base)
            return InvalidUtf8{position, static_cast<unsigned char>(text[start])};
        if (c == U'\n') {
            ++position.line;
            position.column = 1;
        } else {
            ++position.column;
        }
    }
    return std::nullopt;
}

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

    // Every problem, in file order.
    ConfigErrors take_errors() {
        std::ranges::stable_sort(errors_, [](const UsageError& a, const UsageError& b) {
            return std::pair{a.location.line, a.location.column} <
                   std::pair{b.location.line, b.location.column};
        });
        return std::move(errors_);
    }

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
    Connection read_connection(const toml::table& table) {
        Connection connection;
        connection.location = location(table);
        std::string owner = "connection";
        if (const StringNode* name = string_at(table, "name", true, owner)) {
            connection.name = name->get();
            if (connection.name.empty()) {
                error(*name, "'name' must not be empty");
            } else {
                owner = "connection '" + connection.name + "'";
                const auto [first, added] =
                    connection_lines_.try_emplace(connection.name, name->source().begin.line);
                if (added)
                    connection_names_.push_back(connection.name);
                else
                    error(*name, "duplicate connection name '" + connection.name +
                                     "' (first defined on line " + std::to_string(first->second) +
                                     ")");
            }
        }

        const PluginRegistry::Entry* plugin = nullptr;
        if (const StringNode* name = string_at(table, "plugin", true, owner)) {
            connection.plugin = name->get();
            if (connection.plugin.empty()) {
                error(*name, "'plugin' must not be empty (known plugins: " +
                                 PluginRegistry::known_names() + ")");
            } else if (auto found = PluginRegistry::find(connection.plugin)) {
                plugin = *found;
            } else {
                error(*name, found.error().message);
            }
        }
        // Without a known plugin, nobody can say which other keys belong here.
        if (plugin != nullptr)
            connection.options = read_options(table, *plugin, owner);
        return connection;
    }

    Options read_options(const toml::table& table, const PluginRegistry::Entry& plugin,
                         const std::string& owner) {
        Options options;
        const auto spec_named = [&](std::string_view name) -> const OptionSpec* {
            for (const OptionSpec& spec : plugin.options)
                if (spec.name == name)
                    return &spec;
            return nullptr;
        };
        for (auto&& [key, node] : table) {
            if (key == "name" || key == "plugin")
                continue;
            if (const OptionSpec* spec = spec_named(key.str())) {
                if (auto value = option_value(*spec, node))
                    options.set(std::string{spec->name}, std::move(*value));
            } else {
                std::vector<std::string_view> known{"name", "plugin"};
                for (const OptionSpec& spec : plugin.options)
                    known.push_back(spec.name);
                unknown_key(key, known);
            }
        }
        for (const OptionSpec& spec : plugin.options) {
            if (table.contains(spec.name))
                continue;
            if (spec.required)
                error(table.source().begin, owner + " is missing required option '" +
                                                std::string{spec.name} + "' of plugin '" +
                                                std::string{plugin.name} + "'");
            else if (auto value = default_value(spec))
                options.set(std::string{spec.name}, std::move(*value));
        }
        return options;
    }

    std::optional<OptionValue> option_value(const OptionSpec& spec, const toml::node& node) {
        const std::string name{spec.name};
        const auto wrong_type = [&](std::string_view hint) {
            error(node, "expected " + std::string{type_phrase(spec.type)} + " for '" + name +
                            "', found " + std::string{type_phrase(node.type())} +
                            std::string{hint});
            return std::nullopt;
        };
        switch (spec.type) {
        case OptionType::string: {
            const StringNode* value = node.as_string();
            if (value == nullptr)
                return wrong_type("");
            const std::string& text = value->get();
            if (spec.required && text.empty()) {
                error(node, "option '" + name + "' must not be empty");
                return std::nullopt;
            }
            if (!spec.allowed.empty() &&
                std::ranges::find(spec.allowed, std::string_view{text}) == spec.allowed.end()) {
                error(node, "invalid value '" + text + "' for '" + name +
                                "' (allowed values: " + join(spec.allowed) + ")");
                return std::nullopt;
            }
            return OptionValue{text};
        }
        case OptionType::integer: {
            const auto* value = node.as_integer();
            if (value == nullptr)
                return wrong_type(node.is_string() ? " (write numbers without quotes)" : "");
            const std::int64_t number = value->get();
            if (spec.min < spec.max && (number < spec.min || number > spec.max)) {
                error(node, "'" + name + "' must be between " + std::to_string(spec.min) + " and " +
                                std::to_string(spec.max) + ", found " + std::to_string(number));
                return std::nullopt;
            }
            return OptionValue{number};
        }
        case OptionType::boolean: {
            const auto* value = node.as_boolean();
            if (value == nullptr)
                return wrong_type(node.is_string() ? " (write true or false without quotes)" : "");
            return OptionValue{value->get()};
        }
        }
        return std::nullopt;
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
        bool complete = true; // connection, remote-dir and local folder are all known

        if (const StringNode* name = string_at(table, "connection", true, owner)) {
            source.connection = name->get();
            if (source.connection.empty()) {
                error(*name, "'connection' must not be empty");
                complete = false;
            } else if (!connection_lines_.contains(source.connection)) {
                error(*name, "unknown connection '" + source.connection + "' (" +
                                 (connection_names_.empty()
                                      ? std::string{"no connections are defined"}
                                      : "defined connections: " + join(connection_names_)) +
                                 ")");
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
    std::vector<std::string> connection_names_; // in file order, for messages
    std::map<std::string, std::uint32_t, std::less<>> connection_lines_;
    std::map<std::string, std::uint32_t, std::less<>> subject_lines_;
    std::map<std::string, std::uint32_t, std::less<>> source_lines_;
};

inline unexpected<ConfigErrors> config_error(std::string file, std::string message,
                                             std::uint32_t line = 0, std::uint32_t column = 0) {
    return unexpected{ConfigErrors{UsageError{ErrorKind::config,
                                              std::move(message),
                                              {},
                                              {},
                                              ConfigLocation{std::move(file), line, column}}}};
}

} // namespace detail

// Parses and validates a config held in memory. `file` is where it came from: errors name it
// (or "<string>" when it is empty) and relative root-dir and local-dir are taken relative to its
// folder (the current folder when it is empty). Never throws.
inline expected<Settings, ConfigErrors> parse_settings(std::string_view text,
                                                       const std::filesystem::path& file) {
    const std::string label = file.empty() ? std::string{"<string>"} : file.string();
    try {
        Settings settings;
        std::error_code ec;
        std::filesystem::path base;
        if (file.empty() || file.is_relative())
            base = std::filesystem::current_path(ec);
        if (ec)
            return detail::config_error(label,
                                        "cannot determine the current folder: " + ec.message());
        if (!file.empty()) {
            settings.file = detail::normal_absolute(file, base);
            base = settings.file.parent_path();
        }

        if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
            return detail::config_error(label, "config file is empty");
        if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF"))
            return detail::config_error(label, "the file is UTF-16 text; save it as UTF-8", 1, 1);
        if (const auto bad = detail::first_invalid_utf8(text)) {
            constexpr char hex[] = "0123456789ABCDEF";
            const std::string byte{hex[bad->byte >> 4], hex[bad->byte & 0xF]};
            return detail::config_error(
                label, "invalid UTF-8 (byte 0x" + byte + "); save the file as UTF-8",
                bad->position.line, bad->position.column);
        }

        toml::table root;
        try {
            root = toml::parse(text, std::string_view{label});
        } catch (const toml::parse_error& error) {
            const auto& at = error.source().begin;
            return detail::config_error(label, std::string{error.description()}, at.line,
                                        at.line == 0 ? 0 : at.column);
        }

        detail::SettingsReader reader{label, base};
        reader.read(root, settings);
        ConfigErrors errors = reader.take_errors();
        if (!errors.empty())
            return unexpected{std::move(errors)};
        return settings;
    } catch (const std::bad_alloc&) {
        return detail::config_error(label, "out of memory while reading the config");
    } catch (const std::exception& error) {
        return detail::config_error(label, std::string{"cannot read the config: "} + error.what());
    }
}

// Reads, parses and validates the config file. A missing, unreadable or empty file, or a folder,
// is an error naming the path; never throws.
inline expected<Settings, ConfigErrors> load_settings(const std::filesystem::path& file) {
    const std::string label = file.string();
    try {
        if (file.empty())
            return detail::config_error("", "no config file given");
        std::error_code ec;
        const auto status = std::filesystem::status(file, ec);
        if (status.type() == std::filesystem::file_type::not_found)
            return detail::config_error(label, "config file not found");
        if (ec)
            return detail::config_error(label, "cannot access config file: " + ec.message());
        if (std::filesystem::is_directory(status))
            return detail::config_error(label, "is a folder, not a config file");

        errno = 0;
        std::ifstream in{file, std::ios::binary};
        if (!in) {
            const int cause = errno;
            return detail::config_error(
                label,
                "cannot open config file" +
                    (cause != 0 ? ": " + std::generic_category().message(cause) : std::string{}));
        }
        std::string text;
        char buffer[64 * 1024];
        while (in) {
            in.read(buffer, sizeof buffer);
            text.append(buffer, static_cast<std::size_t>(in.gcount()));
            if (text.size() > max_config_bytes)
                return detail::config_error(label,
                                            "config file is larger than 16 MiB; is it the right "
                                            "file?");
        }
        if (in.bad())
            return detail::config_error(label, "cannot read config file");
        return parse_settings(text, file);
    } catch (const std::bad_alloc&) {
        return detail::config_error(label, "out of memory while reading the config file");
    } catch (const std::exception& error) {
        return detail::config_error(label, std::string{"cannot read config file: "} + error.what());
    }
}

// A commented config for `kitovu edit` to start from. As it stands it validates with any set of
// plugins and syncs nothing; the examples are commented out so that using one means removing
// "# " in front of its lines (the tests uncomment them that way and validate the result).
inline std::string_view settings_template() noexcept {
    return R"toml(# kitovu configuration: which remote folders are kept in step with which local folders.
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
#
# A Windows or Samba file share (plugin "smb"):
#
# [[connections]]
# name = "skripte"
# plugin = "smb"
# hostname = "files.example.edu"    # server name or address (required)
# share = "skripte"                 # share name, without the server (required)
# username = "alice"                # (required)
# domain = "WORKGROUP"              # domain or workgroup (default "WORKGROUP")
# password-command = "secret-tool lookup service kitovu user alice"
#                                   # its first output line is the password; without it
#                                   # kitovu uses $KITOVU_PASSWORD_SKRIPTE or asks you
# port = 445                        # (default 445)
# signing = "if-required"           # "off", "if-required" or "required" (default "if-required")
# encrypt = false                   # require SMB3 encryption (default false)
# timeout = 30                      # connect and read timeout in seconds (default 30)
#
# A folder on this computer, e.g. a share mounted by the system or a USB stick
# (plugin "local"):
#
# [[connections]]
# name = "mirror"
# plugin = "local"
# path = "/mnt/courses"             # remote-dir is relative to this folder (required)
#
# A Moodle site (plugin "moodle"); a source's remote-dir is then a course's full name, or
# "/" for all your courses:
#
# [[connections]]
# name = "moodle"
# plugin = "moodle"
# url = "https://moodle.example.edu/"   # the site's address (required)
# token-command = "secret-tool lookup service kitovu-moodle"
#                                   # its first output line is the web-service token; without
#                                   # it kitovu uses $KITOVU_TOKEN_MOODLE or asks you. Moodle
#                                   # shows the token under Preferences > Security keys >
#                                   # "Moodle mobile web service"
# timeout = 30                      # connect timeout and longest stall in seconds (default 30)


# ---- Subjects: what to sync ----------------------------------------------------------
# Each [[subjects]] block has a name and one or more sources. A source takes the folder
# remote-dir of a connection, with everything below it.
#
# [[subjects]]
# name = "EPJ"                      # also the folder's name: root-dir/EPJ
#
#   [[subjects.sources]]
#   connection = "skripte"          # the name of a connection above
#   remote-dir = "Informatik/Fachbereich/EPJ"
#   ignore = ["*.bak", "old/"]      # optional, in addition to global-ignore
#
#   [[subjects.sources]]            # more sources may fill the same subject
#   connection = "mirror"
#   remote-dir = "EPJ/Übungen"
#   local-dir = "~/Documents/EPJ-Übungen"   # optional: sync here instead of root-dir/EPJ
#
#   [[subjects.sources]]
#   connection = "moodle"
#   remote-dir = "Engineering Projekt"      # the course's full name on Moodle
)toml";
}

} // namespace kitovu
