// Questions kitovu asks a server over a connection of its own: whether one that closed the
// connection at once speaks only SMB1 (libsmbclient, told never to use SMB1, reports that case as
// an aborted connection, like a server that went away), and how long a round trip to it takes.
#pragma once

#include "kitovu/plugin/link.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace kitovu::detail::smb {

// An SMB1 NEGOTIATE offering NT LM 0.12 and SMB 2.002 / 2.???, in its NetBIOS session frame:
// a server that speaks SMB2 answers in SMB2 (0xFE 'SMB'), one that speaks only SMB1 in SMB1.
inline constexpr std::string_view smb1_negotiate{
    "\0\0\0\x45"                                            // NetBIOS session frame of 69 bytes
    "\xffSMB\x72\0\0\0\0\x18\x01\xc8"                       // NEGOTIATE, status, flags, flags2
    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"            // ids; no words
    "\x22\0\x02NT LM 0.12\0\x02SMB 2.002\0\x02SMB 2.???\0", // 34 bytes of dialects
    73};

// An SMB2 NEGOTIATE offering 2.0.2 to 3.0.2 (3.1.1 would need negotiate contexts), sent after
// smb1_negotiate was answered in SMB2 (MessageId 1). Whatever the server answers, a refusal
// too, costs one round trip, with its process forked and its configuration read by then.
inline constexpr std::string_view smb2_negotiate{
    // NetBIOS frame of 108 bytes; SMB2 header: NEGOTIATE asking one credit, MessageId 1
    "\0\0\0\x6c\xfeSMB\x40\0\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0"
    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0" // ids, signature
    // 36 bytes, 4 dialects, signing enabled; no capabilities, GUID or time; 2.0.2 to 3.0.2
    "\x24\0\x04\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
    "\x02\x02\x10\x02\0\x03\x02\x03",
    112};

// An SMB2 ECHO, which Samba answers before any login; its MessageId (the byte at 28) is set per
// request. A busy machine delays answers now and then, never speeds them up: the quickest of a
// few round trips is the link's.
inline constexpr std::string_view smb2_echo{
    "\0\0\0\x44\xfeSMB\x40\0\0\0\0\0\0\0\x0d\0\x01\0"  // frame of 68 bytes; ECHO asking one credit
    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0" // flags, next command, MessageId, tree
    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0" // session, signature
    "\x04\0\0\0",
    72};

enum class Dialect { smb1_only, smb2_or_later, unknown };

// What the first bytes of the server's answer to smb1_negotiate say.
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
    // When asked for and it speaks SMB2: the quickest answer to smb2_negotiate and up to six
    // echoes after it, a round trip without the process the server forks for a new connection
    // (on loopback with a cold page cache, tens of milliseconds) or a busy machine's delays.
    std::optional<std::chrono::microseconds> round_trip;
};

// Asks the server at host:port over a connection of its own, waiting at most `timeout` for each
// step; with `time_round_trip`, more requests for the round trip.
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
    // Sends `request` and reads the answer's frame: true once all of it came in time. Of a frame
    // too large for a negotiate answer, only the protocol is read.
    std::string frame;
    const auto ask = [&](std::string_view request) {
        frame.assign(8, '\0');
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(request.size()) ||
            !read(frame.data(), 4))
            return false;
        const std::size_t size = (std::size_t{static_cast<unsigned char>(frame[1])} << 16) |
                                 (std::size_t{static_cast<unsigned char>(frame[2])} << 8) |
                                 static_cast<unsigned char>(frame[3]);
        frame.resize(size > 64 * 1024 ? 8 : 4 + size);
        return read(frame.data() + 4, frame.size() - 4) && size <= 64 * 1024;
    };
    const bool connected = fd >= 0 && (::connect(fd, found->ai_addr, found->ai_addrlen) == 0 ||
                                       (errno == EINPROGRESS && wait(POLLOUT)));
    ::freeaddrinfo(found);
    const bool whole = connected && ask(smb1_negotiate);
    answer.dialect = connected ? dialect_of_answer(frame) : Dialect::unknown;
    // Until one answer is quick (a fast link) or three agree within a quarter (a slow one).
    std::string request{smb2_negotiate};
    std::chrono::microseconds quickest = std::chrono::hours{1}, slowest{};
    const auto steady = [&] { return slowest * 4 < quickest * 5; };
    for (char id = 2; time_round_trip && whole && answer.dialect == Dialect::smb2_or_later &&
                      id < 9 && quickest >= fast_link_round_trip && (id < 5 || !steady());
         ++id) {
        const auto began = std::chrono::steady_clock::now();
        if (!ask(request))
            break;
        const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - began);
        quickest = std::min(quickest, took);
        slowest = std::max(slowest, took);
        answer.round_trip = quickest;
        request = smb2_echo;
        request[28] = id;
    }
    return answer;
}

inline Dialect probe_dialect(const std::string& host, std::uint16_t port,
                             std::chrono::milliseconds timeout) {
    return probe(host, port, timeout, false).dialect;
}

} // namespace kitovu::detail::smb
