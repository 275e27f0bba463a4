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
    bool folder_in_the_way = false; // local_exists: it is a folder, not a file
    bool folder_removable = false;  // folder_in_the_way: it holds only files kitovu placed and
                                    // nobody changed since (and folders of such)
};

// The contract's table. A locally deleted synced file is fetched again; a known file whose
// local copy already looks like the changed remote (the user fetched it) is only recorded.
// A folder where the remote now has a file: kitovu's own untouched folder gives way; anything else
// stays and the file is saved beside it as a conflict copy (once: the record then says it is in
// step, and the folder counts as the local edit).
constexpr FileState decide(const FileFacts& f) noexcept {
    if (f.folder_in_the_way) {
        if (f.known && !f.remote_changed)
            return FileState::local_changed;
        return f.folder_removable ? FileState::new_file : FileState::conflict;
    }
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

// What placement finds at the last moment, in the download's folder, just before it moves the
// download to its name.
enum class AtPlacement {
    as_decided,     // the local file is as the planner saw it (or still absent)
    edited,         // to be replaced, but changed since the planner looked at it
    taken,          // a new file, but something appeared at its name meanwhile
    holds_download, // a conflict, but the local file holds the download's bytes already
};

// The state a download ends in: an edit or a newcomer found at the last moment wins, and the
// download is saved beside it; a local file that is the download already needs no copy (`known`:
// the cache had a record of it).
constexpr FileState decide_at_placement(FileState decided, AtPlacement found, bool known) noexcept {
    switch (found) {
    case AtPlacement::as_decided: return decided;
    case AtPlacement::edited:
    case AtPlacement::taken: return FileState::conflict;
    case AtPlacement::holds_download: return known ? FileState::unchanged : FileState::adopted;
    }
    return decided;
}

// A remote folder whose local name is taken by a file: kitovu's own untouched file gives way,
// an edited or foreign one stays and the folder is saved beside it under a conflict name.
enum class FolderPlace { here, replacing_file, beside_file };
constexpr FolderPlace decide_folder(bool file_in_the_way, bool file_untouched) noexcept {
    if (!file_in_the_way)
        return FolderPlace::here;
    return file_untouched ? FolderPlace::replacing_file : FolderPlace::beside_file;
}

// What the cache knows of a file that the listing of its source did not name.
struct UnlistedFacts {
    bool source_listed = false;   // its source was listed completely this run
    bool folder_unlisted = false; // a folder above it could not be listed this time
    bool local_here = false;      // a regular file is at its local path
    bool ignored = false;         // the ignore rules leave it out now
    bool reported = false;        // its record says it went before: reported then
};

// What becomes of such a record. A file gone remotely keeps its local copy, and its record stays
// (a tombstone) while the copy is there, so that the file's return is judged against what
// kitovu placed; the user hears of it once.
enum class RecordFate { keep, forget, remote_deleted };
constexpr RecordFate decide_unlisted(const UnlistedFacts& f) noexcept {
    if (!f.source_listed || f.folder_unlisted)
        return RecordFate::keep; // not listed this time: nothing is known
    if (!f.local_here || f.ignored)
        return RecordFate::forget;
    return f.reported ? RecordFate::keep : RecordFate::remote_deleted;
}

// A file listed at a new place that moves.hpp matched with one that vanished: the local copy moves
// with its record, and with any local edit (which the user is told of); a remote file that
// changed as well as moved is then decided again at its new place.
struct MoveOutcome {
    FileState state = FileState::moved;
    bool decide_again = false;
    bool tell_user = false;
};
constexpr MoveOutcome decide_move(bool same_remote_file, bool local_changed) noexcept {
    return MoveOutcome{FileState::moved, !same_remote_file, local_changed};
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
