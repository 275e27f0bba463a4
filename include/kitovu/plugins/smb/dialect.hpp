// Questions kitovu asks a server over a connection of its own: whether one that closed the
// connection at once speaks only SMB1 (libsmbclient, told never to use SMB1, reports that case as
// an aborted connection, like a server that went away), and how long a round trip to it takes.
#pragma once

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
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

// An SMB2 NEGOTIATE offering 2.0.2 to 3.0.2 (3.1.1 would need negotiate contexts), sent after
// smb1_negotiate() was answered in SMB2 (MessageId 1). Whatever the server answers, a refusal
// too, costs one round trip, with its process forked and its configuration read by then.
inline std::string smb2_negotiate() {
    const auto le16 = [](std::uint16_t value) {
        return std::string{static_cast<char>(value & 0xff), static_cast<char>(value >> 8)};
    };
    std::string smb = std::string{"\xfeSMB", 4} + le16(64) // protocol, header size
                      + std::string(6, '\0')               // credit charge, status
                      + le16(0) + le16(1)                  // NEGOTIATE, one credit asked
                      + std::string(8, '\0')               // flags, next command
                      + le16(1) + std::string(6, '\0')     // MessageId 1
                      + std::string(32, '\0');             // process, tree, session, signature
    const std::uint16_t dialects[] = {0x0202, 0x0210, 0x0300, 0x0302};
    smb += le16(36) + le16(static_cast<std::uint16_t>(std::size(dialects))) +
           le16(1)                              // size, count, signing enabled
           + std::string(2 + 4 + 16 + 8, '\0'); // reserved, capabilities, GUID, time
    for (const std::uint16_t dialect : dialects)
        smb += le16(dialect);
    return std::string{'\0', '\0', static_cast<char>(smb.size() >> 8),
                       static_cast<char>(smb.size() & 0xff)} +
           smb;
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

struct ProbeAnswer {
    Dialect dialect = Dialect::unknown;
    // How long the server took to answer smb2_negotiate(), when asked for and it speaks SMB2:
    // a round trip, without the process the server forks for a new connection (on loopback with
    // a cold page cache, that alone can take tens of milliseconds).
    std::optional<std::chrono::microseconds> round_trip;
};

// Asks the server at host:port over a connection of its own, waiting at most `timeout` for each
// step; with `time_round_trip`, a second request for the round trip.
inline ProbeAnswer probe(const std::string& host, std::uint16_t port,
                         std::chrono::milliseconds timeout, bool time_round_trip) {
    ProbeAnswer answer;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0)
        return answer;
    const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const std::unique_ptr<const int, void (*)(const int*)> closing{
        &fd, [](const int* open) { ::close(*open); }};
    const auto wait = [&](short events) {
        ::pollfd one{fd, events, 0};
        return ::poll(&one, 1, static_cast<int>(timeout.count())) == 1;
    };
    const auto read = [&](char* to, std::size_t size) {
        while (size > 0) {
            const auto got = wait(POLLIN) ? ::recv(fd, to, size, 0) : -1;
            if (got <= 0)
                return false;
            to += got;
            size -= static_cast<std::size_t>(got);
        }
        return true;
    };
    // Sends `request` and reads the answer's frame, or as much of it as came in time (`whole`
    // says which); a frame too large for a negotiate answer is left unread.
    bool whole = false;
    const auto ask = [&](const std::string& request) {
        whole = false;
        std::string frame;
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size()))
            return frame;
        frame.resize(8);
        if (!read(frame.data(), 4))
            return std::string{};
        const std::size_t size = (std::size_t{static_cast<unsigned char>(frame[1])} << 16) |
                                 (std::size_t{static_cast<unsigned char>(frame[2])} << 8) |
                                 static_cast<unsigned char>(frame[3]);
        if (size > 64 * 1024)
            return read(frame.data() + 4, 4) ? frame : std::string{};
        frame.resize(4 + size);
        whole = read(frame.data() + 4, size);
        return frame;
    };
    const bool connected = fd >= 0 && (::connect(fd, found->ai_addr, found->ai_addrlen) == 0 ||
                                       (errno == EINPROGRESS && wait(POLLOUT)));
    ::freeaddrinfo(found);
    if (!connected)
        return answer;
    answer.dialect = dialect_of_answer(ask(smb1_negotiate()));
    if (time_round_trip && whole && answer.dialect == Dialect::smb2_or_later) {
        const auto began = std::chrono::steady_clock::now();
        ask(smb2_negotiate());
        if (whole)
            answer.round_trip = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - began);
    }
    return answer;
}

inline Dialect probe_dialect(const std::string& host, std::uint16_t port,
                             std::chrono::milliseconds timeout) {
    return probe(host, port, timeout, false).dialect;
}

} // namespace kitovu::detail::smb
