// One sync at a time per file cache: a lock file beside the cache, held while a run goes on.
// Taking it also clears what a killed run left beside the cache (its cache temporaries).
#pragma once

#include "kitovu/cache/filecache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

namespace kitovu {

// Held while a sync runs, so two runs with the same cache never interleave. The lock file lives
// beside the cache.
class CacheLock {
  public:
    static expected<CacheLock, UsageError> acquire(const std::filesystem::path& cache_file) {
        CacheLock lock;
        lock.path_ = path_for(cache_file);
        if (auto folder = detail::prepare_cache_folder(cache_file); !folder)
            return fail(folder.error());
        // A refused run closes its descriptor without removing the file: the file is the
        // holder's. A holder that ends removes the file; whoever locked that removed file in
        // the meantime holds nothing and tries again with the file now at the path.
        for (;;) {
            const int fd =
                ::open(lock.path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0)
                return fail(ErrorKind::io,
                            "cannot create the lock file: " + detail::errno_message(),
                            lock.path_.string());
            if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
                ::close(fd);
                return fail({.kind = ErrorKind::usage,
                             .message = "another kitovu sync with this config is running (lock "
                                        "file " +
                                        lock.path_.string() + "); wait for it to finish",
                             .cause = ErrorCause::sync_running});
            }
            struct ::stat held {
            }, named{};
            if (::fstat(fd, &held) == 0 && ::stat(lock.path_.c_str(), &named) == 0 &&
                held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
                lock.fd_ = fd;
                break;
            }
            ::close(fd);
        }
        remove_cache_temporaries(cache_file);
        const auto pid = std::to_string(::getpid()) + '\n';
        if (::ftruncate(lock.fd_, 0) != 0 || ::write(lock.fd_, pid.data(), pid.size()) < 0) {
            // The lock itself holds; the pid is only a courtesy for people.
        }
        return lock;
    }

    CacheLock(CacheLock&& other) noexcept
        : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
    CacheLock& operator=(CacheLock&&) = delete;
    ~CacheLock() {
        if (fd_ < 0)
            return;
        ::unlink(path_.c_str());
        ::close(fd_);
    }

    // Whether another process holds the lock of `cache_file`. Asked with a shared lock on a
    // descriptor of our own, closed at once: the file stays, and a holder is never disturbed.
    static bool held_elsewhere(const std::filesystem::path& cache_file) {
        const std::string lock = path_for(detail::followed_link(cache_file));
        const int fd = ::open(lock.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return false;
        const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
        ::close(fd);
        return held;
    }

    static std::string path_for(const std::filesystem::path& cache_file) {
        return cache_files::lock(cache_file);
    }

  private:
    CacheLock() = default;

    // FILE.tmp-PID of saves that a kill interrupted: with the lock held, nobody else writes one.
    static void remove_cache_temporaries(const std::filesystem::path& cache_file) {
        const auto folder = cache_file.parent_path().empty() ? std::filesystem::path{"."}
                                                             : cache_file.parent_path();
        const std::string prefix = cache_files::temporary_prefix(cache_file);
        std::error_code ec;
        for (std::filesystem::directory_iterator it{folder, ec}, end; !ec && it != end;
             it.increment(ec))
            if (it->path().filename().string().starts_with(prefix) && it->is_regular_file(ec))
                std::filesystem::remove(it->path(), ec);
    }

    std::filesystem::path path_;
    int fd_ = -1;
};

} // namespace kitovu
