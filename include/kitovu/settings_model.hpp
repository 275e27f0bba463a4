// What a config says, once read: connections (where files come from), subjects and their
// sources (what goes where). Built by load_settings (settings.hpp) or by a program itself, and
// checked by validate (validate.hpp) either way.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/ignore.hpp"
#include "kitovu/options.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu {

struct Connection {
    std::string name{};
    std::string plugin{};
    Options options{}; // validated against the plugin's schema, defaults filled in
    ConfigLocation location{};

    friend bool operator==(const Connection&, const Connection&) = default;
};

struct Source {
    std::string connection{};          // names a Connection
    std::string remote_dir{};          // as written, relative to the connection's root
    std::filesystem::path local_dir{}; // absolute: local-dir, or root-dir/subject name
    IgnoreRules ignore{};              // global-ignore followed by the source's own patterns
    ConfigLocation location{};

    friend bool operator==(const Source&, const Source&) = default;
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
