// The file cache: what kitovu wrote, per local file, so each sync can tell a remote change from
// a local edit. One cache per config file, saved atomically; a damaged cache is set aside.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/warning.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kitovu {

struct CacheEntry {
    std::string connection;
    std::string plugin;
    std::string remote_path;   // remote-dir/relative path, as the remote names it
    std::string remote_digest; // the remote file's digest when it was synced
    std::string local_digest;  // the local file's digest right after kitovu wrote it; "" if unknown

    friend bool operator==(const CacheEntry&, const CacheEntry&) = default;
};

namespace detail {

// Fields are tab-separated, one entry a line; these escapes keep any byte of a path or digest
// from breaking the format. `Out` is a std::string or a BufferedFile.
template <class Out>
void append_escaped(Out& out, std::string_view field) {
    for (char c : field) {
        switch (c) {
        case '\\': out += std::string_view{"\\\\"}; break;
        case '\t': out += std::string_view{"\\t"}; break;
        case '\n': out += std::string_view{"\\n"}; break;
        case '\r': out += std::string_view{"\\r"}; break;
        default: out += c;
        }
    }
}

inline bool unescape(std::string_view field, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '\\') {
            out += field[i];
            continue;
        }
        if (++i == field.size())
            return false;
        switch (field[i]) {
        case '\\': out += '\\'; break;
        case 't': out += '\t'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        default: return false;
        }
    }
    return true;
}

// One entry as one line: local path and the entry's fields, tab-separated, escaped.
template <class Out>
void append_line(Out& out, std::string_view local_path, const CacheEntry& entry) {
    for (std::string_view field :
         {local_path, std::string_view{entry.connection}, std::string_view{entry.plugin},
          std::string_view{entry.remote_path}, std::string_view{entry.remote_digest}}) {
        append_escaped(out, field);
        out += '\t';
    }
    append_escaped(out, entry.local_digest);
    out += '\n';
}

// The reverse of append_line (without the newline); false when the line is malformed.
inline bool parse_line(std::string_view line, std::string& local_path, CacheEntry& entry) {
    std::string* fields[] = {&local_path,        &entry.connection,    &entry.plugin,
                             &entry.remote_path, &entry.remote_digest, &entry.local_digest};
    for (std::size_t i = 0; i < std::size(fields); ++i) {
        const auto tab = line.find('\t');
        const bool last = i + 1 == std::size(fields);
        if (last != (tab == std::string_view::npos))
            return false;
        if (!unescape(line.substr(0, tab), *fields[i]))
            return false;
        if (!last)
            line.remove_prefix(tab + 1);
    }
    return !local_path.empty() && local_path.front() == '/';
}

// Calls `on_line` for each complete line of `file`, reading it in blocks so a large cache is
// never held whole in memory; `on_line` returns false to stop. The result tells whether the
// file ended with a complete line (a crash can cut the last one short).
inline expected<bool, UsageError> for_each_line(const std::filesystem::path& file,
                                                FunctionRef<bool(std::string_view)> on_line) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(ErrorKind::io, "cannot read: " + std::generic_category().message(errno),
                    file.string());
    std::string pending;
    std::vector<char> block(1 << 20);
    for (;;) {
        const auto n = ::read(fd, block.data(), block.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int error = errno;
            ::close(fd);
            return fail(ErrorKind::io, "cannot read: " + std::generic_category().message(error),
                        file.string());
        }
        if (n == 0)
            break;
        std::string_view data{block.data(), static_cast<std::size_t>(n)};
        for (auto newline = data.find('\n'); newline != std::string_view::npos;
             newline = data.find('\n')) {
            bool go_on = true;
            if (pending.empty()) {
                go_on = on_line(data.substr(0, newline));
            } else {
                pending.append(data.substr(0, newline));
                go_on = on_line(pending);
                pending.clear();
            }
            if (!go_on) {
                ::close(fd);
                return true;
            }
            data.remove_prefix(newline + 1);
        }
        pending.append(data);
    }
    ::close(fd);
    return pending.empty();
}

// A file descriptor with a 1 MiB buffer in front, for writing large files piecewise.
class BufferedFile {
  public:
    explicit BufferedFile(int fd) : fd_(fd) { buffer_.reserve(capacity + 4096); }
    BufferedFile& operator+=(char c) {
        buffer_ += c;
        return *this;
    }
    BufferedFile& operator+=(std::string_view text) {
        buffer_ += text;
        if (buffer_.size() >= capacity)
            flush();
        return *this;
    }
    // False (with errno set) once any write failed.
    bool flush() {
        for (std::size_t done = 0; ok_ && done < buffer_.size();) {
            const auto n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                error_ = errno;
                ok_ = false;
            } else {
                done += static_cast<std::size_t>(n);
            }
        }
        buffer_.clear();
        errno = error_;
        return ok_;
    }

  private:
    static constexpr std::size_t capacity = 1 << 20;
    int fd_;
    std::string buffer_;
    bool ok_ = true;
    int error_ = 0;
};

