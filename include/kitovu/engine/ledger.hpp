// The run's shared state, where the planner and the transfer workers meet: the file cache (held
// under its lock, its placements journaled) and the report with its warnings and errors. Every
// member takes the ledger's lock itself, so the objects that share it need none of their own.
#pragma once

#include "kitovu/cache/filecache.hpp"
#include "kitovu/cache/journal.hpp"
#include "kitovu/cache/lock.hpp"
#include "kitovu/disk/placement.hpp"
#include "kitovu/engine/sync_options.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace kitovu::detail {

class Ledger {
  public:
    // `sink` and `observer` hear every warning and every step, one call at a time.
    Ledger(std::filesystem::path cache_file, bool dry_run, WarningSink sink = no_warnings,
           SyncObserver* observer = nullptr)
        : cache_file_(std::move(cache_file)), dry_run_(dry_run), sink_(sink), observer_(observer) {
        report_.dry_run = dry_run;
    }

    const std::filesystem::path& cache_file() const noexcept { return cache_file_; }
    bool dry_run() const noexcept { return dry_run_; }

    // One run (or one change of the cache) at a time: the cache's lock, held as long as the
    // ledger. A dry run changes nothing and takes none.
    expected<void, UsageError> hold() {
        if (dry_run_)
            return {};
        auto acquired = CacheLock::acquire(cache_file_);
        if (!acquired)
            return fail(acquired.error());
        lock_.emplace(std::move(*acquired));
        return {};
    }

    // Whether a run ended before it saved the cache: its journal holds work to replay first.
    bool interrupted() const {
        std::error_code ec;
        return std::filesystem::exists(CacheJournal::path_for(cache_file_), ec);
    }

