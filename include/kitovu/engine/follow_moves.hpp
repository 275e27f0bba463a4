// Following renames and moves on the remote: new files of a source wait for the end of its
// listing, and those that are files that disappeared (decide/moves.hpp) are moved locally with
// their records instead of downloaded again. The planner plans the rest.
#pragma once

#include "kitovu/decide/decide.hpp"
#include "kitovu/decide/moves.hpp"
#include "kitovu/disk/placement.hpp"
#include "kitovu/engine/claims.hpp"
#include "kitovu/engine/ledger.hpp"
#include "kitovu/engine/listing.hpp"
#include "kitovu/engine/local_tree.hpp"
#include "kitovu/function_ref.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace kitovu::detail {

class MoveFollower {
  public:
    // Plans a listed file as any other (the planner's plan_entry, never deferring again).
    using Plan = FunctionRef<void(Listed)>;

    MoveFollower(const SyncOptions& options, Ledger& ledger, LocalTree& tree, Claims& claims)
        : options_(options), ledger_(ledger), tree_(tree), claims_(claims) {}

    // A source's listing begins: with records of it, new files may be moved ones.
    void begin(bool synced_before) {
        follow_ = synced_before;
        arrivals_.clear();
    }
    void listing_ended() { follow_ = false; }
    bool following() const noexcept { return follow_; }

    // A new file, decided once the listing shows what disappeared.
    void defer(Listed item) { arrivals_.push_back(std::move(item)); }

    // Whether another record's path differs from `key` in case only: on a case-insensitive
    // target a case-only rename finds the old copy at the new name (FUSE gives the two names
    // different inode numbers). Looked up in an index of the records' paths in one case, made
    // on first use.
    bool placed_under_other_name(const std::string& key) {
        return ledger_.with_cache([&](const FileCache& cache) {
            if (!folded_paths_) {
                folded_paths_.emplace();
                for (const auto& [path, record] : cache.entries())
                    folded_paths_->emplace(fold_case(path), path);
            }
            const auto found = folded_paths_->find(fold_case(key));
            return found != folded_paths_->end() && found->second != key;
        });
    }

    // The source's new files, now that its listing is complete: each that is one of the synced
    // files that disappeared is moved locally instead of downloaded again; the rest is planned.
    void plan_arrivals(const Connection& connection, SyncPlugin& plugin, SourceStatus& status,
                       bool listed_completely, Plan plan) {
        if (arrivals_.empty())
            return;
        const Source& source = *status.source;
        std::vector<Listed> arrivals = std::move(arrivals_);
        arrivals_.clear();
        std::vector<MoveCandidate> vanished;
        if (listed_completely) {
            const std::string prefix = source.local_dir.string() + '/';
            const std::string remote_prefix = remote_folder_prefix(source.remote_dir);
            ledger_.with_cache([&](const FileCache& cache) {
                for (const auto& [key, record] : cache.entries()) {
                    if (record.connection != connection.name || !key.starts_with(prefix) ||
                        !record.remote_path.starts_with(remote_prefix) || claims_.contains(key))
                        continue;
                    const std::string relative = record.remote_path.substr(remote_prefix.size());
                    if (source.ignore.ignores(relative, false) ||
                        std::ranges::any_of(status.unlisted, [&](const std::string& folder) {
                            return relative.starts_with(folder + '/');
                        }))
                        continue; // not listed on purpose, or not listable now: no move from there
                    vanished.push_back(
                        MoveCandidate{key, record.remote_id, move_name(record.remote_path),
                                      record.remote_digest, record.remote_fingerprint});
                }
            });
        }
        std::vector<MoveCandidate> arriving;
        arriving.reserve(arrivals.size());
        for (const Listed& item : arrivals)
            arriving.push_back(MoveCandidate{(source.local_dir / item.relative).string(),
                                             item.entry.id, move_name(item.entry.path),
                                             plugin.remote_digest(item.entry),
                                             item.entry.fingerprint, item.entry.former_name});
        const auto moves = match_moves(vanished, arriving);
        std::vector<std::filesystem::path> emptied;
        for (std::size_t i = 0; i < arrivals.size(); ++i) {
            if (options_.stop.stop_requested())
                return;
            Listed& item = arrivals[i];
            if (moves[i] && move(connection, source, item, vanished[*moves[i]], arriving[i], plan))
                emptied.push_back(std::filesystem::path{vanished[*moves[i]].key}.parent_path());
            else
                plan(std::move(item));
        }
        remove_emptied_folders(source, std::move(emptied));
    }

    // A run killed while it moved a renamed folder's files left the old folders behind; those
    // it moved files out of (its journal says which) go once empty, as they would have at its
    // end.
    void remove_left_by_killed_moves(const Source& source) {
        const std::string prefix = source.local_dir.string() + '/';
        std::vector<std::filesystem::path> folders;
        ledger_.with_cache([&](const FileCache& cache) {
            for (const std::string& file : cache.moved_away())
                if (file.starts_with(prefix))
                    folders.push_back(std::filesystem::path{file}.parent_path());
        });
        remove_emptied_folders(source, std::move(folders));
    }

