// The run from start to end: the cache and the target folders locked, secrets resolved, the cache
// loaded while the first connection logs in, every source listed and decided while workers
// download, deletions reported, the cache saved.
#pragma once

#include "kitovu/engine/engine.hpp"

namespace kitovu::detail {

inline expected<SyncReport, UsageError> Engine::run() {
    const auto started = std::chrono::steady_clock::now();
    if (options_.cache_file.empty()) {
        if (settings_.file.empty())
            return fail(ErrorKind::usage, "no file cache given: set SyncOptions::cache_file "
                                          "(see default_cache_path)");
        auto path = default_cache_path(settings_.file);
        if (!path)
            return fail(path.error());
        cache_file_ = std::move(*path);
    } else {
        cache_file_ = options_.cache_file;
    }
    cache_file_ = followed_link(cache_file_);
    std::optional<CacheLock> lock;
    if (!options_.dry_run) {
        auto acquired = CacheLock::acquire(cache_file_);
        if (!acquired)
            return fail(acquired.error());
        lock.emplace(std::move(*acquired));
    }
    // And one run at a time per target folder, whatever its config and cache (folder_lock.hpp).
    std::optional<FolderLocks> folders;
    if (!options_.dry_run) {
        auto acquired = FolderLocks::acquire(target_folders(settings_));
        if (!acquired)
            return fail(acquired.error());
        folders.emplace(std::move(*acquired));
    }
    // Every password is asked before the first transfer: the run then goes on unattended and
    // prompts never interleave with progress output.
    for (std::size_t index = 0; index < settings_.connections.size(); ++index)
        if (!sources_of(settings_.connections[index]).empty() && !options_.stop.stop_requested())
            resolved_[index] = resolve_options(index);
    // Nothing needs the cache before the first listing: it loads while the first connection logs
    // in (a large cache takes as long to read as a login, and libsmbclient as long to load).
    cache_loading_ = std::async(std::launch::async, [this] { return load_cache(); });
    {
        std::vector<std::jthread> workers;
        workers_ = &workers;
        if (!options_.dry_run)
            for (unsigned i = 0; i < (options_.jobs > 0 ? options_.jobs : jobs_for_link({})); ++i)
                workers.emplace_back([this] { work(); });
        for (std::size_t index = 0; index < settings_.connections.size(); ++index) {
            if (options_.stop.stop_requested() || (cache_loaded_ && !*cache_loaded_))
                break;
            plan_connection(index);
        }
        queue_.close();
        workers_ = nullptr;
    } // joins the workers
    if (!cache_ready())
        return fail(cache_loaded_->error());
    report_lost_connections();
    if (!options_.stop.stop_requested())
        report_remote_deletions();
    settle_placed();
    report_.cancelled = options_.stop.stop_requested();
    if (!options_.dry_run) {
        // Unchanged, the cache on disk is already right (a no-change run writes nothing).
        if (auto saved = cache_.changed() ? cache_.save(cache_file_) : expected<void, UsageError>{};
            !saved)
            report_.errors.push_back(saved.error());
        else
            journal_->remove();
    }
    report_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return std::move(report_);
}

// The cache as the last run left it, with what the journal says a crashed run placed after it.
inline expected<void, UsageError> Engine::load_cache() {
    auto cache = FileCache::load(
        cache_file_, [this](const Warning& w) { warn(w); }, !options_.dry_run);
    if (!cache)
        return fail(cache.error());
    cache_ = std::move(*cache); // read by others only after cache_ready()
    if (!options_.dry_run) {
        // Journaled just before the rename, which changes the change time: the rest of the
        // identity tells whether the file is still the one placed; its content is
        // confirmed on the next look (racy).
        cache_.replay(CacheJournal::path_for(cache_file_), [this](const std::string& local_path,
                                                                  CacheEntry& entry) {
            struct ::stat info {};
            const bool finished = ::lstat(local_path.c_str(), &info) != 0 && errno == ENOENT &&
                                  finish_rename_in_case(local_path);
            if (::lstat(local_path.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
                return false;
            auto now = LocalIdentity::of(info);
            now.ctime_ns = entry.local.ctime_ns;
            if (finished) // FAT: a rename gives the file a new inode
                now.inode = entry.local.inode;
            if (now != entry.local)
                return false;
            entry.local = LocalIdentity::of(info);
            entry.racy = true;
            return true;
        });
        auto journal = CacheJournal::open(cache_file_);
        if (!journal)
            return fail(journal.error());
        journal_.emplace(std::move(*journal));
    }
    return {};
}

// A journaled move to `local_path` that a kill cut between rename_in_case's two renames: the
// file is at the temporary name, nothing at its own; it goes there, never through a link.
// Whether it did.
inline bool Engine::finish_rename_in_case(const std::string& local_path) const {
    const std::filesystem::path path{local_path};
    for (const Subject& subject : settings_.subjects)
        for (const Source& source : subject.sources)
            if (local_path.starts_with(source.local_dir.string() + '/')) {
                const Descriptor folder{open_folder_below(source.local_dir, path.parent_path())};
                const std::string name = path.filename().string();
                return folder.fd >= 0 &&
                       place_new(folder.fd, name + std::string{case_rename_suffix}, name);
            }
    return false;
}

inline bool Engine::cache_ready() {
    if (!cache_loaded_)
        cache_loaded_ = cache_loading_.get();
    return cache_loaded_->has_value();
}

inline void Engine::report_lost_connections() {
    for (auto& [name, lost] : lost_connections_) {
        UsageError e = std::move(*lost.first);
        e.message += fmt::format("; {} file{} not downloaded, the next run tries again", lost.files,
                                 lost.files == 1 ? "" : "s");
        e.path.clear();
        report_.errors.push_back(std::move(e));
    }
}

} // namespace kitovu::detail
