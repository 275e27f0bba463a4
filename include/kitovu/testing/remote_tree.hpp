// What the conformance suite expects of the remote: the tree it builds through the fixture's
// RemoteWriter (or the one a fixture without a writer describes), the folder `keep` refuses,
// the folders that cannot be listed and the file that cannot be read.
#pragma once

#include "kitovu/testing/fixture.hpp"
#include "kitovu/testing/probes.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kitovu::testing::detail {

class RemoteTree {
  public:
    RemoteTree(const Fixture& fixture, Report& report) : fixture_(fixture), report_(&report) {}

    // Files of several sizes (one larger than any plausible block), an empty file and folder,
    // a name beyond ASCII, a folder `keep` refuses and, where the writer can, a folder that
    // cannot be listed and a file that cannot be read.
    void build() {
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
            report_->not_checked.push_back("a folder that cannot be listed (no "
                                           "make_unreadable_folder)");
        }
        if (w.make_unreadable_file) {
            w.make_file("secret.txt", "secret", 1'600'000'007);
            w.make_unreadable_file("secret.txt");
            unreadable_ = "secret.txt";
        } else {
            report_->not_checked.push_back("a file that cannot be read (no make_unreadable_file)");
        }
    }

    const std::vector<TreeEntry>& entries() const {
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

    const TreeEntry* described(const std::string& path) const {
        for (const TreeEntry& e : entries())
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

    const std::string& unreadable() const noexcept { return unreadable_; }
    // The folders build() made unlistable (not a fixed tree's: the suite cannot know their path
    // from the remote's root).
    const std::vector<std::string>& made_unlisted() const noexcept { return unlisted_; }

  private:
    const Fixture& fixture_;
    Report* report_;
    std::vector<TreeEntry> expected_;   // what build() made
    std::vector<std::string> unlisted_; // folders build() made unlistable
    std::string refuse_;                // the folder keep refuses
    std::string unreadable_;            // the file build() made unreadable
};

} // namespace kitovu::testing::detail
