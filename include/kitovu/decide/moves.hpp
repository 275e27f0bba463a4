// Following renames and moves on the remote: which of the files that disappeared from a source
// reappeared at another path. A pure function, tested as a table.
#pragma once

#include "kitovu/disk/names.hpp"

#include <cstddef>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu {

// A file on one side of a possible move.
struct MoveCandidate {
    std::string key;           // the caller's: a local path
    std::string id;            // the plugin's stable identity; "" if it has none
    std::string name;          // the last component of the remote path
    std::string digest;        // the remote digest (size and time for most plugins)
    std::string fingerprint{}; // what survives a rename but not a change; "" if none
    std::string former_name{}; // arriving: its name under kitovu's previous naming rules
};

// The last component of a '/'-separated remote path.
inline std::string move_name(std::string_view remote_path) {
    const auto slash = remote_path.rfind('/');
    return std::string{slash == std::string_view::npos ? remote_path
                                                       : remote_path.substr(slash + 1)};
}

// Whether a moved file is the same remote file as the record of its old place says. A fingerprint
// does not survive a change: the same one is the same bytes, whatever a rename did to the digest
// (Moodle's timemodified).
inline bool same_remote_file(const MoveCandidate& recorded, const MoveCandidate& listed) {
    return recorded.digest == listed.digest ||
           (!listed.fingerprint.empty() && recorded.fingerprint == listed.fingerprint);
}

// For each arriving file, the vanished file it is, if any, by the first rule that names one:
// the plugin's identity (survives a rename and a change), its fingerprint (survives a rename),
// the name and digest (a copy deleted and uploaded again elsewhere is the same bytes), the name
// in any case and digest (a case-only rename), the former name and digest (a name that kitovu's
// own naming rules changed). A rule that names two files decides nothing, and
// the next is tried. Only one-to-one matches count: two arrivals wanting one vanished file are
// no move (the caller downloads as before, which loses nothing).
inline std::vector<std::optional<std::size_t>>
match_moves(const std::vector<MoveCandidate>& vanished,
            const std::vector<MoveCandidate>& arriving) {
    using Index = std::multimap<std::string, std::size_t>;
    Index by_id;
    Index by_fingerprint;
    Index by_name;
    Index by_folded_name;
    const auto name_key = [](const std::string& name, const std::string& digest) {
        return name + '\0' + digest;
    };
    for (std::size_t i = 0; i < vanished.size(); ++i) {
        const MoveCandidate& file = vanished[i];
        if (!file.id.empty())
            by_id.emplace(file.id, i);
        if (!file.fingerprint.empty())
            by_fingerprint.emplace(file.fingerprint, i);
        by_name.emplace(name_key(file.name, file.digest), i);
        by_folded_name.emplace(name_key(fold_case(file.name), file.digest), i);
    }
    // The one file `key` names in `index`, if exactly one (not counted: thousands of files can
    // share a key, such as a creation time that a server derives from equal mtimes).
    const auto one = [](const Index& index, const std::string& key) -> std::optional<std::size_t> {
        const auto found = index.lower_bound(key);
        if (key.empty() || found == index.end() || found->first != key)
            return std::nullopt;
        if (const auto next = std::next(found); next != index.end() && next->first == key)
            return std::nullopt;
        return found->second;
    };
    std::vector<std::optional<std::size_t>> chosen(arriving.size());
    std::vector<int> wanted(vanished.size(), 0);
    for (std::size_t a = 0; a < arriving.size(); ++a) {
        const MoveCandidate& file = arriving[a];
        auto match = one(by_id, file.id);
        if (!match)
            match = one(by_fingerprint, file.fingerprint);
        if (!match)
            match = one(by_name, name_key(file.name, file.digest));
        if (!match)
            match = one(by_folded_name, name_key(fold_case(file.name), file.digest));
        if (!match && !file.former_name.empty())
            match = one(by_name, name_key(file.former_name, file.digest));
        if (match) {
            chosen[a] = match;
            ++wanted[*match];
        }
    }
    for (auto& choice : chosen)
        if (choice && wanted[*choice] != 1)
            choice.reset();
    return chosen;
}

} // namespace kitovu
