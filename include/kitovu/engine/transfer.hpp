// A transfer worker: takes jobs from the planner's queue and, with a plugin instance of its own
// per connection, downloads each into a temporary beside its place, checks it against the
// listing, hands it to placement (disk/placement.hpp) and records it in the ledger.
#pragma once

#include "kitovu/decide/decide.hpp"
#include "kitovu/disk/placement.hpp"
#include "kitovu/engine/connections.hpp"
#include "kitovu/engine/job.hpp"
#include "kitovu/engine/ledger.hpp"
#include "kitovu/engine/work_queue.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace kitovu::detail {

// Whether what the plugin saw after the read is not the listed file.
inline bool changed_while_downloading(const RemoteEntry& listed, const Retrieved& seen) {
    if (seen.changed)
        return true;
    if (seen.size && listed.size != 0 && *seen.size != listed.size)
        return true;
    return seen.mtime && (*seen.mtime != listed.mtime || seen.mtime_nsec != listed.mtime_nsec);
}

class Transfer {
  public:
    Transfer(const Settings& settings, const SyncOptions& options, Connections& connections,
             Ledger& ledger, std::time_t run_start)
        : settings_(settings), options_(options), connections_(connections), ledger_(ledger),
          run_start_(run_start), plugins_(settings.connections.size()),
          failures_(settings.connections.size()) {}

    // Downloads the queue's jobs until it is closed and empty. Run in a thread of its own: an
    // exception must not escape it (that would end the program).
    void work(WorkQueue<Job>& queue) noexcept {
        try {
            work_through(queue);
        } catch (const std::exception& e) {
            ledger_.error(UsageError{ErrorKind::internal,
                                     std::string{"a download worker failed: "} + e.what(),
                                     {},
                                     {},
                                     {}},
                          false);
            while (queue.pop()) {
            } // let the planner finish
        }
    }

  private:
    void work_through(WorkQueue<Job>& queue) {
        while (auto job = queue.pop()) {
            if (options_.stop.stop_requested())
                continue; // drain: the run is ending
            const Connection& connection = settings_.connections[job->connection];
            // Each connection's instance is opened on first use.
            if (!plugins_[job->connection] && !failures_[job->connection]) {
                auto opened = connections_.open(job->connection);
                if (opened)
                    plugins_[job->connection] = std::move(*opened);
                else
                    failures_[job->connection] = opened.error();
            }
            if (failures_[job->connection]) {
                auto e = *failures_[job->connection];
                connections_.stopped_by_user(e, connection);
                e.path = job->remote_path;
                ledger_.error(with_place(std::move(e), connection.name), true);
                continue;
            }
            if (ledger_.lost(connection.name))
                continue;
            download(*plugins_[job->connection], connection, *job);
        }
        for (auto& plugin : plugins_)
            if (plugin)
                plugin->disconnect();
    }

