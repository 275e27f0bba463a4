// Whether a server that closed the connection at once speaks only SMB1: libsmbclient, told never
// to use SMB1, reports that case as an aborted connection, like a server that went away.
#pragma once

#include "kitovu/plugins/smb/interrupt.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace kitovu::detail::smb {

// An SMB1 NEGOTIATE offering NT LM 0.12 and SMB 2.002 / 2.???, in its NetBIOS session frame:
// a server that speaks SMB2 answers in SMB2 (0xFE 'SMB'), one that speaks only SMB1 in SMB1.
inline std::string smb1_negotiate() {
    static constexpr char offered[] = "\x02NT LM 0.12\0\x02SMB 2.002\0\x02SMB 2.???\0";
    const std::string_view dialects{offered, sizeof offered - 1};
    std::string smb = std::string{"\xffSMB\x72", 5} + std::string(4, '\0') // command, status
                      + "\x18" + std::string{"\x01\xc8", 2}                // flags, flags2
                      + std::string(20, '\0') + std::string{"\x00", 1}     // ids; word count 0
                      + static_cast<char>(dialects.size() & 0xff) +
                      static_cast<char>(dialects.size() >> 8) + std::string{dialects};
    std::string frame(1, '\0');
    frame += static_cast<char>((smb.size() >> 16) & 0xff);
    frame += static_cast<char>((smb.size() >> 8) & 0xff);
    frame += static_cast<char>(smb.size() & 0xff);
    return frame + smb;
}

enum class Dialect { smb1_only, smb2_or_later, unknown };

// What the first bytes of the server's answer to smb1_negotiate() say.
inline Dialect dialect_of_answer(std::string_view answer) {
    if (answer.size() < 8 || answer[0] != '\0')
        return Dialect::unknown;
    const std::string_view protocol = answer.substr(4, 4);
    if (protocol == std::string_view{"\xffSMB", 4})
        return Dialect::smb1_only;
    if (protocol == std::string_view{"\xfeSMB", 4})
        return Dialect::smb2_or_later;
    return Dialect::unknown;
}

// Asks the server at host:port over a connection of its own, waiting at most `timeout`.
inline Dialect probe_dialect(const std::string& host, std::uint16_t port,
                             std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0)
        return Dialect::unknown;
    Dialect dialect = Dialect::unknown;
    // Not libsmbclient's: no login of another thread takes it for its own (interrupt.hpp).
    const OwnSocket probe{
        ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
    const int fd = probe.fd();
    const auto wait = [&](short events) {
        ::pollfd one{fd, events, 0};
        return ::poll(&one, 1, static_cast<int>(timeout.count())) == 1;
    };
    if (fd >= 0) {
        const bool connected = ::connect(fd, found->ai_addr, found->ai_addrlen) == 0 ||
                               (errno == EINPROGRESS && wait(POLLOUT));
        const std::string request = smb1_negotiate();
        std::array<char, 64> answer{};
        if (connected &&
            ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size()) &&
            wait(POLLIN)) {
            const auto got = ::recv(fd, answer.data(), answer.size(), 0);
            if (got > 0)
                dialect = dialect_of_answer({answer.data(), static_cast<std::size_t>(got)});
        }
    }
    ::freeaddrinfo(found);
    return dialect;
}

} // namespace kitovu::detail::smb
