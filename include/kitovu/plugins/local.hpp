// Plugin `local`: a directory stands in for the remote, e.g. a share mounted with mount.cifs,
// a USB stick, or a test fixture. Option `path`: the directory `remote-dir` is relative to.
// Symbolic links to files are followed only when they lead to a file inside `path`: a file from
// outside the folder the user chose (`notes -> ~/.ssh/id_ed25519`) never lands in the sync folder.
#pragma once

#include "kitovu/plugin/registry.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <system_error>

namespace kitovu {

class LocalPlugin final : public SyncPlugin {
  public:
    static constexpr auto path = string_option({.name = "path",
                                                .required = true,
                                                .help = "folder that remote-dir is relative to",
                                                .example = "/mnt/courses"});

    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{path.spec};
        return specs;
    }

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        connection_ = connection;
        root_ = options.get(path); // not empty: the schema requires it
        return {};
    }

    expected<void, UsageError> connect() override {
        if (stopping())
            return fail(
                {.kind = ErrorKind::cancelled, .message = "stopped", .connection = connection_});
        std::error_code ec;
        if (std::filesystem::is_directory(root_, ec)) {
            if (real_root().empty()) // links are judged against it
                return fail({.kind = ErrorKind::io,
                             .message = "cannot resolve the folder's path",
                             .connection = connection_,
                             .path = root_.string()});
            return {};
        }
        if (std::filesystem::exists(root_, ec))
            return fail({.kind = ErrorKind::config,
                         .message = "is not a folder",
                         .connection = connection_,
                         .path = root_.string()});
        return fail({.kind = ErrorKind::not_found,
                     .message = "folder does not exist",
                     .connection = connection_,
                     .path = root_.string()});
    }

    // Folder by folder, one lstat per entry (a stat more for a symbolic link). A folder seen
    // under two names (a bind mount, a share mounted with mount.cifs that follows links) is
    // listed once, under the name met first: breadth first with each folder's names in byte
    // order, so the shallowest name, then the first in byte order, wins, whatever order the
    // folder is read in. The other name is named in a warning.
    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override {
        const std::filesystem::path base = folder(remote_dir);
        std::error_code ec;
        if (!std::filesystem::is_directory(base, ec))
            return fail({.kind = ErrorKind::not_found,
                         .message = "remote folder not found",
                         .connection = connection_,
                         .path = base.string()});

        std::deque<std::string> pending{std::string{}};         // folders to list, relative to base
        std::map<std::pair<dev_t, ino_t>, std::string> folders; // each folder's first name
        if (struct ::stat top{}; ::stat(base.c_str(), &top) == 0)
            folders.emplace(std::pair{top.st_dev, top.st_ino}, std::string{});
        std::vector<std::string> names;
        std::vector<RemoteEntry> entries;
        while (!pending.empty()) {
            if (stopping())
                return fail({.kind = ErrorKind::cancelled,
                             .message = "stopped",
                             .connection = connection_});
            const std::string relative_folder = std::move(pending.front());
            pending.pop_front();
            const std::string full_folder =
                relative_folder.empty() ? base.string() : (base / relative_folder).string();
            DIR* dir = ::opendir(full_folder.c_str());
            if (dir == nullptr) {
                const std::string why = "cannot list: " + detail::errno_message();
                if (relative_folder.empty())
                    return fail({.kind = ErrorKind::permission,
                                 .message = why,
                                 .connection = connection_,
                                 .path = full_folder});
                // A folder that vanished or became unreadable mid-listing: skip it, go on.
                warn(Warning{WarningKind::unlisted, why + ", skipped", connection_,
                             relative_folder});
                continue;
            }
            names.clear();
            for (;;) {
                errno = 0;
                const ::dirent* found = ::readdir(dir);
                if (found == nullptr)
                    break;
                const std::string_view name = found->d_name;
                if (name != "." && name != "..")
                    names.emplace_back(name);
            }
            if (const int error = errno; error != 0) // what was read before still counts
                warn(Warning{WarningKind::unlisted,
                             "cannot list all of it: " + detail::errno_message(error), connection_,
                             relative_folder});
            std::ranges::sort(names);
            for (const std::string& name : names) {
                std::string relative = relative_folder;
                if (!relative.empty())
                    relative += '/';
                relative += name;
                struct ::stat info {};
                bool readable =
                    ::fstatat(::dirfd(dir), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0;
                const bool is_link = readable && S_ISLNK(info.st_mode);
                if (is_link) // what it points to
                    readable = ::fstatat(::dirfd(dir), name.c_str(), &info, 0) == 0;
                if (!readable) {
                    warn(Warning{WarningKind::skipped, "cannot read size or time, skipped",
                                 connection_, relative});
                    continue;
                }
                const bool is_folder = S_ISDIR(info.st_mode);
                if (is_folder && is_link) {
                    // Following folder links could loop or leave the share.
                    warn(Warning{WarningKind::skipped, "symbolic link to a folder skipped",
                                 connection_, relative});
                    continue;
                }
                if (!is_folder && !S_ISREG(info.st_mode)) {
                    warn(Warning{WarningKind::skipped, "not a regular file, skipped", connection_,
                                 relative});
                    continue;
                }
                if (!keep(relative, is_folder))
                    continue;
                std::string locator = full_folder;
                locator += '/';
                locator += name;
                if (is_link && !inside(resolved(locator))) {
                    warn(Warning{WarningKind::skipped,
                                 "a symbolic link that leads outside " + real_root() +
                                     ", not followed",
                                 connection_, relative});
                    continue;
                }
                if (is_folder) {
                    const auto [first, fresh] =
                        folders.emplace(std::pair{info.st_dev, info.st_ino}, relative);
                    if (!fresh) {
                        warn(Warning{WarningKind::skipped,
                                     (first->second.empty()
                                          ? "the listed folder itself"
                                          : "the same folder as '" + first->second + "'") +
                                         " (mounted or linked there too), skipped: it is "
                                         "synced once",
                                     connection_, relative});
                        continue;
                    }
                    pending.push_back(relative);
                }
                entries.push_back(RemoteEntry{
                    .path = std::move(relative),
                    .is_folder = is_folder,
                    .size = is_folder ? 0 : static_cast<std::uint64_t>(info.st_size),
                    .mtime = is_folder ? 0 : static_cast<std::int64_t>(info.st_mtim.tv_sec),
                    .mtime_nsec = is_folder ? 0u : static_cast<std::uint32_t>(info.st_mtim.tv_nsec),
                    .locator = std::move(locator),
                    .id = is_folder
                              ? std::string{}
                              : std::to_string(info.st_dev) + ':' + std::to_string(info.st_ino)});
            }
            ::closedir(dir);
            out(entries);
            entries.clear();
        }
        return {};
    }

    // What the file is after the read comes from the open descriptor: a file rewritten in
    // place while it was read shows a new size or time, and the engine discards the copy; a
    // rewrite that put size and time back shows in the change time, which cannot be put back.
    // The file may have become anything since the listing: O_NONBLOCK keeps a FIFO from
    // blocking the open, and only a regular file inside `path` is read (a FIFO or a device
    // would never end).
    expected<Retrieved, UsageError> retrieve(const RemoteEntry& entry, ChunkWriter out) override {
        const int fd = ::open(entry.locator.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                return fail({.kind = ErrorKind::not_found,
                             .message = "file disappeared from the remote",
                             .connection = connection_,
                             .path = entry.path});
            return fail({.kind = ErrorKind::permission,
                         .message = "cannot open for reading",
                         .connection = connection_,
                         .path = entry.path});
        }
        const auto done = [fd](auto result) {
            ::close(fd);
            return result;
        };
        struct ::stat before {};
        if (::fstat(fd, &before) != 0)
            return done(fail({.kind = ErrorKind::io,
                              .message = "cannot read size or time",
                              .connection = connection_,
                              .path = entry.path}));
        if (!S_ISREG(before.st_mode))
            return done(fail({.kind = ErrorKind::protocol,
                              .message = "changed since the listing: now " +
                                         std::string{kind_of(before.st_mode)} +
                                         ", not a regular file; not read",
                              .connection = connection_,
                              .path = entry.path}));
        // Where the descriptor really is, not where the listing saw it: a file swapped for a
        // link after the listing is caught here.
        if (!inside(opened_path(fd, entry.locator)))
            return done(fail({.kind = ErrorKind::permission,
                              .message = "changed since the listing: now a symbolic link that "
                                         "leads outside " +
                                         real_root() + "; not followed",
                              .connection = connection_,
                              .path = entry.path}));
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK); // blocking reads, as usual
        if (buffer_.empty())
            buffer_.resize(block_size); // once per instance: zeroing 1 MiB per file showed in perf
        for (;;) {
            if (stopping()) // checked before each block, so a stop ends even a large file soon
                return done(fail({.kind = ErrorKind::cancelled,
                                  .message = "stopped",
                                  .connection = connection_,
                                  .path = entry.path}));
            const auto got = ::read(fd, buffer_.data(), buffer_.size());
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                return done(fail({.kind = ErrorKind::io,
                                  .message = "read error",
                                  .connection = connection_,
                                  .path = entry.path}));
            if (got == 0)
                break;
            if (auto written = out(std::span{buffer_.data(), static_cast<std::size_t>(got)});
                !written)
                return done(fail(written.error()));
        }
        struct ::stat info {};
        if (::fstat(fd, &info) != 0)
            return done(expected<Retrieved, UsageError>{Retrieved{}});
        // Kernels since 6.13 give a change after the first fstat's look a finer time than the
        // one seen; older ones stamp clock ticks, and a rewrite in the tick of the change seen
        // before the read (a file changing just then) can go unseen.
        const bool rewritten = info.st_ctim.tv_sec != before.st_ctim.tv_sec ||
                               info.st_ctim.tv_nsec != before.st_ctim.tv_nsec;
        return done(expected<Retrieved, UsageError>{
            Retrieved{.size = static_cast<std::uint64_t>(info.st_size),
                      .mtime = static_cast<std::int64_t>(info.st_mtim.tv_sec),
                      .mtime_nsec = static_cast<std::uint32_t>(info.st_mtim.tv_nsec),
                      .changed = rewritten}});
    }

  private:
    static constexpr std::size_t block_size = 1 << 20;
    std::vector<std::byte> buffer_;

    static std::string_view kind_of(mode_t mode) {
        if (S_ISFIFO(mode))
            return "a FIFO";
        if (S_ISCHR(mode) || S_ISBLK(mode))
            return "a device";
        if (S_ISSOCK(mode))
            return "a socket";
        if (S_ISDIR(mode))
            return "a folder";
        return "something else";
    }

    // `path` with every link resolved, once per instance; empty if it cannot be resolved.
    const std::string& real_root() {
        if (real_root_.empty())
            real_root_ = resolved(root_.string());
        return real_root_;
    }

    static std::string resolved(const std::string& path) {
        const std::unique_ptr<char, decltype(&std::free)> real{::realpath(path.c_str(), nullptr),
                                                               &std::free};
        return real ? std::string{real.get()} : std::string{};
    }

    // The path of what `fd` has open, from /proc; without /proc, `locator` resolved.
    static std::string opened_path(int fd, const std::string& locator) {
        std::array<char, PATH_MAX> buffer{};
        const std::string link = "/proc/self/fd/" + std::to_string(fd);
        const auto length = ::readlink(link.c_str(), buffer.data(), buffer.size());
        if (length <= 0 || static_cast<std::size_t>(length) >= buffer.size())
            return resolved(locator);
        return {buffer.data(), static_cast<std::size_t>(length)};
    }

    // Whether a resolved path lies inside `path` (also resolved).
    bool inside(const std::string& real) {
        const std::string& top = real_root();
        if (real.empty() || top.empty())
            return false;
        return top == "/" || real == top ||
               (real.starts_with(top) && real.size() > top.size() && real[top.size()] == '/');
    }

    std::filesystem::path folder(std::string_view remote_dir) const {
        std::string_view dir = remote_dir;
        while (dir.starts_with('/'))
            dir.remove_prefix(1);
        return dir.empty() ? root_ : root_ / std::filesystem::path{dir};
    }

    std::string connection_;
    std::filesystem::path root_;
    std::string real_root_;
};

inline const PluginRegistry::Add<LocalPlugin> local_plugin{"local", "a local or mounted directory"};

} // namespace kitovu
