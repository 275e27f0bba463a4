// Remote paths as plugins and the engine spell them: '/'-separated, relative to the connection's
// root, no leading or trailing slash. One way to put a folder and a name together.
#pragma once

#include <string>
#include <string_view>

namespace kitovu::detail {

// `name` inside the remote folder `folder`: "a/b" and "c" give "a/b/c". Either may be empty
// (the top folder; the folder itself); slashes at the end of `folder` do not count.
inline std::string join_remote(std::string_view folder, std::string_view name) {
    while (folder.ends_with('/'))
        folder.remove_suffix(1);
    if (folder.empty())
        return std::string{name};
    if (name.empty())
        return std::string{folder};
    std::string path{folder};
    path += '/';
    path += name;
    return path;
}

// What every path inside `folder` starts with: "a/b/" ("" for the top folder).
inline std::string remote_folder_prefix(std::string_view folder) {
    std::string prefix = join_remote(folder, "");
    if (!prefix.empty())
        prefix += '/';
    return prefix;
}

} // namespace kitovu::detail
