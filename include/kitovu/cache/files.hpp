// The names of the file cache's files, in one place: the cache itself (one per config, under
// $XDG_DATA_HOME/kitovu) and, beside it, its lock, its journal and the temporaries of a save.
#pragma once

#include "kitovu/error.hpp"

#include <fmt/format.h>

#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace kitovu {

namespace cache_files {

// FILE.lock: held while a run goes on (cache_lock.hpp).
inline std::filesystem::path lock(const std::filesystem::path& cache_file) {
    return cache_file.string() + ".lock";
}

// FILE.journal: what a run placed since the cache was last saved (cache_journal.hpp).
inline std::filesystem::path journal(const std::filesystem::path& cache_file) {
    return cache_file.string() + ".journal";
}

// FILE.tmp-PID: a save in progress (detail::write_atomically); a killed run's are removed by the
// next run holding the lock, found by their name's start.
inline constexpr std::string_view temporary_mark = ".tmp-";
inline std::string temporary_prefix(const std::filesystem::path& file) {
    return file.filename().string() + std::string{temporary_mark};
}
inline std::filesystem::path temporary(const std::filesystem::path& file, ::pid_t pid) {
    return file.string() + std::string{temporary_mark} + std::to_string(pid);
}

} // namespace cache_files

// Where the cache of `config_file` lives: $XDG_DATA_HOME/kitovu (~/.local/share/kitovu), one
// file per config, named after the config and a hash of its absolute path. Without HOME (cron,
// systemd) the home folder comes from the password database; never a shared folder such as
// /tmp, where another user could plant files at the names kitovu uses.
inline expected<std::filesystem::path, UsageError>
default_cache_path(const std::filesystem::path& config_file) {
    std::filesystem::path base;
    if (const char* data = std::getenv("XDG_DATA_HOME"); data != nullptr && *data == '/')
        base = data;
    else if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/')
        base = std::filesystem::path{home} / ".local/share";
    else if (const ::passwd* user = ::getpwuid(::geteuid());
             user != nullptr && user->pw_dir != nullptr && user->pw_dir[0] == '/')
        base = std::filesystem::path{user->pw_dir} / ".local/share";
    else
        return fail(ErrorKind::usage, "no home folder to keep the file cache in (HOME is not set "
                                      "and the user has none): choose one with --cache FILE");
    std::error_code ec;
    auto absolute = std::filesystem::absolute(config_file, ec).lexically_normal().string();
    std::uint64_t hash = 14695981039346656037ull; // FNV-1a: stable across runs and builds
    for (unsigned char c : absolute)
        hash = (hash ^ c) * 1099511628211ull;
    return base / "kitovu" / fmt::format("{}-{:016x}.cache", config_file.stem().string(), hash);
}

} // namespace kitovu
