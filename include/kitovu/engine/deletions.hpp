// What is gone remotely, once every source is listed: each record that no listing claimed is
// judged by decide_unlisted (decide/decide.hpp); the user hears of each file gone once, and its
// local copy stays.
#pragma once

#include "kitovu/decide/decide.hpp"
#include "kitovu/engine/claims.hpp"
#include "kitovu/engine/ledger.hpp"
#include "kitovu/engine/listing.hpp"
#include "kitovu/plugin/remote_path.hpp"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kitovu::detail {

inline void report_remote_deletions(Ledger& ledger, const std::deque<SourceStatus>& statuses,
                                    const Claims& claims) {
    std::map<std::pair<std::string, std::string>, std::vector<const SourceStatus*>> by_folder;
    for (const auto& status : statuses)
        by_folder[{status.source->connection, status.source->local_dir.string()}].push_back(
            &status);
    std::vector<std::pair<std::string, std::string>> deleted; // local path, connection
    ledger.with_cache([&](FileCache& cache) {
        std::vector<std::string> forget;
        for (const auto& [key, entry] : cache.entries()) {
            if (claims.contains(key))
                continue;
            // The source whose target folder and remote folder hold the record, if listed.
            const SourceStatus* owner = nullptr;
            std::string relative_remote;
            for (std::filesystem::path folder = std::filesystem::path{key}.parent_path();;
                 folder = folder.parent_path()) {
                if (auto it = by_folder.find({entry.connection, folder.string()});
                    it != by_folder.end())
                    for (const SourceStatus* status : it->second) {
                        const std::string prefix = remote_folder_prefix(status->source->remote_dir);
                        if (prefix.empty() || entry.remote_path.starts_with(prefix)) {
                            owner = status;
                            relative_remote = entry.remote_path.substr(prefix.size());
                        }
                    }
                if (owner != nullptr || folder == folder.root_path() || folder.empty())
                    break;
            }
            UnlistedFacts facts{.source_listed = owner != nullptr && owner->listed};
            if (facts.source_listed) {
                facts.folder_unlisted =
                    std::ranges::any_of(owner->unlisted, [&](const std::string& folder) {
                        return relative_remote.starts_with(folder + '/');
                    });
                std::error_code ec;
                facts.local_here =
                    std::filesystem::is_regular_file(std::filesystem::symlink_status(key, ec));
                facts.ignored = owner->source->ignore.ignores(relative_remote, false);
                facts.reported = entry.gone;
            }
            switch (decide_unlisted(facts)) {
            case RecordFate::keep: break;
            case RecordFate::forget: forget.push_back(key); break;
            case RecordFate::remote_deleted: deleted.emplace_back(key, entry.connection); break;
            }
        }
        if (ledger.dry_run())
            return;
        for (const auto& key : forget)
            cache.erase(key);
        for (const auto& [key, connection] : deleted)
            cache.set_gone(key);
    });
    for (auto& [key, connection] : deleted) {
        ledger.warn(Warning{WarningKind::remote_deleted,
                            "no longer on the remote; the local copy is kept",
                            std::move(connection), std::move(key)});
        ledger.count(FileState::remote_deleted);
    }
}

} // namespace kitovu::detail
