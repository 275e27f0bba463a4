// The engine following renames and moves on the remote (see engine.hpp): new files of a
// source wait for the end of its listing, and those that are files that disappeared
// (moves.hpp) are moved locally with their records instead of downloaded again.
#pragma once

#include "kitovu/engine/engine.hpp"

namespace kitovu::detail {

inline bool Engine::has_records(const std::string& connection, const Source& source) {
    const std::string prefix = source.local_dir.string() + '/';
    std::scoped_lock lock{mutex_};
    return std::ranges::any_of(cache_.entries(), [&](const auto& item) {
        return item.second.connection == connection && item.first.starts_with(prefix);
    });
}

// Renames `from` to `to` in `folder`, names that differ only in case on a case-insensitive file
// system: a direct rename would find `to` to be `from` itself and do nothing. By way of a
// temporary name; after a kill between the two steps the next run finishes it (load_cache).
inline bool rename_in_case(int folder, const std::string& from, const std::string& to) {
    const std::string temporary = to + std::string{case_rename_suffix};
    if (!place_new(folder, from, temporary))
        return false;
    if (place_new(folder, temporary, to))
        return true;
    ::renameat(folder, temporary.c_str(), folder, from.c_str()); // back: nothing else changed
    return false;
}

inline bool Engine::placed_under_other_name(const std::string& key) {
    std::scoped_lock lock{mutex_};
    if (!folded_paths_) {
        folded_paths_.emplace();
        for (const auto& [path, record] : cache_.entries())
            folded_paths_->emplace(fold_case(path), path);
    }
    const auto found = folded_paths_->find(fold_case(key));
    return found != folded_paths_->end() && found->second != key;
}

inline void Engine::plan_arrivals(std::size_t index, SyncPlugin& plugin, SourceStatus& status,
                                  bool listed_completely) {
    if (arrivals_.empty())
        return;
    const Source& source = *status.source;
    const Connection& connection = settings_.connections[index];
    std::vector<Listed> arrivals = std::move(arrivals_);
    arrivals_.clear();
    std::vector<MoveCandidate> vanished;
    if (listed_completely) {
        const std::string prefix = source.local_dir.string() + '/';
        const std::string remote_prefix = join_remote(source.remote_dir, "");
        std::scoped_lock lock{mutex_};
        for (const auto& [key, record] : cache_.entries()) {
            if (record.connection != connection.name || !key.starts_with(prefix) ||
                !record.remote_path.starts_with(remote_prefix) || claims_.contains(key))
                continue;
            const std::string relative = record.remote_path.substr(remote_prefix.size());
            if (source.ignore.ignores(relative, false) ||
                std::ranges::any_of(status.unlisted, [&](const std::string& folder) {
                    return relative.starts_with(folder + '/');
                }))
                continue; // not listed on purpose, or not listable now: no move from there
            vanished.push_back(MoveCandidate{key, record.remote_id, move_name(record.remote_path),
                                             record.remote_digest, record.remote_fingerprint});
        }
    }
    std::vector<MoveCandidate> arriving;
    arriving.reserve(arrivals.size());
    for (const Listed& item : arrivals)
        arriving.push_back(MoveCandidate{
            (source.local_dir / item.relative).string(), item.entry.id, move_name(item.entry.path),
            plugin.remote_digest(item.entry), item.entry.fingerprint, item.entry.former_name});
    const auto moves = match_moves(vanished, arriving);
    std::vector<std::filesystem::path> emptied;
    for (std::size_t i = 0; i < arrivals.size(); ++i) {
        if (options_.stop.stop_requested())
            return;
        Listed& item = arrivals[i];
        if (moves[i] && move(index, plugin, source, item, vanished[*moves[i]].key))
            emptied.push_back(std::filesystem::path{vanished[*moves[i]].key}.parent_path());
        else
            plan_entry(index, plugin, status, std::move(item), false);
    }
    remove_emptied_folders(source, std::move(emptied));
}

inline bool Engine::move(std::size_t index, SyncPlugin& plugin, const Source& source, Listed& item,
                         const std::string& from) {
    const Connection& connection = settings_.connections[index];
    const std::filesystem::path to = source.local_dir / item.relative;
    const std::string remote_path = join_remote(source.remote_dir, item.entry.path);
    struct ::stat info {};
    struct ::stat there {};
    if (::lstat(from.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
        return false;
    // A case-only rename on a case-insensitive target finds the file itself at the new name.
    // Where it is another file (a case-sensitive target), rename_in_case refuses to replace it.
    const bool taken = ::lstat(to.c_str(), &there) == 0;
    const bool same_file = taken && fold_case(from) == fold_case(to.string());
    if ((taken && !same_file) || (!taken && errno != ENOENT))
        return false;
    if (!ensure_folder(source.local_dir, std::filesystem::path{item.relative}.parent_path()))
        return false;
    const LocalIdentity before = LocalIdentity::of(info);
    CacheEntry moved;
    bool edited = false;
    {
        std::scoped_lock lock{mutex_};
        const CacheEntry* record = cache_.find(from);
        if (record == nullptr)
            return false;
        moved = *record;
        edited = local_changed(*record, before, [&] { return content_hash_of(from.c_str()); });
    }
    // A fingerprint does not survive a change: the same one is the same bytes, whatever a rename
    // did to the digest (Moodle's timemodified).
    const std::string remote_digest = plugin.remote_digest(item.entry);
    const bool same_remote_file =
        moved.remote_digest == remote_digest ||
        (!item.entry.fingerprint.empty() && moved.remote_fingerprint == item.entry.fingerprint);
    if (same_remote_file)
        moved.remote_digest = remote_digest;
    moved.remote_path = remote_path;
    moved.remote_id = item.entry.id;
    moved.remote_fingerprint = item.entry.fingerprint;
    moved.gone = false;
    if (!options_.dry_run) {
        Descriptor old_folder{
            open_folder_below(source.local_dir, std::filesystem::path{from}.parent_path())};
        Descriptor new_folder{open_folder_below(source.local_dir, to.parent_path())};
        if (old_folder.fd < 0 || new_folder.fd < 0)
            return false;
        // The move changes only the change time: after a crash the journal's record is
        // confirmed against the file as it is now. An edited file keeps no hash there, so it
        // still counts as edited.
        CacheEntry journaled = moved;
        journaled.local = before;
        if (edited)
            journaled.content_hash.clear();
        if (auto written = journal_->append_move(from, to.string(), journaled); !written)
            return false;
        const auto old_name = std::filesystem::path{from}.filename().string();
        const auto new_name = to.filename().string();
        if (!(same_file ? rename_in_case(new_folder.fd, old_name, new_name)
                        : move_new(old_folder.fd, old_name, new_folder.fd, new_name)))
            return false;
        if (!edited && ::fstatat(new_folder.fd, new_name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0)
            moved.local = LocalIdentity::of(info);
        std::scoped_lock lock{mutex_};
        cache_.erase(from);
        cache_.put(to.string(), moved);
    }
    const std::string relative_from =
        std::filesystem::path{from}.lexically_relative(source.local_dir).string();
    if (edited)
        warn(Warning{WarningKind::moved,
                     fmt::format("moved with the remote: {} -> {}", relative_from, item.relative),
                     connection.name, to.string()});
    observe([&](SyncObserver& o) {
        o.decided(FileEvent{connection.name, remote_path, to, item.entry.size, from},
                  FileState::moved);
    });
    count(FileState::moved);
    if (options_.dry_run) {
        claims_.try_emplace(from, Claim{&source, false}); // not gone: it would move
        claims_.try_emplace(to.string(), Claim{&source, false});
    } else if (!same_remote_file) {
        // Changed as well as moved: decided like any known file at its new place.
        plan_entry(index, plugin, statuses_.back(), std::move(item), false);
    } else {
        claims_.try_emplace(to.string(), Claim{&source, false});
    }
    return true;
}

// A run killed while it moved a renamed folder's files left the old folders behind; those it
// moved files out of (its journal says which) go once empty, as they would have at its end.
inline void Engine::remove_left_by_killed_moves(const Source& source) {
    const std::string prefix = source.local_dir.string() + '/';
    std::vector<std::filesystem::path> folders;
    {
        std::scoped_lock lock{mutex_};
        for (const std::string& file : cache_.moved_away())
            if (file.starts_with(prefix))
                folders.push_back(std::filesystem::path{file}.parent_path());
    }
    remove_emptied_folders(source, std::move(folders));
}

inline void Engine::remove_emptied_folders(const Source& source,
                                           std::vector<std::filesystem::path> folders) {
    if (options_.dry_run)
        return;
    std::ranges::sort(folders, std::greater{});
    for (std::filesystem::path folder : folders)
        while (folder != source.local_dir &&
               folder.string().starts_with(source.local_dir.string()) &&
               !claims_.contains(folder.string()) && ::rmdir(folder.c_str()) == 0) {
            known_folders_.erase(folder.string());
            folder = folder.parent_path();
        }
    current_folder_.clear();
}

} // namespace kitovu::detail
