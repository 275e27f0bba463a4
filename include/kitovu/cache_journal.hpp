// The journal beside the file cache: entries written just before each file is moved into place,
// replayed after a crash, so a run killed at any moment loses nothing it placed.
#pragma once

#include "kitovu/filecache.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace kitovu {

// The journal beside the cache: one line per file, written just before the file is moved into
// place, so a run killed at any moment loses nothing it placed (FileCache::replay). Appends
// are single write() calls on an O_APPEND descriptor: safe from several threads.
class CacheJournal {
  public:
    static std::filesystem::path path_for(const std::filesystem::path& cache_file) {
        return cache_file.string() + ".journal";
    }

    static expected<CacheJournal, UsageError> open(const std::filesystem::path& cache_file) {
        CacheJournal journal;
        journal.path_ = path_for(cache_file);
        journal.fd_ = ::open(journal.path_.c_str(),
                             O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (journal.fd_ < 0)
            return fail(ErrorKind::io,
                        "cannot write the cache journal: " + std::generic_category().message(errno),
                        journal.path_.string());
        return journal;
    }

    CacheJournal(CacheJournal&& other) noexcept
        : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
    CacheJournal& operator=(CacheJournal&&) = delete;
    ~CacheJournal() {
        if (fd_ >= 0)
            ::close(fd_);
    }

    expected<void, UsageError> append(std::string_view local_path, const CacheEntry& entry) const {
        std::string line;
        detail::append_line(line, local_path, entry);
        const auto written = ::write(fd_, line.data(), line.size());
        if (written < 0)
            return fail(ErrorKind::io,
                        "cannot write the cache journal: " + std::generic_category().message(errno),
                        path_.string());
        if (written != static_cast<ssize_t>(line.size())) // a cut line is skipped on replay
            return fail(ErrorKind::io, "cannot write the cache journal: the disk is full",
                        path_.string());
        return {};
    }

    // Once the cache holding every journaled entry is saved.
    void remove() const { ::unlink(path_.c_str()); }

  private:
    CacheJournal() = default;
    std::filesystem::path path_;
    int fd_ = -1;
};

} // namespace kitovu
