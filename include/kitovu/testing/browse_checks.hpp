// The conformance suite's checks of browsing (plugin/browse.hpp): one level of the fixture's
// folder is what list() shows at its top, and the folder is among its parent's entries, through
// the plugin's own browse member or, without one, through its list().
#pragma once

#include "kitovu/plugin/browse_entry.hpp"
#include "kitovu/plugin/registry.hpp"
#include "kitovu/testing/checker.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <typeinfo>
#include <utility>

namespace kitovu::testing::detail {

// How the registry browses an instance like `plugin`: the entry of its type (the suite is given a
// factory, not a name), else through list() as for any plugin without a browse member.
// The answer is sorted and filtered as browse() does it.
inline expected<std::vector<BrowseEntry>, UsageError> browse_as_registered(SyncPlugin& plugin,
                                                                           std::string_view dir) {
    auto browse = &browse_by_listing;
    for (const auto* entry : PluginRegistry::entries())
        if (const auto made = entry->create(); made && typeid(*made) == typeid(plugin))
            browse = entry->browse;
    auto entries = browse(plugin, dir);
    if (entries)
        *entries = tidy_browse(std::move(*entries));
    return entries;
}

inline std::string browse_text(const expected<std::vector<BrowseEntry>, UsageError>& result) {
    if (!result)
        return "error " + result.error().to_string();
    std::string names;
    for (const BrowseEntry& entry : *result)
        names += (names.empty() ? "" : ", ") + entry.name + (entry.is_folder ? "/" : "");
    return "[" + names + "]";
}

// `listing` is the fixture's folder as list() gave it, with `keep` refusing some folders.
inline void check_browse(Checker& c, SyncPlugin& plugin, const Listing& listing) {
    std::string dir{c.fixture().remote_dir};
    while (dir.starts_with('/'))
        dir.erase(0, 1);
    while (dir.ends_with('/'))
        dir.pop_back();
    const auto slash = dir.rfind('/');
    const std::string parent = slash == std::string::npos ? "" : dir.substr(0, slash);
    const std::string name = slash == std::string::npos ? dir : dir.substr(slash + 1);
    if (!name.empty()) {
        const auto above = browse_as_registered(plugin, parent);
        const bool found = above && std::ranges::any_of(*above, [&](const BrowseEntry& e) {
                               return e.name == name && e.is_folder;
                           });
        c.check(found, "browse: parent",
                "browsing '" + parent + "' gave " + browse_text(above) + ", without the folder '" +
                    name + "'");
    }
    const auto here = browse_as_registered(plugin, dir);
    if (!here && here.error().kind == ErrorKind::usage) // a remote_dir with no folders below it
        return;                                         // (a Moodle course): said in words
    std::set<std::pair<std::string, bool>> expected;
    for (const auto& [path, entry] : listing.by_path())
        if (path.find('/') == std::string::npos)
            expected.emplace(path, entry.is_folder);
    for (const auto& [path, is_folder] : listing.refused_by_keep)
        if (path.find('/') == std::string::npos)
            expected.emplace(path, is_folder);
    std::set<std::pair<std::string, bool>> got;
    if (here)
        for (const BrowseEntry& entry : *here)
            got.emplace(entry.name, entry.is_folder);
    std::string wanted;
    for (const auto& [path, is_folder] : expected)
        wanted += (wanted.empty() ? "" : ", ") + path + (is_folder ? "/" : "");
    c.check(here && got == expected, "browse",
            "browsing '" + dir + "' gave " + browse_text(here) + ", list() showed [" + wanted +
                "]");
}

} // namespace kitovu::testing::detail
