// Which name a folder is synced under when a remote shows it under several: a link to it that the
// plugin cannot tell from the folder itself (Samba follows links and serves them as plain folders
// with the target's id). For plugins that list in parallel: decided the same whatever order the
// folders were read in.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace kitovu {

// The order a one-at-a-time breadth-first listing meets paths in (names in byte order): the
// shallower first, then name by name. "" (the listed folder itself) comes first.
inline bool breadth_first_before(std::string_view a, std::string_view b) {
    const auto depth = [](std::string_view p) {
        return p.empty() ? 0 : std::ranges::count(p, '/') + 1;
    };
    if (depth(a) != depth(b))
        return depth(a) < depth(b);
    while (!a.empty() && !b.empty()) {
        const auto a_name = a.substr(0, a.find('/')), b_name = b.substr(0, b.find('/'));
        if (a_name != b_name)
            return a_name < b_name;
        a.remove_prefix(std::min(a.size(), a_name.size() + 1));
        b.remove_prefix(std::min(b.size(), b_name.size() + 1));
    }
    return false;
}

// The folders (relative to the listed one) that hold a file synced before, with every folder
// above them, breadth first; `files` are the synced files' paths.
inline std::vector<std::string> folders_holding(std::span<const std::string> files) {
    std::vector<std::string> folders;
    for (std::string_view file : files)
        for (auto slash = file.find('/'); slash != std::string_view::npos;
             slash = file.find('/', slash + 1))
            folders.emplace_back(file.substr(0, slash));
    std::ranges::sort(folders, breadth_first_before);
    const auto [first, last] = std::ranges::unique(folders);
    folders.erase(first, last);
    return folders;
}

// The names of a tree's folders, by server id. The name synced before keeps its folder, so that
// a link made later never moves the user's files; among names not synced before, the first in
// breadth-first order wins (a link cannot be told from the folder, so it may be the link).
// Names are asked for in breadth-first order (choose); the synced folders' ids come with their
// parents' listings, in any order (listed), and a name not synced before is decided only once
// they all have come. A synced folder's id is the one its parent lists under exactly its name:
// its own listing may have been found under another case of the name.
class FolderNames {
  public:
    struct Subfolder {
        std::string_view name;
        std::uint64_t id = 0; // 0: the remote gives none
    };

    // `synced`: folders_holding(...) of the last sync, those the listing would still descend into.
    explicit FolderNames(std::vector<std::string> synced) : synced_(std::move(synced)) {
        synced_.emplace_back(); // the listed folder itself
        std::ranges::sort(synced_, breadth_first_before);
        const auto [first, last] = std::ranges::unique(synced_);
        synced_.erase(first, last);
        ids_.assign(synced_.size(), std::nullopt);
        for (std::size_t i = 1; i < synced_.size(); ++i)
            children_[parent_of(synced_[i])].push_back(i);
    }

    // The folders to read first, so that the ids are known early ("" first).
    std::span<const std::string> synced() const noexcept { return synced_; }

    // `folder` was read: `own` is its id (used for the listed folder), `subfolders` what it holds
    // (links to folders left out). Nothing for a folder that could not be read.
    void listed(std::string_view folder, std::uint64_t own, std::span<const Subfolder> subfolders) {
        if (folder.empty() && !ids_[0])
            ids_[0] = own;
        if (const auto children = children_.find(std::string{folder}); children != children_.end())
            for (const std::size_t i : children->second) {
                const std::string_view name =
                    std::string_view{synced_[i]}.substr(folder.empty() ? 0 : folder.size() + 1);
                const auto found = std::ranges::find(subfolders, name, &Subfolder::name);
                if (!ids_[i])
                    ids_[i] = found == subfolders.end() ? 0 : found->id;
            }
        // In breadth-first order, as far as ids have come: a synced folder keeps its id if its
        // parent kept its own and no folder before it took the id.
        for (; settled_ < synced_.size() && ids_[settled_]; ++settled_) {
            const std::string& path = synced_[settled_];
            const std::uint64_t id = *ids_[settled_];
            const bool parent_kept = settled_ == 0 || kept_.contains(parent_of(path));
            if (settled_ == 0 || (id != 0 && parent_kept && claims_.try_emplace(id, path).second))
                kept_.insert(path); // the listed folder is kept with an id or none
            if (settled_ == 0 && id != 0)
                claims_.try_emplace(id, path);
        }
    }

    // Whether the name for folder `id` can be chosen now (see choose).
    bool decided(std::uint64_t id) const {
        return settled_ == synced_.size() || claims_.contains(id);
    }

    // The name folder `id` met at `path` is synced under: nothing if it is `path` (which then
    // keeps it), else the name that keeps it. Only once decided(id).
    std::optional<std::string> choose(const std::string& path, std::uint64_t id) {
        const auto [holder, fresh] = claims_.try_emplace(id, path);
        if (fresh || holder->second == path)
            return std::nullopt;
        return holder->second;
    }

  private:
    static std::string parent_of(std::string_view path) {
        const auto slash = path.rfind('/');
        return std::string{slash == std::string_view::npos ? std::string_view{}
                                                           : path.substr(0, slash)};
    }

    std::vector<std::string> synced_; // "" first, then breadth first
    std::vector<std::optional<std::uint64_t>> ids_;
    std::unordered_map<std::string, std::vector<std::size_t>> children_; // of synced folders
    std::size_t settled_ = 0;              // synced folders whose claims are made, from the front
    std::unordered_set<std::string> kept_; // synced folders that keep their id
    std::unordered_map<std::uint64_t, std::string> claims_; // id -> the name that keeps it
};

} // namespace kitovu
