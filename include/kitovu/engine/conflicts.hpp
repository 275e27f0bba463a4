// Resolving a conflict the engine left (a local edit kept, the remote version saved beside it as
// STEM.remote-conflict-YYYYMMDD-HHMMSS.EXT): finding the pairs, and "take theirs", which puts the
// remote version in place, keeps the edit as a backup and tells the cache, so that the next run
// sees the file in step instead of taking the user's choice for an edit.
//
// "Keep mine" needs no help from here: removing the remote copy is enough. The cache already
// records the remote side as in step and the local file as edited, so later runs keep the edit
// and do not fetch the copy again (until the remote changes once more).
#pragma once

#include "kitovu/cache/filecache.hpp"
#include "kitovu/disk/local_identity.hpp"
#include "kitovu/disk/placement.hpp"
#include "kitovu/engine/ledger.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu {

inline constexpr std::string_view conflict_marker = ".remote-conflict-";

// The file a conflict copy belongs to, from the copy's name; nothing when the name is not one
// the engine gives (or its stem was shortened to fit, so the original cannot be told).
inline std::optional<std::filesystem::path> conflict_original(const std::filesystem::path& copy) {
    const std::string name = copy.filename().string();
    const auto at = name.find(conflict_marker);
    if (at == std::string::npos || at == 0)
        return std::nullopt;
    std::size_t end = at + conflict_marker.size();
    const auto digits = [&](std::size_t count) {
        for (std::size_t i = 0; i < count; ++i, ++end)
            if (end >= name.size() || name[end] < '0' || name[end] > '9')
                return false;
        return true;
    };
    if (!digits(8) || end >= name.size() || name[end++] != '-' || !digits(6))
        return std::nullopt;
    if (end < name.size() && name[end] == '-') { // -N: a second copy in the same second
        const std::size_t before = ++end;
        while (end < name.size() && name[end] >= '0' && name[end] <= '9')
            ++end;
        if (end == before)
            return std::nullopt;
    }
    if (end < name.size() && name[end] != '.')
        return std::nullopt;
    return copy.parent_path() / (name.substr(0, at) + name.substr(end));
}

struct Conflict {
    std::filesystem::path mine;   // the local file, with the user's edit
    std::filesystem::path theirs; // the remote version saved beside it
};

// Every conflict copy below `folder` whose original is still there, sorted by path.
inline std::vector<Conflict> find_conflicts(const std::filesystem::path& folder) {
    std::vector<Conflict> found;
    std::error_code ec;
    namespace fs = std::filesystem;
    for (fs::recursive_directory_iterator
             it{folder, fs::directory_options::skip_permission_denied, ec},
         end;
         !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec))
            continue;
        const auto original = conflict_original(it->path());
        if (original && fs::is_regular_file(*original, ec))
            found.push_back(Conflict{*original, it->path()});
    }
    std::ranges::sort(found, {}, &Conflict::theirs);
    return found;
}

// Where "take theirs" keeps the user's version: STEM.mine-YYYYMMDD-HHMMSS.EXT beside it.
inline std::filesystem::path backup_path(const std::filesystem::path& mine, std::time_t when) {
    const std::string middle = fmt::format(".mine-{:%Y%m%d-%H%M%S}", fmt::localtime(when));
    return mine.parent_path() /
           detail::fitting_name(mine.stem().string(), middle, mine.extension().string());
}

// Puts the remote version in place of the user's, which is kept at backup_path(mine, now)
// (returned), and records the file as in step in the cache at `cache_file`, so the next run
// neither fetches it again nor takes it for an edit. Refused while a sync holds the cache, and
// when a run was interrupted (its journal must be replayed by a sync first). Neither version is
// lost: each rename refuses to replace an existing file, and a failure after the first rename
// puts the user's version back.
inline expected<std::filesystem::path, UsageError>
take_theirs(const Conflict& conflict, const std::filesystem::path& cache_file, std::time_t now) {
    detail::Ledger ledger{cache_file, false};
    if (auto held = ledger.hold(); !held)
        return fail(held.error());
    if (ledger.interrupted())
        return fail(ErrorKind::usage, "an interrupted sync left work unrecorded; sync first",
                    conflict.mine.string());
    if (auto loaded = ledger.load(false); !loaded)
        return fail(loaded.error());

    const auto backup = backup_path(conflict.mine, now);
    const auto rename_new = [](const std::filesystem::path& from, const std::filesystem::path& to) {
        return detail::move_new(AT_FDCWD, from.string(), AT_FDCWD, to.string());
    };
    if (!rename_new(conflict.mine, backup))
        return fail(ErrorKind::io,
                    "cannot keep your version as " + backup.string() + ": " +
                        detail::errno_message(),
                    conflict.mine.string());
    if (!rename_new(conflict.theirs, conflict.mine)) {
        const int cause = errno;
        rename_new(backup, conflict.mine);
        return fail(ErrorKind::io,
                    "cannot move the remote version into place: " + detail::errno_message(cause),
                    conflict.theirs.string());
    }

    const std::string key = conflict.mine.string();
    const bool recorded = ledger.with_cache([&](FileCache& cache) {
        const CacheEntry* record = cache.find(key);
        struct ::stat info {};
        if (record == nullptr || ::lstat(key.c_str(), &info) != 0)
            return false;
        CacheEntry entry = *record;
        entry.local = LocalIdentity::of(info);
        entry.content_hash = content_hash_of(key.c_str()).value_or(std::string{});
        entry.racy = racily_clean(entry.local);
        cache.put(key, std::move(entry));
        return true;
    });
    if (recorded)
        if (auto saved = ledger.save(); !saved)
            return fail(saved.error());
    return backup;
}

} // namespace kitovu
