// `kitovu complete WHAT`: what the shell completions (packaging/completions) offer, asked of the
// program itself and of the user's config, so they never go out of step with either.
#pragma once

#include <kitovu/config/selection.hpp>
#include <kitovu/config/settings.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu::cli {

inline const std::vector<std::string> completion_kinds{"commands", "options", "subjects",
                                                       "connections"};

// Prints one candidate a line, "NAME<TAB>DESCRIPTION" for commands and options (fish and zsh
// show the description, bash drops it): "commands", "options" of `command` (the program's own
// when empty), or the "subjects" or "connections" of the config. Hidden commands and options
// (group "") are left out. A config that does not load is an error on stderr, exit 2.
inline int complete(const CLI::App& app, std::string_view what, const std::string& command,
                    const std::filesystem::path& config) {
    const auto offer = [](std::string_view name, std::string_view help) {
        fmt::print("{}\t{}\n", name, help);
    };
    if (what == "commands") {
        for (const CLI::App* sub :
             app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); }))
            offer(sub->get_name(), sub->get_description());
        return 0;
    }
    if (what == "options") {
        const CLI::App* of = &app;
        if (!command.empty()) {
            try {
                of = app.get_subcommand(command);
            } catch (const CLI::OptionNotFound&) {
                fmt::print(stderr, "error: unknown command '{}'\n", command);
                return 2;
            }
        }
        for (const CLI::Option* option : of->get_options([](const CLI::Option* option) {
                 return option->nonpositional() && !option->get_group().empty();
             })) {
            for (const std::string& name : option->get_snames())
                offer("-" + name, option->get_description());
            for (const std::string& name : option->get_lnames())
                offer("--" + name, option->get_description());
        }
        return 0;
    }
    auto settings = load_settings(config);
    if (!settings) {
        for (const UsageError& error : settings.error())
            fmt::print(stderr, "{}\n", error.to_string());
        return 2;
    }
    for (const std::string& name : what == "subjects"
                                       ? kitovu::detail::names_of(settings->subjects)
                                       : kitovu::detail::names_of(settings->connections))
        fmt::print("{}\n", name);
    return 0;
}

} // namespace kitovu::cli
