// Waking a thread that waits inside libsmbclient for a server, when the run is stopped.
#pragma once

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdlib>

namespace kitovu::detail::smb {

// Shuts down (never closes: the descriptors stay libsmbclient's) every TCP connection of this
// process to a server's `port`: a libsmbclient call waiting on it fails at once instead of
// after the time-out. Only for stopping the whole run, so every connection to that port may go.
inline void shut_connections_to(std::uint16_t port) noexcept {
    DIR* folder = ::opendir("/proc/self/fd");
    if (folder == nullptr)
        return;
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
            ::shutdown(static_cast<int>(fd), SHUT_RDWR);
    }
    ::closedir(folder);
}

} // namespace kitovu::detail::smb
