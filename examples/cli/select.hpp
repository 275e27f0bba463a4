// `kitovu sync SUBJECT… --connection NAME`: the part of the config a run syncs. The engine
// syncs the Settings it is given and leaves the cache records of every other source alone, so
// choosing what to sync is narrowing the Settings before the run.
#pragma once

#include <kitovu/settings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu::cli {

// What `kitovu sync` was asked to sync; empty means everything.
struct Selection {
    std::vector<std::string> subjects;
    std::optional<std::string> connection;
};

// "'a', 'b'": names as the user typed them, quoted so an empty or spaced name is visible.
inline std::string quoted_names(std::span<const std::string> names) {
    std::string out;
    for (const std::string& name : names)
        out += fmt::format("{}'{}'", out.empty() ? "" : ", ", name);
    return out;
}

template <class Named>
std::vector<std::string> names_of(const std::vector<Named>& items) {
    std::vector<std::string> names;
    for (const Named& item : items)
        names.push_back(item.name);
    return names;
}

// The subjects named (all when none is), each with only its sources on `connection` (all when
// none is given). Unknown names, or a choice that leaves nothing to sync, are usage errors that
// list what the config has.
inline expected<Settings, UsageError> select(Settings settings, const Selection& selection) {
    const std::vector<std::string>& subjects = selection.subjects;
    const std::optional<std::string>& connection = selection.connection;
    std::vector<std::string> unknown;
    for (const std::string& name : subjects)
        if (std::ranges::none_of(settings.subjects,
                                 [&](const Subject& subject) { return subject.name == name; }) &&
            std::ranges::find(unknown, name) == unknown.end())
            unknown.push_back(name);
    if (!unknown.empty())
        return fail(ErrorKind::usage,
                    fmt::format("unknown subject{} {} (subjects in {}: {})",
                                unknown.size() == 1 ? "" : "s", quoted_names(unknown),
                                settings.file.string(), detail::join(names_of(settings.subjects))));
    if (connection && settings.connection(*connection) == nullptr)
        return fail(ErrorKind::usage, fmt::format("unknown connection '{}' (connections in {}: {})",
                                                  *connection, settings.file.string(),
                                                  detail::join(names_of(settings.connections))));

    std::erase_if(settings.subjects, [&](Subject& subject) {
        if (!subjects.empty() && std::ranges::find(subjects, subject.name) == subjects.end())
            return true;
        if (connection)
            std::erase_if(subject.sources,
                          [&](const Source& source) { return source.connection != *connection; });
        return subject.sources.empty();
    });
    if (settings.subjects.empty() && connection)
        return fail(ErrorKind::usage,
                    fmt::format("nothing to sync: {} no source on connection '{}'",
                                subjects.empty() ? std::string{"the config has"}
                                                 : quoted_names(subjects) +
                                                       (subjects.size() == 1 ? " has" : " have"),
                                *connection));
    return settings;
}

} // namespace kitovu::cli
