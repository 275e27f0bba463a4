// `kitovu ls CONNECTION [DIR]` (one level of a connection's folder, folders first, marked with a
// trailing '/') and `kitovu test [CONNECTION...]` (logs in and says what is wrong), both through
// the library's browse() and test_connection().
#pragma once

#include "login.hpp"
#include "report_json.hpp"
#include "terminal.hpp"

#include <kitovu/plugin/browse.hpp>

#include <fmt/core.h>

#include <stop_token>
#include <string>
#include <vector>

namespace kitovu::cli {

// A sync's sources of secrets: the environment and config, the keyring, the terminal.
inline BrowseOptions browse_options(Keyring* keyring, std::stop_token stop) {
    BrowseOptions options;
    options.prompt = [](std::string_view question) { return ask_secret(question); };
    options.keyring = keyring;
    options.offer_to_keep = ask_yes;
    options.stop = std::move(stop);
    options.warn = [](const Warning& warning) { Messages{}.warning(warning.to_string()); };
    return options;
}

inline int browse_exit_code(const UsageError& error) {
    return error.kind == ErrorKind::config || error.kind == ErrorKind::usage ? exit_code::usage
                                                                             : exit_code::failed;
}

// {"connection": …, "dir": …, "entries": [{"name": …, "folder": …, "title": …}], "errors": […],
// "exit_code": N}
inline std::string browse_json(std::string_view connection, std::string_view dir,
                               const std::vector<BrowseEntry>& entries,
                               const std::vector<UsageError>& errors, int exit_code) {
    std::string out = fmt::format("{{\n  \"connection\": {},\n  \"dir\": {},\n  \"entries\": [",
                                  json_string(connection), json_string(dir));
    for (std::size_t i = 0; i < entries.size(); ++i)
        out += fmt::format("{}{{\"name\": {}, \"folder\": {}, \"title\": {}}}",
                           i == 0 ? "\n    " : ",\n    ", json_string(entries[i].name),
                           entries[i].is_folder, json_string(entries[i].title));
    out += entries.empty() ? "],\n" : "\n  ],\n";
    out += "  \"errors\": [";
    for (std::size_t i = 0; i < errors.size(); ++i)
        out += (i == 0 ? "\n    " : ",\n    ") + json_error(errors[i]);
    if (!errors.empty())
        out += "\n  ";
    return out + fmt::format("],\n  \"exit_code\": {}\n}}\n", exit_code);
}

inline int run_ls(const Settings& settings, std::string_view connection, std::string_view dir,
                  bool json, std::stop_token stop) {
    const auto keyring = desktop_keyring();
    auto entries =
        browse(settings, connection, dir, browse_options(keyring.get(), std::move(stop)));
    if (!entries) {
        Messages{}.error(entries.error().to_string());
        const int code = browse_exit_code(entries.error());
        if (json)
            fmt::print("{}", browse_json(connection, dir, {}, {entries.error()}, code));
        return code;
    }
    if (json) {
        fmt::print("{}", browse_json(connection, dir, *entries, {}, exit_code::ok));
        return exit_code::ok;
    }
    for (const BrowseEntry& entry : *entries) {
        std::string line = printable(entry.name) + (entry.is_folder ? "/" : "");
        if (!entry.title.empty() && entry.title != entry.name)
            line += "\t" + printable(entry.title);
        fmt::print("{}\n", line);
    }
    return exit_code::ok;
}

// Every connection named (all of the config's when none is), one line each: "NAME: ok" on stdout
// or the error on stderr. Exit 1 when one failed, 2 for a name the config does not have.
inline int run_test(const Settings& settings, std::vector<std::string> connections,
                    std::stop_token stop) {
    if (connections.empty())
        for (const Connection& connection : settings.connections)
            connections.push_back(connection.name);
    const auto keyring = desktop_keyring();
    const BrowseOptions options = browse_options(keyring.get(), std::move(stop));
    int code = exit_code::ok;
    for (const std::string& name : connections) {
        if (options.stop.stop_requested())
            return std::max(code, int{exit_code::failed});
        if (auto tested = test_connection(settings, name, options); !tested) {
            Messages{}.error(tested.error().to_string());
            code = std::max(code, browse_exit_code(tested.error()));
            continue;
        }
        fmt::print("{}: ok\n", printable(name));
        std::fflush(stdout);
    }
    return code;
}

} // namespace kitovu::cli
