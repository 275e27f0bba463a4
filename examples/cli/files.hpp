// The files the command line names (--config, --cache): only regular files are read or written.
// A FIFO would block the run for ever, a device would be read or overwritten.
#pragma once

#include <kitovu/disk/file_io.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>

namespace kitovu::cli {

// Why `file`, named by `option`, cannot be used; nothing when it is a regular file or does not
// exist yet. Links are followed: a link to a regular file is fine.
inline std::optional<std::string> special_file_problem(const std::filesystem::path& file,
                                                       std::string_view option) {
    struct ::stat info {};
    if (::stat(file.c_str(), &info) != 0 || S_ISREG(info.st_mode))
        return std::nullopt;
    return file.string() + ": " + std::string{option} + " must be a regular file, not " +
           kitovu::detail::special_file_kind(info.st_mode);
}

} // namespace kitovu::cli
