// The sync engine: lists every source, decides per file what to do (the contract's table),
// downloads in parallel into temporaries that are renamed into place, and records the result
// in the file cache. A local edit is never overwritten.
#pragma once

#include "kitovu/credentials.hpp"
#include "kitovu/filecache.hpp"
#include "kitovu/names.hpp"
#include "kitovu/registry.hpp"
#include "kitovu/settings.hpp"

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

// What a sync does to one listed file; the words of the contract's table.
enum class FileState {
    new_file,       // not here yet: downloaded
    remote_changed, // changed remotely, untouched locally: replaced
    unchanged,      // in step: nothing to do
    local_changed,  // edited locally, unchanged remotely: kept, nothing downloaded
    conflict,       // both changed (or never synced and different): remote copy saved beside
    remote_deleted, // synced before, gone remotely: local copy kept, reported once
    adopted,        // already here with the remote's content, never synced: recorded
};
inline constexpr std::size_t file_state_count = 7;

constexpr std::string_view to_string(FileState state) noexcept {
    switch (state) {
    case FileState::new_file: return "new";
    case FileState::remote_changed: return "remote-changed";
    case FileState::unchanged: return "unchanged";
    case FileState::local_changed: return "local-changed";
    case FileState::conflict: return "conflict";
    case FileState::remote_deleted: return "remote-deleted";
    case FileState::adopted: return "adopted";
    }
    return "unknown";
}

