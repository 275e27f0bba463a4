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

#include "kitovu/plugin.hpp"
#include "kitovu/testing/fixture.hpp"
#include "kitovu/testing/probes.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
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
class Suite {
  public:
    Suite(const PluginFactory& create, const Fixture& fixture)
        : create_(create), fixture_(fixture) {}

    Report run() {
        if (!check_configure())
            return std::move(report_);
        auto plugin = open();
        if (!plugin)
            return std::move(report_);
        if (fixture_.writer)
            build_tree();
        const Listing listing = check_listing(*plugin);
        if (listing.result) {
            check_retrieve(*plugin, listing);
            check_two_instances(listing, *plugin);
            check_stop(listing);
            if (fixture_.writer)
                check_changes(*plugin, listing);
            else
                report_.not_checked.push_back("a changed file's digest and a file removed since "
                                              "the listing (the suite cannot write this remote)");
            check_rename(*plugin);
        }
        check_missing(*plugin);
        plugin->disconnect();
        plugin->disconnect();
        return std::move(report_);
    }

  private:
    bool check(bool ok, const std::string& what, const std::string& why) {
        ++report_.checks;
        if (!ok)
            report_.failures.push_back(what + ": " + why);
        return ok;
    }

    bool check_configure() {
        auto plugin = create_ ? create_() : nullptr;
        if (!check(plugin != nullptr, "factory", "made no instance (is the plugin registered?)"))
            return false;
        plugin->disconnect(); // safe when not connected
        for (std::size_t i = 0; i < fixture_.refused_options.size(); ++i) {
            auto fresh = create_();
            auto configured = fresh->configure(fixture_.connection, fixture_.refused_options[i]);
            check(!configured && configured.error().kind == ErrorKind::config, "configure",
                  "refused_options[" + std::to_string(i) + "] gave " + error_text(configured) +
                      ", not a config error");
        }
        const auto configured = plugin->configure(fixture_.connection, fixture_.options);
        return check(static_cast<bool>(configured), "configure",
                     "the fixture's options were refused: " + error_text(configured));
    }

    std::unique_ptr<SyncPlugin> open(bool must_connect = true) {
        auto plugin = create_();
        if (auto configured = plugin->configure(fixture_.connection, fixture_.options); !configured)
            return nullptr;
        if (!must_connect)
            return plugin;
        auto connected = plugin->connect();
        if (!check(static_cast<bool>(connected), "connect", error_text(connected)))
            return nullptr;
        return plugin;
    }

