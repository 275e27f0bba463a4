// One sync at a time per target folder, whatever config and cache it runs with: two runs placing
// files into one folder at once take each other's new files for the user's (false conflict
// copies, then "local-changed" for good). The cache lock (cache_lock.hpp) cannot see that: the
// window and a timer may use two configs, or two caches.
//
// The lock is flock() on the target folder itself, held on an open descriptor of it for the run:
// - nothing is written anywhere: the contract allows writes only to the cache and the target
//   folders, and a lock file inside a synced folder would be a stray file in the user's folder
//   (and on a shared drive, in everybody's); a file in one user's cache folder would not be seen
//   by a run with a cache elsewhere or by another user;
// - the lock belongs to the folder's inode, so every way of naming the folder meets it (a link
//   to it, `~` and its absolute path, a bind mount);
// - it ends with the process however the process ends (kill -9 included): nothing stale.
// Where the file system cannot lock (some NFS mounts answer ENOLCK), the run goes on with the
// cache lock alone, as before.
#pragma once

#include "kitovu/config/settings_model.hpp"
#include "kitovu/error.hpp"
#include "kitovu/expected.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

namespace kitovu {

// The folders a run of `settings` places files into: each source's local-dir.
inline std::vector<std::filesystem::path> target_folders(const Settings& settings) {
    std::vector<std::filesystem::path> folders;
    for (const Subject& subject : settings.subjects)
        for (const Source& source : subject.sources)
            if (std::ranges::find(folders, source.local_dir) == folders.end())
                folders.push_back(source.local_dir);
    return folders;
}

// Held while a sync runs, so that two runs never place files into one folder at once.
class FolderLocks {
  public:
    // Locks each folder; a folder another run holds refuses the whole run, naming the folder.
    // Existing folders are locked first, in the order of their inodes (so that of two runs
    // wanting some of the same folders one gets them all), and a refused run creates nothing;
    // then the missing ones are created (the run would, a moment later) and locked.
    static expected<FolderLocks, UsageError>
    acquire(std::span<const std::filesystem::path> folders) {
        FolderLocks locks;
        std::vector<std::filesystem::path> missing;
        for (const auto& folder : folders)
            if (!locks.open(folder) && errno == ENOENT)
                missing.push_back(folder);
        std::ranges::sort(locks.held_, {}, [](const Held& held) {
            return std::pair{held.device, held.inode};
        });
        for (std::size_t i = 0; i < locks.held_.size(); ++i)
            if (auto locked = locks.lock(i); !locked)
                return fail(locked.error());
        for (const auto& folder : missing) {
            std::error_code ec;
            std::filesystem::create_directories(folder, ec);
            if (locks.open(folder))
                if (auto locked = locks.lock(locks.held_.size() - 1); !locked)
                    return fail(locked.error());
        }
        return locks;
    }

    // Whether another process holds the lock of one of `folders`. Asked with a shared lock on a
    // descriptor of our own, closed at once: a holder is never disturbed.
    static bool held_elsewhere(std::span<const std::filesystem::path> folders) {
        return std::ranges::any_of(folders, [](const std::filesystem::path& folder) {
            const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0)
                return false;
            const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
            ::close(fd);
            return held;
        });
    }

    FolderLocks(FolderLocks&& other) noexcept : held_(std::exchange(other.held_, {})) {}
    FolderLocks& operator=(FolderLocks&&) = delete;
    ~FolderLocks() {
        for (const Held& held : held_)
            ::close(held.fd); // releases the lock
    }

  private:
    FolderLocks() = default;

    struct Held {
        int fd;
        dev_t device;
        ino_t inode;
        std::filesystem::path folder;
    };

    // Opens `folder` to be locked; false, with errno, when it cannot be opened (the run says
    // what is wrong with it where it writes there) or is one held already (named twice, or a
    // link to it: one lock).
    bool open(const std::filesystem::path& folder) {
        const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return false;
        struct ::stat info {};
        if (::fstat(fd, &info) != 0 || holds(info)) {
            ::close(fd);
            errno = EEXIST;
            return false;
        }
        held_.push_back({fd, info.st_dev, info.st_ino, folder});
        return true;
    }

    expected<void, UsageError> lock(std::size_t index) const {
        const Held& held = held_[index];
        if (::flock(held.fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
            return {}; // locked, or a file system that cannot lock: the cache lock alone
        return fail({.kind = ErrorKind::usage,
                     .message = "another kitovu sync is placing files into this folder (with "
                                "another config or cache); wait for it to finish",
                     .path = held.folder.string(),
                     .cause = ErrorCause::sync_running});
    }

    bool holds(const struct ::stat& info) const {
        return std::ranges::any_of(held_, [&](const Held& held) {
            return held.device == info.st_dev && held.inode == info.st_ino;
        });
    }

    std::vector<Held> held_;
};

} // namespace kitovu
