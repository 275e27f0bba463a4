// The engine's workers (see engine.hpp): downloads into temporaries, checked against the
// listing, moved into place (placement.hpp) and recorded; files placed this run are settled
// once the clock has moved on.
#pragma once

#include "kitovu/engine/engine.hpp"

namespace kitovu::detail {

inline void Engine::settle_placed() {
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

inline void Engine::work() noexcept {
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

inline void Engine::add_workers_for(const SyncPlugin& lister) {
    if (options_.jobs > 0 || options_.dry_run || workers_ == nullptr)
        return;
    const unsigned wanted = jobs_for_link(lister.round_trip());
    while (workers_->size() < wanted)
        workers_->emplace_back([this] { work(); });
}

inline void Engine::work_queue() {
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
            stopped_by_user(e, connection);
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

inline void Engine::download(SyncPlugin& plugin, const Connection& connection, Job& job,
                             std::mt19937_64& random) {
    const FileEvent event{connection.name, job.remote_path, job.target, job.entry.size};
    observe([&](SyncObserver& o) { o.started(event); });
    const auto finish = [&](std::optional<UsageError> problem) {
        observe([&](SyncObserver& o) { o.finished(event, problem ? &*problem : nullptr); });
        if (problem)
            error(std::move(*problem), true);
    };
    const auto file_error = [&](ErrorKind kind, std::string message) {
        return UsageError{kind, std::move(message), connection.name, job.local_path.string(), {}};
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
    const auto discard = [&] { temporary.discard(folder.fd); };
    ContentHash hash;
    std::uint64_t bytes = 0;
    auto retrieved = plugin.retrieve(
        job.entry, [&](std::span<const std::byte> chunk) -> expected<void, UsageError> {
            if (options_.stop.stop_requested())
                return fail(ErrorKind::cancelled, "stopped");
            // More than listed: the file grew, or it is a device that never ends. Refused before
            // a byte of it is written, so that no plugin can fill the disk.
            if (job.entry.size != 0 && bytes + chunk.size() > job.entry.size)
                return fail(ErrorKind::protocol,
                            fmt::format("more bytes than the listing said ({}); it may be "
                                        "changing on the remote, the next run tries again",
                                        job.entry.size),
                            job.local_path.string());
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
        if (stopped_by_user(e, connection))
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
        const UsageError e{
            ErrorKind::protocol, "changed while downloading", connection.name, job.remote_path, {}};
        observe([&](SyncObserver& o) { o.finished(event, &e); });
        {
            std::scoped_lock lock{mutex_};
            ++report_.failed; // not in step: the run is not exit 0
        }
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
        {0, UTIME_OMIT}, {static_cast<std::time_t>(got.mtime), static_cast<long>(got.mtime_nsec)}};
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
                     job.entry.id,
                     job.entry.fingerprint};
    if (job.state != FileState::conflict)
        if (auto journaled = journal_->append(job.local_path.string(), entry); !journaled) {
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
        job.state = job.previous ? FileState::unchanged : FileState::adopted;
    } else if (job.state == FileState::conflict) {
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

inline expected<std::optional<LocalIdentity>, UsageError>
Engine::place(int folder, const Temporary& temporary, const std::string& hash, Job& job) {
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
            observe([&](SyncObserver& o) {
                o.replacing(FileEvent{settings_.connections[job.connection].name, job.remote_path,
                                      job.local_path, job.entry.size});
            });
            switch (replace_checked(folder, temporary.name, temporary.fd, name, *seen)) {
            case Replaced::done: return std::nullopt;
            case Replaced::failed:
                return io_error("cannot move the download into place: " + errno_message());
            case Replaced::edited: break;
            }
        }
        job.state = FileState::conflict; // edited since kitovu looked: the edit wins
    }
    for (int attempt = 1; attempt <= 100; ++attempt) {
        if (job.state == FileState::conflict) {
            if (attempt == 1)
                if (auto local = look_at(folder, name); local && local->hash == hash)
                    return LocalIdentity::of(local->info);
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
            job.state = FileState::conflict; // a local file appeared while downloading
            job.previous.reset();
            attempt = 0;
        }
    }
    return io_error("cannot find a free name for the conflict copy");
}

} // namespace kitovu::detail
