// The plugin conformance suite: every promise of plugin.hpp checked on one plugin against its
// own remote, as rclone's fstests run one battery against every backend. The suite needs no
// test framework; it returns a Report (testing/catch2.hpp asserts one in a Catch2 test).
//
//     auto report = kitovu::testing::check_plugin(kitovu::testing::registered("notes"), fixture);
//
// A fixture either lets the suite shape the remote (RemoteWriter: the test's own access to it,
// such as the folder a server shares) or describes what a remote the suite cannot write holds
// (`tree`). Checks the fixture cannot support are named in Report::not_checked.
#pragma once

#include "kitovu/plugin/plugin.hpp"
#include "kitovu/testing/browse_checks.hpp"
#include "kitovu/testing/checker.hpp"
#include "kitovu/testing/child_process.hpp"
#include "kitovu/testing/fixture.hpp"
#include "kitovu/testing/probes.hpp"
#include "kitovu/testing/remote_tree.hpp"
#include "kitovu/testing/stop_checks.hpp"

#include <stdlib.h> // setenv
#include <time.h>   // tzset

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace kitovu::testing {

namespace detail {

// The suite's state: what it expects of the remote and what it found.
class Suite : Checker {
  public:
    Suite(const PluginFactory& create, const Fixture& fixture, Progress progress)
        : Checker(create, fixture), progress_(std::move(progress)), tree_(fixture, report_) {}

    Report run() {
        progress_("configure");
        if (!check_configure())
            return std::move(report_);
        auto plugin = open();
        if (!plugin)
            return std::move(report_);
        if (fixture_.writer)
            tree_.build();
        progress_("list");
        const Listing listing = check_listing(*plugin);
        if (listing.result) {
            progress_("list in another time zone");
            check_time_zone(*plugin);
            progress_("browse");
            check_browse(*this, *plugin, listing);
            progress_("retrieve");
            check_retrieve(*plugin, listing);
            progress_("two instances");
            check_two_instances(*this, tree_, listing, *plugin);
            progress_("stop");
            check_stop(*this, tree_, listing);
            progress_("a server that holds still");
            check_hold_still(*this, tree_, listing);
            progress_("changes");
            if (fixture_.writer)
                check_changes(*plugin, listing);
            else
                report_.not_checked.push_back("a changed file's digest and a file removed since "
                                              "the listing (the suite cannot write this remote)");
            progress_("rename");
            check_rename(*plugin);
        }
        progress_("a missing folder");
        check_missing(*plugin);
        progress_("disconnect");
        plugin->disconnect();
        plugin->disconnect();
        return std::move(report_);
    }

    bool check_configure() {
        auto plugin = create_ ? create_() : nullptr;
        if (!check(plugin != nullptr, "factory", "made no instance (is the plugin registered?)"))
            return false;
        plugin->disconnect(); // safe when not connected
        if (fixture_.refused_options.empty())
            report_.not_checked.push_back("configure: that it refuses bad options (no "
                                          "refused_options)");
        for (std::size_t i = 0; i < fixture_.refused_options.size(); ++i) {
            auto fresh = create_();
            auto configured =
                seen(fresh->configure(fixture_.connection, fixture_.refused_options[i]));
            check(!configured && configured.error().kind == ErrorKind::config, "configure",
                  "refused_options[" + std::to_string(i) + "] gave " + error_text(configured) +
                      ", not a config error");
        }
        const auto configured = plugin->configure(fixture_.connection, fixture_.options);
        return check(static_cast<bool>(configured), "configure",
                     "the fixture's options were refused: " + error_text(configured));
    }

    Listing check_listing(SyncPlugin& plugin) {
        const std::string refuse = tree_.refused_folder();
        Listing listing = seen(list(plugin, fixture_.remote_dir, refuse));
        if (!check(static_cast<bool>(listing.result), "list",
                   "listing " + fixture_.remote_dir + " gave " + error_text(listing.result)))
            return listing;
        const auto all = listing.by_path();
        check(all.size() == listing.count(), "list: paths",
              "a path was listed twice (" + std::to_string(listing.count()) + " entries, " +
                  std::to_string(all.size()) + " paths)");

        // Paths: relative, '/'-separated, no empty, "." or ".." part, unless the fixture says
        // the remote names it so (the engine refuses such names itself).
        for (const auto& [path, entry] : all) {
            bool sane = !path.empty() && !path.starts_with('/') && !path.ends_with('/') &&
                        path.find("//") == std::string::npos;
            for (std::string_view part : {"./", "../"})
                sane = sane && !path.starts_with(part) &&
                       path.find('/' + std::string{part}) == std::string::npos;
            sane = sane && path != "." && path != ".." && !path.ends_with("/.") &&
                   !path.ends_with("/..");
            check(sane || tree_.described(path) != nullptr, "list: paths",
                  "'" + path + "' is not a relative '/'-separated path");
            check(!entry.is_folder || entry.size == 0, "list: sizes",
                  "folder '" + path + "' has size " + std::to_string(entry.size));
            check(entry.mtime_nsec < 1'000'000'000, "list: mtimes",
                  "'" + path + "' has mtime_nsec " + std::to_string(entry.mtime_nsec));
        }

        // What the remote holds: each expected entry once, as described.
        for (const TreeEntry& want : tree_.entries()) {
            if (RemoteTree::under(want.path, refuse) || want.path == refuse)
                continue;
            const auto it = all.find(want.path);
            if (!check(it != all.end(), "list: entries", "'" + want.path + "' was not listed"))
                continue;
            const RemoteEntry& got = it->second;
            check(got.is_folder == want.is_folder, "list: entries",
                  "'" + want.path + "' is listed as a " + (got.is_folder ? "folder" : "file"));
            if (want.is_folder)
                continue;
            check(got.size == want.size, "list: sizes",
                  "'" + want.path + "' is listed with " + std::to_string(got.size) +
                      " bytes, it has " + std::to_string(want.size));
            check(got.mtime == want.mtime, "list: mtimes",
                  "'" + want.path + "' is listed with mtime " + std::to_string(got.mtime) +
                      ", it has " + std::to_string(want.mtime));
        }
        for (const auto& [path, entry] : all) {
            const bool known = std::ranges::any_of(
                tree_.entries(), [&](const TreeEntry& e) { return e.path == path; });
            const bool hidden =
                std::ranges::any_of(tree_.unlisted(), [&](const std::string& folder) {
                    return RemoteTree::under(path, folder);
                });
            check(known || path == tree_.unreadable() || RemoteTree::under(path, refuse) ||
                      path == refuse ||
                      std::ranges::find(tree_.unlisted(), path) != tree_.unlisted().end(),
                  "list: entries", "'" + path + "' was listed but is not on the remote");
            check(!hidden, "list: unlistable folder",
                  "'" + path + "' was listed from a folder that cannot be listed");
        }

        // Batches: one folder's entries together, a folder's own entry no later than them.
        std::map<std::string, std::size_t> batch_of_folder, batch_of_entry;
        for (std::size_t b = 0; b < listing.batches.size(); ++b)
            for (const RemoteEntry& entry : listing.batches[b]) {
                batch_of_entry[entry.path] = b;
                const auto [it, first] = batch_of_folder.emplace(folder_of(entry.path), b);
                check(first || it->second == b, "list: batches",
                      "'" + entry.path + "' came in batch " + std::to_string(b) +
                          ", other entries of its folder in batch " + std::to_string(it->second) +
                          " (all of a folder's entries must come in one batch)");
            }
        for (const auto& [folder, b] : batch_of_folder) {
            const auto own = batch_of_entry.find(folder);
            check(folder.empty() || own == batch_of_entry.end() || own->second <= b,
                  "list: batches",
                  "folder '" + folder + "' came in batch " +
                      (own == batch_of_entry.end() ? "?" : std::to_string(own->second)) +
                      ", after its entries in batch " + std::to_string(b));
        }

        // keep: what it refuses is not listed, nor looked into (keep is optional for a plugin).
        for (const auto& [path, is_folder] : listing.refused_by_keep) {
            check(!all.contains(path), "list: keep", "'" + path + "' was refused but listed");
            for (const std::string& asked : listing.asked)
                check(!RemoteTree::under(asked, path), "list: keep",
                      "keep was asked about '" + asked + "' inside refused folder '" + path + "'");
            for (const auto& [listed, entry] : all)
                check(!RemoteTree::under(listed, path), "list: keep",
                      "'" + listed + "' was listed inside refused folder '" + path + "'");
        }

        // A folder that cannot be listed: a warning, not an error; a file that cannot be read:
        // skipped with a warning, or listed and refused by retrieve().
        for (const std::string& folder : tree_.unlisted())
            check(listing.warned(WarningKind::unlisted, folder) ||
                      listing.warned(WarningKind::unavailable, folder),
                  "list: unlistable folder",
                  "no unlisted warning with path '" + folder + "' (relative to remote_dir)");
        if (!tree_.unreadable().empty() && !all.contains(tree_.unreadable()))
            check(listing.warned(WarningKind::skipped, tree_.unreadable()), "list: unreadable file",
                  "'" + tree_.unreadable() + "' was neither listed nor warned about");

        // Repeatable: the same entries, digests and ids the second time.
        const Listing again = seen(list(plugin, fixture_.remote_dir, refuse));
        check(again.result && again.count() == listing.count(), "list: repeatable",
              "a second listing differs: " + error_text(again.result) + ", " +
                  std::to_string(again.count()) + " entries, first " +
                  std::to_string(listing.count()));
        const auto before = facts(listing, plugin), after = facts(again, plugin);
        for (const auto& [path, fact] : before)
            if (const auto it = after.find(path); it != after.end())
                check(it->second == fact, "list: repeatable",
                      "'" + path + "' is listed as " + fact + ", then as " + it->second);
        return listing;
    }

    void check_retrieve(SyncPlugin& plugin, const Listing& listing) {
        for (const auto& [path, entry] : listing.by_path()) {
            if (entry.is_folder)
                continue;
            const Fetched got = seen(fetch(plugin, entry));
            const TreeEntry* want = tree_.described(path);
            if (path == tree_.unreadable() || (want != nullptr && want->refused)) {
                const ErrorKind kind =
                    want != nullptr && want->refused ? *want->refused : ErrorKind::permission;
                check(!got.result && got.result.error().kind == kind, "retrieve: refused",
                      "'" + path + "' gave " +
                          (got.result ? std::string{"success"}
                                      : std::string{to_string(got.result.error().kind)}) +
                          ", not a " + std::string{to_string(kind)} + " error");
                continue;
            }
            if (!check(static_cast<bool>(got.result), "retrieve",
                       "'" + path +
                           "': " + (got.result ? std::string{} : got.result.error().to_string())))
                continue;
            if (want != nullptr && want->bytes)
                check(got.bytes == *want->bytes, "retrieve: bytes",
                      "'" + path + "' delivered " + std::to_string(got.bytes.size()) +
                          " bytes that are not the file's " + std::to_string(want->bytes->size()));
            check(entry.size == 0 || got.bytes.size() == entry.size, "retrieve: bytes",
                  "'" + path + "' delivered " + std::to_string(got.bytes.size()) +
                      " bytes, listed with " + std::to_string(entry.size));
            const Retrieved& seen = *got.result;
            check(!seen.size || *seen.size == entry.size || entry.size == 0, "retrieve: Retrieved",
                  "'" + path + "' reports size " + std::to_string(seen.size.value_or(0)) +
                      ", listed with " + std::to_string(entry.size));
            check(!seen.mtime ||
                      (*seen.mtime == entry.mtime && seen.mtime_nsec == entry.mtime_nsec),
                  "retrieve: Retrieved",
                  "'" + path + "' reports mtime " + std::to_string(seen.mtime.value_or(0)) + "." +
                      std::to_string(seen.mtime_nsec) + ", listed with " +
                      std::to_string(entry.mtime) + "." + std::to_string(entry.mtime_nsec));
            check(seen.mtime || seen.mtime_nsec == 0, "retrieve: Retrieved",
                  "'" + path + "' reports mtime_nsec without mtime");
        }

        // The writer's error ends the retrieval and comes back as it is.
        const RemoteEntry* big = tree_.largest(listing);
        if (big == nullptr)
            return report_.not_checked.push_back("retrieve: no file to retrieve");
        const UsageError full{ErrorKind::io, "disk full (conformance suite)", {}, "/x", {}};
        const Fetched got = seen(fetch(plugin, *big, [&](std::size_t) { return fail(full); }));
        check(!got.result && got.result.error() == full && got.chunks == 1,
              "retrieve: writer's error",
              "'" + big->path + "': the writer failed the first chunk; retrieve() gave " +
                  (got.result ? std::string{"success"} : got.result.error().to_string()) +
                  " after " + std::to_string(got.chunks) +
                  " chunks (want the writer's error, "
                  "unchanged, after 1)");
    }

    // A changed file gets a new digest; a file gone since the listing is not_found.
    void check_changes(SyncPlugin& plugin, const Listing& listing) {
        const auto before = listing.by_path();
        const RemoteWriter& w = *fixture_.writer;
        w.make_file("sub/b.txt", "bravo, again", 1'600'000'100);
        const auto after =
            seen(list(plugin, fixture_.remote_dir, tree_.refused_folder())).by_path();
        if (before.contains("sub/b.txt") && after.contains("sub/b.txt"))
            check(plugin.remote_digest(before.at("sub/b.txt")) !=
                      plugin.remote_digest(after.at("sub/b.txt")),
                  "remote_digest",
                  "a rewritten file kept its digest '" +
                      plugin.remote_digest(after.at("sub/b.txt")) + "'");
        if (!before.contains("a.txt"))
            return;
        w.remove("a.txt");
        const Fetched got = seen(fetch(plugin, before.at("a.txt")));
        check(!got.result && got.result.error().kind == ErrorKind::not_found, "retrieve: not found",
              "a file removed since the listing gave " +
                  (got.result ? std::string{"success"} : got.result.error().to_string()));
    }

    // mtimes are UTC: a date read as local time passes where the machine runs in UTC only.
    void check_time_zone(SyncPlugin& plugin) {
        const char* before = std::getenv("TZ");
        const std::string saved = before != nullptr ? before : "";
        const std::string zone =
            saved == "Pacific/Kiritimati" ? "America/Adak" : "Pacific/Kiritimati";
        ::setenv("TZ", zone.c_str(), 1);
        ::tzset();
        const auto all = seen(list(plugin, fixture_.remote_dir, tree_.refused_folder())).by_path();
        before != nullptr ? ::setenv("TZ", saved.c_str(), 1) : ::unsetenv("TZ");
        ::tzset();
        for (const TreeEntry& want : tree_.entries())
            if (const auto it = all.find(want.path); !want.is_folder && it != all.end())
                check(it->second.mtime == want.mtime, "list: mtimes",
                      "with TZ=" + zone + ", '" + want.path + "' is listed with mtime " +
                          std::to_string(it->second.mtime) + ", it has " +
                          std::to_string(want.mtime));
    }

    // A renamed file keeps its id or its fingerprint: the engine then moves the local copy, edits
    // and all, instead of fetching it again and leaving the old one behind (moves.hpp).
    void check_rename(SyncPlugin& plugin) {
        if (!fixture_.writer || !fixture_.writer->rename) {
            report_.not_checked.push_back("a renamed file's id or fingerprint (the fixture "
                                          "cannot rename)");
            return;
        }
        const std::string from = "renamed/Blatt1.pdf";
        const std::string to = "renamed/Blatt 1.pdf";
        fixture_.writer->make_file(from, "renamed by the suite", 1'600'000'200);
        const auto before =
            seen(list(plugin, fixture_.remote_dir, tree_.refused_folder())).by_path();
        fixture_.writer->rename(from, to);
        const auto after =
            seen(list(plugin, fixture_.remote_dir, tree_.refused_folder())).by_path();
        if (!check(before.contains(from) && after.contains(to) && !after.contains(from), "rename",
                   "the file was not listed under its name before and after"))
            return;
        const RemoteEntry& was = before.at(from);
        const RemoteEntry& is = after.at(to);
        if (was.id.empty() && was.fingerprint.empty()) {
            report_.not_checked.push_back("a renamed file's id or fingerprint (the plugin gives "
                                          "neither: renames are followed by name and digest)");
            return;
        }
        check((!was.id.empty() && was.id == is.id) ||
                  (!was.fingerprint.empty() && was.fingerprint == is.fingerprint),
              "rename",
              "a renamed file's id '" + was.id + "' and fingerprint '" + was.fingerprint +
                  "' became '" + is.id + "' and '" + is.fingerprint + "'");
    }

    void check_missing(SyncPlugin& plugin) {
        const std::string missing =
            fixture_.missing_dir.empty()
                ? join_remote(fixture_.remote_dir, "no such folder (conformance)")
                : fixture_.missing_dir;
        const Listing listed = seen(list(plugin, missing));
        check(!listed.result && listed.result.error().kind == ErrorKind::not_found &&
                  listed.batches.empty(),
              "list: missing folder",
              "listing '" + missing + "' gave " + error_text(listed.result) + " and " +
                  std::to_string(listed.batches.size()) + " batches");
        for (const std::string& folder : tree_.made_unlisted()) {
            const Listing locked = seen(list(plugin, join_remote(fixture_.remote_dir, folder)));
            check(!locked.result && locked.result.error().kind == ErrorKind::permission,
                  "list: unlistable folder",
                  "listing '" + folder + "' itself gave " + error_text(locked.result) +
                      ", not a permission error");
        }
    }

    Progress progress_;
    RemoteTree tree_;
};

} // namespace detail

// Checks every promise of the plugin interface on instances from `create` against the remote
// `fixture` describes. Never throws for a plugin's failure: each is a line of the report.
// With Fixture::in_child_process (the default) the plugin runs in a child process, so a crash is
// a failed check.
inline Report check_plugin(const PluginFactory& create, const Fixture& fixture) {
    const auto suite = [&](const detail::Progress& progress) {
        return detail::Suite{create, fixture, progress}.run();
    };
    if (fixture.in_child_process)
        return detail::run_in_child(suite);
    return suite([](std::string_view) {});
}

} // namespace kitovu::testing
