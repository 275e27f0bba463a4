// How the window names a local file: below the root folder, relative to it ("EPJ/blatt1.pdf");
// elsewhere (a source's own local-dir), in full. Pure, tested as a table.
#pragma once

#include <filesystem>
#include <string>

namespace kitovu::gui {

inline std::string shown_path(const std::filesystem::path& file,
                              const std::filesystem::path& root) {
    const std::string path = file.string();
    if (root.empty())
        return path;
    std::string base = root.string();
    while (base.ends_with('/'))
        base.pop_back(); // "/" becomes "": every absolute path is below it
    if (path.size() > base.size() + 1 && path.starts_with(base) && path[base.size()] == '/')
        return path.substr(base.size() + 1);
    return path;
}

} // namespace kitovu::gui
