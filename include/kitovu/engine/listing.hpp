// A source's listing as the planner keeps it: each listed entry with its local path, and where
// the source stands, for telling "gone remotely" from "not listed this time".
#pragma once

#include "kitovu/config/settings_model.hpp"
#include "kitovu/plugin/plugin.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace kitovu::detail {

struct Listed {
    RemoteEntry entry;
    std::string relative; // the local path below the source's target folder
};

struct SourceStatus {
    const Source* source;
    bool listed = false;                  // completely, and not stopped
    std::vector<std::string> unlisted{};  // subfolders whose records stay, as the remote names
    std::size_t entries = 0, refused = 0; // listed (not ignored); of them, names refused
};

} // namespace kitovu::detail
