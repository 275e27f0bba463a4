// BrowseEntry: one entry of a connection's folder as a folder browser or course picker shows it;
// the one order and filter every plugin's answer goes through; and how a plugin without a browse
// member of its own is browsed (through list(), one level deep).
#pragma once

#include "kitovu/disk/names.hpp"
#include "kitovu/plugin/plugin.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu {

struct BrowseEntry {
    std::string name{};     // what goes into remote-dir below the browsed folder: a folder's or
                            // file's name; a Moodle course's full name as remote-dir takes it
    bool is_folder = false; // a folder (or a Moodle course): can be browsed and synced
    std::string title{};    // for display: a Moodle course's full name; empty where the name says
                            // it all

    friend bool operator==(const BrowseEntry&, const BrowseEntry&) = default;
};

// Folders first, then by name as people read it (letters in one case, then byte order), so every
// plugin's answer reads the same; names kitovu would refuse to sync (empty, `.`, `..`, over-long,
// its own temporaries; checked as a path, since a Moodle course's name
// may hold a '/') are left out: a browser offers only what a sync can take.
inline std::vector<BrowseEntry> tidy_browse(std::vector<BrowseEntry> entries) {
    std::erase_if(entries, [](const BrowseEntry& entry) {
        return !local_relative_path(entry.name).has_value();
    });
    std::ranges::sort(entries, [](const BrowseEntry& a, const BrowseEntry& b) {
        if (a.is_folder != b.is_folder)
            return a.is_folder;
        const std::string a_folded = fold_case(a.name), b_folded = fold_case(b.name);
        return a_folded != b_folded ? a_folded < b_folded : a.name < b.name;
    });
    return entries;
}

// One level of `dir` through the plugin's list(): a filter that keeps no folder lets none be
// descended into, so a plugin whose listing goes folder by folder and asks `keep` first (a local
// folder, WebDAV's PROPFIND Depth 1) reads just this one; one that does not ask still gives the
// right answer, only slower. Warnings about single entries are not a browser's business: those
// entries are simply not shown.
inline expected<std::vector<BrowseEntry>, UsageError> browse_by_listing(SyncPlugin& plugin,
                                                                        std::string_view dir) {
    std::vector<BrowseEntry> entries;
    std::set<std::string, std::less<>> seen;
    const auto add = [&](std::string_view path, bool is_folder) {
        if (path.find('/') == std::string_view::npos && seen.emplace(path).second)
            entries.push_back(BrowseEntry{.name = std::string{path}, .is_folder = is_folder});
    };
    const auto folders_seen = [&](std::string_view path, bool is_folder) {
        if (is_folder)
            add(path, true);
        return !is_folder;
    };
    const auto listed = [&](std::span<RemoteEntry> batch) {
        for (const RemoteEntry& entry : batch)
            add(entry.path, entry.is_folder);
    };
    if (auto result = plugin.list(dir, folders_seen, no_warnings, listed); !result)
        return fail(result.error());
    return entries;
}

} // namespace kitovu
