// The sync engine: lists every source, decides per file what to do (decide.hpp), downloads in
// parallel into temporaries that are moved into place (placement.hpp), and records the result
// in the file cache. A local edit is never overwritten.
#pragma once

#include "kitovu/cache/filecache.hpp"
#include "kitovu/cache/journal.hpp"
#include "kitovu/cache/lock.hpp"
#include "kitovu/config/settings_model.hpp"
#include "kitovu/config/validate.hpp"
#include "kitovu/decide/decide.hpp"
#include "kitovu/decide/moves.hpp"
#include "kitovu/disk/folder_lock.hpp"
#include "kitovu/disk/names.hpp"
#include "kitovu/disk/placement.hpp"
#include "kitovu/engine/sync_options.hpp"
#include "kitovu/engine/work_queue.hpp"
#include "kitovu/plugin/credentials.hpp"
#include "kitovu/plugin/link.hpp"
#include "kitovu/plugin/listing_loops.hpp"
#include "kitovu/plugin/registry.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h> // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <random>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace kitovu {

namespace detail {

inline std::string join_remote(std::string_view dir, std::string_view path) {
    while (dir.ends_with('/'))
        dir.remove_suffix(1);
    return dir.empty() ? std::string{path} : std::string{dir} + '/' + std::string{path};
}

class Engine {
  public:
    Engine(const Settings& settings, const SyncOptions& options, WarningSink warn)
        : settings_(settings), options_(options), user_sink_(warn), run_start_(std::time(nullptr)) {
        report_.dry_run = options.dry_run;
    }

    expected<SyncReport, UsageError> run();

  private:
    struct Job {
        std::size_t connection;
        RemoteEntry entry;
        std::string remote_path;
        std::filesystem::path local_path; // the synced file; its cache entry
        std::filesystem::path target;     // where the download goes (a conflict copy for conflicts)
        FileState state;
        LocalIdentity seen;                 // the local file when deciding (if there was one)
        std::optional<CacheEntry> previous; // the cache's record of it, if any
        std::filesystem::path base;         // the source's target folder, which target is inside
    };

    // Where a source stands, for telling "gone remotely" from "not listed this time".
    struct SourceStatus {
        const Source* source;
        bool listed = false;
        std::vector<std::string> unlisted{};  // subfolders whose records stay, as the remote names
        std::size_t entries = 0, refused = 0; // listed (not ignored); of them, names refused
    };

    // ---- shared state: everything below is guarded by mutex_ --------------------------------

