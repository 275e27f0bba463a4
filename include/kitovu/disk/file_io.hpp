// Small file I/O for kitovu's own state files (cache, journal): line-wise reading in blocks, a
// buffered writer, and replacing a file atomically without following links planted at its name.
#pragma once

#include "kitovu/cache/files.hpp"
#include "kitovu/error.hpp"
#include "kitovu/function_ref.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kitovu::detail {

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
    // Runs without a backslash, which are nearly all of a field, are copied whole.
    for (auto slash = field.find('\\'); slash != std::string_view::npos; slash = field.find('\\')) {
        out.append(field.substr(0, slash));
        if (slash + 1 == field.size())
            return false;
        switch (field[slash + 1]) {
        case '\\': out += '\\'; break;
        case 't': out += '\t'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        default: return false;
        }
        field.remove_prefix(slash + 2);
    }
    out.append(field);
    return true;
}

// What a file that is not a regular one is, for messages.
inline const char* special_file_kind(mode_t mode) noexcept {
    return S_ISDIR(mode)    ? "a folder"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISLNK(mode)  ? "a symbolic link"
                            : "a device";
}

// Calls `on_line` for each complete line of `file`, reading it in blocks so a large cache is
// never held whole in memory; `on_line` returns false to stop. The result tells whether the
// file ended with a complete line (a crash can cut the last one short).
inline expected<bool, UsageError> for_each_line(const std::filesystem::path& file,
                                                FunctionRef<bool(std::string_view)> on_line) {
    // Opened without waiting and read only when regular: a FIFO at the name would block the
    // open for ever (no signal ends it), a device would be read without end.
    const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return fail(ErrorKind::io, "cannot read: " + detail::errno_message(), file.string());
    if (struct ::stat info{}; ::fstat(fd, &info) == 0 && !S_ISREG(info.st_mode)) {
        ::close(fd);
        return fail(ErrorKind::usage,
                    std::string{"it is "} + special_file_kind(info.st_mode) +
                        ", not a regular file",
                    file.string());
    }
    std::string pending;
    std::vector<char> block(1 << 20);
    for (;;) {
        const auto n = ::read(fd, block.data(), block.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int error = errno;
            ::close(fd);
            return fail(ErrorKind::io, "cannot read: " + detail::errno_message(error),
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
// the new file: a temporary beside it (FILE.tmp-PID, created exclusively, never through a link;
// leftovers of killed runs are removed by the next run holding the lock), fsync, rename, fsync
// of the folder.
inline expected<void, UsageError> write_atomically(const std::filesystem::path& file,
                                                   FunctionRef<void(BufferedFile&)> produce) {
    const auto folder =
        file.parent_path().empty() ? std::filesystem::path{"."} : file.parent_path();
    const std::filesystem::path temporary = cache_files::temporary(file, ::getpid());
    bool created = false;
    const auto failed = [&](std::string_view what) {
        const int error = errno;
        if (created)
            ::unlink(temporary.c_str());
        return fail(ErrorKind::io, std::string{what} + ": " + detail::errno_message(error),
                    file.string());
    };
    constexpr int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = ::open(temporary.c_str(), flags, 0600);
    if (fd < 0 && errno == EEXIST && ::unlink(temporary.c_str()) == 0) // a killed run's, same pid
        fd = ::open(temporary.c_str(), flags, 0600);
    if (fd < 0)
        return failed("cannot write");
    created = true;
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

} // namespace kitovu::detail
