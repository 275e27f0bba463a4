// How the conformance suite (kitovu/testing.hpp) calls a plugin and keeps what it did: every
// batch, warning and question to keep of a listing; the bytes and chunks of a retrieval.
#pragma once

#include "kitovu/plugin/plugin.hpp"
#include "kitovu/plugin/remote_path.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kitovu::testing::detail {

using kitovu::detail::join_remote;

struct Listing {
    expected<void, UsageError> result{};
    std::vector<std::vector<RemoteEntry>> batches;
    std::vector<Warning> warnings;
    std::vector<std::pair<std::string, bool>> refused_by_keep;
    std::set<std::string> asked; // paths keep was asked about

    std::map<std::string, RemoteEntry> by_path() const {
        std::map<std::string, RemoteEntry> all;
        for (const auto& batch : batches)
            for (const auto& entry : batch)
                all.emplace(entry.path, entry);
        return all;
    }
    std::size_t count() const {
        std::size_t n = 0;
        for (const auto& batch : batches)
            n += batch.size();
        return n;
    }
    bool warned(WarningKind kind, std::string_view path) const {
        return std::ranges::any_of(
            warnings, [&](const Warning& w) { return w.kind == kind && w.path == path; });
    }
};

// Lists `dir`; keep refuses `refuse` (and what is inside); `after_batch` runs after each batch.
inline Listing list(SyncPlugin& plugin, std::string_view dir, const std::string& refuse = {},
                    const std::function<void()>& after_batch = {}) {
    Listing listing;
    listing.result = plugin.list(
        dir,
        [&](std::string_view path, bool is_folder) {
            listing.asked.emplace(path);
            if (refuse.empty() || path != refuse)
                return true;
            listing.refused_by_keep.emplace_back(std::string{path}, is_folder);
            return false;
        },
        [&](const Warning& w) { listing.warnings.push_back(w); },
        [&](std::span<RemoteEntry> batch) {
            // As the engine does: moved from, reordered. A plugin must not use them again.
            listing.batches.emplace_back(std::make_move_iterator(batch.begin()),
                                         std::make_move_iterator(batch.end()));
            for (RemoteEntry& entry : batch)
                entry = RemoteEntry{.path = "moved from by the receiver (conformance suite)"};
            std::ranges::reverse(batch);
            if (after_batch)
                after_batch();
        });
    return listing;
}

struct Fetched {
    expected<Retrieved, UsageError> result{};
    std::string bytes;
    std::size_t chunks = 0;
};

// Retrieves `entry`; `on_chunk` (if any) answers each chunk in place of "written".
inline Fetched
fetch(SyncPlugin& plugin, const RemoteEntry& entry,
      const std::function<expected<void, UsageError>(std::size_t chunk)>& on_chunk = {}) {
    Fetched got;
    got.result = plugin.retrieve(entry, [&](std::span<const std::byte> bytes) {
        ++got.chunks;
        got.bytes.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        return on_chunk ? on_chunk(got.chunks) : expected<void, UsageError>{};
    });
    return got;
}

// What the engine takes from a listing, by path: kind, size, time, id and the digest `plugin`
// makes of it (the locator is the plugin's own business).
inline std::map<std::string, std::string> facts(const Listing& listing, const SyncPlugin& plugin) {
    std::map<std::string, std::string> out;
    for (const auto& [path, e] : listing.by_path())
        out[path] = (e.is_folder ? "folder " : "file ") + std::to_string(e.size) + ' ' +
                    std::to_string(e.mtime) + '.' + std::to_string(e.mtime_nsec) + " id '" + e.id +
                    "' digest '" + plugin.remote_digest(e) + "'";
    return out;
}

inline std::string folder_of(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string{} : std::string{path.substr(0, slash)};
}

inline std::string error_text(const expected<void, UsageError>& result) {
    return result ? std::string{"success"}
                  : std::string{to_string(result.error().kind)} + " error '" +
                        result.error().to_string() + "'";
}

} // namespace kitovu::testing::detail
