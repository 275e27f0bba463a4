// Folders that list exactly as a folder above them: links back up (`current -> .`) on a remote
// that follows them and gives no file ids. Their paths double at every level, which no depth
// limit stops in time; such a folder is left out with everything below it.
#pragma once

#include "kitovu/plugin/plugin.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kitovu {

// Fed each listed batch in order (ListSink's promise: a folder's entries come whole, after the
// folder's own entry). A folder whose entries (names, kinds, sizes and times) are those of a
// folder above it is taken for a link to it (see loop_above); a real tree that repeats itself
// that exactly is left out too, and named in the warning.
class ListingLoops {
  public:
    struct Loop {
        std::string folder;  // the folder left out, relative to the listed folder
        std::string same_as; // the folder above it that lists the same ("" is the top)
    };

    struct Taken {
        std::size_t kept = 0;    // entries left at the front of the batch
        std::vector<Loop> loops; // found in this batch
    };

    // Moves to the end of `batch` the entries of new loops and of folders below a loop.
    Taken take(std::span<RemoteEntry> batch) {
        std::map<std::string, std::vector<const RemoteEntry*>, std::less<>> by_folder;
        for (const RemoteEntry& entry : batch)
            by_folder[std::string{parent_of(entry.path)}].push_back(&entry);
        // Parents before children: a batch may hold a folder and its subfolder.
        std::vector<std::pair<std::string, std::vector<const RemoteEntry*>>> groups(
            by_folder.begin(), by_folder.end());
        std::ranges::stable_sort(groups, {}, [](const auto& group) {
            return group.first.empty() ? 0 : std::ranges::count(group.first, '/') + 1;
        });
        Taken taken;
        for (auto& [folder, entries] : groups) {
            if (inside_loop(folder))
                continue;
            const std::size_t listing = fingerprint(entries);
            listings_.emplace(folder, listing);
            const bool has_file =
                std::ranges::any_of(entries, [](const RemoteEntry* e) { return !e->is_folder; });
            if (auto above = loop_above(folder, listing, has_file)) {
                loops_.push_back(folder);
                taken.loops.push_back(Loop{folder, std::move(*above)});
            }
        }
        const auto out = std::ranges::stable_partition(
            batch, [&](const RemoteEntry& entry) { return !inside_loop(parent_of(entry.path)); });
        taken.kept = static_cast<std::size_t>(out.begin() - batch.begin());
        return taken;
    }

    // Whether `path` is a loop found so far or lies below one: a plugin need not list it.
    bool inside_loop(std::string_view path) const {
        return std::ranges::any_of(loops_, [&](const std::string& loop) {
            return path.starts_with(loop) &&
                   (path.size() == loop.size() || path[loop.size()] == '/');
        });
    }

  private:
    // The folder above `folder` that lists the same, if `folder` is taken for a link to it. A
    // listing with a file must repeat once; one of folders only (a zip unpacked into a folder of
    // its name: `Material/Material/…`) twice at equal steps, so that a real chain of such
    // folders is not taken for a loop unless it is three deep.
    std::optional<std::string> loop_above(std::string_view folder, std::size_t listing,
                                          bool has_file) const {
        std::vector<std::string_view> above; // nearest first, the top last
        for (std::string_view at = folder; !at.empty();)
            above.push_back(at = parent_of(at));
        const auto same = [&](std::size_t i) {
            const auto it = listings_.find(std::string{above[i]});
            return it != listings_.end() && it->second == listing;
        };
        for (std::size_t i = 0; i < above.size(); ++i)
            if (same(i) && (has_file || (2 * i + 1 < above.size() && same(2 * i + 1))))
                return std::string{above[i]};
        return std::nullopt;
    }

    static std::string_view parent_of(std::string_view path) {
        const auto slash = path.rfind('/');
        return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
    }

    static std::size_t fingerprint(std::vector<const RemoteEntry*>& entries) {
        const auto name = [](const RemoteEntry* e) {
            return std::string_view{e->path}.substr(e->path.rfind('/') + 1);
        };
        std::ranges::sort(entries, {}, name);
        std::string text;
        for (const RemoteEntry* e : entries) {
            text += name(e);
            text += e->is_folder ? "/\t" : "\t";
            text += std::to_string(e->size) + '\t' + std::to_string(e->mtime) + '.' +
                    std::to_string(e->mtime_nsec) + '\n';
        }
        return std::hash<std::string>{}(text);
    }

    std::unordered_map<std::string, std::size_t> listings_; // folder -> fingerprint
    std::vector<std::string> loops_;
};

} // namespace kitovu
