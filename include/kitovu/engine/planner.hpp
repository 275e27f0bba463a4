// The planner: takes a source's listing batch by batch, looks at each entry's local file and
// cache record, asks decide() (decide/decide.hpp) what state it is in, makes sure of folders, and
// hands each file to fetch to the workers as a Job; new files wait for the move follower.
#pragma once

#include "kitovu/decide/decide.hpp"
#include "kitovu/disk/names.hpp"
#include "kitovu/disk/placement.hpp"
#include "kitovu/engine/claims.hpp"
#include "kitovu/engine/follow_moves.hpp"
#include "kitovu/engine/job.hpp"
#include "kitovu/engine/ledger.hpp"
#include "kitovu/engine/listing.hpp"
#include "kitovu/engine/local_tree.hpp"
#include "kitovu/engine/workers.hpp"
#include "kitovu/plugin/remote_path.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <filesystem>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace kitovu::detail {

// `path` and each folder above it, longest first ("a/b/c", "a/b", "a").
inline void for_each_prefix(std::string_view path, auto&& visit) {
    for (auto end = path.size(); end != std::string_view::npos && end > 0;
         end = path.rfind('/', end - 1))
        if (visit(path.substr(0, end)))
            return;
}

class Planner {
  public:
    Planner(const Settings& settings, const SyncOptions& options, Ledger& ledger, Workers& workers,
            std::time_t run_start)
        : settings_(settings), options_(options), ledger_(ledger), workers_(workers),
          run_start_(run_start) {}

    // A source's listing begins (`synced_before`: the cache has records of it).
    SourceStatus& begin_source(const Source& source, bool synced_before) {
        skipped_folders_.clear();
        redirected_folders_.clear();
        moves_.begin(synced_before);
        return statuses_.emplace_back(SourceStatus{&source});
    }

    // One folder's entries. The planner applies the ignore rules and name checks itself,
    // whether or not the plugin used `keep`. Of two remote names with one local name, the one
    // already synced there wins, else the one that needed no change, else the first by name:
    // a newcomer never takes the place of what is on disk.
    void take(std::size_t index, SyncPlugin& plugin, SourceStatus& status,
              std::span<RemoteEntry> batch) {
        const Source& source = *status.source;
        const Connection& connection = settings_.connections[index];
        std::vector<Listed> listed;
        listed.reserve(batch.size());
        for (RemoteEntry& entry : batch) {
            if (source.ignore.ignores(entry.path, entry.is_folder)) {
                if (entry.is_folder)
                    skipped_folders_.insert(entry.path);
                continue;
            }
            ++status.entries;
            auto relative = local_relative_path(entry.path);
            if (!relative) {
                ++status.refused;
                ledger_.warn(Warning{WarningKind::refused_name,
                                     relative.error().message + ", skipped", connection.name,
                                     join_remote(source.remote_dir, entry.path)});
                continue;
            }
            listed.push_back(Listed{std::move(entry), relative->string()});
        }
        // On a target that folds case (FAT, exFAT), names that differ only in case are one
        // name: they compete for it as names that sanitise alike do.
        const bool folds = tree_.folds_case(source.local_dir);
        const auto name_of = [&](const Listed& l) {
            return folds ? fold_case(l.relative) : l.relative;
        };
        if (folds)
            std::ranges::sort(listed, [&](const Listed& a, const Listed& b) {
                const std::string folded_a = name_of(a), folded_b = name_of(b);
                return std::tie(folded_a, a.relative, a.entry.path) <
                       std::tie(folded_b, b.relative, b.entry.path);
            });
        else
            std::ranges::sort(listed, [](const Listed& a, const Listed& b) {
                return std::tie(a.relative, a.entry.path) < std::tie(b.relative, b.entry.path);
            });
        for (auto first = listed.begin(); first != listed.end();) {
            auto last = std::find_if(first, listed.end(), [&](const Listed& l) {
                return l.relative != first->relative && (!folds || name_of(l) != name_of(*first));
            });
            if (last - first > 1)
                std::ranges::stable_sort(first, last, {}, [&](const Listed& l) {
                    return clash_rank(connection.name, source, l);
                });
            first = last;
        }
        for (Listed& item : listed) {
            if (options_.stop.stop_requested())
                break;
            plan_entry(index, plugin, status, std::move(item));
        }
    }

