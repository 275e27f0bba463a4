// How a file's state is decided: the contract's table as pure functions of what is known about
// the local file, the remote entry and the cache record. No disk, no plugin: tested as tables.
#pragma once

#include "kitovu/cache/filecache.hpp"
#include "kitovu/disk/local_identity.hpp"
#include "kitovu/function_ref.hpp"
#include "kitovu/plugin/plugin.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kitovu {

// What a sync does to one listed file; the words of the contract's table.
enum class FileState {
    new_file,       // not here yet: downloaded
    remote_changed, // changed remotely, untouched locally: replaced
    unchanged,      // in step: nothing to do
    local_changed,  // edited locally, unchanged remotely: kept, nothing downloaded
    conflict,       // both changed (or never synced and different): remote copy saved beside
    remote_deleted, // synced before, gone remotely: local copy kept, reported once
    adopted,        // already here with the remote's content, never synced: recorded
    moved,          // renamed or moved on the remote: moved here too, with any local edit
};
inline constexpr std::size_t file_state_count = 8;

constexpr std::string_view to_string(FileState state) noexcept {
    switch (state) {
    case FileState::new_file: return "new";
    case FileState::remote_changed: return "remote-changed";
    case FileState::unchanged: return "unchanged";
    case FileState::local_changed: return "local-changed";
    case FileState::conflict: return "conflict";
    case FileState::remote_deleted: return "remote-deleted";
    case FileState::adopted: return "adopted";
    case FileState::moved: return "moved";
    }
    return "unknown";
}

// What the planner found out about one listed file.
struct FileFacts {
    bool local_exists = false;      // a regular file is at the local path
    bool known = false;             // the cache has a record of it from this connection (also
                                    // one kept after the file was gone remotely)
    bool remote_changed = false;    // known: the listed digest differs from the record's
    bool local_changed = false;     // known, local_exists: not the file kitovu left there
    bool looks_like_remote = false; // local_exists: size and modification time are the remote's
};

// The contract's table. A locally deleted synced file is fetched again; a known file whose
// local copy already looks like the changed remote (the user fetched it) is only recorded.
constexpr FileState decide(const FileFacts& f) noexcept {
    if (!f.local_exists)
        return FileState::new_file;
    if (!f.known)
        return f.looks_like_remote ? FileState::adopted : FileState::conflict;
    if (!f.remote_changed)
        return f.local_changed ? FileState::local_changed : FileState::unchanged;
    if (!f.local_changed)
        return FileState::remote_changed;
    return f.looks_like_remote ? FileState::unchanged : FileState::conflict;
}

constexpr bool downloads(FileState state) noexcept {
    return state == FileState::new_file || state == FileState::remote_changed ||
           state == FileState::conflict;
}

// Whether the local file (identity `now`) is no longer what `record` says kitovu left. The
// bytes are read (`hash_now`) only when the identity cannot tell: the record was taken in the
// clock tick of the file's last change (racily clean), or only times changed at equal size.
inline bool local_changed(const CacheEntry& record, const LocalIdentity& now,
                          FunctionRef<std::optional<std::string>()> hash_now) {
    if (record.local.matches(now) && !record.racy)
        return false;
    // Without the bytes' hash (a racy record kept no hash, or another identity) nothing can
    // confirm the file is kitovu's: it counts as edited, which keeps it.
    if (record.content_hash.empty() || now.size != record.local.size)
        return true;
    return hash_now() != record.content_hash;
}

// Whether a local file never synced looks like the listed remote file: same size, same
// modification time as far as the remote tells it (whole seconds, or nanoseconds).
inline bool looks_like(const LocalIdentity& local, const RemoteEntry& remote) {
    if (local.size != remote.size)
        return false;
    if (remote.mtime_nsec == 0)
        return LocalIdentity::seconds(local.mtime_ns) == remote.mtime;
    return local.mtime_ns == remote.mtime * 1'000'000'000 + remote.mtime_nsec;
}

// Whether a recorded remote digest still describes the listed one. Records of the first cache
// format hold whole-second digests: the listed one with nanoseconds added is the same file.
inline bool same_remote(const CacheEntry& record, std::string_view listed_digest) {
    if (record.remote_digest == listed_digest)
        return true;
    return record.local.legacy() && listed_digest.starts_with(record.remote_digest) &&
           listed_digest.size() > record.remote_digest.size() &&
           listed_digest[record.remote_digest.size()] == '.';
}

} // namespace kitovu
