// The sync engine: lists every source, decides per file what to do (decide.hpp), downloads in
// parallel into temporaries that are moved into place (placement.hpp), and records the result
// in the file cache. A local edit is never overwritten.
#pragma once

#include "kitovu/cache_journal.hpp"
#include "kitovu/cache_lock.hpp"
#include "kitovu/credentials.hpp"
#include "kitovu/decide.hpp"
#include "kitovu/filecache.hpp"
#include "kitovu/link.hpp"
#include "kitovu/moves.hpp"
#include "kitovu/names.hpp"
#include "kitovu/placement.hpp"
#include "kitovu/registry.hpp"
#include "kitovu/settings.hpp"
#include "kitovu/work_queue.hpp"

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

struct FileEvent {
    std::string_view connection;
    std::string_view remote_path;
    const std::filesystem::path& local_path; // for a conflict: where the remote copy goes
    std::uint64_t size;                      // remote size in bytes
    std::string_view moved_from{};           // for a move: the local path it had
};

// Progress for a progress bar or a log. The engine calls an observer from one thread at a time
// (it serialises its workers), so an observer needs no lock; it must not throw.
class SyncObserver {
  public:
    virtual ~SyncObserver() = default;
    // Downloads known so far; grows as sources are listed (listing overlaps with downloads).
    virtual void planned(std::size_t /*files*/, std::uint64_t /*bytes*/) {}
    // Every listed file with what happens to it, also in a dry run.
    virtual void decided(const FileEvent& /*file*/, FileState /*state*/) {}
    virtual void started(const FileEvent& /*file*/) {}
    virtual void received(std::uint64_t /*bytes*/) {} // bytes since the last call
    // `error` is null when the file is in place.
    virtual void finished(const FileEvent& /*file*/, const UsageError* /*error*/) {}
};

struct SyncOptions {
    std::filesystem::path cache_file; // empty: default_cache_path() of the settings' file
    unsigned jobs = 0;    // parallel downloads, each with its own plugin instance; 0: from the link
    bool dry_run = false; // decide and report; change nothing on disk
    std::stop_token stop; // ends the run cleanly: temporaries removed, cache saved
    SyncObserver* observer = nullptr;
    SecretPrompt prompt;         // asks for a password or token; unset: never ask
    Keyring* keyring = nullptr;  // where secrets are kept between runs (keyring.hpp); unset: none
    SecretConfirm offer_to_keep; // whether to keep a typed secret in the keyring; unset: never
};

struct SyncReport {
    std::array<std::size_t, file_state_count> counts{}; // indexed by FileState
    std::size_t failed = 0;                             // files that could not be synced
    std::uint64_t bytes_downloaded = 0;
    std::chrono::milliseconds duration{};
    std::vector<Warning> warnings;
    std::vector<UsageError> errors; // connections, sources and files that failed
    bool cancelled = false;
    bool dry_run = false;

