// Following renames and moves on the remote: which of the files that disappeared from a source
// reappeared at another path. A pure function, tested as a table.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace kitovu {

// A file on one side of a possible move.
struct MoveCandidate {
    std::string key;    // the caller's: a local path
    std::string id;     // the plugin's stable identity; "" if it has none
    std::string name;   // the last component of the remote path
    std::string digest; // the remote digest (size and time for most plugins)
};

// The last component of a '/'-separated remote path.
inline std::string move_name(std::string_view remote_path) {
    const auto slash = remote_path.rfind('/');
    return std::string{slash == std::string_view::npos ? remote_path
                                                       : remote_path.substr(slash + 1)};
}

// For each arriving file, the vanished file it is, if any: the one with the plugin's identity,
// else the one with its name and digest (a copy deleted and uploaded again elsewhere is the same
// bytes). Only one-to-one matches count: two identical candidates, or two arrivals wanting one,
// are no move (the caller downloads as before, which loses nothing).
inline std::vector<std::optional<std::size_t>>
match_moves(const std::vector<MoveCandidate>& vanished,
            const std::vector<MoveCandidate>& arriving) {
    std::multimap<std::string, std::size_t> by_id;
    std::multimap<std::tuple<std::string, std::string>, std::size_t> by_name;
    for (std::size_t i = 0; i < vanished.size(); ++i) {
        if (!vanished[i].id.empty())
            by_id.emplace(vanished[i].id, i);
        by_name.emplace(std::tuple{vanished[i].name, vanished[i].digest}, i);
    }
    std::vector<std::optional<std::size_t>> chosen(arriving.size());
    std::vector<int> wanted(vanished.size(), 0);
    for (std::size_t a = 0; a < arriving.size(); ++a) {
        const MoveCandidate& file = arriving[a];
        std::vector<std::size_t> candidates;
        if (!file.id.empty())
            for (auto [it, end] = by_id.equal_range(file.id); it != end; ++it)
                candidates.push_back(it->second);
        if (candidates.empty())
            for (auto [it, end] = by_name.equal_range(std::tuple{file.name, file.digest});
                 it != end; ++it)
                candidates.push_back(it->second);
        if (candidates.size() == 1) {
            chosen[a] = candidates.front();
            ++wanted[candidates.front()];
        }
    }
    for (auto& choice : chosen)
        if (choice && wanted[*choice] != 1)
            choice.reset();
    return chosen;
}

} // namespace kitovu
