// What the planner hands the transfer workers: one file to download, with what was known when
// its state was decided, so that placement can tell whether the local file changed since.
#pragma once

#include "kitovu/cache/filecache.hpp"
#include "kitovu/decide/decide.hpp"
#include "kitovu/disk/local_identity.hpp"
#include "kitovu/plugin/plugin.hpp"
#include "kitovu/warning.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace kitovu::detail {

struct Job {
    std::size_t connection; // index into Settings::connections
    RemoteEntry entry;
    std::string remote_path;
    std::filesystem::path local_path; // the synced file; its cache entry
    std::filesystem::path target;     // where the download goes (a conflict copy for conflicts)
    FileState state;
    LocalIdentity seen;                 // the local file when deciding (if there was one)
    std::optional<CacheEntry> previous; // the cache's record of it, if any
    std::filesystem::path base;         // the source's target folder, which target is inside
};

// What the user hears of a conflict: where the remote version went.
inline Warning conflict_warning(std::string_view connection, const std::filesystem::path& local,
                                const std::filesystem::path& copy) {
    return Warning{
        WarningKind::conflict,
        fmt::format("changed here and on the remote; the local file is kept, the remote version is "
                    "saved as {}",
                    copy.filename().string()),
        std::string{connection}, local.string()};
}

} // namespace kitovu::detail