    std::size_t count(FileState state) const { return counts[static_cast<std::size_t>(state)]; }
    // The contract: 0 when every listed file is in step (warnings allowed), 1 when something
    // failed or the run was stopped.
    int exit_code() const { return errors.empty() && !cancelled ? 0 : 1; }
};

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

    expected<SyncReport, UsageError> run() {
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
        std::optional<CacheLock> lock;
        if (!options_.dry_run) {
            auto acquired = CacheLock::acquire(cache_file_);
            if (!acquired)
                return fail(acquired.error());
            lock.emplace(std::move(*acquired));
        }
        auto cache = FileCache::load(
            cache_file_, [this](const Warning& w) { warn(w); }, !options_.dry_run);
        if (!cache)
            return fail(cache.error());
        cache_ = std::move(*cache);
        if (!options_.dry_run) {
            // Journaled just before the rename, which changes the change time: the rest of the
            // identity tells whether the file is still the one placed; its content is
            // confirmed on the next look (racy).
            cache_.replay(CacheJournal::path_for(cache_file_),
                          [](const std::string& local_path, CacheEntry& entry) {
                              struct ::stat info {};
                              if (::lstat(local_path.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
                                  return false;
                              auto now = LocalIdentity::of(info);
                              now.ctime_ns = entry.local.ctime_ns;
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

        // Every password is asked before the first transfer: the run then goes on unattended and
        // prompts never interleave with progress output.
        for (std::size_t index = 0; index < settings_.connections.size(); ++index)
            if (!sources_of(settings_.connections[index]).empty() &&
                !options_.stop.stop_requested())
                resolved_[index] = resolve_options(index);
        {
            std::vector<std::jthread> workers;
            workers_ = &workers;
            if (!options_.dry_run)
                for (unsigned i = 0; i < (options_.jobs > 0 ? options_.jobs : jobs_for_link({}));
                     ++i)
                    workers.emplace_back([this] { work(); });
            for (std::size_t index = 0; index < settings_.connections.size(); ++index) {
                if (options_.stop.stop_requested())
                    break;
                plan_connection(index);
            }
            queue_.close();
            workers_ = nullptr;
        } // joins the workers
        report_lost_connections();
        if (!options_.stop.stop_requested())
            report_remote_deletions();
        settle_placed();
        report_.cancelled = options_.stop.stop_requested();
        if (!options_.dry_run) {
            // Unchanged, the cache on disk is already right (a no-change run writes nothing).
            if (auto saved =
                    cache_.changed() ? cache_.save(cache_file_) : expected<void, UsageError>{};
                !saved)
                report_.errors.push_back(saved.error());
            else
                journal_->remove();
        }
        report_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        return std::move(report_);
    }

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
        std::vector<std::string> unlisted{}; // subfolders whose records stay, as the remote names
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

    void report_lost_connections() {
        for (auto& [name, lost] : lost_connections_) {
            UsageError e = std::move(*lost.first);
            e.message += fmt::format("; {} file{} not downloaded, the next run tries again",
                                     lost.files, lost.files == 1 ? "" : "s");
            e.path.clear();
            report_.errors.push_back(std::move(e));
        }
    }

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
    expected<Options, UsageError> resolve_options(std::size_t index) {
        const Connection& connection = settings_.connections[index];
        auto entry = PluginRegistry::find(connection.plugin);
        if (!entry) {
            auto e = entry.error();
            e.connection = connection.name;
            return fail(std::move(e));
        }
        Options options = connection.options;
        if ((*entry)->secret) {
            const SecretSpec& spec = *(*entry)->secret;
            SecretOrigin& origin = secret_origins_[index];
            origin.what = spec.what;
            origin.item = keyring_item(connection.plugin, options, spec);
            if (const auto same = same_account(index, spec)) {
                origin.source = secret_origins_[*same].source;
                options.set_secret((*resolved_[*same])->secret());
                return options;
            }
            auto secret = resolve_secret(
                connection.name, connection.plugin, options, spec,
                {options_.prompt, options_.keyring, options_.offer_to_keep, options_.stop});
            if (!secret)
                return fail(secret.error());
            origin.source = secret->source;
            origin.keep = secret->keep;
            options.set_secret(std::move(secret->value).take());
        }
        return options;
    }

    // An earlier connection to the same account (its keyring item) whose secret came from the
    // keyring or a prompt: that secret is this one's too, so it is asked once. A command or
    // variable configured for this connection comes first.
    std::optional<std::size_t> same_account(std::size_t index, const SecretSpec& spec) const {
        const Connection& connection = settings_.connections[index];
        const SecretOrigin& origin = secret_origins_[index];
        if (!origin.item || configured_secret_source(connection.name, connection.options, spec))
            return std::nullopt;
        for (std::size_t earlier = 0; earlier < index; ++earlier) {
            const SecretOrigin& other = secret_origins_[earlier];
            if (other.item == origin.item && resolved_[earlier] && *resolved_[earlier] &&
                (other.source == SecretSource::keyring || other.source == SecretSource::prompt))
                return earlier;
        }
        return std::nullopt;
    }

    // After the server accepted a typed secret the user wants kept: into the keyring, once.
    // A kept secret the server refuses is said to be the keyring's, with the way to replace it,
    // and is not asked again.
    expected<void, UsageError> after_connect(std::size_t index,
                                             expected<void, UsageError> connected) {
        SecretOrigin& origin = secret_origins_[index];
        const std::string& name = settings_.connections[index].name;
        if (!connected) {
            auto e = connected.error();
            if (e.kind == ErrorKind::authentication && origin.source == SecretSource::keyring)
                e.message = fmt::format("the {} kept in the keyring for `{}` was refused: "
                                        "`kitovu login {}`",
                                        origin.what, name, name);
            return fail(std::move(e));
        }
        if (origin.keep && options_.keyring != nullptr)
            std::call_once(origin.stored, [&] {
                auto stored = options_.keyring->store(*origin.item, (*resolved_[index])->secret());
                if (stored.status != KeyringAnswer::Status::done)
                    warn(Warning{
                        WarningKind::keyring,
                        fmt::format("the {} was not remembered: {}", origin.what, stored.why),
                        name,
                        {}});
            });
        return {};
    }

    std::vector<const Source*> sources_of(const Connection& connection) const {
        std::vector<const Source*> sources;
        for (const Subject& subject : settings_.subjects)
            for (const Source& source : subject.sources)
                if (source.connection == connection.name)
                    sources.push_back(&source);
        return sources;
    }

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
    expected<Instance, UsageError> open(std::size_t index) {
        const Connection& connection = settings_.connections[index];
        auto plugin = PluginRegistry::create(connection.plugin);
        if (!plugin) {
            auto e = plugin.error();
            e.connection = connection.name;
            return fail(std::move(e));
        }
        if (auto configured = (*plugin)->configure(connection.name, **resolved_[index]);
            !configured)
            return fail(configured.error());
        Instance instance{std::move(*plugin), nullptr};
        instance.interrupt = std::make_unique<std::stop_callback<Instance::Stopper>>(
            options_.stop, Instance::Stopper{instance.plugin.get()});
        if (auto connected = after_connect(index, instance->connect()); !connected)
            return fail(connected.error());
        return instance;
    }

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
        if (seen.size && listed.size != 0 && *seen.size != listed.size)
            return true;
        return seen.mtime && (*seen.mtime != listed.mtime || seen.mtime_nsec != listed.mtime_nsec);
    }

    void download(SyncPlugin& plugin, const Connection& connection, Job& job,
                  std::mt19937_64& random);

    // Moves a complete temporary to its final name. A new file never replaces anything (a file
    // that appeared meanwhile is somebody's and makes this a conflict); a replacement happens
    // only if the local file is still what it was when the engine decided.
    expected<void, UsageError> place(int folder, const std::string& temporary, Job& job);

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
    FileCache cache_;
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
    // Of the source being listed: folders skipped, as it names them, and folders saved under a
    // conflict name, by local path below its target folder.
    std::unordered_set<std::string> skipped_folders_;
    std::unordered_map<std::string, std::string> redirected_folders_;
    bool follow_moves_ = false;    // the source has records: new files may be moved ones
    std::vector<Listed> arrivals_; // its new files, decided when its listing is complete
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
        return detail::Engine{settings, options, warn}.run();
    } catch (const std::bad_alloc&) {
        return fail(ErrorKind::internal, "out of memory");
    } catch (const std::exception& e) {
        return fail(ErrorKind::internal, std::string{"unexpected failure: "} + e.what());
    }
}

} // namespace kitovu

// The engine's steps, defined apart so that each file holds one: planning (list, decide,
// folders, deletions), following moves, and transfer (workers, downloads, placement).
#include "kitovu/engine/follow_moves.hpp"
#include "kitovu/engine/planning.hpp"
#include "kitovu/engine/transfer.hpp"
