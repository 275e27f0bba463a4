// Helpers for the reliability tests: mounts that fail on purpose (a full disk, a read-only
// folder), checks that a target folder and a cache hold only complete files, and the figures
// a run measures for docs/reliability.md.
#pragma once

#include "support.hpp"

#include <kitovu/cache/filecache.hpp>
#include <kitovu/plugin/plugin.hpp>

#include <catch2/catch.hpp>

#include <sys/mount.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace kitovu::test {

// What the suite tried, printed once when the binary ends: the figures of docs/reliability.md.
struct Figures {
    std::atomic<long> hostile_names{0};
    std::atomic<long> faults{0};
    std::atomic<long> kills{0};
    std::atomic<long> files_checked{0};
    std::atomic<long> files_lost{0};
    ~Figures() {
        std::printf("kitovu reliability figures: hostile names tried %ld, faults injected %ld, "
                    "kills survived %ld, files checked after recovery %ld, files lost %ld\n",
                    hostile_names.load(), faults.load(), kills.load(), files_checked.load(),
                    files_lost.load());
        std::fflush(stdout);
    }
};

inline Figures& figures() {
    static Figures instance;
    return instance;
}

// A mount made for one test and removed at scope exit (lazily, so an open file cannot keep it).
class Mount {
  public:
    // A tmpfs of `size` (e.g. "2m") on `folder`: a small disk that fills up.
    static std::optional<Mount> small_disk(const std::filesystem::path& folder,
                                           const std::string& size) {
        std::filesystem::create_directories(folder);
        const std::string options = "size=" + size + ",mode=0755";
        if (::mount("tmpfs", folder.c_str(), "tmpfs", 0, options.c_str()) != 0)
            return fail_reason("mount -t tmpfs", folder);
        return Mount{folder};
    }

    // `folder` bind-mounted onto itself read-only: writes fail with EROFS even for root (who
    // ignores permission bits, so chmod 555 would prove nothing).
    static std::optional<Mount> read_only(const std::filesystem::path& folder) {
        std::filesystem::create_directories(folder);
        if (::mount(folder.c_str(), folder.c_str(), nullptr, MS_BIND, nullptr) != 0)
            return fail_reason("mount --bind", folder);
        Mount mounted{folder};
        if (::mount(nullptr, folder.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) !=
            0)
            return fail_reason("mount -o remount,ro,bind", folder);
        return mounted;
    }

    Mount(Mount&& other) noexcept : folder_(std::exchange(other.folder_, {})) {}
    Mount& operator=(Mount&&) = delete;
    ~Mount() {
        if (!folder_.empty())
            ::umount2(folder_.c_str(), MNT_DETACH);
    }

    // Removes the fault: the bind mount becomes writable, the small disk large.
    void make_writable() const {
        REQUIRE(::mount(nullptr, folder_.c_str(), nullptr, MS_REMOUNT | MS_BIND, nullptr) == 0);
    }
    void grow(const std::string& size) const {
        const std::string options = "size=" + size;
        REQUIRE(::mount(nullptr, folder_.c_str(), nullptr, MS_REMOUNT, options.c_str()) == 0);
    }

    static const std::string& last_failure() { return failure(); }

  private:
    explicit Mount(std::filesystem::path folder) : folder_(std::move(folder)) {}
    static std::string& failure() {
        static std::string text;
        return text;
    }
    static std::nullopt_t fail_reason(const char* what, const std::filesystem::path& folder) {
        failure() = std::string{what} + " " + folder.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }

    std::filesystem::path folder_;
};

// Whether a test that needs a mount can run: CI fails it (CI never skips), elsewhere it is
// skipped with the reason.
inline bool mount_ready(const std::optional<Mount>& mount) {
    if (mount)
        return true;
    if (std::getenv("CI") != nullptr)
        FAIL("this test needs to mount (root with CAP_SYS_ADMIN), and CI never skips: "
             << Mount::last_failure());
    WARN("skipped: cannot mount here (" << Mount::last_failure() << ")");
    return false;
}

inline bool is_temporary(const std::filesystem::path& file) {
    return file.filename().string().starts_with(".kitovu-partial-");
}

// Every regular file under `root` but kitovu's temporaries: relative path -> content.
inline std::map<std::string, std::string> final_files(const std::filesystem::path& root) {
    std::map<std::string, std::string> files;
    std::error_code ec;
    if (!std::filesystem::exists(root, ec))
        return files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
        if (entry.is_regular_file() && !is_temporary(entry.path()))
            files[entry.path().lexically_relative(root).generic_string()] = read_file(entry.path());
    return files;
}

// Each file under a final name is one complete version the remote had.
inline void
check_only_complete_files(const std::filesystem::path& root,
                          const std::map<std::string, std::set<std::string>>& versions) {
    for (const auto& [path, content] : final_files(root)) {
        INFO("file under its final name: " << path);
        const auto it = versions.find(path);
        REQUIRE(it != versions.end());
        REQUIRE(it->second.contains(content));
    }
}

// Each cache entry describes a file that is on disk exactly as recorded (size and mtime), so no
// entry claims a file that was not fully written.
inline void check_cache_matches_disk(const std::filesystem::path& cache_file,
                                     const std::set<std::string>& edited = {}) {
    auto cache = FileCache::load(cache_file, no_warnings, false);
    REQUIRE(cache);
    for (const auto& [key, entry] : cache->entries()) {
        INFO("cache entry: " << key);
        if (entry.local == LocalIdentity{} || edited.contains(key))
            continue; // a conflict over a file kitovu never wrote, or edited: the user's

        std::error_code ec;
        REQUIRE(std::filesystem::is_regular_file(key, ec));
        CHECK(entry.local.matches(test::identity_of(key)));
    }
}

// Counts the files of `expected` that are missing or different under `root` (files lost).
inline long count_lost(const std::filesystem::path& root,
                       const std::map<std::string, std::string>& expected) {
    const auto here = final_files(root);
    long lost = 0;
    for (const auto& [path, content] : expected) {
        const auto it = here.find(path);
        if (it == here.end() || it->second != content)
            ++lost;
    }
    figures().files_checked += static_cast<long>(expected.size());
    figures().files_lost += lost;
    return lost;
}

} // namespace kitovu::test
