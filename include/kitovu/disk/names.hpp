// Remote names to local paths: the one place that decides what a remote name becomes on disk.
// Whatever the remote sends, the result stays inside the target folder.
#pragma once

#include "kitovu/error.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace kitovu {

// kitovu's temporary downloads are named with this prefix; leftovers are removed at the next
// start, so no remote file may take such a name.
inline constexpr std::string_view temporary_prefix = ".kitovu-partial-";

// Most local file systems (ext4, NTFS, APFS) refuse longer names.
inline constexpr std::size_t max_name_bytes = 255;

// One name component with the characters Windows file systems refuse (`:*?"<>|\` and control
// characters) replaced by '_', so a tree synced on Linux can be copied anywhere.
inline std::string portable_name(std::string_view name) {
    std::string out{name};
    for (char& c : out) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f ||
            std::string_view{":*?\"<>|\\"}.find(c) != std::string_view::npos)
            c = '_';
    }
    return out;
}

// `name` with ASCII letters in one case (lower, or upper when `upper`): the form in which FAT
// and exFAT compare names. Other characters stay: rare enough in course material to leave.
inline std::string fold_case(std::string_view name, bool upper = false) {
    std::string out{name};
    for (char& c : out)
        if (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'))
            c = static_cast<char>(c ^ 0x20);
    return out;
}

// The local path, relative to the target folder, for a remote path relative to the listed
// folder ('/'-separated). Empty, absolute, `.` and `..` components, over-long names and names
// kitovu reserves are refused: the caller skips the entry with a warning.
inline expected<std::filesystem::path, UsageError>
local_relative_path(std::string_view remote_path) {
    const auto refuse = [&](std::string_view why) {
        return fail(ErrorKind::protocol, "remote name refused: " + std::string{why},
                    std::string{remote_path});
    };
    if (remote_path.empty())
        return refuse("it is empty");
    if (remote_path.front() == '/')
        return refuse("it is an absolute path");

    std::string out; // built as a string: appending to a path re-splits it every time
    out.reserve(remote_path.size());
    std::string_view rest = remote_path;
    while (true) {
        const auto slash = rest.find('/');
        const std::string_view name = rest.substr(0, slash);
        if (name.empty())
            return refuse("it has an empty name component");
        if (name == "." || name == "..")
            return refuse("it has a '.' or '..' component");
        if (name.size() > max_name_bytes)
            return refuse("a name is longer than 255 bytes");
        if (name.starts_with(temporary_prefix))
            return refuse("kitovu reserves names starting with .kitovu-partial-");
        out += portable_name(name);
        if (slash == std::string_view::npos)
            break;
        out += '/';
        rest.remove_prefix(slash + 1);
    }
    return std::filesystem::path{std::move(out)};
}

} // namespace kitovu
