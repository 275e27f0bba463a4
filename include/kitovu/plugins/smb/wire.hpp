// How a smb plugin instance and its helper processes talk: message types, framing, numbers.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu::detail::smb {
// A plugin instance and its download process talk over a SOCK_SEQPACKET pair: each send is one
// message, a type byte and a payload. File bytes do not go through it but through a mapping
// both share: the process reads a block into it, says how much, and waits until the instance
// has written it out.
enum class Message : char {
    request = 'R', // instance -> process: listed size (8 bytes), locator, '\0', path
    ack = 'A',     // instance -> process: the block was written, read on
    stop = 'S',    // instance -> process: writing failed or was cancelled, give up this file
    chunk = 'C',   // process -> instance: a block of this many bytes (8) is in this slot (1)
    done = 'D',    // process -> instance: the file is complete
    failed = 'E',  // process -> instance: error kind (1 byte), message, '\0', path
    list = 'L',    // instance -> process: list this folder (share-relative)
    items = 'I',   // process -> instance: some of the folder's entries (see SmbPlugin::Item)
    ready = 'Y',   // process -> instance, first: logged in (or failed to: requests say why)
    go = 'G',      // instance -> parked process: log in now (SmbPlugin::park_listers)
};

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

inline std::uint64_t decode_size(std::string_view bytes) {
    std::uint64_t value = 0;
    if (bytes.size() >= 8)
        std::memcpy(&value, bytes.data(), 8);
    return value;
}

// One entry of a listed folder, as a listing process sends it. A folder's own entry "." is
// kept: its id is the folder's.
struct Item {
    std::string name;
    bool is_folder = false;
    bool is_link = false; // a reparse point: junction or symbolic link
    std::uint64_t size = 0;
    std::int64_t mtime = 0;
    std::uint32_t mtime_nsec = 0; // SMB times have 100 ns steps
    std::uint64_t id = 0; // folders: the server's file id (a link to a folder has its target's);
                          // files: the creation time in ns (detail::smb::birth_id)
};

// An item on the wire: flags (1: folder, 2: link), size, mtime, its nanoseconds and id (8
// each), the name's length (2) and the name.
inline void encode_item(const Item& item, std::string& out) {
    const char flags = static_cast<char>((item.is_folder ? 1 : 0) | (item.is_link ? 2 : 0));
    out += flags;
    out += encode_size(item.size);
    out += encode_size(static_cast<std::uint64_t>(item.mtime));
    out += encode_size(item.mtime_nsec);
    out += encode_size(item.id);
    const auto length = static_cast<std::uint16_t>(std::min<std::size_t>(item.name.size(), 0xffff));
    out.append(reinterpret_cast<const char*>(&length), 2);
    out.append(item.name, 0, length);
}

inline bool decode_items(std::string_view payload, std::vector<Item>& out) {
    constexpr std::size_t fixed = 1 + 8 + 8 + 8 + 8 + 2;
    while (!payload.empty()) {
        if (payload.size() < fixed)
            return false;
        Item item;
        item.is_folder = (payload[0] & 1) != 0;
        item.is_link = (payload[0] & 2) != 0;
        item.size = decode_size(payload.substr(1));
        item.mtime = static_cast<std::int64_t>(decode_size(payload.substr(9)));
        item.mtime_nsec =
            static_cast<std::uint32_t>(decode_size(payload.substr(17)) % 1'000'000'000);
        item.id = decode_size(payload.substr(25));
        std::uint16_t length = 0;
        std::memcpy(&length, payload.data() + 33, 2);
        payload.remove_prefix(fixed);
        if (payload.size() < length)
            return false;
        item.name = std::string{payload.substr(0, length)};
        payload.remove_prefix(length);
        out.push_back(std::move(item));
    }
    return true;
}

} // namespace kitovu::detail::smb