    // Files of several sizes (one larger than any plausible block), an empty file and folder,
    // a name beyond ASCII, a folder `keep` refuses and, where the writer can, a folder that
    // cannot be listed and a file that cannot be read.
    void build_tree() {
        const RemoteWriter& w = *fixture_.writer;
        std::string big(2 * 1024 * 1024 + 17, '\0');
        for (std::size_t i = 0; i < big.size(); ++i)
            big[i] = static_cast<char>((i * 7919 + i / 4096) % 251);
        const auto file = [&](std::string path, std::string bytes, std::int64_t mtime) {
            w.make_file(path, bytes, mtime);
            expected_.push_back(TreeEntry{path, false, bytes.size(), mtime, bytes, {}});
        };
        const auto folder = [&](std::string path) {
            w.make_folder(path);
            expected_.push_back(TreeEntry{std::move(path), true});
        };
        folder("sub");
        folder("sub/deeper");
        folder("empty folder");
        file("a.txt", "alpha\n", 1'600'000'000);
        file("empty.txt", "", 1'600'000'001);
        file("sub/b.txt", "bravo", 1'600'000'002);
        file("sub/deeper/big.bin", std::move(big), 1'600'000'003);
        file("Übung – ß.txt", "unicode", 1'600'000'004);
        w.make_file("pruned/x.txt", "x", 1'600'000'005); // keep refuses "pruned"
        refuse_ = "pruned";
        if (w.make_unreadable_folder) {
            w.make_file("locked/hidden.txt", "hidden", 1'600'000'006);
            w.make_unreadable_folder("locked");
            unlisted_.push_back("locked");
        } else {
            report_.not_checked.push_back("a folder that cannot be listed (no "
                                          "make_unreadable_folder)");
        }
        if (w.make_unreadable_file) {
            w.make_file("secret.txt", "secret", 1'600'000'007);
            w.make_unreadable_file("secret.txt");
            unreadable_ = "secret.txt";
        } else {
            report_.not_checked.push_back("a file that cannot be read (no make_unreadable_file)");
        }
    }

    const std::vector<TreeEntry>& tree() const {
        return fixture_.writer ? expected_ : fixture_.tree;
    }
    const std::vector<std::string>& unlisted() const {
        return fixture_.writer ? unlisted_ : fixture_.unlisted;
    }
    // For a fixed tree: keep refuses the top-level folder of its first entry in a folder.
    std::string refused_folder() const {
        if (fixture_.writer)
            return refuse_;
        for (const TreeEntry& e : fixture_.tree)
            if (const auto slash = e.path.find('/'); slash != std::string::npos)
                return e.path.substr(0, slash);
        return {};
    }
    static bool under(std::string_view path, std::string_view folder) {
        return !folder.empty() && path.size() > folder.size() && path.starts_with(folder) &&
               path[folder.size()] == '/';
    }

    Listing check_listing(SyncPlugin& plugin) {
        const std::string refuse = refused_folder();
        Listing listing = list(plugin, fixture_.remote_dir, refuse);
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
            check(sane || described(path) != nullptr, "list: paths",
                  "'" + path + "' is not a relative '/'-separated path");
            check(!entry.is_folder || entry.size == 0, "list: sizes",
                  "folder '" + path + "' has size " + std::to_string(entry.size));
            check(entry.mtime_nsec < 1'000'000'000, "list: mtimes",
                  "'" + path + "' has mtime_nsec " + std::to_string(entry.mtime_nsec));
        }

        // What the remote holds: each expected entry once, as described.
        for (const TreeEntry& want : tree()) {
            if (under(want.path, refuse) || want.path == refuse)
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
            const bool known =
                std::ranges::any_of(tree(), [&](const TreeEntry& e) { return e.path == path; });
            const bool hidden = std::ranges::any_of(
                unlisted(), [&](const std::string& folder) { return under(path, folder); });
            check(known || path == unreadable_ || under(path, refuse) || path == refuse ||
                      std::ranges::find(unlisted(), path) != unlisted().end(),
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
                check(!under(asked, path), "list: keep",
                      "keep was asked about '" + asked + "' inside refused folder '" + path + "'");
            for (const auto& [listed, entry] : all)
                check(!under(listed, path), "list: keep",
                      "'" + listed + "' was listed inside refused folder '" + path + "'");
        }

        // A folder that cannot be listed: a warning, not an error; a file that cannot be read:
        // skipped with a warning, or listed and refused by retrieve().
        for (const std::string& folder : unlisted())
            check(listing.warned(WarningKind::unlisted, folder) ||
                      listing.warned(WarningKind::unavailable, folder),
                  "list: unlistable folder",
                  "no unlisted warning with path '" + folder + "' (relative to remote_dir)");
        if (!unreadable_.empty() && !all.contains(unreadable_))
            check(listing.warned(WarningKind::skipped, unreadable_), "list: unreadable file",
                  "'" + unreadable_ + "' was neither listed nor warned about");

        // Repeatable: the same entries, digests and ids the second time.
        const Listing again = list(plugin, fixture_.remote_dir, refuse);
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

    const TreeEntry* described(const std::string& path) const {
        for (const TreeEntry& e : tree())
            if (e.path == path)
                return &e;
        return nullptr;
    }

    // The largest listed file that can be retrieved: for the block-wise checks.
    const RemoteEntry* largest(const Listing& listing) const {
        const RemoteEntry* best = nullptr;
        for (const auto& batch : listing.batches)
            for (const RemoteEntry& entry : batch) {
                const TreeEntry* d = described(entry.path);
                if (!entry.is_folder && d != nullptr && !d->refused &&
                    (best == nullptr || entry.size > best->size))
                    best = &entry;
            }
        return best;
    }

    void check_retrieve(SyncPlugin& plugin, const Listing& listing) {
        for (const auto& [path, entry] : listing.by_path()) {
            if (entry.is_folder)
                continue;
            const Fetched got = fetch(plugin, entry);
            const TreeEntry* want = described(path);
            if (path == unreadable_ || (want != nullptr && want->refused)) {
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
        const RemoteEntry* big = largest(listing);
        if (big == nullptr)
            return report_.not_checked.push_back("retrieve: no file to retrieve");
        const UsageError full{ErrorKind::io, "disk full (conformance suite)", {}, "/x", {}};
        const Fetched got = fetch(plugin, *big, [&](std::size_t) { return fail(full); });
        check(!got.result && got.result.error() == full && got.chunks == 1,
              "retrieve: writer's error",
              "'" + big->path + "': the writer failed the first chunk; retrieve() gave " +
                  (got.result ? std::string{"success"} : got.result.error().to_string()) +
                  " after " + std::to_string(got.chunks) +
                  " chunks (want the writer's error, "
                  "unchanged, after 1)");
    }

    // Two instances at once list and retrieve the same; stopping one leaves the other going.
    void check_two_instances(const Listing& reference, const SyncPlugin& reference_plugin) {
        const auto expected = facts(reference, reference_plugin);
        auto first = open();
        auto second = open();
        if (!first || !second)
            return;
        const std::string refuse = refused_folder();
        const RemoteEntry* big = largest(reference);
        const TreeEntry* want = big != nullptr ? described(big->path) : nullptr;
        const auto complete = [&](const Fetched& got) {
            if (!got.result)
                return false;
            if (want != nullptr && want->bytes)
                return got.bytes == *want->bytes;
            return big->size == 0 || got.bytes.size() == big->size;
        };
        Listing listed_first;
        Fetched fetched_first;
        {
            std::jthread other{[&] {
                listed_first = list(*first, fixture_.remote_dir, refuse);
                if (big != nullptr)
                    fetched_first = fetch(*first, *big);
            }};
            const Listing listed_second = list(*second, fixture_.remote_dir, refuse);
            check(listed_second.result && facts(listed_second, *second) == expected,
                  "two instances", "a listing differs while another instance lists");
            if (big != nullptr)
                check(complete(fetch(*second, *big)), "two instances",
                      "'" + big->path + "' differs while another instance reads it");
        }
        check(listed_first.result && facts(listed_first, *first) == expected, "two instances",
              "a listing differs while another instance lists");
        check(big == nullptr || complete(fetched_first), "two instances",
              "'" + (big ? big->path : std::string{}) +
                  "' differs while another instance reads it");
        first->stop();
        const Listing after = list(*second, fixture_.remote_dir, refuse);
        check(after.result && facts(after, *second) == expected, "two instances",
              "stopping one instance stopped the other: " + error_text(after.result));
    }

    // stop(): before connect, during a listing, during a retrieval.
    void check_stop(const Listing& reference) {
        const RemoteEntry* big = largest(reference);
        if (auto plugin = open(false)) {
            plugin->stop();
            const auto connected = plugin->connect();
            check(connected || connected.error().kind == ErrorKind::cancelled, "stop",
                  "connect() after stop() gave " + error_text(connected));
            const Listing listed = list(*plugin, fixture_.remote_dir);
            check(!listed.result && listed.result.error().kind == ErrorKind::cancelled &&
                      listed.batches.empty(),
                  "stop",
                  "list() after stop() gave " + error_text(listed.result) + " and " +
                      std::to_string(listed.batches.size()) + " batches");
            if (big != nullptr) {
                const Fetched got = fetch(*plugin, *big);
                check(!got.result && got.result.error().kind == ErrorKind::cancelled, "stop",
                      "retrieve() after stop() gave " +
                          (got.result ? std::string{"success"} : got.result.error().to_string()));
            }
        }
        if (reference.batches.size() > 1)
            if (auto plugin = open()) {
                const Listing listed =
                    list(*plugin, fixture_.remote_dir, refused_folder(), [&] { plugin->stop(); });
                check(!listed.result && listed.result.error().kind == ErrorKind::cancelled &&
                          listed.batches.size() == 1,
                      "stop",
                      "stopped in the first of " + std::to_string(reference.batches.size()) +
                          " batches, list() gave " + error_text(listed.result) + " after " +
                          std::to_string(listed.batches.size()) + " batches");
            }
        if (big != nullptr)
            if (auto plugin = open()) {
                const Fetched got = fetch(*plugin, *big, [&](std::size_t) {
                    plugin->stop();
                    return expected<void, UsageError>{};
                });
                const bool whole = got.chunks == 1 && got.bytes.size() == big->size;
                check(whole || (!got.result && got.result.error().kind == ErrorKind::cancelled),
                      "stop",
                      "stopped in the first chunk of '" + big->path + "', retrieve() gave " +
                          (got.result ? std::string{"success"} : got.result.error().to_string()) +
                          " after " + std::to_string(got.chunks) + " chunks");
            }
    }

    // A changed file gets a new digest; a file gone since the listing is not_found.
    void check_changes(SyncPlugin& plugin, const Listing& listing) {
        const auto before = listing.by_path();
        const RemoteWriter& w = *fixture_.writer;
        w.make_file("sub/b.txt", "bravo, again", 1'600'000'100);
        const auto after = list(plugin, fixture_.remote_dir, refuse_).by_path();
        if (before.contains("sub/b.txt") && after.contains("sub/b.txt"))
            check(plugin.remote_digest(before.at("sub/b.txt")) !=
                      plugin.remote_digest(after.at("sub/b.txt")),
                  "remote_digest",
                  "a rewritten file kept its digest '" +
                      plugin.remote_digest(after.at("sub/b.txt")) + "'");
        if (!before.contains("a.txt"))
            return;
        w.remove("a.txt");
        const Fetched got = fetch(plugin, before.at("a.txt"));
        check(!got.result && got.result.error().kind == ErrorKind::not_found, "retrieve: not found",
              "a file removed since the listing gave " +
                  (got.result ? std::string{"success"} : got.result.error().to_string()));
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
        const auto before = list(plugin, fixture_.remote_dir, refuse_).by_path();
        fixture_.writer->rename(from, to);
        const auto after = list(plugin, fixture_.remote_dir, refuse_).by_path();
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
        const std::string missing = fixture_.missing_dir.empty()
                                        ? join(fixture_.remote_dir, "no such folder (conformance)")
                                        : fixture_.missing_dir;
        const Listing listed = list(plugin, missing);
        check(!listed.result && listed.result.error().kind == ErrorKind::not_found &&
                  listed.batches.empty(),
              "list: missing folder",
              "listing '" + missing + "' gave " + error_text(listed.result) + " and " +
                  std::to_string(listed.batches.size()) + " batches");
        for (const std::string& folder : unlisted_) {
            const Listing locked = list(plugin, join(fixture_.remote_dir, folder));
            check(!locked.result && locked.result.error().kind == ErrorKind::permission,
                  "list: unlistable folder",
                  "listing '" + folder + "' itself gave " + error_text(locked.result) +
                      ", not a permission error");
        }
    }

    const PluginFactory& create_;
    const Fixture& fixture_;
    Report report_;
    std::vector<TreeEntry> expected_;   // what build_tree made
    std::vector<std::string> unlisted_; // folders build_tree made unlistable
    std::string refuse_;                // the folder keep refuses
    std::string unreadable_;            // the file build_tree made unreadable
};

} // namespace detail

// Checks every promise of the plugin interface on instances from `create` against the remote
// `fixture` describes. Never throws for a plugin's failure: each is a line of the report.
inline Report check_plugin(const PluginFactory& create, const Fixture& fixture) {
    return detail::Suite{create, fixture}.run();
}

} // namespace kitovu::testing
