// The sync engine: lists every source, decides per file what to do (decide.hpp), downloads in
// parallel into temporaries that are moved into place (placement.hpp), and records the result
// in the file cache. A local edit is never overwritten.
#pragma once

#include "kitovu/cache_journal.hpp"
#include "kitovu/cache_lock.hpp"
#include "kitovu/credentials.hpp"
#include "kitovu/decide.hpp"
#include "kitovu/filecache.hpp"
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
    unsigned jobs = 4;                // parallel downloads, each with its own plugin instance
    bool dry_run = false;             // decide and report; change nothing on disk
    std::stop_token stop;             // ends the run cleanly: temporaries removed, cache saved
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

// Reads the metadata of everything below `root`, so that the planner, which looks at each
// listed file's local copy, finds it in memory: run while the remote is listed, it overlaps
// the local disk reads of a cold cache with the listing. Symbolic links are not followed. On
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
        while (const ::dirent* entry = ::readdir(dir)) {
            const std::string_view name = entry->d_name;
            if (name == "." || name == "..")
                continue;
            if (sweep && name.starts_with(temporary_prefix)) {
                remove_dead_temporary(::dirfd(dir), entry->d_name);
                continue;
            }
            bool is_folder = entry->d_type == DT_DIR;
            if (!stop.stop_requested() || entry->d_type == DT_UNKNOWN) {
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
            if (!options_.dry_run)
                for (unsigned i = 0; i < std::max(1u, options_.jobs); ++i)
                    workers.emplace_back([this] { work(); });
            for (std::size_t index = 0; index < settings_.connections.size(); ++index) {
                if (options_.stop.stop_requested())
                    break;
                plan_connection(index);
            }
            queue_.close();
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

    void plan_connection(std::size_t index) {
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
            if (e.kind == ErrorKind::cancelled)
                return;
            if (e.connection.empty())
                e.connection = connection.name;
            e.message += fmt::format(" ({} source{} skipped)", sources.size(),
                                     sources.size() == 1 ? "" : "s");
            error(std::move(e), false);
            return;
        }
        for (const Source* source : sources) {
            if (options_.stop.stop_requested())
                break;
            auto& status = statuses_.emplace_back(SourceStatus{source});
            skipped_folders_.clear();
            redirected_folders_.clear();
            arrivals_.clear();
            follow_moves_ = has_records(connection.name, *source);
            // Decided batch by batch while the rest is listed, so downloads start early.
            auto listed = (*lister)->list(
                source->remote_dir,
                [source](std::string_view path, bool is_folder) {
                    return !source->ignore.ignores(path, is_folder);
                },
                [&](const Warning& w) {
                    if (w.kind != WarningKind::unlisted && w.kind != WarningKind::unavailable)
                        return warn(w);
                    status.unlisted.push_back(w.path);
                    Warning shown = w;
                    shown.path = join_remote(source->remote_dir, w.path);
                    warn(std::move(shown));
                },
                [&](std::span<RemoteEntry> batch) { plan_batch(index, **lister, status, batch); });
            follow_moves_ = false;
            if (!listed) {
                auto e = listed.error();
                if (e.kind == ErrorKind::cancelled)
                    break;
                if (e.connection.empty())
                    e.connection = connection.name;
                if (e.path.empty())
                    e.path = source->remote_dir;
                error(std::move(e), false);
            }
            if (!options_.stop.stop_requested())
                plan_arrivals(index, **lister, status, listed.has_value());
            if (!listed)
                continue;
            status.listed = !options_.stop.stop_requested();
        }
        (*lister)->disconnect();
    }

    struct Listed {
        RemoteEntry entry;
        std::string relative; // the local path below the source's target folder
    };

    // One folder's entries. The engine applies the ignore rules and name checks itself, whether
    // or not the plugin used `keep`. Of two remote names with one local name, the one already
    // synced there wins, else the one that needed no change, else the first by name: a
    // newcomer never takes the place of what is on disk.
    void plan_batch(std::size_t index, SyncPlugin& plugin, SourceStatus& status,
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
            auto relative = local_relative_path(entry.path);
            if (!relative) {
                warn(Warning{WarningKind::refused_name, relative.error().message + ", skipped",
                             connection.name, join_remote(source.remote_dir, entry.path)});
                continue;
            }
            listed.push_back(Listed{std::move(entry), relative->string()});
        }
        std::ranges::sort(listed, [](const Listed& a, const Listed& b) {
            return std::tie(a.relative, a.entry.path) < std::tie(b.relative, b.entry.path);
        });
        for (auto first = listed.begin(); first != listed.end();) {
            auto last = std::find_if(first, listed.end(), [&](const Listed& l) {
                return l.relative != first->relative;
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

    // 0: what is on disk came from this remote name; 1: the name needed no change; 2: other.
    int clash_rank(const std::string& connection, const Source& source, const Listed& item) {
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

        // Two sources (or two remote names that map to one local name) claiming one path: the
        // first keeps it, so files never flip-flop between them. Claimed paths are also the ones
        // listed this run (see report_remote_deletions). A remote folder that loses its local
        // name to a file, or to a folder of the same source, is skipped with everything in it
        // (its warning names it, its records stay): its files would otherwise race the winner's
        // for their names in whatever order the listing hands them out. Folders of two sources
        // merge.
        const auto claim = claims_.try_emplace(key, Claim{&source, entry.is_folder});
        if (!claim.second) {
            const Claim& holder = claim.first->second;
            warn(Warning{WarningKind::skipped,
                         fmt::format("{} is also provided by {}: {}; kept that one", key,
                                     holder.source->connection, holder.source->remote_dir),
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
            if (auto folder = ensure_folder(source.local_dir,
                                            std::filesystem::path{item.relative}.parent_path());
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
        std::optional<CacheEntry> previous;
        bool folder_in_the_way = exists && S_ISDIR(info.st_mode);
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
                previous = *record;
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
        if (state == FileState::new_file && !facts.known && may_defer && follow_moves_) {
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
            const bool stale = !previous || previous->plugin != connection.plugin ||
                               previous->remote_path != remote_path ||
                               previous->remote_digest != remote_digest ||
                               previous->local != identity || previous->racy || previous->gone ||
                               previous->remote_id != entry.id;
            if (state == FileState::local_changed && previous && previous->gone) {
                std::scoped_lock lock{mutex_};
                if (!options_.dry_run)
                    cache_.set_gone(key, false); // back on the remote
            } else if (state != FileState::local_changed && stale) {
                // In step with a stale or missing record: recorded silently. The content hash
                // stays only while it still describes the file.
                const bool same_bytes = previous && facts.known && !facts.local_changed;
                const bool racy = racily_clean(identity);
                std::string hash = same_bytes ? previous->content_hash : std::string{};
                if (racy && hash.empty())
                    hash = content_hash_of(name, folder_fd >= 0 ? folder_fd : AT_FDCWD)
                               .value_or(std::string{});
                record(key,
                       CacheEntry{connection.name, connection.plugin, remote_path, remote_digest,
                                  identity, std::move(hash), racy, false, entry.id});
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

    // A remote folder: made sure of locally. A file kitovu placed there and nobody changed gives
    // way to it; an edited or foreign file stays, and the remote folder is kept beside it under a
    // conflict name (the same one every run, found from the records of its files).
    void plan_folder(std::size_t index, const Source& source, const RemoteEntry& entry,
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
                if (!options_.dry_run && ::unlink(key.c_str()) != 0)
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

    // Where the files of a remote folder go when an edited file holds its name: the folder
    // earlier runs used for it (from the records of its files), else a new conflict name.
    std::string conflict_folder(const std::string& connection, const std::string& remote_path,
                                const std::filesystem::path& local) {
        const std::string prefix = remote_path + '/';
        {
            std::scoped_lock lock{mutex_};
            for (const auto& [path, record] : cache_.entries()) {
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
        }
        for (int attempt = 1;; ++attempt) {
            auto candidate = conflict_path(local, run_start_, attempt);
            std::error_code ec;
            if (!std::filesystem::exists(std::filesystem::symlink_status(candidate, ec)) ||
                attempt == 100)
                return candidate.string();
        }
    }

    // Whether the folder `key` holds only files kitovu placed and nobody changed since (and
    // folders of such): it may then give way to a remote file of its name.
    bool removable_folder(const std::string& key, const std::string& connection) {
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

    // Removes a folder removable_folder() accepted, and the records of its files.
    bool remove_folder(const std::string& key) {
        std::vector<std::string> files;
        std::error_code ec;
        for (std::filesystem::recursive_directory_iterator it{key, ec}, end; !ec && it != end;
             it.increment(ec))
            if (!it->is_directory(ec))
                files.push_back(it->path().string());
        if (std::filesystem::remove_all(key, ec) == static_cast<std::uintmax_t>(-1) || ec)
            return false;
        for (const auto& file : files)
            forget(file);
        known_folders_.clear(); // a folder below it may have been known
        current_folder_.clear();
        return true;
    }

    // ---- following renames and moves on the remote ---------------------------------------

    bool has_records(const std::string& connection, const Source& source) {
        const std::string prefix = source.local_dir.string() + '/';
        std::scoped_lock lock{mutex_};
        return std::ranges::any_of(cache_.entries(), [&](const auto& item) {
            return item.second.connection == connection && item.first.starts_with(prefix);
        });
    }

    // Files of the source that were new this run, now that the listing is complete: each that
    // is one of the synced files that disappeared (moves.hpp) is moved locally instead of
    // downloaded again; the rest is planned as usual.
    void plan_arrivals(std::size_t index, SyncPlugin& plugin, SourceStatus& status,
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
                if (std::ranges::any_of(status.unlisted, [&](const std::string& folder) {
                        return relative.starts_with(folder + '/');
                    }))
                    continue;
                vanished.push_back(MoveCandidate{
                    key, record.remote_id, move_name(record.remote_path), record.remote_digest});
            }
        }
        std::vector<MoveCandidate> arriving;
        arriving.reserve(arrivals.size());
        for (const Listed& item : arrivals)
            arriving.push_back(MoveCandidate{(source.local_dir / item.relative).string(),
                                             item.entry.id, move_name(item.entry.path),
                                             plugin.remote_digest(item.entry)});
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

    // Moves the local copy of `from` to where the listed `item` goes, with its record (journaled
    // first, like a download). False, touching nothing, when that cannot be done here (the new
    // place is taken, the old copy is gone or not a file): the caller plans it as new.
    bool move(std::size_t index, SyncPlugin& plugin, const Source& source, Listed& item,
              const std::string& from) {
        const Connection& connection = settings_.connections[index];
        const std::filesystem::path to = source.local_dir / item.relative;
        const std::string remote_path = join_remote(source.remote_dir, item.entry.path);
        struct ::stat info {};
        if (::lstat(from.c_str(), &info) != 0 || !S_ISREG(info.st_mode) ||
            ::lstat(to.c_str(), &info) == 0 || errno != ENOENT || ::lstat(from.c_str(), &info) != 0)
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
        moved.remote_path = remote_path;
        moved.remote_id = item.entry.id;
        moved.gone = false;
        const std::string remote_digest = plugin.remote_digest(item.entry);
        const bool same_remote_file = moved.remote_digest == remote_digest;
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
            if (::renameat2(old_folder.fd, old_name.c_str(), new_folder.fd, new_name.c_str(),
                            RENAME_NOREPLACE) != 0)
                return false;
            if (!edited &&
                ::fstatat(new_folder.fd, new_name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0)
                moved.local = LocalIdentity::of(info);
            std::scoped_lock lock{mutex_};
            cache_.erase(from);
            cache_.put(to.string(), moved);
        }
        const std::string relative_from =
            std::filesystem::path{from}.lexically_relative(source.local_dir).string();
        if (edited)
            warn(Warning{
                WarningKind::moved,
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

    // Folders that moves left empty and the remote no longer has go too (rmdir removes only
    // empty ones), up to the source's target folder.
    void remove_emptied_folders(const Source& source, std::vector<std::filesystem::path> folders) {
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

    // Creates base/relative folder by folder, refusing symbolic links and files in the way, so
    // nothing planted locally can redirect a download outside the target folder.
    expected<void, UsageError> ensure_folder(const std::filesystem::path& base,
                                             const std::filesystem::path& relative) {
        // Made sure of before (by an earlier batch or source): ancestors need no lstat again.
        if (known_folders_.contains((base / relative).string()))
            return {};
        std::filesystem::path folder = base;
        if (!known_folders_.contains(base.string())) {
            std::error_code ec;
            if (!options_.dry_run)
                std::filesystem::create_directories(base, ec);
            if (ec)
                return fail(ErrorKind::io, "cannot create the folder: " + ec.message(),
                            base.string());
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
                if (::mkdir(folder.c_str(), 0755) != 0 && errno != EEXIST)
                    return fail(ErrorKind::io, "cannot create the folder: " + errno_message(),
                                folder.string());
            } else if (S_ISLNK(info.st_mode)) {
                return fail(ErrorKind::io,
                            "a symbolic link is in the way; kitovu does not follow it",
                            folder.string());
            } else if (!S_ISDIR(info.st_mode)) {
                return fail(ErrorKind::io, "a file is in the way of this folder", folder.string());
            }
            known_folders_.insert(folder.string());
        }
        return {};
    }

    // Files synced before whose source was listed completely but that are gone remotely: the
    // local copy stays and the user hears it once. The record stays while the local copy is
    // there (a tombstone), so that the file's return is judged against what kitovu placed.
    void report_remote_deletions() {
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
            warn(Warning{WarningKind::remote_deleted,
                         "no longer on the remote; the local copy is kept", entry.connection, key});
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

    // Files placed this run are racily clean (an edit in the clock tick of their move would not
    // show in their identity). Once the clock has moved on, one read tells: the bytes kitovu
    // wrote are still there, and from now on any edit changes the identity. Read back while
    // they are still in memory; whatever cannot be confirmed stays racy for the next run.
    void settle_placed() {
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
            if (options_.stop.stop_requested())
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

    // ---- workers ------------------------------------------------------------------------------

    // A worker thread: an exception must not escape it (that would end the program).
    void work() noexcept {
        try {
            work_queue();
        } catch (const std::exception& e) {
            error(UsageError{ErrorKind::internal,
                             std::string{"a download worker failed: "} + e.what(),
                             {},
                             {},
                             {}},
                  false);
            while (queue_.pop()) {
            } // let the planner finish
        }
    }

    void work_queue() {
        // Each worker has its own plugin instance per connection, opened on first use.
        std::vector<Instance> plugins(settings_.connections.size());
        std::vector<std::optional<UsageError>> failures(settings_.connections.size());
        std::mt19937_64 random{std::random_device{}()};
        while (auto job = queue_.pop()) {
            if (options_.stop.stop_requested())
                continue; // drain: the run is ending
            const Connection& connection = settings_.connections[job->connection];
            if (!plugins[job->connection] && !failures[job->connection]) {
                auto opened = open(job->connection);
                if (opened)
                    plugins[job->connection] = std::move(*opened);
                else
                    failures[job->connection] = opened.error();
            }
            if (failures[job->connection]) {
                auto e = *failures[job->connection];
                e.path = job->remote_path;
                if (e.connection.empty())
                    e.connection = connection.name;
                error(std::move(e), true);
                continue;
            }
            if (lost(connection))
                continue;
            download(*plugins[job->connection], connection, *job, random);
        }
        for (auto& plugin : plugins)
            if (plugin)
                plugin->disconnect();
    }

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
                  std::mt19937_64& random) {
        const FileEvent event{connection.name, job.remote_path, job.target, job.entry.size};
        observe([&](SyncObserver& o) { o.started(event); });
        const auto finish = [&](std::optional<UsageError> problem) {
            observe([&](SyncObserver& o) { o.finished(event, problem ? &*problem : nullptr); });
            if (problem)
                error(std::move(*problem), true);
        };
        const auto file_error = [&](ErrorKind kind, std::string message) {
            return UsageError{
                kind, std::move(message), connection.name, job.local_path.string(), {}};
        };

        // Every write goes through a descriptor of the file's folder, opened without following
        // links: a folder swapped for a link after planning cannot redirect the download.
        Descriptor folder{open_folder_below(job.base, job.target.parent_path())};
        if (folder.fd < 0)
            return finish(
                file_error(ErrorKind::io, errno == ELOOP || errno == ENOTDIR
                                              ? "a symbolic link is in the way; kitovu "
                                                "does not follow it"
                                              : "cannot open the folder: " + errno_message()));
        const Temporary temporary = Temporary::create(folder.fd, random());
        if (temporary.fd < 0)
            return finish(
                file_error(ErrorKind::io, "cannot create a temporary file: " + errno_message()));
        Descriptor file{temporary.fd}; // open (and locked) until the file is placed
        const auto discard = [&] { ::unlinkat(folder.fd, temporary.name.c_str(), 0); };
        ContentHash hash;
        std::uint64_t bytes = 0;
        auto retrieved = plugin.retrieve(
            job.entry, [&](std::span<const std::byte> chunk) -> expected<void, UsageError> {
                if (options_.stop.stop_requested())
                    return fail(ErrorKind::cancelled, "stopped");
                for (std::size_t done = 0; done < chunk.size();) {
                    const auto n = ::write(file.fd, chunk.data() + done, chunk.size() - done);
                    if (n < 0 && errno == EINTR)
                        continue;
                    if (n < 0)
                        return fail(ErrorKind::io, "cannot write: " + errno_message(),
                                    job.local_path.string());
                    done += static_cast<std::size_t>(n);
                }
                hash.update(chunk);
                bytes += chunk.size();
                observe([&](SyncObserver& o) { o.received(chunk.size()); });
                return {};
            });
        if (!retrieved) {
            discard();
            UsageError e = retrieved.error();
            if (e.kind == ErrorKind::cancelled)
                return observe([&](SyncObserver& o) { o.finished(event, &e); });
            if (e.kind == ErrorKind::not_found) {
                observe([&](SyncObserver& o) { o.finished(event, &e); });
                return warn(Warning{WarningKind::vanished,
                                    "disappeared from the remote before it could be downloaded",
                                    connection.name, job.remote_path});
            }
            if (e.connection.empty())
                e.connection = connection.name;
            if (e.path.empty())
                e.path = job.remote_path;
            return finish(std::move(e));
        }
        if (changed_while_downloading(job.entry, *retrieved)) {
            discard();
            const UsageError e{ErrorKind::protocol,
                               "changed while downloading",
                               connection.name,
                               job.remote_path,
                               {}};
            observe([&](SyncObserver& o) { o.finished(event, &e); });
            return warn(Warning{WarningKind::changing,
                                "it changed while downloading; not placed, the next run fetches "
                                "it again",
                                connection.name, job.remote_path});
        }
        // A listed size of 0 means the remote does not know it (web pages, say).
        if (job.entry.size != 0 && bytes != job.entry.size) {
            discard();
            return finish(file_error(
                ErrorKind::protocol,
                fmt::format("got {} bytes, the listing said {}; it may be changing on the remote, "
                            "the next run tries again",
                            bytes, job.entry.size)));
        }
        RemoteEntry got = job.entry;
        got.size = bytes;
        const ::timespec times[2] = {
            {0, UTIME_OMIT},
            {static_cast<std::time_t>(got.mtime), static_cast<long>(got.mtime_nsec)}};
        struct ::stat written {};
        if (::futimens(file.fd, times) != 0 || ::fstat(file.fd, &written) != 0) {
            const std::string why = errno_message();
            discard();
            return finish(file_error(ErrorKind::io, "cannot set the modification time: " + why));
        }
        // Racy until confirmed by content: an edit right after the move, in the same clock tick,
        // would leave the identity as it is.
        CacheEntry entry{connection.name,
                         connection.plugin,
                         job.remote_path,
                         plugin.remote_digest(got),
                         LocalIdentity::of(written),
                         hash.hex(),
                         true,
                         false,
                         job.entry.id};
        if (job.state != FileState::conflict)
            if (auto journaled = journal_->append(job.local_path.string(), entry); !journaled) {
                discard();
                return finish(journaled.error());
            }
        auto placed = place(folder.fd, temporary.name, job);
        if (!placed) {
            discard();
            return finish(placed.error());
        }
        if (job.state == FileState::conflict) {
            warn(conflict_warning(connection.name, job.local_path, job.target));
            // The record keeps describing the local file as kitovu left it, so the edit stays
            // an edit; the remote side is now in step.
            const CacheEntry kept = job.previous.value_or(CacheEntry{});
            entry.local = kept.local;
            entry.content_hash = kept.content_hash;
            entry.racy = kept.racy;
        } else if (::fstat(file.fd, &written) == 0) {
            entry.local = LocalIdentity::of(written); // the move changed the change time
        }
        record(job.local_path.string(), std::move(entry));
        {
            std::scoped_lock lock{mutex_};
            report_.bytes_downloaded += bytes;
            ++report_.counts[static_cast<std::size_t>(job.state)];
        }
        finish(std::nullopt);
    }

    // Moves a complete temporary to its final name. A new file never replaces anything (a file
    // that appeared meanwhile is somebody's and makes this a conflict); a replacement happens
    // only if the local file is still what it was when the engine decided.
    expected<void, UsageError> place(int folder, const std::string& temporary, Job& job) {
        const auto io_error = [&](std::string message) {
            return fail(ErrorKind::io, std::move(message), job.local_path.string());
        };
        const std::string name = job.local_path.filename().string();
        if (job.state == FileState::remote_changed) {
            struct ::stat now {};
            if (::fstatat(folder, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(now.st_mode) && LocalIdentity::of(now) == job.seen) {
                if (::renameat(folder, temporary.c_str(), folder, name.c_str()) != 0)
                    return io_error("cannot move the download into place: " + errno_message());
                return {};
            }
            job.state = FileState::conflict; // edited while downloading: the edit wins
        }
        for (int attempt = 1; attempt <= 100; ++attempt) {
            if (job.state == FileState::conflict)
                job.target = conflict_path(job.local_path, run_start_, attempt);
            if (place_new(folder, temporary, job.target.filename().string()))
                return {};
            if (errno != EEXIST)
                return io_error("cannot move the download into place: " + errno_message());
            if (job.state == FileState::new_file) {
                job.state = FileState::conflict; // a local file appeared while downloading
                job.previous.reset();
                attempt = 0;
            }
        }
        return io_error("cannot find a free name for the conflict copy");
    }

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