    // The cache as the last run left it; with `replay`, what the journal says a crashed run
    // placed after it, and the journal opened for this run's placements (not in a dry run).
    // `targets`: the target folders, where a crashed run's case-only rename is finished.
    expected<void, UsageError> load(bool replay,
                                    const std::vector<std::filesystem::path>& targets = {}) {
        auto cache = FileCache::load(
            cache_file_, [this](const Warning& w) { warn(w); }, !dry_run_);
        if (!cache)
            return fail(cache.error());
        cache_ = std::move(*cache);
        if (!replay || dry_run_)
            return {};
        // Journaled just before the rename, which changes the change time: the rest of the
        // identity tells whether the file is still the one placed; its content is confirmed on
        // the next look (racy).
        cache_.replay(CacheJournal::path_for(cache_file_), [&targets](const std::string& local_path,
                                                                      CacheEntry& entry) {
            struct ::stat info {};
            const bool finished = ::lstat(local_path.c_str(), &info) != 0 && errno == ENOENT &&
                                  finish_rename_in_case(local_path, targets);
            if (::lstat(local_path.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
                return false;
            auto now = LocalIdentity::of(info);
            now.ctime_ns = entry.local.ctime_ns;
            if (finished) // FAT: a renamed file gets a new inode
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
        return {};
    }

    // Nothing needs the cache before the first listing: it loads (load(true)) in a thread while
    // the first connection logs in.
    void start_loading(std::vector<std::filesystem::path> targets) {
        loading_ = std::async(std::launch::async,
                              [this, targets = std::move(targets)] { return load(true, targets); });
    }
    // Waits until it is loaded; false when it cannot be (load_error() says why).
    bool ready() {
        if (!loaded_)
            loaded_ = loading_.get();
        return loaded_->has_value();
    }
    bool failed_to_load() const { return loaded_ && !*loaded_; }
    const UsageError& load_error() const { return loaded_->error(); }

    // Appended by the workers without the lock (CacheJournal's appends are single writes).
    const CacheJournal& journal() const { return *journal_; }

    // The cache, for a look or a change under the lock: `use` must not call the ledger.
    template <class F>
    decltype(auto) with_cache(F&& use) {
        std::scoped_lock lock{mutex_};
        return use(cache_);
    }

    // Whether `connection` placed anything below `folder`.
    bool has_records(const std::string& connection, const std::filesystem::path& folder) {
        const std::string prefix = folder.string() + '/';
        return with_cache([&](const FileCache& cache) {
            return std::ranges::any_of(cache.entries(), [&](const auto& item) {
                return item.second.connection == connection && item.first.starts_with(prefix);
            });
        });
    }

    void record(std::string key, CacheEntry entry) {
        if (dry_run_)
            return;
        std::scoped_lock lock{mutex_};
        if (entry.racy)
            racy_.push_back(key);
        cache_.put(std::move(key), std::move(entry));
    }

    void forget(const std::string& key) {
        if (dry_run_)
            return;
        std::scoped_lock lock{mutex_};
        cache_.erase(key);
    }

    void set_gone(const std::string& key, bool gone) {
        if (dry_run_)
            return;
        std::scoped_lock lock{mutex_};
        cache_.set_gone(key, gone);
    }

    void warn(Warning warning) {
        std::scoped_lock lock{mutex_};
        sink_(warning);
        report_.warnings.push_back(std::move(warning));
    }

    void error(UsageError error, bool is_file) {
        std::scoped_lock lock{mutex_};
        if (is_file)
            ++report_.failed;
        // A connection lost during downloads fails its files as one error (see
        // report_lost_connections), not one line each.
        if (is_file && error.kind == ErrorKind::connection) {
            auto& lost = lost_connections_[error.connection];
            if (!lost.first)
                lost.first = std::move(error);
            ++lost.files;
            return;
        }
        report_.errors.push_back(std::move(error));
    }

    // A file that is not in step without an error of its own (a warning says why).
    void not_in_step() {
        std::scoped_lock lock{mutex_};
        ++report_.failed;
    }

    // Whether a download of this connection failed because the connection was lost: its
    // other files then fail without trying (each would wait for the server again).
    bool lost(const std::string& connection) {
        std::scoped_lock lock{mutex_};
        const auto found = lost_connections_.find(connection);
        if (found == lost_connections_.end())
            return false;
        ++found->second.files;
        ++report_.failed;
        return true;
    }

    void count(FileState state) {
        std::scoped_lock lock{mutex_};
        ++report_.counts[static_cast<std::size_t>(state)];
    }

    // A download planned: the observer hears the total so far.
    void planned(std::uint64_t bytes) {
        std::scoped_lock lock{mutex_};
        ++planned_files_;
        planned_bytes_ += bytes;
        if (observer_ != nullptr)
            observer_->planned(planned_files_, planned_bytes_);
    }

    // A download in place (or found there already), in `state`.
    void downloaded(std::uint64_t bytes, FileState state) {
        std::scoped_lock lock{mutex_};
        report_.bytes_downloaded += bytes;
        ++report_.counts[static_cast<std::size_t>(state)];
    }

    template <class F>
    void observe(F&& call) {
        if (observer_ == nullptr)
            return;
        std::scoped_lock lock{mutex_};
        call(*observer_);
    }

    // Once the workers are done: each lost connection as one error, with the files it cost.
    void report_lost_connections() {
        for (auto& [name, lost] : lost_connections_) {
            UsageError e = std::move(*lost.first);
            e.message += fmt::format("; {} file{} not downloaded, the next run tries again",
                                     lost.files, lost.files == 1 ? "" : "s");
            e.path.clear();
            report_.errors.push_back(std::move(e));
        }
        lost_connections_.clear();
    }

    // Files placed this run are racily clean (an edit in the clock tick of their move would not
    // show in their identity). Once the clock has moved on, one read tells: the bytes kitovu
    // wrote are still there, and from now on any edit changes the identity. Read back while
    // they are still in memory; whatever cannot be confirmed stays racy for the next run.
    void settle_placed(const std::stop_token& stop) {
        if (racy_.empty())
            return;
        std::int64_t latest = 0;
        for (const auto& key : racy_)
            if (const CacheEntry* entry = cache_.find(key); entry != nullptr)
                latest = std::max(latest, entry->local.ctime_ns);
        ::timespec tick{};
        ::clock_getres(CLOCK_REALTIME_COARSE, &tick);
        for (int waits = 0; waits < 100; ++waits) {
            ::timespec now{};
            ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
            if (LocalIdentity::nanoseconds(now) > latest)
                break;
            ::nanosleep(&tick, nullptr);
        }
        for (const auto& key : racy_) {
            if (stop.stop_requested())
                return;
            const CacheEntry* entry = cache_.find(key);
            struct ::stat info {};
            if (entry == nullptr || !entry->racy || ::lstat(key.c_str(), &info) != 0 ||
                LocalIdentity::of(info) != entry->local || racily_clean(entry->local) ||
                content_hash_of(key.c_str()) != entry->content_hash)
                continue;
            CacheEntry settled = *entry;
            settled.racy = false;
            cache_.put(key, std::move(settled));
        }
    }

    // The cache saved (unchanged, the file on disk is already right: a no-change run writes
    // nothing), then the journal it now holds removed.
    expected<void, UsageError> save() {
        if (dry_run_)
            return {};
        if (cache_.changed())
            if (auto saved = cache_.save(cache_file_); !saved)
                return saved;
        if (journal_)
            journal_->remove();
        return {};
    }

    // The report of the run, once it is over; a failed save is one of its errors.
    SyncReport finish(bool cancelled, std::chrono::steady_clock::time_point started) {
        report_.cancelled = cancelled;
        if (auto saved = save(); !saved)
            report_.errors.push_back(saved.error());
        report_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        return std::move(report_);
    }

  private:
    const std::filesystem::path cache_file_;
    const bool dry_run_;
    WarningSink sink_;
    SyncObserver* observer_;
    std::optional<CacheLock> lock_;

    std::mutex mutex_; // guards everything below, and calls to the sink and the observer
    SyncReport report_;
    struct LostConnection {
        std::optional<UsageError> first; // the error that lost it
        std::size_t files = 0;           // files not downloaded because of it
    };
    std::map<std::string, LostConnection> lost_connections_; // by connection name
    FileCache cache_; // loaded while the first connection logs in: see ready()
    std::future<expected<void, UsageError>> loading_;
    std::optional<expected<void, UsageError>> loaded_; // planning thread only
    std::size_t planned_files_ = 0;
    std::uint64_t planned_bytes_ = 0;
    std::optional<CacheJournal> journal_;
    std::vector<std::string> racy_; // records placed this run, to be settled at its end
};

} // namespace kitovu::detail
