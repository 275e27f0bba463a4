// What is on disk below the target folders, as the planner sees it: their metadata read ahead
// while the remote is listed, folders made sure of without following links, and whether a
// target folder's file system folds case.
#pragma once

#include "kitovu/disk/names.hpp"
#include "kitovu/disk/placement.hpp"
#include "kitovu/error.hpp"
#include "kitovu/function_ref.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace kitovu::detail {

// Whether a folder's metadata is in memory already, from looking at its first files twice: the
// first look costs no more than twice the second only if it read nothing from disk and built
// nothing in memory. A busy machine can slow either look; a wrong verdict only costs time (the
// planner looks at every file itself).
class WarmProbe {
  public:
    static constexpr int files = 4;
    bool done() const noexcept { return looked_ == files; }
    bool warm() const noexcept { return first_ <= 2 * second_; }
    void look(int folder_fd, const char* name) {
        using clock = std::chrono::steady_clock;
        struct ::stat info {};
        const auto start = clock::now();
        ::fstatat(folder_fd, name, &info, AT_SYMLINK_NOFOLLOW);
        const auto middle = clock::now();
        ::fstatat(folder_fd, name, &info, AT_SYMLINK_NOFOLLOW);
        first_ += middle - start;
        second_ += clock::now() - middle;
        ++looked_;
    }

  private:
    int looked_ = 0;
    std::chrono::steady_clock::duration first_{}, second_{};
};