    void download(SyncPlugin& plugin, const Connection& connection, Job& job) {
        const FileEvent event{connection.name, job.remote_path, job.target, job.entry.size};
        ledger_.observe([&](SyncObserver& o) { o.started(event); });
        const auto finish = [&](std::optional<UsageError> problem) {
            ledger_.observe(
                [&](SyncObserver& o) { o.finished(event, problem ? &*problem : nullptr); });
            if (problem)
                ledger_.error(std::move(*problem), true);
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
        const Temporary temporary = Temporary::create(folder.fd, random_());
        if (temporary.fd < 0)
            return finish(
                file_error(ErrorKind::io, "cannot create a temporary file: " + errno_message()));
        Descriptor file{temporary.fd}; // open (and locked) until the file is placed
        const auto discard = [&] { temporary.discard(folder.fd); };
        ContentHash hash;
        std::uint64_t bytes = 0;
        auto retrieved = plugin.retrieve(
            job.entry, [&](std::span<const std::byte> chunk) -> expected<void, UsageError> {
                if (options_.stop.stop_requested())
                    return fail(ErrorKind::cancelled, "stopped");
                // More than listed: the file grew, or it is a device that never ends. Refused
                // before a byte of it is written, so that no plugin can fill the disk.
                if (job.entry.size != 0 && bytes + chunk.size() > job.entry.size)
                    return fail(ErrorKind::protocol,
                                fmt::format("more bytes than the listing said ({}); it may be "
                                            "changing on the remote, the next run tries again",
                                            job.entry.size),
                                job.local_path.string());
                if (!temporary.write(chunk))
                    return fail(ErrorKind::io, "cannot write: " + errno_message(),
                                job.local_path.string());
                hash.update(chunk);
                bytes += chunk.size();
                ledger_.observe([&](SyncObserver& o) { o.received(chunk.size()); });
                return {};
            });
        if (!retrieved) {
            discard();
            UsageError e = retrieved.error();
            if (connections_.stopped_by_user(e, connection))
                return ledger_.observe([&](SyncObserver& o) { o.finished(event, &e); });
            if (e.kind == ErrorKind::not_found) {
                ledger_.observe([&](SyncObserver& o) { o.finished(event, &e); });
                return ledger_.warn(
                    Warning{WarningKind::vanished,
                            "disappeared from the remote before it could be downloaded",
                            connection.name, job.remote_path});
            }
            return finish(with_place(std::move(e), connection.name, job.remote_path));
        }
        if (changed_while_downloading(job.entry, *retrieved)) {
            discard();
            const UsageError e{ErrorKind::protocol,
                               "changed while downloading",
                               connection.name,
                               job.remote_path,
                               {}};
            ledger_.observe([&](SyncObserver& o) { o.finished(event, &e); });
            ledger_.not_in_step(); // the run is not exit 0
            return ledger_.warn(Warning{WarningKind::changing,
                                        "it changed while downloading; not placed, the next run "
                                        "fetches it again",
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
        struct ::stat written {};
        if (!temporary.finish(got.mtime, got.mtime_nsec, written)) {
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
                         job.entry.id,
                         job.entry.fingerprint};
        if (job.state != FileState::conflict)
            if (auto journaled = ledger_.journal().append(job.local_path.string(), entry);
                !journaled) {
                discard();
                return finish(journaled.error());
            }
        auto placed = place(folder.fd, temporary, hash.hex(), job);
        if (!placed) {
            discard();
            return finish(placed.error());
        }
        if (*placed) {
            // The local file holds these very bytes already: in step, no copy beside it.
            discard();
            entry.local = **placed;
            entry.racy = racily_clean(entry.local);
        } else if (job.state == FileState::conflict) {
            ledger_.warn(conflict_warning(connection.name, job.local_path, job.target));
            // The record keeps describing the local file as kitovu left it, so the edit stays
            // an edit; the remote side is now in step.
            const CacheEntry kept = job.previous.value_or(CacheEntry{});
            entry.local = kept.local;
            entry.content_hash = kept.content_hash;
            entry.racy = kept.racy;
        } else if (::fstat(file.fd, &written) == 0) {
            entry.local = LocalIdentity::of(written); // the move changed the change time
        }
        ledger_.record(job.local_path.string(), std::move(entry));
        ledger_.downloaded(bytes, job.state);
        finish(std::nullopt);
    }

    // Moves a complete temporary to its final name, or finds the local file holds its bytes
    // already (then returns that file's identity, and no copy is needed). A new file never
    // replaces anything (a file that appeared meanwhile is somebody's); a replacement happens
    // only if the local file is still what it was when the planner decided. What placement
    // finds turns the job's state as decide_at_placement says.
    expected<std::optional<LocalIdentity>, UsageError> place(int folder, const Temporary& temporary,
                                                             const std::string& hash, Job& job) {
        const auto io_error = [&](std::string message) {
            return fail(ErrorKind::io, std::move(message), job.local_path.string());
        };
        const std::string name = job.local_path.filename().string();
        if (job.state == FileState::remote_changed) {
            // The last look before the local file is replaced: it must still be the file kitovu
            // decided on, and its bytes those kitovu placed, whatever its times say (FAT keeps no
            // change time, and `touch -d` puts a modification time back).
            const auto seen = look_at(folder, name);
            const bool untouched = seen && LocalIdentity::of(seen->info) == job.seen &&
                                   (!job.previous || job.previous->content_hash.empty() ||
                                    seen->hash == job.previous->content_hash);
            if (untouched) {
                ledger_.observe([&](SyncObserver& o) {
                    o.replacing(FileEvent{settings_.connections[job.connection].name,
                                          job.remote_path, job.local_path, job.entry.size});
                });
                switch (replace_checked(folder, temporary.name, temporary.fd, name, *seen)) {
                case Replaced::done: return std::nullopt;
                case Replaced::failed:
                    return io_error("cannot move the download into place: " + errno_message());
                case Replaced::edited: break;
                }
            }
            job.state =
                decide_at_placement(job.state, AtPlacement::edited, job.previous.has_value());
        }
        for (int attempt = 1; attempt <= 100; ++attempt) {
            if (job.state == FileState::conflict) {
                if (attempt == 1)
                    if (auto local = look_at(folder, name); local && local->hash == hash) {
                        job.state = decide_at_placement(job.state, AtPlacement::holds_download,
                                                        job.previous.has_value());
                        return LocalIdentity::of(local->info);
                    }
                job.target = conflict_path(job.local_path, run_start_, attempt);
            }
            if (place_new(folder, temporary.name, job.target.filename().string()))
                return std::nullopt;
            if (errno == EILSEQ || errno == EINVAL || errno == EPERM || errno == ENAMETOOLONG)
                return io_error("the file system of the target folder refuses this name (" +
                                errno_message() + ")");
            if (errno != EEXIST)
                return io_error("cannot move the download into place: " + errno_message());
            if (job.state == FileState::new_file) {
                // A local file appeared while downloading: nothing of it is known.
                job.state = decide_at_placement(job.state, AtPlacement::taken, false);
                job.previous.reset();
                attempt = 0;
            }
        }
        return io_error("cannot find a free name for the conflict copy");
    }

    const Settings& settings_;
    const SyncOptions& options_;
    Connections& connections_;
    Ledger& ledger_;
    const std::time_t run_start_;
    std::vector<Instance> plugins_;                   // per connection, opened on first use
    std::vector<std::optional<UsageError>> failures_; // per connection: why it cannot be opened
    std::mt19937_64 random_{std::random_device{}()};
};

} // namespace kitovu::detail
