// A source's listing as the planner keeps it: each listed entry with its local path, and where
// the source stands, for telling "gone remotely" from "not listed this time".
#pragma once

#include "kitovu/cache/filecache.hpp"
#include "kitovu/config/settings_model.hpp"
#include "kitovu/plugin/folder_names.hpp"
#include "kitovu/plugin/plugin.hpp"
#include "kitovu/plugin/remote_path.hpp"

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

// The folders of `source` that hold files `connection` synced there and that are still there
// remotely, as the plugin is told them (SyncPlugin::set_synced_folders).
inline std::vector<std::string>
synced_folders(const FileCache& cache, const std::string& connection, const Source& source) {
    const std::string prefix = source.local_dir.string() + '/';
    const std::string remote_prefix = remote_folder_prefix(source.remote_dir);
    std::vector<std::string> files;
    for (const auto& [key, record] : cache.entries())
        if (record.connection == connection && !record.gone && key.starts_with(prefix) &&
            record.remote_path.starts_with(remote_prefix))
            files.push_back(record.remote_path.substr(remote_prefix.size()));
    return folders_holding(files);
}

} // namespace kitovu::detail
