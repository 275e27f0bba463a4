// The engine's planning (see engine.hpp): each source is listed, each listed entry decided
// (decide.hpp) while the rest is listed, folders made sure of without following links, file
// and folder swaps resolved, and what is gone remotely reported at the end.
#pragma once

#include "kitovu/engine/engine.hpp"

namespace kitovu::detail {

// Whether a folder's metadata is in memory already, from looking at its first files twice: the
// first look costs no more than twice the second only if it read nothing from disk and built
// nothing in memory. A busy machine can slow either look; a wrong verdict only costs time (the
// planner looks at every file itself).
class WarmProbe {
  public:
    static constexpr int files = 4;
    bool done() const noexcept { return looked_ == files; }
    bool warm() const noexcept { return first_ <= 2 * second_; }
    void look(int folder_fd, const char* name) {
        using clock = std::chrono::steady_clock;
        struct ::stat info {};
        const auto start = clock::now();
        ::fstatat(folder_fd, name, &info, AT_SYMLINK_NOFOLLOW);
        const auto middle = clock::now();
        ::fstatat(folder_fd, name, &info, AT_SYMLINK_NOFOLLOW);
        first_ += middle - start;
        second_ += clock::now() - middle;
        ++looked_;
    }

  private:
    int looked_ = 0;
    std::chrono::steady_clock::duration first_{}, second_{};
};

// Reads the metadata of everything below `root`, so that the planner, which looks at each
// listed file's local copy, finds it in memory: run while the remote is listed, it takes the
// local disk reads of a cold cache, and building the metadata in memory, off the planner's
// thread. A folder whose metadata is in memory already (WarmProbe) is only walked: looking at
// each file again would cost the CPU the listing needs. Symbolic links are not followed. On
// the way it removes temporaries that dead runs left (`sweep`), whatever became of their lock;
// once `stop` is requested it only walks on for that, by the types readdir reports.
inline void read_ahead_metadata(const std::filesystem::path& root, bool sweep,
                                const std::stop_token& stop) {
    std::vector<std::string> folders{root.string()};
    while (!folders.empty() && (sweep || !stop.stop_requested())) {
        const std::string folder = std::move(folders.back());
        folders.pop_back();
        DIR* dir = ::opendir(folder.c_str());
        if (dir == nullptr)
            continue;
        WarmProbe probe;
        while (const ::dirent* entry = ::readdir(dir)) {
            const std::string_view name = entry->d_name;
            if (name == "." || name == "..")
                continue;
            if (sweep && name.starts_with(temporary_prefix)) {
                remove_dead_temporary(::dirfd(dir), entry->d_name);
                continue;
            }
            bool is_folder = entry->d_type == DT_DIR;
            if (entry->d_type == DT_REG && !probe.done() && !stop.stop_requested()) {
                probe.look(::dirfd(dir), entry->d_name);
                continue;
            }
            if (entry->d_type == DT_UNKNOWN ||
                (!stop.stop_requested() && !(probe.done() && probe.warm()))) {
                struct ::stat info {};
                is_folder =
                    ::fstatat(::dirfd(dir), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISDIR(info.st_mode);
            }
            if (is_folder)
                folders.push_back(folder + '/' + entry->d_name);
        }
        ::closedir(dir);
    }
}

// `path` and each folder above it, longest first ("a/b/c", "a/b", "a").
inline void for_each_prefix(std::string_view path, auto&& visit) {
    for (auto end = path.size(); end != std::string_view::npos && end > 0;
         end = path.rfind('/', end - 1))
        if (visit(path.substr(0, end)))
            return;
}

inline void Engine::plan_connection(std::size_t index) {
    const Connection& connection = settings_.connections[index];
    const auto sources = sources_of(connection);
    if (sources.empty())
        return;

    // Stopped and joined when this connection is planned.
    std::jthread read_ahead{[&sources, sweep = !options_.dry_run](std::stop_token stop) {
        for (const Source* source : sources)
            read_ahead_metadata(source->local_dir, sweep, stop);
    }};
    if (!resolved_[index]) // the run was stopped before its secret was found
        return;
    auto lister = *resolved_[index] ? open(index) : fail(resolved_[index]->error());
    if (!lister) {
        auto e = lister.error();
        if (stopped_by_user(e, connection))
            return;
        if (e.connection.empty())
            e.connection = connection.name;
        e.message +=
            fmt::format(" ({} source{} skipped)", sources.size(), sources.size() == 1 ? "" : "s");
        error(std::move(e), false);
        return;
    }
    if (!cache_ready())
        return;
    for (const Source* source : sources) {
        if (options_.stop.stop_requested())
            break;
        auto& status = statuses_.emplace_back(SourceStatus{source});
        skipped_folders_.clear();
        redirected_folders_.clear();
        arrivals_.clear();
        const bool synced_before = has_records(connection.name, *source);
        follow_moves_ = synced_before;
        ListingLoops loops;
        // Decided batch by batch while the rest is listed, so downloads start early.
        auto listed = (*lister)->list(
            source->remote_dir,
            [source, &loops](std::string_view path, bool is_folder) {
                return !source->ignore.ignores(path, is_folder) && !loops.inside_loop(path);
            },
            [&](const Warning& w) {
                if (w.kind != WarningKind::unlisted && w.kind != WarningKind::unavailable)
                    return warn(w);
                status.unlisted.push_back(w.path);
                Warning shown = w;
                shown.path = join_remote(source->remote_dir, w.path);
                warn(std::move(shown));
            },
            [&](std::span<RemoteEntry> batch) {
                add_workers_for(**lister);
                const auto [kept, found] = loops.take(batch);
                for (const ListingLoops::Loop& loop : found) {
                    status.unlisted.push_back(loop.folder);
                    std::string above = join_remote(source->remote_dir, loop.same_as);
                    if (above.ends_with('/'))
                        above.pop_back();
                    warn(Warning{WarningKind::unlisted,
                                 fmt::format("lists the same as '{}' (a link to it?), skipped: "
                                             "it is synced once",
                                             above),
                                 connection.name, join_remote(source->remote_dir, loop.folder)});
                }
                plan_batch(index, **lister, status, batch.first(kept));
            });
        follow_moves_ = false;
        if (!listed) {
            auto e = listed.error();
            if (stopped_by_user(e, connection))
                break;
            if (e.connection.empty())
                e.connection = connection.name;
            if (e.path.empty())
                e.path = source->remote_dir;
            if (e.kind == ErrorKind::not_found && synced_before)
                e.message += " (synced before: the local files are kept)";
            error(std::move(e), false);
        }
        if (!options_.stop.stop_requested()) {
            plan_arrivals(index, **lister, status, listed.has_value());
            remove_left_by_killed_moves(*source);
        }
        if (!listed)
            continue;
        if (status.entries > 0 && status.refused == status.entries)
            error({.kind = ErrorKind::protocol,
                   .message = fmt::format("none of the {} listed entr{} could be placed (every "
                                          "name was refused)",
                                          status.entries, status.entries == 1 ? "y" : "ies"),
                   .connection = connection.name,
                   .path = source->remote_dir},
                  false);
        status.listed = !options_.stop.stop_requested();
    }
    (*lister)->disconnect();
}

inline void Engine::plan_batch(std::size_t index, SyncPlugin& plugin, SourceStatus& status,
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
            warn(Warning{WarningKind::refused_name, relative.error().message + ", skipped",
                         connection.name, join_remote(source.remote_dir, entry.path)});
            continue;
        }
        listed.push_back(Listed{std::move(entry), relative->string()});
    }
    // On a target that folds case (FAT, exFAT), names that differ only in case are one name:
    // they compete for it as names that sanitise alike do.
    const bool folds = folds_case(source);
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

inline int Engine::clash_rank(const std::string& connection, const Source& source,
                              const Listed& item) {
    const std::string remote_path = join_remote(source.remote_dir, item.entry.path);
    const std::string key = (source.local_dir / item.relative).string();
    std::scoped_lock lock{mutex_};
    if (!item.entry.is_folder) {
        if (const CacheEntry* record = cache_.find(key); record != nullptr &&
                                                         record->connection == connection &&
                                                         record->remote_path == remote_path)
            return 0;
    } else {
        for (const auto& [path, record] : cache_.entries())
            if (record.connection == connection && path.starts_with(key + '/') &&
                record.remote_path.starts_with(remote_path + '/'))
                return 0;
    }
    const auto slash = item.entry.path.rfind('/');
    const auto name = std::string_view{item.entry.path}.substr(slash + 1);
    return portable_name(name) == name ? 1 : 2;
}

inline bool Engine::folds_case(const Source& source) {
    if (options_.dry_run)
        return false; // finding out writes a file
    const auto [it, fresh] = folds_case_.try_emplace(source.local_dir.string(), false);
    if (fresh) {
        std::filesystem::path folder = source.local_dir;
        std::error_code ignored;
        while (!std::filesystem::is_directory(folder, ignored) && folder.has_relative_path())
            folder = folder.parent_path();
        it->second = detail::folds_case(folder, std::random_device{}());
    }
    return it->second;
}

inline void Engine::plan_entry(std::size_t index, SyncPlugin& plugin, SourceStatus& status,
                               Listed item, bool may_defer) {
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

    // Two sources (or two remote names that map to one local name) claiming one path: the
    // first keeps it, so files never flip-flop between them. Claimed paths are also the ones
    // listed this run (see report_remote_deletions). A remote folder that loses its local
    // name to a file, or to a folder of the same source, is skipped with everything in it
    // (its warning names it, its records stay): its files would otherwise race the winner's
    // for their names in whatever order the listing hands them out. Folders of two sources
    // merge.
    auto claim = claims_.try_emplace(key, Claim{&source, entry.is_folder});
    std::string taken_by;
    if (claim.second && folds_case(source))
        if (auto folded = folded_claims_.try_emplace(fold_case(key), key);
            !folded.second && folded.first->second != key) {
            taken_by = folded.first->second;
            claim = {claims_.find(taken_by), false};
        }
    if (!claim.second) {
        const Claim& holder = claim.first->second;
        warn(Warning{WarningKind::skipped,
                     taken_by.empty()
                         ? fmt::format("{} is also provided by {}: {}; kept that one", key,
                                       holder.source->connection, holder.source->remote_dir)
                         : fmt::format("{} differs only in case from {}, and the file system of "
                                       "the target folder cannot tell the two apart; kept that one",
                                       key, taken_by),
                     connection.name, remote_path});
        if (entry.is_folder && (!holder.is_folder || holder.source == &source)) {
            skipped_folders_.insert(entry.path);
            status.unlisted.push_back(entry.path);
        }
        return;
    }
    if (entry.is_folder)
        return plan_folder(index, source, entry, item.relative, local);

    // Files come sorted, so most are in the folder of the one before: that one was made
    // sure of already, and is open for the lstat (a lookup of one name, not a path walk).
    const auto slash = key.rfind('/');
    const std::string_view folder_key = std::string_view{key}.substr(0, slash);
    if (folder_key != current_folder_) {
        if (auto folder =
                ensure_folder(source.local_dir, std::filesystem::path{item.relative}.parent_path());
            !folder) {
            // A blocked folder is reported once, not once per file under it.
            auto e = folder.error();
            e.connection = connection.name;
            if (blocked_folders_.insert(e.path).second)
                error(std::move(e), true);
            return;
        }
        current_folder_ = folder_key;
        current_folder_fd_.emplace(
            ::open(current_folder_.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }
    const int folder_fd = current_folder_fd_->fd;
    const char* name = key.c_str() + slash + 1;

    const auto fail_file = [&](std::string message) {
        error(UsageError{ErrorKind::io, std::move(message), connection.name, key, {}}, true);
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
    FileFacts facts{.local_exists = exists};
    const bool folder_in_the_way = exists && S_ISDIR(info.st_mode);
    // What the record says, copied only where more than a look is needed: a no-change run
    // copies nothing.
    std::optional<CacheEntry> previous;
    bool stale = true; // the record differs from what this run would record
    bool was_gone = false;
    std::string kept_hash;
    {
        std::scoped_lock lock{mutex_}; // workers write to the cache meanwhile
        const CacheEntry* record = cache_.find(key);
        facts.known = record != nullptr && record->connection == connection.name;
        if (facts.known) {
            facts.remote_changed = !same_remote(*record, remote_digest);
            if (exists && !folder_in_the_way)
                facts.local_changed = local_changed(*record, identity, [&] {
                    return content_hash_of(name, folder_fd >= 0 ? folder_fd : AT_FDCWD);
                });
            stale = record->plugin != connection.plugin || record->remote_path != remote_path ||
                    record->remote_digest != remote_digest || record->local != identity ||
                    record->racy || record->gone || record->remote_id != entry.id ||
                    record->remote_fingerprint != entry.fingerprint;
            was_gone = record->gone;
            if (facts.remote_changed || facts.local_changed || !exists || folder_in_the_way)
                previous = *record;
            else if (stale)
                kept_hash = record->content_hash;
        }
    }
    if (folder_in_the_way) {
        // A folder where the remote now has a file: kitovu's own untouched folder gives way;
        // anything else stays and the file is saved beside it as a conflict copy (once: the
        // record then says it is in step).
        if (facts.known && !facts.remote_changed) {
            count(FileState::local_changed);
            return;
        }
        if (removable_folder(key, connection.name)) {
            if (!options_.dry_run && !remove_folder(key))
                return fail_file("cannot remove the folder the remote replaced by a file: " +
                                 errno_message());
            facts = FileFacts{.local_exists = false};
        } else {
            facts = FileFacts{.local_exists = true};
        }
    } else {
        facts.looks_like_remote = exists && looks_like(identity, entry);
    }
    const FileState state = decide(facts);
    if (!facts.known && may_defer && follow_moves_ &&
        (state == FileState::new_file ||
         (exists && !folder_in_the_way && placed_under_other_name(key)))) {
        // Perhaps a file that moved: decided once the listing shows what disappeared.
        claims_.erase(key);
        arrivals_.push_back(std::move(item));
        return;
    }
    const std::filesystem::path target =
        state == FileState::conflict ? conflict_path(local, run_start_, 1) : local;
    observe([&](SyncObserver& o) {
        o.decided(FileEvent{connection.name, remote_path, target, entry.size}, state);
    });

    if (!downloads(state)) {
        if (state == FileState::local_changed && was_gone) {
            std::scoped_lock lock{mutex_};
            if (!options_.dry_run)
                cache_.set_gone(key, false); // back on the remote
        } else if (state != FileState::local_changed && stale) {
            // In step with a stale or missing record: recorded silently. The content hash
            // stays only while it still describes the file.
            const bool same_bytes = facts.known && !facts.local_changed;
            const bool racy = racily_clean(identity);
            std::string hash = !same_bytes ? std::string{}
                               : previous  ? previous->content_hash
                                           : std::move(kept_hash);
            if (racy && hash.empty())
                hash = content_hash_of(name, folder_fd >= 0 ? folder_fd : AT_FDCWD)
                           .value_or(std::string{});
            record(key,
                   CacheEntry{connection.name, connection.plugin, remote_path, remote_digest,
                              identity, std::move(hash), racy, false, entry.id, entry.fingerprint});
        }
        count(state);
        return;
    }
    if (options_.dry_run) {
        if (state == FileState::conflict)
            warn(conflict_warning(connection.name, local, target));
        count(state);
        return;
    }
    {
        std::scoped_lock lock{mutex_};
        ++planned_files_;
        planned_bytes_ += entry.size;
        if (options_.observer != nullptr)
            options_.observer->planned(planned_files_, planned_bytes_);
    }
    queue_.push(Job{index, std::move(entry), remote_path, local, target, state, identity,
                    facts.known ? std::move(previous) : std::nullopt, source.local_dir});
}

inline void Engine::plan_folder(std::size_t index, const Source& source, const RemoteEntry& entry,
                                const std::string& relative, const std::filesystem::path& local) {
    const Connection& connection = settings_.connections[index];
    const std::string key = local.string();
    struct ::stat info {};
    if (::lstat(key.c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
        bool untouched = false;
        {
            std::scoped_lock lock{mutex_};
            const CacheEntry* record = cache_.find(key);
            untouched = record != nullptr && record->connection == connection.name &&
                        !local_changed(*record, LocalIdentity::of(info),
                                       [&] { return content_hash_of(key.c_str()); });
        }
        if (untouched) {
            if (!options_.dry_run && !remove_file(key))
                return error(UsageError{ErrorKind::io,
                                        "cannot remove the file the remote replaced by a "
                                        "folder: " +
                                            errno_message(),
                                        connection.name,
                                        key,
                                        {}},
                             true);
            forget(key);
        } else {
            const std::string remote_path = join_remote(source.remote_dir, entry.path);
            const std::string moved = conflict_folder(connection.name, remote_path, local);
            warn(Warning{WarningKind::conflict,
                         fmt::format("a file changed here is where the remote now has a "
                                     "folder; the file is kept, the folder is saved as {}",
                                     std::filesystem::path{moved}.filename().string()),
                         connection.name, key});
            const std::string moved_relative =
                std::filesystem::path{moved}.lexically_relative(source.local_dir).string();
            redirected_folders_.emplace(relative, moved_relative);
            claims_.try_emplace(moved, Claim{&source, true});
            if (auto made = ensure_folder(source.local_dir, moved_relative); !made) {
                auto e = made.error();
                e.connection = connection.name;
                error(std::move(e), true);
            }
            return;
        }
    }
    if (auto made = ensure_folder(source.local_dir, relative); !made) {
        auto e = made.error();
        e.connection = connection.name;
        if (blocked_folders_.insert(e.path).second)
            error(std::move(e), true);
    }
}

inline std::string Engine::conflict_folder(const std::string& connection,
                                           const std::string& remote_path,
                                           const std::filesystem::path& local) {
    const std::string prefix = remote_path + '/';
    {
        std::scoped_lock lock{mutex_};
        for (const auto& [path, record] : cache_.entries()) {
            if (record.connection != connection || !record.remote_path.starts_with(prefix))
                continue;
            // The record's local path has as many components below the folder as the
            // remote path has below the remote folder.
            const auto below = std::ranges::count(record.remote_path.substr(prefix.size()), '/');
            std::filesystem::path folder{path};
            for (auto i = 0; i <= below; ++i)
                folder = folder.parent_path();
            if (folder.parent_path() == local.parent_path())
                return folder.string();
        }
    }
    for (int attempt = 1;; ++attempt) {
        auto candidate = conflict_path(local, run_start_, attempt);
        std::error_code ec;
        if (!std::filesystem::exists(std::filesystem::symlink_status(candidate, ec)) ||
            attempt == 100)
            return candidate.string();
    }
}

inline bool Engine::removable_folder(const std::string& key, const std::string& connection) {
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it{key, ec}, end; !ec && it != end;
         it.increment(ec)) {
        const auto type = it->symlink_status(ec).type();
        if (type == std::filesystem::file_type::directory)
            continue;
        if (type != std::filesystem::file_type::regular)
            return false;
        const std::string path = it->path().string();
        struct ::stat info {};
        if (::lstat(path.c_str(), &info) != 0)
            return false;
        std::scoped_lock lock{mutex_};
        const CacheEntry* record = cache_.find(path);
        if (record == nullptr || record->connection != connection ||
            local_changed(*record, LocalIdentity::of(info),
                          [&] { return content_hash_of(path.c_str()); }))
            return false;
    }
    return !ec;
}

inline bool Engine::remove_folder(const std::string& key) {
    std::vector<std::string> files;
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it{key, ec}, end; !ec && it != end;
         it.increment(ec))
        if (!it->is_directory(ec))
            files.push_back(it->path().string());
    if (!remove_tree(key, ec))
        return false;
    for (const auto& file : files)
        forget(file);
    known_folders_.clear(); // a folder below it may have been known
    current_folder_.clear();
    return true;
}

inline expected<void, UsageError> Engine::ensure_folder(const std::filesystem::path& base,
                                                        const std::filesystem::path& relative) {
    // Made sure of before (by an earlier batch or source): ancestors need no lstat again.
    if (known_folders_.contains((base / relative).string()))
        return {};
    std::filesystem::path folder = base;
    if (!known_folders_.contains(base.string())) {
        std::error_code ec;
        if (!options_.dry_run)
            make_folders(base, ec);
        if (ec)
            return fail(ErrorKind::io, "cannot create the folder: " + ec.message(), base.string());
        known_folders_.insert(base.string());
    }
    for (const auto& name : relative) {
        folder /= name;
        if (known_folders_.contains(folder.string()))
            continue;
        struct ::stat info {};
        if (::lstat(folder.c_str(), &info) != 0) {
            if (errno != ENOENT)
                return fail(ErrorKind::io, "cannot read the folder: " + errno_message(),
                            folder.string());
            if (options_.dry_run)
                return {};
            if (!make_folder(folder))
                return fail(ErrorKind::io, "cannot create the folder: " + errno_message(),
                            folder.string());
        } else if (S_ISLNK(info.st_mode)) {
            return fail(ErrorKind::io, "a symbolic link is in the way; kitovu does not follow it",
                        folder.string());
        } else if (!S_ISDIR(info.st_mode)) {
            return fail(ErrorKind::io, "a file is in the way of this folder", folder.string());
        }
        known_folders_.insert(folder.string());
    }
    return {};
}

inline void Engine::report_remote_deletions() {
    std::map<std::pair<std::string, std::string>, std::vector<const SourceStatus*>> by_folder;
    for (const auto& status : statuses_)
        by_folder[{status.source->connection, status.source->local_dir.string()}].push_back(
            &status);
    std::vector<std::string> forget_keys;
    std::vector<std::string> gone_keys;
    for (const auto& [key, entry] : cache_.entries()) {
        if (claims_.contains(key))
            continue;
        const SourceStatus* owner = nullptr;
        std::string relative_remote;
        for (std::filesystem::path folder = std::filesystem::path{key}.parent_path();;
             folder = folder.parent_path()) {
            if (auto it = by_folder.find({entry.connection, folder.string()});
                it != by_folder.end())
                for (const SourceStatus* status : it->second) {
                    const std::string prefix = join_remote(status->source->remote_dir, "");
                    if (prefix.empty() || entry.remote_path.starts_with(prefix)) {
                        owner = status;
                        relative_remote = entry.remote_path.substr(prefix.size());
                    }
                }
            if (owner != nullptr || folder == folder.root_path() || folder.empty())
                break;
        }
        if (owner == nullptr || !owner->listed)
            continue; // not listed this time: keep
        if (std::ranges::any_of(owner->unlisted, [&](const std::string& folder) {
                return relative_remote.starts_with(folder + '/');
            }))
            continue; // its folder could not be listed this time: keep
        std::error_code ec;
        const bool here =
            std::filesystem::is_regular_file(std::filesystem::symlink_status(key, ec));
        if (!here || owner->source->ignore.ignores(relative_remote, false)) {
            forget_keys.push_back(key);
            continue;
        }
        if (entry.gone)
            continue; // reported when it went
        warn(Warning{WarningKind::remote_deleted, "no longer on the remote; the local copy is kept",
                     entry.connection, key});
        count(FileState::remote_deleted);
        gone_keys.push_back(key);
    }
    if (options_.dry_run)
        return;
    for (const auto& key : forget_keys)
        cache_.erase(key);
    for (const auto& key : gone_keys)
        cache_.set_gone(key);
}

} // namespace kitovu::detail
