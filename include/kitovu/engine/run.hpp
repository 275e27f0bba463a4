// One run from start to end, wiring the engine's objects together: the Ledger (the cache under
// its lock, the report), the Connections (plugin instances and secrets), the Workers (Transfer
// threads fed by a queue) and the Planner, to which each source's listing goes batch by batch.
#pragma once

#include "kitovu/cache/files.hpp"
#include "kitovu/config/settings_model.hpp"
#include "kitovu/disk/folder_lock.hpp"
#include "kitovu/engine/connections.hpp"
#include "kitovu/engine/deletions.hpp"
#include "kitovu/engine/ledger.hpp"
#include "kitovu/engine/listing.hpp"
#include "kitovu/engine/local_tree.hpp"
#include "kitovu/engine/planner.hpp"
#include "kitovu/engine/sync_options.hpp"
#include "kitovu/engine/workers.hpp"
#include "kitovu/plugin/listing_loops.hpp"
#include "kitovu/plugin/remote_path.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <optional>
#include <span>
#include <thread>

namespace kitovu::detail {

class Run {
  public:
    Run(const Settings& settings, const SyncOptions& options, WarningSink warn,
        std::filesystem::path cache_file)
        : settings_(settings), options_(options),
          ledger_(followed_link(std::move(cache_file)), options.dry_run, warn, options.observer) {}

    // The cache file of a run: the one the options name, else the settings' default.
    static expected<std::filesystem::path, UsageError> cache_file(const Settings& settings,
                                                                  const SyncOptions& options) {
        if (!options.cache_file.empty())
            return options.cache_file;
        if (settings.file.empty())
            return fail(ErrorKind::usage, "no file cache given: set SyncOptions::cache_file "
                                          "(see default_cache_path)");
        return default_cache_path(settings.file);
    }

    expected<SyncReport, UsageError> run() {
        const auto started = std::chrono::steady_clock::now();
        if (auto held = ledger_.hold(); !held)
            return fail(held.error());
        // And one run at a time per target folder, whatever its config and cache
        // (folder_lock.hpp).
        std::optional<FolderLocks> folders;
        if (!options_.dry_run) {
            auto acquired = FolderLocks::acquire(target_folders(settings_));
            if (!acquired)
                return fail(acquired.error());
            folders.emplace(std::move(*acquired));
        }
        connections_.resolve_secrets();
        // A large cache takes as long to read as a login (and libsmbclient as long to load).
        ledger_.start_loading(target_folders(settings_));
        {
            Workers workers{settings_, options_, connections_, ledger_, run_start_};
            Planner planner{settings_, options_, ledger_, workers, run_start_};
            for (std::size_t index = 0; index < settings_.connections.size(); ++index) {
                if (options_.stop.stop_requested() || ledger_.failed_to_load())
                    break;
                list_connection(index, planner, workers);
            }
            workers.finish();
            if (!ledger_.ready())
                return fail(ledger_.load_error());
            ledger_.report_lost_connections();
            if (!options_.stop.stop_requested())
                report_remote_deletions(ledger_, planner.statuses(), planner.claims());
        }
        ledger_.settle_placed(options_.stop);
        return ledger_.finish(options_.stop.stop_requested(), started);
    }

  private:
    // Lists every source of a connection with one plugin instance, each listing's batches
    // going to the planner while the rest is listed, so downloads start early.
    void list_connection(std::size_t index, Planner& planner, Workers& workers) {
        const Connection& connection = settings_.connections[index];
        const auto sources = sources_of(settings_, connection);
        if (sources.empty())
            return;

        // Stopped and joined when this connection is listed.
        std::jthread read_ahead{[&sources, sweep = !options_.dry_run](std::stop_token stop) {
            for (const Source* source : sources)
                read_ahead_metadata(source->local_dir, sweep, stop);
        }};
        if (!connections_.resolved(index)) // the run was stopped before its secret was found
            return;
        auto lister = connections_.open(index);
        if (!lister) {
            auto e = lister.error();
            if (connections_.stopped_by_user(e, connection))
                return;
            e.message += fmt::format(" ({} source{} skipped)", sources.size(),
                                     sources.size() == 1 ? "" : "s");
            return ledger_.error(with_place(std::move(e), connection.name), false);
        }
        if (!ledger_.ready())
            return;
        for (const Source* source : sources) {
            if (options_.stop.stop_requested())
                break;
            const bool synced_before = ledger_.has_records(connection.name, source->local_dir);
            SourceStatus& status = planner.begin_source(*source, synced_before);
            (*lister)->set_synced_folders(ledger_.with_cache([&](const FileCache& cache) {
                return synced_folders(cache, connection.name, *source);
            }));
            ListingLoops loops;
            auto listed = (*lister)->list(
                source->remote_dir,
                [source, &loops](std::string_view path, bool is_folder) {
                    return !source->ignore.ignores(path, is_folder) && !loops.inside_loop(path);
                },
                [&](const Warning& w) {
                    if (w.kind != WarningKind::unlisted && w.kind != WarningKind::unavailable)
                        return ledger_.warn(w);
                    status.unlisted.push_back(w.path);
                    Warning shown = w;
                    shown.path = join_remote(source->remote_dir, w.path);
                    ledger_.warn(std::move(shown));
                },
                [&](std::span<RemoteEntry> batch) {
                    workers.add_for(**lister);
                    const auto [kept, found] = loops.take(batch);
                    for (const ListingLoops::Loop& loop : found) {
                        status.unlisted.push_back(loop.folder);
                        ledger_.warn(Warning{
                            WarningKind::unlisted,
                            fmt::format("lists the same as '{}' (a link to it?), skipped: it is "
                                        "synced once",
                                        join_remote(source->remote_dir, loop.same_as)),
                            connection.name, join_remote(source->remote_dir, loop.folder)});
                    }
                    planner.take(index, **lister, status, batch.first(kept));
                });
            if (!listed) {
                auto e = listed.error();
                if (connections_.stopped_by_user(e, connection))
                    break;
                if (e.kind == ErrorKind::not_found && synced_before)
                    e.message += " (synced before: the local files are kept)";
                ledger_.error(with_place(std::move(e), connection.name, source->remote_dir), false);
            }
            planner.end_source(index, **lister, status, listed.has_value());
            if (!listed)
                continue;
            if (status.entries > 0 && status.refused == status.entries)
                ledger_.error(
                    {.kind = ErrorKind::protocol,
                     .message = fmt::format("none of the {} listed entr{} could be "
                                            "placed (every name was refused)",
                                            status.entries, status.entries == 1 ? "y" : "ies"),
                     .connection = connection.name,
                     .path = source->remote_dir},
                    false);
            status.listed = !options_.stop.stop_requested();
        }
        (*lister)->disconnect();
    }

    const Settings& settings_;
    const SyncOptions& options_;
    const std::time_t run_start_ = std::time(nullptr);
    Ledger ledger_;
    Connections connections_{settings_, options_, ledger_};
};

} // namespace kitovu::detail
