// The journal beside the file cache: entries written just before each file is moved into place,
// replayed after a crash, so a run killed at any moment loses nothing it placed.
#pragma once

#include "kitovu/cache/filecache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
        return cache_files::journal(cache_file);
    }

    static expected<CacheJournal, UsageError> open(const std::filesystem::path& cache_file) {
        CacheJournal journal;
        journal.path_ = path_for(cache_file);
        journal.fd_ = ::open(journal.path_.c_str(),
                             O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (journal.fd_ < 0)
            return fail(ErrorKind::io, "cannot write the cache journal: " + detail::errno_message(),
                        journal.path_.string());
        if (!journal.drop_cut_line())
            return fail(ErrorKind::io, "cannot write the cache journal: " + detail::errno_message(),
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
        return write(line);
    }

    // A file about to be moved from `from` to `to`: after a crash, `to` is recorded if the
    // file is there and `from` forgotten if nothing is left there. One write: both, or (cut by
    // SIGKILL) at most the first.
    expected<void, UsageError> append_move(std::string_view from, std::string_view to,
                                           const CacheEntry& entry) const {
        std::string lines;
        detail::append_line(lines, to, entry);
        detail::append_line(lines, from, CacheEntry{});
        lines.insert(lines.rfind('\t'), "x"); // the second line's flags (last but one field)
        return write(lines);
    }

    // Once the cache holding every journaled entry is saved.
    void remove() const { ::unlink(path_.c_str()); }

  private:
    CacheJournal() = default;

    // Ends the journal after its last whole line. SIGKILL can cut a write() that crosses a page
    // of the file: this run's first line must not be glued to the cut one, and lost with it.
    bool drop_cut_line() const {
        struct ::stat info {};
        if (::fstat(fd_, &info) != 0)
            return false;
        char block[4096];
        for (off_t end = info.st_size; end > 0;) {
            const off_t from = std::max<off_t>(0, end - static_cast<off_t>(sizeof block));
            if (::pread(fd_, block, static_cast<std::size_t>(end - from), from) != end - from)
                return false;
            for (off_t at = end; at > from; --at)
                if (block[at - from - 1] == '\n')
                    return at == info.st_size || ::ftruncate(fd_, at) == 0;
            end = from;
        }
        return info.st_size == 0 || ::ftruncate(fd_, 0) == 0;
    }

    expected<void, UsageError> write(const std::string& text) const {
        const auto written = ::write(fd_, text.data(), text.size());
        if (written < 0)
            return fail(ErrorKind::io, "cannot write the cache journal: " + detail::errno_message(),
                        path_.string());
        if (written != static_cast<ssize_t>(text.size())) // a cut line is skipped on replay
            return fail(ErrorKind::io, "cannot write the cache journal: the disk is full",
                        path_.string());
        return {};
    }
    std::filesystem::path path_;
    int fd_ = -1;
};

} // namespace kitovu
