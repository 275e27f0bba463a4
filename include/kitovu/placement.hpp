// Where bytes reach the disk: a download goes into a temporary in the target folder (opened
// below the target without following links), and is moved to its final name only when complete
// and still wanted; conflict copies get names that fit the file system.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/names.hpp"
#include "kitovu/utf8.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <fcntl.h>
#include <stdio.h> // renameat2
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace kitovu::detail {

// A name made of `stem`, `middle` and `extension` that fits max_name_bytes: the stem is
// shortened first (at a UTF-8 boundary), then the extension, never the middle part that says
// what the file is.
inline std::string fitting_name(std::string_view stem, std::string_view middle,
                                std::string_view extension) {
    if (stem.size() + middle.size() + extension.size() <= max_name_bytes)
        return std::string{stem} + std::string{middle} + std::string{extension};
    const std::size_t room = max_name_bytes - middle.size();
    const std::string_view ext = utf8_prefix(extension, room / 2);
    const std::string_view kept = utf8_prefix(stem, room - ext.size());
    return std::string{kept} + std::string{middle} + std::string{ext};
}

// STEM.remote-conflict-YYYYMMDD-HHMMSS.EXT beside `file`; `attempt` > 1 adds -N when a copy of
// that name exists already. A long stem is shortened so the name fits the file system.
inline std::filesystem::path conflict_path(const std::filesystem::path& file, std::time_t when,
                                           int attempt) {
    std::string middle = fmt::format(".remote-conflict-{:%Y%m%d-%H%M%S}", fmt::localtime(when));
    if (attempt > 1)
        middle += '-' + std::to_string(attempt);
    return file.parent_path() /
           fitting_name(file.stem().string(), middle, file.extension().string());
}

// An open file descriptor, closed at scope exit.
struct Descriptor {
    int fd = -1;
    explicit Descriptor(int descriptor) : fd(descriptor) {}
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    ~Descriptor() {
        if (fd >= 0)
            ::close(fd);
    }
};

// Opens `folder`, which lies inside `base`, one component at a time below `base` without
// following symbolic links; -1 with errno (ELOOP or ENOTDIR for a link) when that fails.
inline int open_folder_below(const std::filesystem::path& base,
                             const std::filesystem::path& folder) {
    int fd = ::open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (const auto& name : folder.lexically_relative(base)) {
        if (fd < 0)
            break;
        if (name.empty() || name == ".")
            continue;
        if (name == "..") {
            ::close(fd);
            errno = EINVAL;
            return -1;
        }
        const int next = ::openat(fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        const int saved = errno;
        ::close(fd);
        errno = saved;
        fd = next;
    }
    return fd;
}

// A temporary download in an open folder: created exclusively, never through a link, named with
// the process id and locked until it is placed, so that a later run tells a dead run's leftover
// from a live one's.
struct Temporary {
    std::string name;
    int fd = -1;

    static std::string prefix_of_this_process() {
        return fmt::format("{}{:08x}-", temporary_prefix, static_cast<unsigned>(::getpid()));
    }

    static Temporary create(int folder, std::uint64_t random) {
        Temporary t{fmt::format("{}{:016x}", prefix_of_this_process(), random)};
        t.fd = ::openat(folder, t.name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (t.fd >= 0)
            ::flock(t.fd, LOCK_EX | LOCK_NB);
        return t;
    }
};

// Removes `name` in `folder` if it is a temporary nobody writes any more (its writer died: the
// lock went with it). Returns whether it was removed.
inline bool remove_dead_temporary(int folder, const char* name) {
    if (std::string_view{name}.starts_with(Temporary::prefix_of_this_process()))
        return false;
    const int fd = ::openat(folder, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct ::stat info {};
    const bool dead =
        ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    const bool removed = dead && ::unlinkat(folder, name, 0) == 0;
    ::close(fd);
    return removed;
}

// Moves `temporary` to `name` in `folder` only if nothing is there: rename without replacing,
// or, where the file system cannot (some network and FUSE file systems), link() and unlink.
// errno is EEXIST when the name is taken.
inline bool place_new(int folder, const std::string& temporary, const std::string& name) {
    int placed = ::renameat2(folder, temporary.c_str(), folder, name.c_str(), RENAME_NOREPLACE);
    if (placed != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
        placed = ::linkat(folder, temporary.c_str(), folder, name.c_str(), 0);
        if (placed == 0)
            ::unlinkat(folder, temporary.c_str(), 0);
    }
    return placed == 0;
}

} // namespace kitovu::detail
