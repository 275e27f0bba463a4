// Waking a thread that waits inside libsmbclient for a server, when the run is stopped.
#pragma once

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kitovu::detail::smb {

// A TCP connection of this process: its descriptor, and its socket's inode, which a socket
// opened later under the same number does not share.
struct Connection {
    int fd;
    ino_t inode;
};

// The inode of socket `fd`, read from its /proc link ("socket:[INODE]"). Not fstat(): that
// counts as a use of the descriptor, which another thread may be closing meanwhile (the race
// ThreadSanitizer reports); the link is only a name.
inline std::optional<ino_t> socket_inode(int fd) {
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    std::array<char, 64> target{};
    const ssize_t size = ::readlink(link.c_str(), target.data(), target.size() - 1);
    constexpr std::string_view prefix = "socket:[";
    const std::string_view text{target.data(), size > 0 ? static_cast<std::size_t>(size) : 0};
    if (!text.starts_with(prefix) || !text.ends_with(']'))
        return std::nullopt;
    ino_t inode = 0;
    const auto digits = text.substr(prefix.size(), text.size() - prefix.size() - 1);
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), inode);
    if (error != std::errc{} || end != digits.data() + digits.size())
        return std::nullopt;
    return inode;
}

// The TCP connections of this process to a server's `port`.
inline std::vector<Connection> connections_to(std::uint16_t port) {
    std::vector<Connection> found;
    DIR* folder = ::opendir("/proc/self/fd");
    if (folder == nullptr)
        return found;
    while (const dirent* entry = ::readdir(folder)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == ::dirfd(folder))
            continue;
        sockaddr_storage peer{};
        socklen_t size = sizeof peer;
        if (::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &size) != 0)
            continue;
        std::uint16_t peer_port = 0;
        if (peer.ss_family == AF_INET)
            peer_port = ntohs(reinterpret_cast<const sockaddr_in*>(&peer)->sin_port);
        else if (peer.ss_family == AF_INET6)
            peer_port = ntohs(reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_port);
        if (peer_port != port)
            continue;
        if (const auto inode = socket_inode(static_cast<int>(fd)))
            found.push_back({static_cast<int>(fd), *inode});
    }
    ::closedir(folder);
    return found;
}

// Which instance logged in over which connection, so that stopping one instance ends its own
// connections (and those still logging in) but not another instance's. By inode, not by
// descriptor: a number freed by a socket that was not libsmbclient's, or by a connection
// libsmbclient replaced, goes to the next socket opened anywhere in the process. Sockets that
// kitovu opens itself beside libsmbclient's (the dialect probe) are listed as nobody's
// (nullptr) while open, so that no login claims them and no stop ends them. Its own lock: the
// library lock is held by the very call a stop has to wake.
struct SocketOwners {
    std::mutex mutex;
    std::map<ino_t, const void*> owner;
};
inline SocketOwners& socket_owners() {
    static SocketOwners owners;
    return owners;
}

// Shuts down (never closes: the descriptors stay libsmbclient's) the connections to `port` of
// `instance` and, with `unowned_too`, those nobody owns yet (a login in progress): a libsmbclient
// call waiting on one fails at once instead of after the time-out.
inline void shut_connections_of(const void* instance, std::uint16_t port,
                                bool unowned_too = true) noexcept {
    try {
        const auto connections = connections_to(port);
        auto& owners = socket_owners();
        std::scoped_lock lock{owners.mutex};
        for (const Connection& connection : connections) {
            const auto found = owners.owner.find(connection.inode);
            if (found == owners.owner.end() ? unowned_too : found->second == instance)
                ::shutdown(connection.fd, SHUT_RDWR);
        }
    } catch (...) {
        // out of memory: the wait ends at its time-out
    }
}

// Records the connections to `port` that are not in `before` as `instance`'s.
inline void claim_connections(const void* instance, std::uint16_t port,
                              const std::vector<Connection>& before) {
    const auto now = connections_to(port);
    auto& owners = socket_owners();
    std::scoped_lock lock{owners.mutex};
    for (const Connection& connection : now)
        if (std::ranges::find(before, connection.inode, &Connection::inode) == before.end())
            owners.owner.try_emplace(connection.inode, instance);
}

// Forgets `instance`'s connections (before its context closes them).
inline void release_connections(const void* instance) noexcept {
    auto& owners = socket_owners();
    std::scoped_lock lock{owners.mutex};
    std::erase_if(owners.owner, [&](const auto& item) { return item.second == instance; });
}

// A socket of kitovu's own to a server, open while it lives: nobody's (see SocketOwners).
class OwnSocket {
  public:
    explicit OwnSocket(int fd) noexcept : fd_(fd) {
        if (fd_ < 0)
            return;
        try {
            const auto inode = socket_inode(fd_);
            if (!inode)
                return;
            auto& owners = socket_owners();
            std::scoped_lock lock{owners.mutex};
            owners.owner.insert_or_assign(*inode, nullptr);
            inode_ = inode;
        } catch (...) {
            // out of memory: a stop may end the probe too, which then reports no answer
        }
    }
    OwnSocket(const OwnSocket&) = delete;
    OwnSocket& operator=(const OwnSocket&) = delete;
    ~OwnSocket() {
        if (inode_) {
            auto& owners = socket_owners();
            std::scoped_lock lock{owners.mutex};
            owners.owner.erase(*inode_);
        }
        if (fd_ >= 0)
            ::close(fd_);
    }
    int fd() const noexcept { return fd_; }

  private:
    int fd_;
    std::optional<ino_t> inode_;
};

} // namespace kitovu::detail::smb