    // The source's listing ended (`listed`: completely): its new files are decided, moves
    // followed.
    void end_source(std::size_t index, SyncPlugin& plugin, SourceStatus& status, bool listed) {
        moves_.listing_ended();
        if (options_.stop.stop_requested())
            return;
        moves_.plan_arrivals(
            settings_.connections[index], plugin, status, listed,
            [&](Listed item) { plan_entry(index, plugin, status, std::move(item), false); });
        moves_.remove_left_by_killed_moves(*status.source);
    }

    const std::deque<SourceStatus>& statuses() const noexcept { return statuses_; }
    const Claims& claims() const noexcept { return claims_; }

  private:
    // 0: what is on disk came from this remote name; 1: the name needed no change; 2: other.
    int clash_rank(const std::string& connection, const Source& source, const Listed& item) {
        const std::string remote_path = join_remote(source.remote_dir, item.entry.path);
        const std::string key = (source.local_dir / item.relative).string();
        const bool placed_here = ledger_.with_cache([&](const FileCache& cache) {
            if (!item.entry.is_folder) {
                const CacheEntry* record = cache.find(key);
                return record != nullptr && record->connection == connection &&
                       record->remote_path == remote_path;
            }
            return std::ranges::any_of(cache.entries(), [&](const auto& found) {
                return found.second.connection == connection &&
                       found.first.starts_with(key + '/') &&
                       found.second.remote_path.starts_with(remote_path + '/');
            });
        });
        if (placed_here)
            return 0;
        const auto slash = item.entry.path.rfind('/');
        const auto name = std::string_view{item.entry.path}.substr(slash + 1);
        return portable_name(name) == name ? 1 : 2;
    }

    // A listed entry: claimed, looked at, decided, and queued when it is to be fetched.
    void plan_entry(std::size_t index, SyncPlugin& plugin, SourceStatus& status, Listed item,
                    bool may_defer = true) {
        const Source& source = *status.source;
        const Connection& connection = settings_.connections[index];
        RemoteEntry& entry = item.entry;
        const std::string remote_path = join_remote(source.remote_dir, entry.path);

        // Inside a folder skipped (ignored, or lost its name) nothing is planned; inside one
        // saved under a conflict name, everything goes there.
        if (const auto slash = entry.path.rfind('/');
            !skipped_folders_.empty() && slash != std::string::npos) {
            bool skipped = false;
            for_each_prefix(std::string_view{entry.path}.substr(0, slash),
                            [&](std::string_view folder) {
                                return skipped = skipped_folders_.contains(std::string{folder});
                            });
            if (skipped)
                return;
        }
        if (!redirected_folders_.empty())
            for_each_prefix(item.relative, [&](std::string_view folder) {
                auto it = redirected_folders_.find(std::string{folder});
                if (it == redirected_folders_.end())
                    return false;
                item.relative = it->second + item.relative.substr(folder.size());
                return true;
            });
        const std::filesystem::path local = source.local_dir / item.relative;
        const std::string key = local.string();

        // A remote folder that loses its local name to a file, or to a folder of the same
        // source, is skipped with everything in it (its warning names it, its records stay):
        // its files would otherwise race the winner's for their names in whatever order the
        // listing hands them out. Folders of two sources merge.
        if (const auto refused =
                claims_.claim(key, source, entry.is_folder, tree_.folds_case(source.local_dir))) {
            const Claims::Claim& holder = *refused->holder;
            ledger_.warn(Warning{
                WarningKind::skipped,
                refused->taken_by.empty()
                    ? fmt::format("{} is also provided by {}: {}; kept that one", key,
                                  holder.source->connection, holder.source->remote_dir)
                    : fmt::format("{} differs only in case from {}, and the file system of "
                                  "the target folder cannot tell the two apart; kept that one",
                                  key, refused->taken_by),
                connection.name, remote_path});
            if (entry.is_folder && (!holder.is_folder || holder.source == &source)) {
                skipped_folders_.insert(entry.path);
                status.unlisted.push_back(entry.path);
            }
            return;
        }
        if (entry.is_folder)
            return plan_folder(connection, source, entry, item.relative, local);

        const auto slash = key.rfind('/');
        const auto folder =
            tree_.enter(source.local_dir, std::filesystem::path{item.relative}.parent_path(),
                        std::string_view{key}.substr(0, slash));
        if (!folder)
            return blocked(with_place(folder.error(), connection.name));
        const int folder_fd = *folder;
        const char* name = key.c_str() + slash + 1;

        const auto fail_file = [&](std::string message) {
            ledger_.error(UsageError{ErrorKind::io, std::move(message), connection.name, key, {}},
                          true);
        };
        struct ::stat info {};
        bool exists = (folder_fd >= 0 ? ::fstatat(folder_fd, name, &info, AT_SYMLINK_NOFOLLOW)
                                      : ::lstat(key.c_str(), &info)) == 0;
        if (!exists && errno != ENOENT)
            return fail_file("cannot read the local file: " + errno_message());
        if (exists && S_ISLNK(info.st_mode))
            return fail_file("a symbolic link is in the way; kitovu does not follow it");
        if (exists && !S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode))
            return fail_file("a special file is in the way");