struct FileEvent {
    std::string_view connection;
    std::string_view remote_path;
    const std::filesystem::path& local_path; // for a conflict: where the remote copy goes
    std::uint64_t size;                      // remote size in bytes
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
    std::filesystem::path cache_file; // see default_cache_path()
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

// STEM.remote-conflict-YYYYMMDD-HHMMSS.EXT beside `file`; `attempt` > 1 adds -N when a copy
// of that name exists already.
inline std::filesystem::path conflict_path(const std::filesystem::path& file, std::time_t when,
                                           int attempt) {
    std::string name = fmt::format("{}.remote-conflict-{:%Y%m%d-%H%M%S}", file.stem().string(),
                                   fmt::localtime(when));
    if (attempt > 1)
        name += '-' + std::to_string(attempt);
    return file.parent_path() / (name + file.extension().string());
}

inline std::string join_remote(std::string_view dir, std::string_view path) {
    while (dir.ends_with('/'))
        dir.remove_suffix(1);
    return dir.empty() ? std::string{path} : std::string{dir} + '/' + std::string{path};
}

inline std::string errno_message() {
    return std::generic_category().message(errno);
}

// An open folder descriptor, closed at scope exit.
struct Folder {
    int fd = -1;
    explicit Folder(int descriptor) : fd(descriptor) {}
    Folder(const Folder&) = delete;
    Folder& operator=(const Folder&) = delete;
    ~Folder() {
        if (fd >= 0)
            ::close(fd);
    }
};

// Reads the metadata of everything below `root`, so that the planner, which looks at each
// listed file's local copy, finds it in memory: run while the remote is listed, it overlaps
// the local disk reads of a cold cache with the listing. Symbolic links are not followed.
inline void read_ahead_metadata(const std::filesystem::path& root, const std::stop_token& stop) {
    std::vector<std::string> folders{root.string()};
    while (!folders.empty() && !stop.stop_requested()) {
        const std::string folder = std::move(folders.back());
        folders.pop_back();
        DIR* dir = ::opendir(folder.c_str());
        if (dir == nullptr)
            continue;
        while (const ::dirent* entry = ::readdir(dir)) {
            const std::string_view name = entry->d_name;
            if (name == "." || name == ".." || stop.stop_requested())
                continue;
            struct ::stat info {};
            if (::fstatat(::dirfd(dir), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISDIR(info.st_mode))
                folders.push_back(folder + '/' + entry->d_name);
        }
        ::closedir(dir);
    }
}

// Opens `folder`, which lies inside `base`, one component at a time below `base` without
// following symbolic links; -1 with errno (ELOOP or ENOTDIR for a link) when that fails.
inline int open_folder_below(const std::filesystem::path& base,
                             const std::filesystem::path& folder) {
    int fd = ::open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (const auto& name : folder.lexically_relative(base)) {
        if (fd < 0)
            break;
        if (name.empty() || name == ".")
            continue;
        if (name == "..") {
            ::close(fd);
            errno = EINVAL;
            return -1;
        }
        const int next = ::openat(fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        const int saved = errno;
        ::close(fd);
        errno = saved;
        fd = next;
    }
    return fd;
}

class Engine {
  public:
    Engine(const Settings& settings, const SyncOptions& options, WarningSink warn)
        : settings_(settings), options_(options), user_sink_(warn), run_start_(std::time(nullptr)) {
        report_.dry_run = options.dry_run;
    }

    expected<SyncReport, UsageError> run() {
        const auto started = std::chrono::steady_clock::now();
        std::optional<CacheLock> lock;
        if (!options_.dry_run) {
            auto acquired = CacheLock::acquire(options_.cache_file);
            if (!acquired)
                return fail(acquired.error());
            lock.emplace(std::move(*acquired));
        }
        auto cache = FileCache::load(
            options_.cache_file, [this](const Warning& w) { warn(w); }, !options_.dry_run);
        if (!cache)
            return fail(cache.error());
        cache_ = std::move(*cache);
        if (!options_.dry_run) {
            cache_.replay(CacheJournal::path_for(options_.cache_file),
                          [this](const std::string& local_path, const CacheEntry& entry) {
                              auto plugin = PluginRegistry::create(entry.plugin);
                              if (!plugin)
                                  return false;
                              auto digest = (*plugin)->local_digest(local_path);
                              return digest && *digest == entry.local_digest;
                          });
            auto journal = CacheJournal::open(options_.cache_file);
            if (!journal)
                return fail(journal.error());
            journal_.emplace(std::move(*journal));
        }
        if (lock && lock->previous_run_crashed())
            remove_temporaries();

        // Every password is asked before the first transfer: the run then goes on unattended and
        // prompts never interleave with progress output.
        for (std::size_t index = 0; index < settings_.connections.size(); ++index)
            if (!sources_of(settings_.connections[index]).empty())
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
            close_queue();
        } // joins the workers
        if (!options_.stop.stop_requested())
            report_remote_deletions();
        report_.cancelled = options_.stop.stop_requested();
        if (!options_.dry_run) {
            // Unchanged, the cache on disk is already right (a no-change run writes nothing).
            if (auto saved = cache_.changed() ? cache_.save(options_.cache_file)
                                              : expected<void, UsageError>{};
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
        std::string seen_local_digest; // the local digest seen when deciding; "" if no file
        std::string kept_local_digest; // for conflicts: the local digest the cache keeps
        std::filesystem::path base;    // the source's target folder, which target is inside
    };

    // Where a source stands, for telling "gone remotely" from "not listed this time".
    struct SourceStatus {
        const Source* source;
        bool listed = false;
        std::vector<std::string>
            unlisted{}; // subfolders the plugin could not list, as it names them
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
        report_.errors.push_back(std::move(error));
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
        cache_.put(std::move(key), std::move(entry));
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
            auto secret =
                resolve_secret(connection.name, connection.plugin, options, spec,
                               {options_.prompt, options_.keyring, options_.offer_to_keep});
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

    // A configured, connected instance; resolve_options(index) has run.
    expected<std::unique_ptr<SyncPlugin>, UsageError> open(std::size_t index) {
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
        if (auto connected = after_connect(index, (*plugin)->connect()); !connected)
            return fail(connected.error());
        return std::move(*plugin);
    }

    // ---- planning: the calling thread lists and decides, workers download -------------------

    void plan_connection(std::size_t index) {
        const Connection& connection = settings_.connections[index];
        const auto sources = sources_of(connection);
        if (sources.empty())
            return;

        // Stopped and joined when this connection is planned.
        std::jthread read_ahead{[&sources](std::stop_token stop) {
            for (const Source* source : sources)
                read_ahead_metadata(source->local_dir, stop);
        }};
        auto lister = *resolved_[index] ? open(index) : fail(resolved_[index]->error());
        if (!lister) {
            auto e = lister.error();
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
            // Decided batch by batch while the rest is listed, so downloads start early.
            auto listed = (*lister)->list(
                source->remote_dir,
                [source](std::string_view path, bool is_folder) {
                    return !source->ignore.ignores(path, is_folder);
                },
                [&](const Warning& w) {
                    if (w.kind != WarningKind::unlisted)
                        return warn(w);
                    status.unlisted.push_back(w.path);
                    Warning shown = w;
                    shown.path = join_remote(source->remote_dir, w.path);
                    warn(std::move(shown));
                },
                [&](std::span<RemoteEntry> batch) {
                    // Sorted, so that of two names clashing the same one wins every run.
                    std::ranges::sort(batch, {}, &RemoteEntry::path);
                    for (RemoteEntry& entry : batch) {
                        if (options_.stop.stop_requested())
                            break;
                        plan_entry(index, **lister, *source, std::move(entry));
                    }
                });
            if (!listed) {
                auto e = listed.error();
                if (e.connection.empty())
                    e.connection = connection.name;
                if (e.path.empty())
                    e.path = source->remote_dir;
                error(std::move(e), false);
                continue;
            }
            status.listed = !options_.stop.stop_requested();
        }
        (*lister)->disconnect();
    }

    void plan_entry(std::size_t index, SyncPlugin& plugin, const Source& source,
                    RemoteEntry entry) {
        const Connection& connection = settings_.connections[index];
        const std::string remote_path = join_remote(source.remote_dir, entry.path);
        auto relative = local_relative_path(entry.path);
        if (!relative) {
            warn(Warning{WarningKind::refused_name, relative.error().message + ", skipped",
                         connection.name, remote_path});
            return;
        }
        const std::filesystem::path local = source.local_dir / *relative;
        std::string key = local.string();

        // Two sources (or two remote names that map to one local name) claiming one path: the
        // first keeps it, so files never flip-flop between them. Claimed paths are also the ones
        // listed this run (see report_remote_deletions). A remote folder that loses its local
        // name to a file, or to a folder of the same source, is skipped with everything in it
        // (its warning names it): its files would otherwise race the winner's for their names in
        // whatever order the listing hands them out. Folders of two sources merge.
        if (!skipped_folders_.empty())
            for (auto slash = entry.path.rfind('/'); slash != std::string::npos && slash > 0;
                 slash = entry.path.rfind('/', slash - 1))
                if (skipped_folders_.contains(entry.path.substr(0, slash)))
                    return;
        const auto claim = claims_.try_emplace(key, Claim{&source, entry.is_folder});
        if (!claim.second) {
            const Claim& holder = claim.first->second;
            warn(Warning{WarningKind::skipped,
                         fmt::format("{} is also provided by {}: {}; kept that one", local.string(),
                                     holder.source->connection, holder.source->remote_dir),
                         connection.name, remote_path});
            if (entry.is_folder && (!holder.is_folder || holder.source == &source))
                skipped_folders_.insert(entry.path);
            return;
        }
        // Files come sorted, so most are in the folder of the one before: that one was made
        // sure of already, and is open for the lstat (a lookup of one name, not a path walk).
        const auto slash = key.rfind('/');
        const std::string_view folder_key =
            entry.is_folder ? std::string_view{key} : std::string_view{key}.substr(0, slash);
        if (folder_key != current_folder_) {
            if (auto folder = ensure_folder(source.local_dir,
                                            entry.is_folder ? *relative : relative->parent_path());
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
        if (entry.is_folder)
            return;

        const auto fail_file = [&](std::string message) {
            error(
                UsageError{ErrorKind::io, std::move(message), connection.name, local.string(), {}},
                true);
        };
        struct ::stat info {};
        const bool exists = (current_folder_fd_->fd >= 0
                                 ? ::fstatat(current_folder_fd_->fd, key.c_str() + slash + 1, &info,
                                             AT_SYMLINK_NOFOLLOW)
                                 : ::lstat(local.c_str(), &info)) == 0;
        if (!exists && errno != ENOENT)
            return fail_file("cannot read the local file: " + errno_message());
        if (exists && S_ISLNK(info.st_mode))
            return fail_file("a symbolic link is in the way; kitovu does not follow it");
        if (exists && !S_ISREG(info.st_mode))
            return fail_file("a folder or special file is in the way");

        const std::string remote_digest = plugin.remote_digest(entry);
        std::string local_digest;
        if (exists) {
            auto digest = plugin.local_digest(local, info);
            if (!digest)
                return fail_file(digest.error().message);
            local_digest = std::move(*digest);
        }

        FileState state = FileState::new_file;
        std::string kept_local_digest;
        bool record_is_stale = true; // the cache's entry differs from what this run would record
        {
            std::scoped_lock lock{mutex_}; // workers write to the cache meanwhile
            const CacheEntry* previous = cache_.find(key);
            const bool known = previous != nullptr && previous->connection == connection.name;
            if (!exists)
                state = FileState::new_file;
            else if (local_digest == remote_digest)
                state = known ? FileState::unchanged : FileState::adopted;
            else if (!known)
                state = FileState::conflict;
            else {
                const bool remote_changed = previous->remote_digest != remote_digest;
                const bool local_changed = previous->local_digest != local_digest;
                if (!remote_changed)
                    state = local_changed ? FileState::local_changed : FileState::unchanged;
                else if (!local_changed)
                    state = FileState::remote_changed;
                else {
                    state = FileState::conflict;
                    kept_local_digest = previous->local_digest;
                }
            }
            record_is_stale = !known || previous->plugin != connection.plugin ||
                              previous->remote_path != remote_path ||
                              previous->remote_digest != remote_digest ||
                              previous->local_digest != local_digest;
        }

        const bool downloads = state == FileState::new_file || state == FileState::remote_changed ||
                               state == FileState::conflict;
        const std::filesystem::path target =
            state == FileState::conflict ? conflict_path(local, run_start_, 1) : local;
        observe([&](SyncObserver& o) {
            o.decided(FileEvent{connection.name, remote_path, target, entry.size}, state);
        });

        if (!downloads) {
            // Equal content with a stale or missing cache entry: recorded silently.
            if (state != FileState::local_changed && record_is_stale)
                record(key, CacheEntry{connection.name, connection.plugin, remote_path,
                                       remote_digest, local_digest});
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
        push(Job{index, std::move(entry), remote_path, local, target, state, local_digest,
                 kept_local_digest, source.local_dir});
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
    // local copy stays, the user hears it once, and the cache forgets them.
    void report_remote_deletions() {
        std::map<std::pair<std::string, std::string>, std::vector<const SourceStatus*>> by_folder;
        for (const auto& status : statuses_)
            by_folder[{status.source->connection, status.source->local_dir.string()}].push_back(
                &status);
        std::vector<std::string> forget;
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
            if (here && !owner->source->ignore.ignores(relative_remote, false)) {
                warn(Warning{WarningKind::remote_deleted,
                             "no longer on the remote; the local copy is kept", entry.connection,
                             key});
                count(FileState::remote_deleted);
            }
            forget.push_back(key);
        }
        if (!options_.dry_run)
            for (const auto& key : forget)
                cache_.erase(key);
    }

    // Removes temporaries a killed run left in the target folders.
    void remove_temporaries() {
        std::unordered_set<std::string> done;
        for (const Subject& subject : settings_.subjects)
            for (const Source& source : subject.sources) {
                if (!done.insert(source.local_dir.string()).second)
                    continue;
                std::error_code ec;
                auto it = std::filesystem::recursive_directory_iterator(
                    source.local_dir, std::filesystem::directory_options::skip_permission_denied,
                    ec);
                for (const auto end = std::filesystem::recursive_directory_iterator{};
                     !ec && it != end; it.increment(ec))
                    if (it->path().filename().string().starts_with(temporary_prefix) &&
                        !it->is_symlink())
                        std::filesystem::remove(it->path(), ec);
            }
    }

    // ---- workers ------------------------------------------------------------------------------

    // Waits while the queue is full: listing runs ahead of the downloads, but memory stays
    // bounded however large the tree.
    void push(Job job) {
        {
            std::unique_lock lock{queue_mutex_};
            queue_space_.wait(lock, [this] { return queue_.size() < max_queued; });
            queue_.push_back(std::move(job));
        }
        queue_ready_.notify_one();
    }

    void close_queue() {
        {
            std::scoped_lock lock{queue_mutex_};
            closed_ = true;
        }
        queue_ready_.notify_all();
    }

    std::optional<Job> pop() {
        std::unique_lock lock{queue_mutex_};
        queue_ready_.wait(lock, [this] { return closed_ || !queue_.empty(); });
        if (queue_.empty())
            return std::nullopt;
        Job job = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        queue_space_.notify_one();
        return job;
    }

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
            while (pop()) {
            } // let the planner finish
        }
    }

    void work_queue() {
        // Each worker has its own plugin instance per connection, opened on first use.
        std::vector<std::unique_ptr<SyncPlugin>> plugins(settings_.connections.size());
        std::vector<std::optional<UsageError>> failures(settings_.connections.size());
        std::mt19937_64 random{std::random_device{}()};
        while (auto job = pop()) {
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
                error(std::move(e), true);
                continue;
            }
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
        Folder folder{open_folder_below(job.base, job.target.parent_path())};
        if (folder.fd < 0)
            return finish(
                file_error(ErrorKind::io, errno == ELOOP || errno == ENOTDIR
                                              ? "a symbolic link is in the way; kitovu "
                                                "does not follow it"
                                              : "cannot open the folder: " + errno_message()));
        const std::string temporary_name = fmt::format("{}{:016x}", temporary_prefix, random());
        const std::filesystem::path temporary = job.target.parent_path() / temporary_name;
        const int fd = ::openat(folder.fd, temporary_name.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            return finish(
                file_error(ErrorKind::io, "cannot create a temporary file: " + errno_message()));
        std::uint64_t bytes = 0;
        auto retrieved = plugin.retrieve(
            job.entry, [&](std::span<const std::byte> chunk) -> expected<void, UsageError> {
                if (options_.stop.stop_requested())
                    return fail(ErrorKind::cancelled, "stopped");
                for (std::size_t done = 0; done < chunk.size();) {
                    const auto n = ::write(fd, chunk.data() + done, chunk.size() - done);
                    if (n < 0 && errno == EINTR)
                        continue;
                    if (n < 0)
                        return fail(ErrorKind::io, "cannot write: " + errno_message(),
                                    job.local_path.string());
                    done += static_cast<std::size_t>(n);
                }
                bytes += chunk.size();
                observe([&](SyncObserver& o) { o.received(chunk.size()); });
                return {};
            });
        const bool closed = ::close(fd) == 0;
        const auto discard = [&] { ::unlinkat(folder.fd, temporary_name.c_str(), 0); };

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
        if (!closed) {
            discard();
            return finish(file_error(ErrorKind::io, "cannot write: " + errno_message()));
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
        got.mtime = retrieved->value_or(job.entry.mtime);
        const ::timespec times[2] = {{0, UTIME_NOW}, {static_cast<std::time_t>(got.mtime), 0}};
        if (::utimensat(folder.fd, temporary_name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
            const std::string why = errno_message();
            discard();
            return finish(file_error(ErrorKind::io, "cannot set the modification time: " + why));
        }
        auto local_digest = plugin.local_digest(temporary);
        if (!local_digest) {
            discard();
            return finish(local_digest.error());
        }
        CacheEntry entry{connection.name, connection.plugin, job.remote_path,
                         plugin.remote_digest(got), *local_digest};
        if (job.state != FileState::conflict)
            if (auto journaled = journal_->append(job.local_path.string(), entry); !journaled) {
                discard();
                return finish(journaled.error());
            }
        auto placed = place(folder.fd, temporary_name, job, plugin);
        if (!placed) {
            discard();
            return finish(placed.error());
        }
        const bool as_conflict = job.state == FileState::conflict;
        if (as_conflict)
            warn(conflict_warning(connection.name, job.local_path, job.target));
        if (as_conflict)
            entry.local_digest = job.kept_local_digest;
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
    expected<void, UsageError> place(int folder, const std::string& temporary, Job& job,
                                     const SyncPlugin& plugin) {
        const auto io_error = [&](std::string message) {
            return fail(ErrorKind::io, std::move(message), job.local_path.string());
        };
        const auto become_conflict = [&](std::string kept_local_digest) {
            job.state = FileState::conflict;
            job.kept_local_digest = std::move(kept_local_digest);
            job.target = conflict_path(job.local_path, run_start_, 1);
        };
        if (job.state == FileState::remote_changed) {
            auto now = plugin.local_digest(job.local_path);
            if (now && *now == job.seen_local_digest) {
                if (::renameat(folder, temporary.c_str(), folder,
                               job.local_path.filename().c_str()) != 0)
                    return io_error("cannot move the download into place: " + errno_message());
                return {};
            }
            become_conflict(job.seen_local_digest); // edited while downloading: the edit wins
        }
        // An atomic "create only if absent": rename without replacing, or, where the file
        // system cannot (some network and FUSE file systems), link() and unlink.
        for (int attempt = 1; attempt <= 100; ++attempt) {
            if (job.state == FileState::conflict)
                job.target = conflict_path(job.local_path, run_start_, attempt);
            const std::string name = job.target.filename().string();
            int placed =
                ::renameat2(folder, temporary.c_str(), folder, name.c_str(), RENAME_NOREPLACE);
            if (placed != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
                placed = ::linkat(folder, temporary.c_str(), folder, name.c_str(), 0);
                if (placed == 0)
                    ::unlinkat(folder, temporary.c_str(), 0);
            }
            if (placed == 0)
                return {};
            if (errno != EEXIST)
                return io_error("cannot move the download into place: " + errno_message());
            if (job.state == FileState::new_file) {
                become_conflict({}); // a local file appeared while downloading
                attempt = 0;
            }
        }
        return io_error("cannot find a free name for the conflict copy");
    }

    const Settings& settings_;
    const SyncOptions& options_;
    WarningSink user_sink_;
    const std::time_t run_start_;

    std::mutex mutex_; // guards report_, cache_, planned_*, and calls to the sink and observer
    SyncReport report_;
    FileCache cache_;
    std::size_t planned_files_ = 0;
    std::uint64_t planned_bytes_ = 0;
    std::optional<CacheJournal> journal_; // appended by workers without the lock (see CacheJournal)

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
    std::unordered_set<std::string>
        skipped_folders_; // of the source being listed, as it names them
    std::unordered_set<std::string> known_folders_;
    std::string current_folder_;              // of the entry planned last, made sure of
    std::optional<Folder> current_folder_fd_; // it, opened; -1 when it could not be (a dry run)
    std::unordered_set<std::string> blocked_folders_;

    std::mutex queue_mutex_;
    static constexpr std::size_t max_queued = 2048;
    std::condition_variable queue_ready_;
    std::condition_variable queue_space_;
    std::deque<Job> queue_;
    bool closed_ = false;
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
