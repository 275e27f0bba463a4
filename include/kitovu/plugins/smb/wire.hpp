// How the smb plugin and its helper processes (kitovu-smb-helper) talk: over a SOCK_SEQPACKET
// pair, each send one message, a type byte and a payload. File bytes do not go through it but
// through a shared memory file: the helper reads a block into one of its two slots, says how
// much, and reads into that slot again only once the plugin answered for it.
#pragma once

#include "kitovu/error.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu::detail::smb {

enum class Message : char {
    login = 'H',    // plugin -> helper, first: a Login (see encode_login)
    go = 'G',       // plugin -> parked helper: the first login's session setup succeeded, log in
    setup_ok = 'P', // helper -> plugin: its session setup succeeded (asked for by Login::report)
    ready = 'Y',    // helper -> plugin: logged in: login time (8), or failed: an error after it
    list = 'L',     // plugin -> helper: list this folder (share-relative)
    items = 'I',    // helper -> plugin: some of the folder's entries (encode_item)
    request = 'R',  // plugin -> helper: listed size (8), locator
    chunk = 'C',    // helper -> plugin: a block of this many bytes (8) is in this slot (1)
    ack = 'A',      // plugin -> helper: the block was written, read on
    stop = 'S',     // plugin -> helper: writing failed, give up this file
    done = 'D',     // helper -> plugin: the folder or file is complete
    failed = 'E',   // helper -> plugin: an error (encode_error)
};

// Read size per smbc_read. 50 MB over loopback from Samba 4.17, MB/s: 64 KiB 475, 256 KiB 924,
// 1 MiB 1338, 4 MiB 1460, 8 MiB 1380; libsmbclient pipelines a large read, which hides latency.
inline constexpr std::size_t block_size = std::size_t{4} << 20;
// The helper reads the next block into one slot while the plugin writes the other (1 GiB warm:
// 0.82 s with one slot, smbclient 0.52 s).
inline constexpr std::size_t slots = 2;
inline constexpr std::size_t message_limit = 128 * 1024;

inline bool send_message(int fd, Message type, std::string_view payload = {}) {
    std::string message(1, static_cast<char>(type));
    message += payload;
    for (;;) {
        const auto n = ::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        return n == static_cast<ssize_t>(message.size());
    }
}

// The next message into `buffer`; false when the other side is gone or sent nonsense.
inline bool receive_message(int fd, std::vector<char>& buffer, Message& type,
                            std::string_view& payload) {
    buffer.resize(message_limit);
    for (;;) {
        const auto n = ::recv(fd, buffer.data(), buffer.size(), MSG_TRUNC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || static_cast<std::size_t>(n) > buffer.size())
            return false;
        type = static_cast<Message>(buffer[0]);
        payload = std::string_view{buffer.data() + 1, static_cast<std::size_t>(n) - 1};
        return true;
    }
}

inline std::string encode_size(std::uint64_t value) {
    std::string out(8, '\0');
    std::memcpy(out.data(), &value, 8);
    return out;
}

// The number at the front of `bytes`, which is then dropped.
inline std::uint64_t take_size(std::string_view& bytes) {
    std::uint64_t value = 0;
    if (bytes.size() >= 8)
        std::memcpy(&value, bytes.data(), 8);
    bytes.remove_prefix(std::min<std::size_t>(8, bytes.size()));
    return value;
}

// A string at the front of `bytes` up to a '\0', which is then dropped.
inline std::string take_string(std::string_view& bytes) {
    const auto end = std::min(bytes.find('\0'), bytes.size());
    std::string out{bytes.substr(0, end)};
    bytes.remove_prefix(std::min(end + 1, bytes.size()));
    return out;
}

// What a helper needs to log in. The password goes over the socket, never on a command line.
struct Login {
    std::string host, share, user, domain, password;
    std::string signing = "if_required"; // smb.conf's `client signing`
    std::uint16_t port = 445;
    bool encrypt = false;
    int timeout_seconds = 30;
    bool parked = false;   // waits for Message::go before it logs in
    bool report = false;   // says Message::setup_ok when its session setup succeeded
    bool answered = false; // a login with these settings succeeded before (a time-out then means
                           // the server stopped answering)