        const std::string remote_digest = plugin.remote_digest(entry);
        const LocalIdentity identity = exists ? LocalIdentity::of(info) : LocalIdentity{};
        FileFacts facts{.local_exists = exists,
                        .folder_in_the_way = exists && S_ISDIR(info.st_mode)};
        const auto hash_now = [&] {
            return content_hash_of(name, folder_fd >= 0 ? folder_fd : AT_FDCWD);
        };
        // What the record says, copied only where more than a look is needed: a no-change run
        // copies nothing.
        std::optional<CacheEntry> previous;
        bool stale = true; // the record differs from what this run would record
        bool was_gone = false;
        std::string kept_hash;
        ledger_.with_cache([&](const FileCache& cache) { // workers write to it meanwhile
            const CacheEntry* record = cache.find(key);
            facts.known = record != nullptr && record->connection == connection.name;
            if (!facts.known)
                return;
            facts.remote_changed = !same_remote(*record, remote_digest);
            if (exists && !facts.folder_in_the_way)
                facts.local_changed = local_changed(*record, identity, hash_now);
            stale = record->plugin != connection.plugin || record->remote_path != remote_path ||
                    record->remote_digest != remote_digest || record->local != identity ||
                    record->racy || record->gone || record->remote_id != entry.id ||
                    record->remote_fingerprint != entry.fingerprint;
            was_gone = record->gone;
            if (facts.remote_changed || facts.local_changed || !exists || facts.folder_in_the_way)
                previous = *record;
            else if (stale)
                kept_hash = record->content_hash;
        });
        if (facts.folder_in_the_way)
            facts.folder_removable =
                tree_.holds_only(key, [&](const std::string& path, const struct ::stat& info) {
                    return untouched(path, info, connection.name);
                });
        else
            facts.looks_like_remote = exists && looks_like(identity, entry);
        const FileState state = decide(facts);
        // A folder in the way: the record describes no file here.
        const bool known = facts.known && !facts.folder_in_the_way;
        if (facts.folder_in_the_way) {
            if (state == FileState::local_changed) // its file is saved beside it already
                return ledger_.count(state);
            if (state == FileState::new_file && !options_.dry_run) {
                auto removed = tree_.remove_folder(key);
                if (!removed)
                    return fail_file("cannot remove the folder the remote replaced by a file: " +
                                     errno_message());
                for (const auto& file : *removed)
                    ledger_.forget(file);
            }
        }
        if (!known && may_defer && moves_.following() &&
            (state == FileState::new_file ||
             (exists && !facts.folder_in_the_way && moves_.placed_under_other_name(key)))) {
            // Perhaps a file that moved: decided once the listing shows what disappeared.
            claims_.release(key);
            return moves_.defer(std::move(item));
        }
        const std::filesystem::path target =
            state == FileState::conflict ? conflict_path(local, run_start_, 1) : local;
        ledger_.observe([&](SyncObserver& o) {
            o.decided(FileEvent{connection.name, remote_path, target, entry.size}, state);
        });

