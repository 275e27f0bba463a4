// Target folders on the file systems students sync to: ext4, tmpfs, and FAT32 and exFAT images
// mounted through FUSE as USB sticks are on many desktops (this kernel has no vfat or exfat
// driver). Mounting needs root and fusefat, exfat-fuse, dosfstools and exfatprogs; CI fails
// instead of skipping when a file system cannot be mounted.
#pragma once

#include "process.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace kitovu::test {

enum class Disk { ext4, tmpfs, fat32, exfat };

inline const char* to_string(Disk disk) {
    switch (disk) {
    case Disk::ext4: return "ext4";
    case Disk::tmpfs: return "tmpfs";
    case Disk::fat32: return "FAT32";
    case Disk::exfat: return "exFAT";
    }
    return "?";
}

// One file system mounted on a folder of its own for as long as the object lives (ext4: the
// test's temp folder as it is).
class MountedDisk {
  public:
    explicit MountedDisk(Disk kind) : kind_(kind) {
        std::filesystem::create_directories(root());
        mount();
    }
    ~MountedDisk() { unmount(); }
    MountedDisk(const MountedDisk&) = delete;
    MountedDisk& operator=(const MountedDisk&) = delete;

    Disk kind() const { return kind_; }
    std::filesystem::path root() const { return dir_ / "mnt"; }
    bool folds_case() const { return kind_ == Disk::fat32 || kind_ == Disk::exfat; }
    const std::string& missing() const { return missing_; }

    // A stick unplugged and plugged in again: FUSE gives every file a new inode number. (ext4
    // and tmpfs stay as they are: tmpfs would lose its files.)
    void remount() {
        if (kind_ != Disk::fat32 && kind_ != Disk::exfat)
            return;
        unmount();
        mount();
    }

  private:
    static std::optional<std::filesystem::path> program(const std::string& name) {
        for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"})
            if (::access((std::filesystem::path{dir} / name).c_str(), X_OK) == 0)
                return std::filesystem::path{dir} / name;
        return std::nullopt;
    }

    // Runs `args` (args[0] a program name) with its output in a file, not a pipe: a FUSE server
    // keeps what it inherited when it goes to the background. False with missing_ set when it
    // fails.
    bool run(std::vector<std::string> args) {
        const auto path = program(args[0]);
        if (!path) {
            missing_ = args[0] + " is not installed";
            return false;
        }
        args[0] = path->string();
        const auto log = dir_ / "command.log";
        const pid_t child = ::fork();
        if (child == 0) {
            const int in = ::open("/dev/null", O_RDONLY);
            const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(in, STDIN_FILENO);
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
            std::vector<char*> argv;
            for (auto& arg : args)
                argv.push_back(arg.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        if (detail::wait_for(child) == 0)
            return true;
        missing_ = args[0] + " failed: " + read_file(log);
        return false;
    }

    bool mounted() const {
        struct ::stat mount_point {
        }, parent{};
        return ::stat(root().c_str(), &mount_point) == 0 &&
               ::stat(dir_.path().c_str(), &parent) == 0 && mount_point.st_dev != parent.st_dev;
    }

    void mount() {
        missing_.clear();
        const std::string image = (dir_ / "disk.img").string();
        const std::string mount_point = root().string();
        if (::geteuid() != 0 && kind_ != Disk::ext4) {
            missing_ = "mounting needs root";
            return;
        }
        switch (kind_) {
        case Disk::ext4: return;
        case Disk::tmpfs:
            run({"mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mount_point});
            break;
        case Disk::fat32:
            if (!std::filesystem::exists(image)) {
                std::ofstream{image}.close();
                std::filesystem::resize_file(image, 64 << 20);
                if (!run({"mkfs.vfat", "-F", "32", image}))
                    return;
            }
            run({"fusefat", "-o", "rw+", image, mount_point});
            break;
        case Disk::exfat:
            if (!std::filesystem::exists(image)) {
                std::ofstream{image}.close();
                std::filesystem::resize_file(image, 64 << 20);
                if (!run({"mkfs.exfat", image}))
                    return;
            }
            if (run({"losetup", "-f", "--show", image})) {
                loop_ = read_file(dir_ / "command.log");
                loop_ = loop_.substr(0, loop_.find('\n'));
                run({"mount.exfat-fuse", loop_, mount_point});
            }
            break;
        }
        if (missing_.empty() && !mounted())
            missing_ = std::string{to_string(kind_)} + " was not mounted";
        daemon_ = kind_ == Disk::tmpfs ? -1 : daemon_of(mount_point);
    }

    // The FUSE server serving `mount_point` (it runs in the background once mounted).
    static pid_t daemon_of(const std::string& mount_point) {
        std::error_code ignored;
        for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
            std::string arguments;
            try { // a process that ends while it is read throws (see samba_fixture.hpp)
                std::ifstream in{entry.path() / "cmdline"};
                arguments.assign(std::istreambuf_iterator<char>{in}, {});
            } catch (const std::exception&) {
                continue;
            }
            if (arguments.find(std::string{'\0'} + mount_point + '\0') != std::string::npos)
                return static_cast<pid_t>(std::atoi(entry.path().filename().c_str()));
        }
        return -1;
    }

    void unmount() {
        if (kind_ == Disk::ext4)
            return;
        if (mounted()) {
            if (kind_ == Disk::tmpfs)
                run({"umount", root().string()});
            else
                run({"fusermount", "-u", root().string()});
        }
        // The server writes the image until it ends: the next mount waits for that.
        if (daemon_ > 0) {
            const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, daemon_, 0));
            if (pidfd >= 0) {
                pollfd ended{pidfd, POLLIN, 0};
                ::poll(&ended, 1, patience_ms);
                ::close(pidfd);
            }
            daemon_ = -1;
        }
        if (!loop_.empty())
            run({"losetup", "-d", std::exchange(loop_, std::string{})});
    }

    Disk kind_;
    TempDir dir_;
    std::string loop_;
    pid_t daemon_ = -1;
    std::string missing_;
};

// Whether a test can use `disk`: CI (the variable CI is set) fails the test, since CI never
// skips; elsewhere the test says why it is skipped.
inline bool disk_ready(const MountedDisk& disk) {
    if (disk.missing().empty())
        return true;
    if (std::getenv("CI") != nullptr)
        FAIL("cannot mount " << to_string(disk.kind()) << " (needs root, /dev/fuse, fusefat, "
                             << "exfat-fuse), and CI never skips: " << disk.missing());
    WARN("skipped: cannot mount " << to_string(disk.kind()) << ": " << disk.missing());
    return false;
}

} // namespace kitovu::test