    void warn(Warning warning) {
        std::scoped_lock lock{mutex_};
        user_sink_(warning);
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

    // Whether a plugin's `cancelled` is the run's stop. One that nobody asked for is the plugin's
    // mistake, not the user's stop: it becomes an error naming the plugin, so the run is not in
    // step (exit 1) and says why.
    bool stopped_by_user(UsageError& e, const Connection& connection) const {
        if (e.kind != ErrorKind::cancelled)
            return false;
        if (options_.stop.stop_requested())
            return true;
        e.kind = ErrorKind::internal;
        e.message = "the plugin '" + connection.plugin + "' said it was stopped (\"" + e.message +
                    "\") but no stop was asked for";
        return false;
    }

    // Whether a download of this connection failed because the connection was lost: its
    // other files then fail without trying (each would wait for the server again).
    bool lost(const Connection& connection) {
        std::scoped_lock lock{mutex_};
        const auto found = lost_connections_.find(connection.name);
        if (found == lost_connections_.end())
            return false;
        ++found->second.files;
        ++report_.failed;
        return true;
    }

    void report_lost_connections();

    // Loads the cache and replays the journal (run() starts it in a thread).
    expected<void, UsageError> load_cache();
    // Waits until the cache is loaded; false when it cannot be, and run() fails with why.
    bool cache_ready();

    void count(FileState state) {
        std::scoped_lock lock{mutex_};
        ++report_.counts[static_cast<std::size_t>(state)];
    }

    template <class F>
    void observe(F&& call) {
        if (options_.observer == nullptr)
            return;
        std::scoped_lock lock{mutex_};
        call(*options_.observer);
    }

    void record(std::string key, CacheEntry entry) {
        if (options_.dry_run)
            return;
        std::scoped_lock lock{mutex_};
        if (entry.racy)
            racy_.push_back(key);
        cache_.put(std::move(key), std::move(entry));
    }

    void forget(const std::string& key) {
        if (options_.dry_run)
            return;
        std::scoped_lock lock{mutex_};
        cache_.erase(key);
    }

    // ---- plugins ------------------------------------------------------------------------------

    // The connection's options with its secret, resolved once for all its instances (a
    // password-command runs once, a prompt asks once). Run before the workers start.
    expected<Options, UsageError> resolve_options(std::size_t index);

    // An earlier connection to the same account (its keyring item) whose secret came from the
    // keyring or a prompt: that secret is this one's too, so it is asked once. A command or
    // variable configured for this connection comes first.
    std::optional<std::size_t> same_account(std::size_t index, const SecretSpec& spec) const;

    // After the server accepted a typed secret the user wants kept: into the keyring, once.
    // A kept secret the server refuses is said to be the keyring's, with the way to replace it,
    // and is not asked again.
    expected<void, UsageError> after_connect(std::size_t index,
                                             expected<void, UsageError> connected);

    std::vector<const Source*> sources_of(const Connection& connection) const;

    // A plugin instance that is told when the run is stopped (SyncPlugin::stop), from before it
    // connects until it is destroyed.
    struct Instance {
        struct Stopper {
            SyncPlugin* plugin;
            void operator()() const noexcept { plugin->stop(); }
        };
        std::unique_ptr<SyncPlugin> plugin;
        std::unique_ptr<std::stop_callback<Stopper>> interrupt; // destroyed before the plugin

        SyncPlugin& operator*() const { return *plugin; }
        SyncPlugin* operator->() const { return plugin.get(); }
        explicit operator bool() const { return plugin != nullptr; }
    };

    // A configured, connected instance; resolve_options(index) has run.
    expected<Instance, UsageError> open(std::size_t index);

    // ---- planning: the calling thread lists and decides, workers download -------------------

    void plan_connection(std::size_t index);

    struct Listed {
        RemoteEntry entry;
        std::string relative; // the local path below the source's target folder
    };

    // One folder's entries. The engine applies the ignore rules and name checks itself, whether
    // or not the plugin used `keep`. Of two remote names with one local name, the one already
    // synced there wins, else the one that needed no change, else the first by name: a
    // newcomer never takes the place of what is on disk.
    void plan_batch(std::size_t index, SyncPlugin& plugin, SourceStatus& status,
                    std::span<RemoteEntry> batch);

    // 0: what is on disk came from this remote name; 1: the name needed no change; 2: other.
    int clash_rank(const std::string& connection, const Source& source, const Listed& item);

    void plan_entry(std::size_t index, SyncPlugin& plugin, SourceStatus& status, Listed item,
                    bool may_defer = true);

    // A remote folder: made sure of locally. A file kitovu placed there and nobody changed gives
    // way to it; an edited or foreign file stays, and the remote folder is kept beside it under a
    // conflict name (the same one every run, found from the records of its files).
    void plan_folder(std::size_t index, const Source& source, const RemoteEntry& entry,
                     const std::string& relative, const std::filesystem::path& local);

    // Where the files of a remote folder go when an edited file holds its name: the folder
    // earlier runs used for it (from the records of its files), else a new conflict name.
    std::string conflict_folder(const std::string& connection, const std::string& remote_path,
                                const std::filesystem::path& local);

    // Whether the folder `key` holds only files kitovu placed and nobody changed since (and
    // folders of such): it may then give way to a remote file of its name.
    bool removable_folder(const std::string& key, const std::string& connection);

    // Removes a folder removable_folder() accepted, and the records of its files.
    bool remove_folder(const std::string& key);

    // ---- following renames and moves on the remote ---------------------------------------

    bool has_records(const std::string& connection, const Source& source);

    // Whether another record's path differs from `key` in case only: on a case-insensitive
    // target a case-only rename finds the old copy at the new name (FUSE gives the two names
    // different inode numbers). Looked up in an index of the records' paths in one case, made on
    // first use.
    bool placed_under_other_name(const std::string& key);

    // Files of the source that were new this run, now that the listing is complete: each that
    // is one of the synced files that disappeared (moves.hpp) is moved locally instead of
    // downloaded again; the rest is planned as usual.
    void plan_arrivals(std::size_t index, SyncPlugin& plugin, SourceStatus& status,
                       bool listed_completely);

    // Moves the local copy of `from` to where the listed `item` goes, with its record (journaled
    // first, like a download). False, touching nothing, when that cannot be done here (the new
    // place is taken, the old copy is gone or not a file): the caller plans it as new.
    bool move(std::size_t index, SyncPlugin& plugin, const Source& source, Listed& item,
              const std::string& from);

    // Folders that moves left empty and the remote no longer has go too (rmdir removes only
    // empty ones), up to the source's target folder.
    void remove_emptied_folders(const Source& source, std::vector<std::filesystem::path> folders);
    void remove_left_by_killed_moves(const Source& source);
    bool finish_rename_in_case(const std::string& local_path) const;

    // Creates base/relative folder by folder, refusing symbolic links and files in the way, so
    // nothing planted locally can redirect a download outside the target folder.
    expected<void, UsageError> ensure_folder(const std::filesystem::path& base,
                                             const std::filesystem::path& relative);

    // Files synced before whose source was listed completely but that are gone remotely: the
    // local copy stays and the user hears it once. The record stays while the local copy is
    // there (a tombstone), so that the file's return is judged against what kitovu placed.
    void report_remote_deletions();

    // Files placed this run are racily clean (an edit in the clock tick of their move would not
    // show in their identity). Once the clock has moved on, one read tells: the bytes kitovu
    // wrote are still there, and from now on any edit changes the identity. Read back while
    // they are still in memory; whatever cannot be confirmed stays racy for the next run.
    void settle_placed();

    // ---- workers ------------------------------------------------------------------------------

    // A worker thread: an exception must not escape it (that would end the program).
    void work() noexcept;

    void work_queue();

    // Where the user chose no --jobs: more workers once a listing shows a slow link.
    void add_workers_for(const SyncPlugin& lister);

    static Warning conflict_warning(std::string_view connection, const std::filesystem::path& local,
                                    const std::filesystem::path& copy) {
        return Warning{
            WarningKind::conflict,
            fmt::format(
                "changed here and on the remote; the local file is kept, the remote version is "
                "saved as {}",
                copy.filename().string()),
            std::string{connection}, local.string()};
    }

    // Whether what the plugin saw after the read is not the listed file.
    static bool changed_while_downloading(const RemoteEntry& listed, const Retrieved& seen) {
        if (seen.changed)
            return true;
        if (seen.size && listed.size != 0 && *seen.size != listed.size)
            return true;
        return seen.mtime && (*seen.mtime != listed.mtime || seen.mtime_nsec != listed.mtime_nsec);
    }

    void download(SyncPlugin& plugin, const Connection& connection, Job& job,
                  std::mt19937_64& random);

    // Moves a complete temporary to its final name. A new file never replaces anything (a file
    // that appeared meanwhile is somebody's and makes this a conflict); a replacement happens
    // only if the local file is still what it was when the engine decided.
    // Moves a finished download into place; the local file's identity instead when it holds
    // the download's bytes already (`hash`), so no conflict copy is needed.
    expected<std::optional<LocalIdentity>, UsageError> place(int folder, const Temporary& temporary,
                                                             const std::string& hash, Job& job);

    const Settings& settings_;
    const SyncOptions& options_;
    WarningSink user_sink_;
    const std::time_t run_start_;
    std::filesystem::path cache_file_;

    std::mutex mutex_; // guards report_, cache_, planned_*, and calls to the sink and observer
    SyncReport report_;
    struct LostConnection {
        std::optional<UsageError> first; // the error that lost it
        std::size_t files = 0;           // files not downloaded because of it
    };
    std::map<std::string, LostConnection> lost_connections_; // by connection name
    FileCache cache_; // loaded while the first connection logs in: see cache_ready
    std::future<expected<void, UsageError>> cache_loading_;
    std::optional<expected<void, UsageError>> cache_loaded_; // planning thread only
    std::size_t planned_files_ = 0;
    std::uint64_t planned_bytes_ = 0;
    std::optional<CacheJournal> journal_; // appended by workers without the lock (see CacheJournal)
    std::vector<std::string> racy_;       // records placed this run, to be settled at its end

    // Per connection with sources: its options with the secret, or why there are none. Written
    // before the workers start.
    std::vector<std::optional<expected<Options, UsageError>>> resolved_ =
        std::vector<std::optional<expected<Options, UsageError>>>(settings_.connections.size());

    // Per connection with a secret: where it came from, its keyring item, and whether it was
    // typed and is to be kept. Written before the workers start; `stored` keeps it once.
    struct SecretOrigin {
        SecretSource source = SecretSource::prompt;
        std::string_view what;
        std::optional<KeyringItem> item;
        bool keep = false;
        std::once_flag stored;
    };
    std::deque<SecretOrigin> secret_origins_ =
        std::deque<SecretOrigin>(settings_.connections.size());

    // Planning thread only.
    std::deque<SourceStatus> statuses_;
    struct Claim {
        const Source* source; // the first source listing the local path
        bool is_folder;
    };
    std::unordered_map<std::string, Claim> claims_; // by local path
    // On targets that fold case: local paths by their folded form, and which targets fold.
    std::unordered_map<std::string, std::string> folded_claims_;
    std::unordered_map<std::string, bool> folds_case_;
    bool folds_case(const Source& source);
    // Of the source being listed: folders skipped, as it names them, and folders saved under a
    // conflict name, by local path below its target folder.
    std::unordered_set<std::string> skipped_folders_;
    std::unordered_map<std::string, std::string> redirected_folders_;
    bool follow_moves_ = false;    // the source has records: new files may be moved ones
    std::vector<Listed> arrivals_; // its new files, decided when its listing is complete
    std::optional<std::unordered_map<std::string, std::string>>
        folded_paths_; // the cache's records' local paths in one case -> the path
    std::unordered_set<std::string> known_folders_;
    std::string current_folder_;                  // of the entry planned last, made sure of
    std::optional<Descriptor> current_folder_fd_; // it, opened; -1 when it could not be (dry run)
    std::unordered_set<std::string> blocked_folders_;

    WorkQueue<Job> queue_{2048};
    std::vector<std::jthread>* workers_ = nullptr; // the planner's, while it plans
};

} // namespace detail

// Syncs every source of `settings`. Problems with one connection, source or file are reported
// in the SyncReport and the rest goes on; only problems that stop the whole run (another run
// holds the cache, the cache cannot be read) are returned as an error.
inline expected<SyncReport, UsageError> sync(const Settings& settings, const SyncOptions& options,
                                             WarningSink warn) {
    try {
        // Settings a program built itself get the checks a config file gets.
        if (auto problems = validate(settings); !problems.empty())
            return fail(std::move(problems.front()));
        return detail::Engine{settings, options, warn}.run();
    } catch (const std::bad_alloc&) {
        return fail(ErrorKind::internal, "out of memory");
    } catch (const std::exception& e) {
        return fail(ErrorKind::internal, std::string{"unexpected failure: "} + e.what());
    }
}

} // namespace kitovu

// The engine's steps, defined apart so that each file holds one: the run from start to end,
// plugin instances and their secrets, planning (list, decide, folders, deletions), following
// moves, and transfer (workers, downloads, placement).
#include "kitovu/engine/connections.hpp"
#include "kitovu/engine/follow_moves.hpp"
#include "kitovu/engine/planning.hpp"
#include "kitovu/engine/run.hpp"
#include "kitovu/engine/transfer.hpp"