// Reads the metadata of everything below `root`, so that the planner, which looks at each
// listed file's local copy, finds it in memory: run while the remote is listed, it takes the
// local disk reads of a cold cache, and building the metadata in memory, off the planner's
// thread. A folder whose metadata is in memory already (WarmProbe) is only walked: looking at
// each file again would cost the CPU the listing needs. Symbolic links are not followed. On
// the way it removes temporaries that dead runs left (`sweep`), whatever became of their lock;
// once `stop` is requested it only walks on for that, by the types readdir reports.
inline void read_ahead_metadata(const std::filesystem::path& root, bool sweep,
                                const std::stop_token& stop) {
    std::vector<std::string> folders{root.string()};
    while (!folders.empty() && (sweep || !stop.stop_requested())) {
        const std::string folder = std::move(folders.back());
        folders.pop_back();
        DIR* dir = ::opendir(folder.c_str());
        if (dir == nullptr)
            continue;
        WarmProbe probe;
        while (const ::dirent* entry = ::readdir(dir)) {
            const std::string_view name = entry->d_name;
            if (name == "." || name == "..")
                continue;
            if (sweep && name.starts_with(temporary_prefix)) {
                remove_dead_temporary(::dirfd(dir), entry->d_name);
                continue;
            }
            bool is_folder = entry->d_type == DT_DIR;
            if (entry->d_type == DT_REG && !probe.done() && !stop.stop_requested()) {
                probe.look(::dirfd(dir), entry->d_name);
                continue;
            }
            if (entry->d_type == DT_UNKNOWN ||
                (!stop.stop_requested() && !(probe.done() && probe.warm()))) {
                struct ::stat info {};
                is_folder =
                    ::fstatat(::dirfd(dir), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISDIR(info.st_mode);
            }
            if (is_folder)
                folders.push_back(folder + '/' + entry->d_name);
        }
        ::closedir(dir);
    }
}

// The planner's view of the target folders: which folders it made sure of (and the one it looks
// into now, open), and which target folders fold case. Planning thread only.
class LocalTree {
  public:
    explicit LocalTree(bool dry_run) : dry_run_(dry_run) {}

    // Creates base/relative folder by folder, refusing symbolic links and files in the way, so
    // nothing planted locally can redirect a download outside the target folder.
    expected<void, UsageError> ensure_folder(const std::filesystem::path& base,
                                             const std::filesystem::path& relative) {
        // Made sure of before (by an earlier batch or source): ancestors need no lstat again.
        if (known_folders_.contains((base / relative).string()))
            return {};
        std::filesystem::path folder = base;
        if (!known_folders_.contains(base.string())) {
            std::error_code ec;
            if (!dry_run_)
                make_folders(base, ec);
            if (ec)
                return fail(ErrorKind::io, "cannot create the folder: " + ec.message(),
                            base.string());
            known_folders_.insert(base.string());
        }
        for (const auto& name : relative) {
            folder /= name;
            if (known_folders_.contains(folder.string()))
                continue;
            struct ::stat info {};
            if (::lstat(folder.c_str(), &info) != 0) {
                if (errno != ENOENT)
                    return fail(ErrorKind::io, "cannot read the folder: " + errno_message(),
                                folder.string());
                if (dry_run_)
                    return {};
                if (!make_folder(folder))
                    return fail(ErrorKind::io, "cannot create the folder: " + errno_message(),
                                folder.string());
            } else if (S_ISLNK(info.st_mode)) {
                return fail(ErrorKind::io,
                            "a symbolic link is in the way; kitovu does not follow it",
                            folder.string());
            } else if (!S_ISDIR(info.st_mode)) {
                return fail(ErrorKind::io, "a file is in the way of this folder", folder.string());
            }
            known_folders_.insert(folder.string());
        }
        return {};
    }

    // The folder `folder` (base/relative) made sure of and open, to look at the files in it by
    // name: -1 where it cannot be opened (a dry run that would create it). Files come sorted,
    // so most are in the folder of the one before: that one stays open.
    expected<int, UsageError> enter(const std::filesystem::path& base,
                                    const std::filesystem::path& relative,
                                    std::string_view folder) {
        if (folder != current_folder_) {
            if (auto made = ensure_folder(base, relative); !made)
                return fail(made.error());
            current_folder_ = folder;
            current_folder_fd_.emplace(
                ::open(current_folder_.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        }
        return current_folder_fd_->fd;
    }

    // Whether every file below `folder` (no links, nothing special) is one that `kitovus`
    // accepts, so that the folder may give way to a remote file of its name.
    bool holds_only(const std::string& folder,
                    FunctionRef<bool(const std::string&, const struct ::stat&)> kitovus) const {
        std::error_code ec;
        for (std::filesystem::recursive_directory_iterator it{folder, ec}, end; !ec && it != end;
             it.increment(ec)) {
            const auto type = it->symlink_status(ec).type();
            if (type == std::filesystem::file_type::directory)
                continue;
            if (type != std::filesystem::file_type::regular)
                return false;
            const std::string path = it->path().string();
            struct ::stat info {};
            if (::lstat(path.c_str(), &info) != 0 || !kitovus(path, info))
                return false;
        }
        return !ec;
    }

    // Removes `folder` (one holds_only() accepted) with everything in it: the files that were in
    // it, or nothing (errno says why).
    std::optional<std::vector<std::string>> remove_folder(const std::string& folder) {
        std::vector<std::string> files;
        std::error_code ec;
        for (std::filesystem::recursive_directory_iterator it{folder, ec}, end; !ec && it != end;
             it.increment(ec))
            if (!it->is_directory(ec))
                files.push_back(it->path().string());
        if (!remove_tree(folder, ec))
            return std::nullopt;
        forget_folders(); // a folder below it may have been known
        return files;
    }

    // After folders were removed below the target: nothing known is taken on trust.
    void forget_folders() {
        known_folders_.clear();
        current_folder_.clear();
    }
    void forget_folder(const std::filesystem::path& folder) {
        known_folders_.erase(folder.string());
    }
    // After folders were removed: the one open may be gone.
    void leave_folder() { current_folder_.clear(); }

    // Whether names that differ only in case are one name in `target` (FAT, exFAT), found out
    // once per target folder (by writing a file: never in a dry run).
    bool folds_case(const std::filesystem::path& target) {
        if (dry_run_)
            return false;
        const auto [it, fresh] = folds_case_.try_emplace(target.string(), false);
        if (fresh) {
            std::filesystem::path folder = target;
            std::error_code ignored;
            while (!std::filesystem::is_directory(folder, ignored) && folder.has_relative_path())
                folder = folder.parent_path();
            it->second = detail::folds_case(folder, std::random_device{}());
        }
        return it->second;
    }

  private:
    const bool dry_run_;
    std::unordered_set<std::string> known_folders_;
    std::string current_folder_;                  // of the file looked at last, made sure of
    std::optional<Descriptor> current_folder_fd_; // it, opened; -1 when it could not be (dry run)
    std::unordered_map<std::string, bool> folds_case_;
};

} // namespace kitovu::detail
