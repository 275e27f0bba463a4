// Where bytes reach the disk: a download goes into a temporary in the target folder (opened
// below the target without following links), and is moved to its final name only when complete
// and still wanted; conflict copies get names that fit the file system.
#pragma once

#include "kitovu/disk/local_identity.hpp"
#include "kitovu/disk/names.hpp"
#include "kitovu/error.hpp"
#include "kitovu/utf8.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <fcntl.h>
#include <stdio.h> // renameat2
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

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
    Descriptor(Descriptor&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
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

    static std::string name_for(std::uint64_t random) {
        return fmt::format("{}{:016x}", prefix_of_this_process(), random);
    }

    // Removes it, unplaced.
    void discard(int folder) const { ::unlinkat(folder, name.c_str(), 0); }

    // Appends `bytes`; false with errno when the disk refuses.
    bool write(std::span<const std::byte> bytes) const {
        for (std::size_t done = 0; done < bytes.size();) {
            const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    }

    // Gives it the remote's modification time; false with errno when that fails, else what it
    // is now in `written`.
    bool finish(std::int64_t mtime, std::int64_t mtime_nsec, struct ::stat& written) const {
        const ::timespec times[2] = {
            {0, UTIME_OMIT}, {static_cast<std::time_t>(mtime), static_cast<long>(mtime_nsec)}};
        return ::futimens(fd, times) == 0 && ::fstat(fd, &written) == 0;
    }

    static Temporary create(int folder, std::uint64_t random) {
        Temporary t{name_for(random)};
        t.fd = ::openat(folder, t.name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (t.fd >= 0)
            ::flock(t.fd, LOCK_EX | LOCK_NB);
        return t;
    }
};

// Folders and files under the target that kitovu makes or removes itself. Every other change
// under the target is a placement above; these are the plain cases, kept here so that one header
// answers "where does kitovu write".
inline bool make_folder(const std::filesystem::path& folder) {
    return ::mkdir(folder.c_str(), 0755) == 0 || errno == EEXIST;
}
inline void make_folders(const std::filesystem::path& folder, std::error_code& ec) {
    std::filesystem::create_directories(folder, ec);
}
inline bool remove_file(const std::filesystem::path& file) {
    return ::unlink(file.c_str()) == 0;
}
inline bool remove_tree(const std::filesystem::path& folder, std::error_code& ec) {
    return std::filesystem::remove_all(folder, ec) != static_cast<std::uintmax_t>(-1) && !ec;
}
// Only if it is empty.
inline bool remove_empty_folder(const std::filesystem::path& folder) {
    return ::rmdir(folder.c_str()) == 0;
}

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

// Whether `error` (an errno) says the file system cannot do what was asked at all, rather than
// that this call failed: FUSE file systems such as fusefat and exfat-fuse refuse rename flags
// (EINVAL) and hard links (EPERM).
inline bool unsupported(int error) {
    return error == EINVAL || error == ENOSYS || error == ENOTSUP || error == EOPNOTSUPP ||
           error == EPERM;
}

// Whether names in `folder` that differ only in case name one file (FAT, exFAT; NTFS and APFS as
// usually set up): a temporary is created and looked up in upper case.
inline bool folds_case(const std::filesystem::path& folder, std::uint64_t random) {
    const Descriptor dir{::open(folder.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
    if (dir.fd < 0)
        return false;
    const Descriptor probe{Temporary::create(dir.fd, random).fd};
    if (probe.fd < 0)
        return false;
    const std::string name = Temporary::name_for(random);
    struct ::stat info {};
    const bool folds =
        ::fstatat(dir.fd, fold_case(name, true).c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0;
    ::unlinkat(dir.fd, name.c_str(), 0);
    return folds;
}

// Moves `from` (in folder `from_folder`) to `to` (in `to_folder`) only if nothing is there:
// rename without replacing; where the file system cannot (some network and FUSE file systems),
// link() and unlink; where it has no hard links either (FAT, exFAT; and for folders), a look and
// a plain rename: a file created at `to` between the two would be replaced
// (docs/reliability.md). errno is EEXIST when the name is taken.
inline bool move_new(int from_folder, const std::string& from, int to_folder,
                     const std::string& to) {
    if (::renameat2(from_folder, from.c_str(), to_folder, to.c_str(), RENAME_NOREPLACE) == 0)
        return true;
    if (!unsupported(errno) || errno == EPERM)
        return false;
    if (::linkat(from_folder, from.c_str(), to_folder, to.c_str(), 0) == 0) {
        ::unlinkat(from_folder, from.c_str(), 0);
        return true;
    }
    if (!unsupported(errno))
        return false;
    struct ::stat there {};
    if (::fstatat(to_folder, to.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = EEXIST;
        return false;
    }
    if (errno != ENOENT)
        return false;
    return ::renameat(from_folder, from.c_str(), to_folder, to.c_str()) == 0;
}

// A case-only rename where the file system folds case goes by way of NAME + this (see
// rename_in_case); a kill between its two renames leaves the file there.
inline constexpr std::string_view case_rename_suffix = ".kitovu-rename";

// Moves a finished download to its name in the same folder, only if nothing is there.
inline bool place_new(int folder, const std::string& temporary, const std::string& name) {
    return move_new(folder, temporary, folder, name);
}

// Renames `from` to `to` in `folder`, names that differ only in case on a case-insensitive file
// system: a direct rename would find `to` to be `from` itself and do nothing. By way of a
// temporary name; after a kill between the two steps the next run finishes it (below).
inline bool rename_in_case(int folder, const std::string& from, const std::string& to) {
    const std::string temporary = to + std::string{case_rename_suffix};
    if (!place_new(folder, from, temporary))
        return false;
    if (place_new(folder, temporary, to))
        return true;
    ::renameat(folder, temporary.c_str(), folder, from.c_str()); // back: nothing else changed
    return false;
}

// The second step of a rename_in_case that a kill cut short, where the journal says a file went
// to `path`: it is at the temporary name, nothing at `path`. Only below one of `targets`, never
// through a link. Whether it was finished.
inline bool finish_rename_in_case(const std::filesystem::path& path,
                                  const std::vector<std::filesystem::path>& targets) {
    for (const std::filesystem::path& target : targets)
        if (path.string().starts_with(target.string() + '/')) {
            const Descriptor folder{open_folder_below(target, path.parent_path())};
            const std::string name = path.filename().string();
            return folder.fd >= 0 &&
                   place_new(folder.fd, name + std::string{case_rename_suffix}, name);
        }
    return false;
}

// A local file as kitovu last looked at it before replacing it: open (so its bytes can be read
// and its inode told apart from whatever an editor renames over it later), with the identity
// and content hash it had then.
struct LookedAt {
    Descriptor file{-1};
    struct ::stat info {};
    std::string hash;
};

// Opens `name` in `folder` and reads it: nothing when it is not a regular file (or gone).
inline std::optional<LookedAt> look_at(int folder, const std::string& name) {
    LookedAt seen{
        Descriptor{::openat(folder, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)},
        {},
        {}};
    if (seen.file.fd < 0)
        return std::nullopt;
    std::optional<std::string> hash;
    if (::fstat(seen.file.fd, &seen.info) == 0 && S_ISREG(seen.info.st_mode))
        hash = content_hash_of_fd(seen.file.fd);
    if (!hash)
        return std::nullopt;
    seen.hash = std::move(*hash);
    return seen;
}

inline bool same_inode(const struct ::stat& a, const struct ::stat& b) {
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

// How replacing a file ended.
enum class Replaced {
    done,   // the new version is at the name, the one kitovu looked at is gone
    edited, // the file at the name is not (or no longer) the one kitovu looked at: it stays,
            // and the new version is still at the temporary name
    failed, // errno says why; the file at the name is as it was
};

// Moves `temporary` (open as `download`) over `name`, which must still be the file `seen`. The
// two are exchanged atomically and what came out is looked at: an editor that saved by renaming
// a new file over `name`, or wrote into it, after kitovu's look gets its file back and the new
// version stays at the temporary name. Where the file system cannot exchange (FAT, exFAT: see
// docs/reliability.md), the file is looked at once more just before a plain rename.
inline Replaced replace_checked(int folder, const std::string& temporary, int download,
                                const std::string& name, const LookedAt& seen) {
    // The same inode, not written since (a rename changes the change time, so that one
    // cannot tell).
    const auto still_seen = [&](const struct ::stat& now) {
        struct ::stat info {};
        return same_inode(now, seen.info) && ::fstat(seen.file.fd, &info) == 0 &&
               info.st_size == seen.info.st_size &&
               LocalIdentity::nanoseconds(info.st_mtim) ==
                   LocalIdentity::nanoseconds(seen.info.st_mtim);
    };
    if (::renameat2(folder, temporary.c_str(), folder, name.c_str(), RENAME_EXCHANGE) != 0) {
        if (!unsupported(errno))
            return Replaced::failed;
        // Read once more: FUSE file systems may answer with cached times and sizes.
        struct ::stat now {};
        if (::fstatat(folder, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 || !still_seen(now) ||
            content_hash_of(name.c_str(), folder) != seen.hash)
            return Replaced::edited;
        return ::renameat(folder, temporary.c_str(), folder, name.c_str()) == 0 ? Replaced::done
                                                                                : Replaced::failed;
    }
    struct ::stat out {};
    if (::fstatat(folder, temporary.c_str(), &out, AT_SYMLINK_NOFOLLOW) == 0 && still_seen(out)) {
        ::unlinkat(folder, temporary.c_str(), 0);
        return Replaced::done;
    }
    // Not the file kitovu looked at: give it its name back. What is at the temporary name then
    // is the download again, unless another save came in between; that one is kept too.
    ::renameat2(folder, temporary.c_str(), folder, name.c_str(), RENAME_EXCHANGE);
    struct ::stat back {
    }, mine{};
    if (::fstatat(folder, temporary.c_str(), &back, AT_SYMLINK_NOFOLLOW) == 0 &&
        ::fstat(download, &mine) == 0 && !same_inode(back, mine)) {
        errno = EBUSY;
        return Replaced::failed;
    }
    return Replaced::edited;
}

} // namespace kitovu::detail
