// What a config says, once read: connections (where files come from), subjects and their
// sources (what goes where). Built by load_settings (settings.hpp) or by a program itself, and
// checked by validate (validate.hpp) either way.
#pragma once

#include "kitovu/config/options.hpp"
#include "kitovu/decide/ignore.hpp"
#include "kitovu/error.hpp"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace kitovu {

// Where a key of a connection or source was written in the config file, so that validate()
// reports a problem at its place. Empty for Settings a program built.
struct Written {
    ConfigLocation key{};
    ConfigLocation value{};

    friend bool operator==(const Written&, const Written&) = default;
};
using WrittenKeys = std::map<std::string, Written, std::less<>>;

// The value of `key` as written, else the whole entry's place.
inline const ConfigLocation& place_of(const WrittenKeys& written, std::string_view key,
                                      const ConfigLocation& entry) {
    const auto found = written.find(key);
    return found != written.end() ? found->second.value : entry;
}

struct Connection {
    std::string name{};
    std::string plugin{};
    Options options{}; // validated against the plugin's schema, defaults filled in
    ConfigLocation location{};
    WrittenKeys written{}; // from a file: every key of the entry, unknown ones too

    const ConfigLocation& place_of(std::string_view key) const {
        return kitovu::place_of(written, key, location);
    }
    // Where its keys were written says how it was read, not what the connection is.
    friend bool operator==(const Connection& a, const Connection& b) {
        return std::tie(a.name, a.plugin, a.options, a.location) ==
               std::tie(b.name, b.plugin, b.options, b.location);
    }
};

struct Source {
    std::string connection{};          // names a Connection
    std::string remote_dir{};          // as written, relative to the connection's root
    std::filesystem::path local_dir{}; // absolute: local-dir, or root-dir/subject name
    IgnoreRules ignore{};              // global-ignore followed by the source's own patterns
    ConfigLocation location{};
    WrittenKeys written{}; // from a file: every key of the entry

    const ConfigLocation& place_of(std::string_view key) const {
        return kitovu::place_of(written, key, location);
    }
    friend bool operator==(const Source& a, const Source& b) {
        return std::tie(a.connection, a.remote_dir, a.local_dir, a.ignore, a.location) ==
               std::tie(b.connection, b.remote_dir, b.local_dir, b.ignore, b.location);
    }
};

struct Subject {
    std::string name{};
    std::vector<Source> sources{};
    ConfigLocation location{};

    friend bool operator==(const Subject&, const Subject&) = default;
};

struct Settings {
    std::filesystem::path file{};     // the config file (absolute); "" when parsed from a string
    std::filesystem::path root_dir{}; // absolute, ~ expanded
    std::vector<std::string> global_ignore{};
    std::vector<Connection> connections{};
    std::vector<Subject> subjects{};

    const Connection* connection(std::string_view name) const {
        for (const auto& connection : connections)
            if (connection.name == name)
                return &connection;
        return nullptr;
    }
};

// Every problem found, each a UsageError of kind config with its location, in file order.
using ConfigErrors = std::vector<UsageError>;

// Where the config is unless --config says otherwise: $XDG_CONFIG_HOME/kitovu/kitovu.toml, else
// ~/.config/kitovu/kitovu.toml.
inline std::filesystem::path default_config_path() {
    if (const char* config = std::getenv("XDG_CONFIG_HOME"); config != nullptr && *config == '/')
        return std::filesystem::path{config} / "kitovu/kitovu.toml";
    const char* home = std::getenv("HOME");
    return std::filesystem::path{home != nullptr ? home : "/"} / ".config/kitovu/kitovu.toml";
}

} // namespace kitovu
