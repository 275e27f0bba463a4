// Choosing what a run syncs (`kitovu sync SUBJECT… --connection NAME`, the window's "Sync"):
// the engine syncs the Settings it is given and leaves the cache records of every other source
// alone, so choosing is narrowing the Settings before the run. The command and the window call
// the same function, so both sync a nested subject with the one around it.
#pragma once

#include "kitovu/config/config_text.hpp"
#include "kitovu/config/settings_model.hpp"
#include "kitovu/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kitovu {

// What a run was asked to sync; empty means everything.
struct Selection {
    std::vector<std::string> subjects{};
    std::optional<std::string> connection{};
};

// What a run syncs, and why more than was asked for, if so (one note a line).
struct Chosen {
    Settings settings{};
    std::vector<std::string> notes{};
};

namespace detail {

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

inline bool is_inside(const std::filesystem::path& folder, const std::filesystem::path& outer) {
    return folder == outer || folder.native().starts_with(outer.native() + '/');
}

} // namespace detail

// The subjects named (all when none is), each with only its sources on `connection` (all when
// none is given), plus every source whose folder lies inside a chosen source's folder on the
// same connection. Unknown names, or a choice that leaves nothing to sync, are usage errors
// that list what the config has.
inline expected<Chosen, UsageError> select_subjects(Settings settings, const Selection& selection) {
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
                                unknown.size() == 1 ? "" : "s", detail::quoted_names(unknown),
                                settings.file.string(),
                                detail::join(detail::names_of(settings.subjects))));
    if (connection && settings.connection(*connection) == nullptr)
        return fail(ErrorKind::usage,
                    fmt::format("unknown connection '{}' (connections in {}: {})", *connection,
                                settings.file.string(),
                                detail::join(detail::names_of(settings.connections))));

    // keep[i][j]: source j of subject i is synced.
    std::vector<std::vector<bool>> keep;
    bool any = false;
    for (const Subject& subject : settings.subjects) {
        auto& row = keep.emplace_back();
        for (const Source& source : subject.sources) {
            row.push_back(
                (subjects.empty() || std::ranges::find(subjects, subject.name) != subjects.end()) &&
                (!connection || source.connection == *connection));
            any = any || row.back();
        }
    }
    if (!any && connection)
        return fail(ErrorKind::usage,
                    fmt::format("nothing to sync: {} no source on connection '{}'",
                                subjects.empty() ? std::string{"the config has"}
                                                 : detail::quoted_names(subjects) +
                                                       (subjects.size() == 1 ? " has" : " have"),
                                *connection));

    // A source whose folder lies inside a synced source's folder, on the same connection, is
    // synced too: the engine tells a file gone remotely by the nearest synced source around it,
    // and would take the left-out source's records for that one's and forget them.
    Chosen chosen;
    for (bool grew = true; grew;) {
        grew = false;
        for (std::size_t i = 0; i < keep.size(); ++i)
            for (std::size_t j = 0; j < keep[i].size(); ++j) {
                const Source& left_out = settings.subjects[i].sources[j];
                for (std::size_t k = 0; !keep[i][j] && k < keep.size(); ++k)
                    for (std::size_t l = 0; !keep[i][j] && l < keep[k].size(); ++l) {
                        const Source& synced = settings.subjects[k].sources[l];
                        if (!keep[k][l] || synced.connection != left_out.connection ||
                            !detail::is_inside(left_out.local_dir, synced.local_dir))
                            continue;
                        keep[i][j] = grew = true;
                        chosen.notes.push_back(fmt::format(
                            "also syncing '{}' from {}: its folder {} is inside the folder of '{}'",
                            settings.subjects[i].name, left_out.connection,
                            left_out.local_dir.string(), settings.subjects[k].name));
                    }
            }
    }
    for (std::size_t i = keep.size(); i-- > 0;) {
        auto& sources = settings.subjects[i].sources;
        for (std::size_t j = sources.size(); j-- > 0;)
            if (!keep[i][j])
                sources.erase(sources.begin() + static_cast<std::ptrdiff_t>(j));
        if (sources.empty())
            settings.subjects.erase(settings.subjects.begin() + static_cast<std::ptrdiff_t>(i));
    }
    chosen.settings = std::move(settings);
    return chosen;
}

} // namespace kitovu