// Writes what `produce` writes to `file` so that a crash at any moment leaves either the old or
// the new file: a temporary beside it, fsync, rename, fsync of the folder.
inline expected<void, UsageError> write_atomically(const std::filesystem::path& file,
                                                   FunctionRef<void(BufferedFile&)> produce) {
    const auto folder =
        file.parent_path().empty() ? std::filesystem::path{"."} : file.parent_path();
    const std::filesystem::path temporary = file.string() + ".tmp-" + std::to_string(::getpid());
    const auto failed = [&](std::string_view what) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return fail(ErrorKind::io,
                    std::string{what} + ": " + std::generic_category().message(error),
                    file.string());
    };
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return failed("cannot write");
    BufferedFile out{fd};
    produce(out);
    if (!out.flush()) {
        const int error = errno;
        ::close(fd);
        errno = error;
        return failed("cannot write");
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0)
        return failed("cannot write");
    if (::rename(temporary.c_str(), file.c_str()) != 0)
        return failed("cannot replace");
    if (const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    return {};
}

} // namespace detail

class FileCache {
  public:
    static constexpr std::string_view header = "kitovu-cache 1";

    // A missing cache is an empty cache. A damaged one is moved aside as FILE.corrupt-TIMESTAMP
    // with a warning (only reported when `set_aside` is false, for dry runs), and the cache
    // starts empty: every local file then counts as never synced, which keeps local edits safe.
    static expected<FileCache, UsageError> load(const std::filesystem::path& file, WarningSink warn,
                                                bool set_aside = true) {
        FileCache cache;
        cache.changed_ = true; // until it is read: a missing or damaged cache is written anew
        std::error_code ec;
        if (!std::filesystem::exists(file, ec)) {
            if (ec)
                return fail(ErrorKind::io, "cannot read the file cache: " + ec.message(),
                            file.string());
            return cache;
        }
        std::string problem;
        if (auto read = cache.parse(file, problem); !read)
            return fail(ErrorKind::io, "cannot read the file cache: " + read.error().message,
                        file.string());
        cache.changed_ = !problem.empty();
        if (!problem.empty()) {
            cache.entries_.clear();
            if (!set_aside) {
                warn(Warning{WarningKind::cache,
                             "the file cache is damaged (" + problem + ")",
                             {},
                             file.string()});
                return cache;
            }
            const auto aside = file.string() + ".corrupt-" + timestamp();
            std::filesystem::rename(file, aside, ec);
            if (ec)
                return fail(ErrorKind::io,
                            "the file cache is damaged (" + problem +
                                ") and cannot be moved aside: " + ec.message(),
                            file.string());
            warn(Warning{WarningKind::cache,
                         "the file cache was damaged (" + problem + "); it was moved to " + aside +
                             " and files already on disk are treated as never synced",
                         {},
                         file.string()});
        }
        return cache;
    }

    // Adds the journal's entries whose local file is still the one kitovu wrote (`verify`), so
    // files placed just before a crash are known as kitovu's. Returns how many were added.
    std::size_t replay(const std::filesystem::path& journal,
                       detail::FunctionRef<bool(const std::string&, const CacheEntry&)> verify) {
        std::size_t added = 0;
        // A line cut short by the crash is not passed on by for_each_line.
        [[maybe_unused]] auto read = detail::for_each_line(journal, [&](std::string_view line) {
            std::string local_path;
            CacheEntry entry;
            if (detail::parse_line(line, local_path, entry) && verify(local_path, entry)) {
                entries_.insert_or_assign(std::move(local_path), std::move(entry));
                ++added;
            }
            return true;
        });
        changed_ = changed_ || added > 0;
        return added;
    }

    const CacheEntry* find(const std::string& local_path) const {
        auto it = entries_.find(local_path);
        return it == entries_.end() ? nullptr : &it->second;
    }
    void put(std::string local_path, CacheEntry entry) {
        entries_.insert_or_assign(std::move(local_path), std::move(entry));
        changed_ = true;
    }
    void erase(const std::string& local_path) {
        changed_ = entries_.erase(local_path) > 0 || changed_;
    }
    // Whether it differs from the file it was loaded from (or there was none): a run that
    // changed nothing need not write it again.
    bool changed() const noexcept { return changed_; }
    std::size_t size() const noexcept { return entries_.size(); }
    const std::unordered_map<std::string, CacheEntry>& entries() const noexcept { return entries_; }

    // The whole cache as text, entries sorted by local path so equal caches are equal files.
    std::string serialize() const {
        std::string out;
        write_to(out);
        return out;
    }

    expected<void, UsageError> save(const std::filesystem::path& file) const {
        std::error_code ec;
        if (!file.parent_path().empty())
            std::filesystem::create_directories(file.parent_path(), ec);
        if (ec)
            return fail(ErrorKind::io, "cannot create the cache folder: " + ec.message(),
                        file.parent_path().string());
        return detail::write_atomically(file, [this](detail::BufferedFile& out) { write_to(out); });
    }