  private:
    // Moves the local copy of `from` to where the listed `item` goes, with its record
    // (journaled first, like a download). False, touching nothing, when that cannot be done
    // here (the new place is taken, the old copy is gone or not a file): it is then planned as
    // new.
    bool move(const Connection& connection, const Source& source, Listed& item,
              const MoveCandidate& from_file, const MoveCandidate& listed, Plan plan) {
        const std::string& from = from_file.key;
        const std::filesystem::path to = source.local_dir / item.relative;
        const std::string remote_path = join_remote(source.remote_dir, item.entry.path);
        struct ::stat info {};
        struct ::stat there {};
        if (::lstat(from.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
            return false;
        // A case-only rename on a case-insensitive target finds the file itself at the new
        // name. Where it is another file (a case-sensitive target), rename_in_case refuses to
        // replace it.
        const bool taken = ::lstat(to.c_str(), &there) == 0;
        const bool same_file = taken && fold_case(from) == fold_case(to.string());
        if ((taken && !same_file) || (!taken && errno != ENOENT))
            return false;
        if (!tree_.ensure_folder(source.local_dir,
                                 std::filesystem::path{item.relative}.parent_path()))
            return false;
        const LocalIdentity before = LocalIdentity::of(info);
        std::optional<CacheEntry> record;
        bool edited = false;
        ledger_.with_cache([&](const FileCache& cache) {
            if (const CacheEntry* found = cache.find(from)) {
                record = *found;
                edited =
                    local_changed(*found, before, [&] { return content_hash_of(from.c_str()); });
            }
        });
        if (!record)
            return false;
        CacheEntry moved = std::move(*record);
        const MoveOutcome outcome = decide_move(same_remote_file(from_file, listed), edited);
        if (!outcome.decide_again)
            moved.remote_digest = listed.digest;
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
            // confirmed against the file as it is now. An edited file keeps no hash there, so
            // it still counts as edited.
            CacheEntry journaled = moved;
            journaled.local = before;
            if (edited)
                journaled.content_hash.clear();
            if (auto written = ledger_.journal().append_move(from, to.string(), journaled);
                !written)
                return false;
            const auto old_name = std::filesystem::path{from}.filename().string();
            const auto new_name = to.filename().string();
            if (!(same_file ? rename_in_case(new_folder.fd, old_name, new_name)
                            : move_new(old_folder.fd, old_name, new_folder.fd, new_name)))
                return false;
            if (!edited &&
                ::fstatat(new_folder.fd, new_name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0)
                moved.local = LocalIdentity::of(info);
            ledger_.with_cache([&](FileCache& cache) {
                cache.erase(from);
                cache.put(to.string(), moved);
            });
        }
        const std::string relative_from =
            std::filesystem::path{from}.lexically_relative(source.local_dir).string();
        if (outcome.tell_user)
            ledger_.warn(Warning{
                WarningKind::moved,
                fmt::format("moved with the remote: {} -> {}", relative_from, item.relative),
                connection.name, to.string()});
        ledger_.observe([&](SyncObserver& o) {
            o.decided(FileEvent{connection.name, remote_path, to, item.entry.size, from},
                      outcome.state);
        });
        ledger_.count(outcome.state);
        if (options_.dry_run) {
            claims_.add(from, source, false); // not gone: it would move
            claims_.add(to.string(), source, false);
        } else if (outcome.decide_again) {
            plan(std::move(item));
        } else {
            claims_.add(to.string(), source, false);
        }
        return true;
    }

    // Folders that moves left empty and the remote no longer has go too (only empty ones), up
    // to the source's target folder.
    void remove_emptied_folders(const Source& source, std::vector<std::filesystem::path> folders) {
        if (options_.dry_run)
            return;
        std::ranges::sort(folders, std::greater{});
        for (std::filesystem::path folder : folders)
            while (folder != source.local_dir &&
                   folder.string().starts_with(source.local_dir.string()) &&
                   !claims_.contains(folder.string()) && remove_empty_folder(folder)) {
                tree_.forget_folder(folder);
                folder = folder.parent_path();
            }
        tree_.leave_folder();
    }

    const SyncOptions& options_;
    Ledger& ledger_;
    LocalTree& tree_;
    Claims& claims_;
    bool follow_ = false;          // the source has records: new files may be moved ones
    std::vector<Listed> arrivals_; // its new files, decided when its listing is complete
    std::optional<std::unordered_map<std::string, std::string>>
        folded_paths_; // the cache's records' local paths in one case -> the path
};

} // namespace kitovu::detail