    std::string where() const { return host + ':' + std::to_string(port); }
};

inline std::string encode_login(const Login& l) {
    std::string out;
    for (const std::string* text : {&l.host, &l.share, &l.user, &l.domain, &l.password, &l.signing})
        out += *text + '\0';
    out += encode_size(l.port) + encode_size(static_cast<std::uint64_t>(l.timeout_seconds));
    out += static_cast<char>((l.encrypt ? 1 : 0) | (l.parked ? 2 : 0) | (l.report ? 4 : 0) |
                             (l.answered ? 8 : 0));
    return out;
}

inline Login decode_login(std::string_view in) {
    Login l;
    for (std::string* text : {&l.host, &l.share, &l.user, &l.domain, &l.password, &l.signing})
        *text = take_string(in);
    l.port = static_cast<std::uint16_t>(take_size(in));
    l.timeout_seconds = static_cast<int>(take_size(in));
    const int flags = in.empty() ? 0 : in.front();
    l.encrypt = (flags & 1) != 0;
    l.parked = (flags & 2) != 0;
    l.report = (flags & 4) != 0;
    l.answered = (flags & 8) != 0;
    return l;
}

// An error without its connection name (the plugin adds it): kind (1), message, '\0', path.
inline std::string encode_error(const UsageError& e) {
    return static_cast<char>(e.kind) + e.message + '\0' + e.path;
}

inline UsageError decode_error(std::string_view in, std::string connection, std::string path) {
    const auto kind = in.empty() ? ErrorKind::internal : static_cast<ErrorKind>(in.front());
    in.remove_prefix(in.empty() ? 0 : 1);
    std::string message = take_string(in);
    if (!in.empty())
        path = std::string{in};
    if (message.empty())
        message = "an SMB helper sent an empty error";
    return UsageError{kind <= ErrorKind::internal ? kind : ErrorKind::internal,
                      std::move(message),
                      std::move(connection),
                      std::move(path),
                      {}};
}

// One entry of a listed folder. A folder's own entry "." is kept: its id is the folder's.
struct Item {
    std::string name;
    bool is_folder = false;
    bool is_link = false; // a reparse point: junction or symbolic link
    std::uint64_t size = 0;
    std::int64_t mtime = 0;
    std::uint32_t mtime_nsec = 0; // SMB times have 100 ns steps
    std::int64_t btime = 0;       // creation time in ns, 0 when the server gives none
    std::uint64_t id = 0;         // folders: the server's file id (a link's is its target's)
};

// flags (1: folder, 2: link), size, mtime, its nanoseconds, btime, id (8 each), name, '\0'
inline void encode_item(const Item& item, std::string& out) {
    out += static_cast<char>((item.is_folder ? 1 : 0) | (item.is_link ? 2 : 0));
    for (const std::uint64_t n :
         {item.size, static_cast<std::uint64_t>(item.mtime), std::uint64_t{item.mtime_nsec},
          static_cast<std::uint64_t>(item.btime), item.id})
        out += encode_size(n);
    out += item.name + '\0';
}

inline bool decode_items(std::string_view in, std::vector<Item>& out) {
    while (!in.empty()) {
        if (in.size() < 1 + 5 * 8 + 1)
            return false;
        Item item;
        item.is_folder = (in.front() & 1) != 0;
        item.is_link = (in.front() & 2) != 0;
        in.remove_prefix(1);
        item.size = take_size(in);
        item.mtime = static_cast<std::int64_t>(take_size(in));
        item.mtime_nsec = static_cast<std::uint32_t>(take_size(in) % 1'000'000'000);
        item.btime = static_cast<std::int64_t>(take_size(in));
        item.id = take_size(in);
        item.name = take_string(in);
        out.push_back(std::move(item));
    }
    return true;
}

} // namespace kitovu::detail::smb