        if (!downloads(state)) {
            if (state == FileState::local_changed && was_gone) {
                ledger_.set_gone(key, false); // back on the remote
            } else if (state != FileState::local_changed && stale) {
                // In step with a stale or missing record: recorded silently. The content hash
                // stays only while it still describes the file.
                const bool same_bytes = known && !facts.local_changed;
                const bool racy = racily_clean(identity);
                std::string hash = !same_bytes ? std::string{}
                                   : previous  ? previous->content_hash
                                               : std::move(kept_hash);
                if (racy && hash.empty())
                    hash = hash_now().value_or(std::string{});
                ledger_.record(key, CacheEntry{connection.name, connection.plugin, remote_path,
                                               remote_digest, identity, std::move(hash), racy,
                                               false, entry.id, entry.fingerprint});
            }
            return ledger_.count(state);
        }
        if (options_.dry_run) {
            if (state == FileState::conflict)
                ledger_.warn(conflict_warning(connection.name, local, target));
            return ledger_.count(state);
        }
        ledger_.planned(entry.size);
        workers_.push(Job{index, std::move(entry), remote_path, local, target, state, identity,
                          known ? std::move(previous) : std::nullopt, source.local_dir});
    }

    // Whether the file at `path` is one kitovu placed for `connection` and nobody changed since.
    bool untouched(const std::string& path, const struct ::stat& info,
                   const std::string& connection) {
        return ledger_.with_cache([&](const FileCache& cache) {
            const CacheEntry* record = cache.find(path);
            return record != nullptr && record->connection == connection &&
                   !local_changed(*record, LocalIdentity::of(info),
                                  [&] { return content_hash_of(path.c_str()); });
        });
    }

    // A folder the planner cannot make: reported once, not once per file under it.
    void blocked(UsageError e) {
        if (blocked_folders_.insert(e.path).second)
            ledger_.error(std::move(e), true);
    }

    // A remote folder: made sure of locally, unless a file holds its name (decide_folder).
    void plan_folder(const Connection& connection, const Source& source, const RemoteEntry& entry,
                     const std::string& relative, const std::filesystem::path& local) {
        const std::string key = local.string();
        struct ::stat info {};
        const bool file_in_the_way = ::lstat(key.c_str(), &info) == 0 && S_ISREG(info.st_mode);
        switch (decide_folder(file_in_the_way,
                              file_in_the_way && untouched(key, info, connection.name))) {
        case FolderPlace::replacing_file:
            if (!options_.dry_run && !remove_file(key))
                return ledger_.error(UsageError{ErrorKind::io,
                                                "cannot remove the file the remote replaced by a "
                                                "folder: " +
                                                    errno_message(),
                                                connection.name,
                                                key,
                                                {}},
                                     true);
            ledger_.forget(key);
            break;
        case FolderPlace::beside_file: {
            const std::string remote_path = join_remote(source.remote_dir, entry.path);
            const std::string moved = conflict_folder(connection.name, remote_path, local);
            ledger_.warn(Warning{WarningKind::conflict,
                                 fmt::format("a file changed here is where the remote now has a "
                                             "folder; the file is kept, the folder is saved as {}",
                                             std::filesystem::path{moved}.filename().string()),
                                 connection.name, key});
            const std::string moved_relative =
                std::filesystem::path{moved}.lexically_relative(source.local_dir).string();
            redirected_folders_.emplace(relative, moved_relative);
            claims_.add(moved, source, true);
            if (auto made = tree_.ensure_folder(source.local_dir, moved_relative); !made)
                ledger_.error(with_place(made.error(), connection.name), true);
            return;
        }
        case FolderPlace::here: break;
        }
        if (auto made = tree_.ensure_folder(source.local_dir, relative); !made)
            blocked(with_place(made.error(), connection.name));
    }

    // Where the files of a remote folder go when an edited file holds its name: the folder
    // earlier runs used for it (from the records of its files), else a new conflict name.
    std::string conflict_folder(const std::string& connection, const std::string& remote_path,
                                const std::filesystem::path& local) {
        const std::string prefix = remote_path + '/';
        auto used = ledger_.with_cache([&](const FileCache& cache) -> std::optional<std::string> {
            for (const auto& [path, record] : cache.entries()) {
                if (record.connection != connection || !record.remote_path.starts_with(prefix))
                    continue;
                // The record's local path has as many components below the folder as the
                // remote path has below the remote folder.
                const auto below =
                    std::ranges::count(record.remote_path.substr(prefix.size()), '/');
                std::filesystem::path folder{path};
                for (auto i = 0; i <= below; ++i)
                    folder = folder.parent_path();
                if (folder.parent_path() == local.parent_path())
                    return folder.string();
            }
            return std::nullopt;
        });
        if (used)
            return *used;
        for (int attempt = 1;; ++attempt) {
            auto candidate = conflict_path(local, run_start_, attempt);
            std::error_code ec;
            if (!std::filesystem::exists(std::filesystem::symlink_status(candidate, ec)) ||
                attempt == 100)
                return candidate.string();
        }
    }

    const Settings& settings_;
    const SyncOptions& options_;
    Ledger& ledger_;
    Workers& workers_;
    const std::time_t run_start_;
    LocalTree tree_{options_.dry_run};
    Claims claims_;
    MoveFollower moves_{options_, ledger_, tree_, claims_};
    std::deque<SourceStatus> statuses_; // every source listed so far, the last one now

    // Of the source being listed: folders skipped, as it names them, and folders saved under a
    // conflict name, by local path below its target folder.
    std::unordered_set<std::string> skipped_folders_;
    std::unordered_map<std::string, std::string> redirected_folders_;
    std::unordered_set<std::string> blocked_folders_; // reported already
};

} // namespace kitovu::detail