  private:
    template <class Out>
    void write_to(Out& out) const {
        std::vector<const std::pair<const std::string, CacheEntry>*> sorted;
        sorted.reserve(entries_.size());
        for (const auto& item : entries_)
            sorted.push_back(&item);
        std::ranges::sort(sorted, {},
                          [](const auto* item) -> const std::string& { return item->first; });
        out += header;
        out += '\n';
        for (const auto* item : sorted)
            detail::append_line(out, item->first, item->second);
        // The trailer tells a complete file from a truncated one.
        out += std::string_view{"end " + std::to_string(entries_.size()) + '\n'};
    }

    // Reads `file` into the cache; `problem` says what is wrong with it, "" when it is a
    // complete cache. An error only when the file cannot be read at all.
    expected<void, UsageError> parse(const std::filesystem::path& file, std::string& problem) {
        std::size_t line_number = 0;
        std::size_t count = 0;
        bool ended = false;
        auto complete = detail::for_each_line(file, [&](std::string_view line) {
            ++line_number;
            const auto where = [&] { return "line " + std::to_string(line_number); };
            if (line_number == 1) {
                if (line != header)
                    problem = "it does not start with '" + std::string{header} + "'";
            } else if (ended) {
                problem = "data after the end marker at " + where();
            } else if (line.starts_with("end ")) {
                if (line.substr(4) != std::to_string(count))
                    problem = "the entry count does not match at " + where();
                ended = true;
            } else {
                std::string local_path;
                CacheEntry entry;
                if (!detail::parse_line(line, local_path, entry))
                    problem = "a malformed entry at " + where();
                entries_.insert_or_assign(std::move(local_path), std::move(entry));
                ++count;
            }
            return problem.empty();
        });
        if (!complete)
            return fail(complete.error());
        if (!problem.empty())
            return {};
        if (!*complete)
            problem = "it ends in the middle of a line";
        else if (line_number == 0)
            problem = "it is empty";
        else if (!ended)
            problem = "it is truncated";
        return {};
    }

    static std::string timestamp() {
        return fmt::format("{:%Y%m%d-%H%M%S}", fmt::localtime(std::time(nullptr)));
    }

    bool changed_ = false;
    std::unordered_map<std::string, CacheEntry> entries_;
};

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
        journal.fd_ =
            ::open(journal.path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
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

// Where the cache of `config_file` lives: $XDG_DATA_HOME/kitovu (~/.local/share/kitovu), one
// file per config, named after the config and a hash of its absolute path.
inline std::filesystem::path default_cache_path(const std::filesystem::path& config_file) {
    std::filesystem::path base;
    if (const char* data = std::getenv("XDG_DATA_HOME"); data != nullptr && *data == '/')
        base = data;
    else if (const char* home = std::getenv("HOME"); home != nullptr)
        base = std::filesystem::path{home} / ".local/share";
    else
        base = std::filesystem::temp_directory_path();
    std::error_code ec;
    auto absolute = std::filesystem::absolute(config_file, ec).lexically_normal().string();
    std::uint64_t hash = 14695981039346656037ull; // FNV-1a: stable across runs and builds
    for (unsigned char c : absolute)
        hash = (hash ^ c) * 1099511628211ull;
    return base / "kitovu" / fmt::format("{}-{:016x}.cache", config_file.stem().string(), hash);
}

// Held while a sync runs, so two runs with the same cache never interleave. The lock file lives
// beside the cache; finding one that nobody holds means the last run was killed.
class CacheLock {
  public:
    static expected<CacheLock, UsageError> acquire(const std::filesystem::path& cache_file) {
        CacheLock lock;
        lock.path_ = cache_file.string() + ".lock";
        std::error_code ec;
        if (!cache_file.parent_path().empty())
            std::filesystem::create_directories(cache_file.parent_path(), ec);
        // A refused run closes its descriptor without removing the file: the file is the
        // holder's. A holder that ends removes the file; whoever locked that removed file in
        // the meantime holds nothing and tries again with the file now at the path.
        for (;;) {
            lock.crashed_before_ = std::filesystem::exists(lock.path_, ec);
            const int fd = ::open(lock.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
            if (fd < 0)
                return fail(ErrorKind::io,
                            "cannot create the lock file: " +
                                std::generic_category().message(errno),
                            lock.path_.string());
            if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
                ::close(fd);
                return fail(ErrorKind::usage,
                            "another kitovu sync with this config is running (lock file " +
                                lock.path_.string() + "); wait for it to finish");
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
        const auto pid = std::to_string(::getpid()) + '\n';
        if (::ftruncate(lock.fd_, 0) != 0 || ::write(lock.fd_, pid.data(), pid.size()) < 0) {
            // The lock itself holds; the pid is only a courtesy for people.
        }
        return lock;
    }

    CacheLock(CacheLock&& other) noexcept
        : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)),
          crashed_before_(other.crashed_before_) {}
    CacheLock& operator=(CacheLock&&) = delete;
    ~CacheLock() {
        if (fd_ < 0)
            return;
        ::unlink(path_.c_str());
        ::close(fd_);
    }

    // Whether a lock file was left behind by a run that did not end: its temporaries may remain.
    bool previous_run_crashed() const noexcept { return crashed_before_; }

  private:
    CacheLock() = default;
    std::filesystem::path path_;
    int fd_ = -1;
    bool crashed_before_ = false;
};

} // namespace kitovu
