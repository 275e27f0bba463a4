// Waking a thread that waits inside libsmbclient for a server, when the run is stopped.
#pragma once

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

namespace kitovu::detail::smb {

// The TCP connections of this process to a server's `port`, by descriptor.
inline std::vector<int> connections_to(std::uint16_t port) {
    std::vector<int> found;
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
        if (peer_port == port)
            found.push_back(static_cast<int>(fd));
    }
    ::closedir(folder);
    return found;
}

// Which instance logged in over which connection, so that stopping one instance ends its own
// connections (and those still logging in) but not another instance's. Its own lock: the
// library lock is held by the very call a stop has to wake.
struct SocketOwners {
    std::mutex mutex;
    std::map<int, const void*> owner; // by descriptor
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
        const auto fds = connections_to(port);
        auto& owners = socket_owners();
        std::scoped_lock lock{owners.mutex};
        for (const int fd : fds) {
            const auto found = owners.owner.find(fd);
            if (found == owners.owner.end() ? unowned_too : found->second == instance)
                ::shutdown(fd, SHUT_RDWR);
        }
    } catch (...) {
        // out of memory: the wait ends at its time-out
    }
}

// Records the connections to `port` that are not in `before` as `instance`'s.
inline void claim_connections(const void* instance, std::uint16_t port,
                              const std::vector<int>& before) {
    const auto now = connections_to(port);
    auto& owners = socket_owners();
    std::scoped_lock lock{owners.mutex};
    for (const int fd : now)
        if (std::ranges::find(before, fd) == before.end())
            owners.owner.try_emplace(fd, instance);
}

// Forgets `instance`'s connections (before its context closes them and the numbers are reused).
inline void release_connections(const void* instance) noexcept {
    auto& owners = socket_owners();
    std::scoped_lock lock{owners.mutex};
    std::erase_if(owners.owner, [&](const auto& item) { return item.second == instance; });
}

} // namespace kitovu::detail::smb
