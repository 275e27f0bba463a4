// How the smb plugin and its helper processes (kitovu-smb-helper) talk: over a SOCK_SEQPACKET
// pair, each send one message, a type byte and a payload of fields (Writer, Reader). File bytes
// go through a shared memory file instead: the helper reads a block into one of its two slots,
// says how much, and reads into that slot again only once the plugin answered for it.
#pragma once

#include "kitovu/error.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kitovu::detail::smb {

enum class Message : char {
    login = 'H',    // plugin -> helper, first: a Login
    go = 'G',       // plugin -> parked helper: the first login's session setup succeeded, log in
    setup_ok = 'P', // helper -> plugin: its session setup succeeded (asked for by Login::report)
    ready = 'Y',    // helper -> plugin: logged in, or failed: then an error
    list = 'L',     // plugin -> helper: list this folder (share-relative)
    items = 'I',    // helper -> plugin: some of the folder's entries (Items)
    request = 'R',  // plugin -> helper: listed size, locator
    chunk = 'C',    // helper -> plugin: a block of this many bytes is in this slot
    ack = 'A',      // plugin -> helper: the block was written, read on
    stop = 'S',     // plugin -> helper: writing failed, give up this file
    done = 'D',     // helper -> plugin: the folder or file is complete
    failed = 'E',   // helper -> plugin: an error
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
    ssize_t n = 0;
    while ((n = ::send(fd, message.data(), message.size(), MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    return n == static_cast<ssize_t>(message.size());
}

// The next message into `buffer`; false when the other side is gone or sent nonsense.
inline bool receive_message(int fd, std::vector<char>& buffer, Message& type,
                            std::string_view& payload) {
    buffer.resize(message_limit);
    ssize_t n = 0;
    while ((n = ::recv(fd, buffer.data(), buffer.size(), MSG_TRUNC)) < 0 && errno == EINTR) {
    }
    if (n <= 0 || static_cast<std::size_t>(n) > buffer.size())
        return false;
    type = static_cast<Message>(buffer[0]);
    payload = std::string_view{buffer.data() + 1, static_cast<std::size_t>(n) - 1};
    return true;
}

inline UsageError error(ErrorKind kind, std::string message, std::string path = {}) {
    return UsageError{kind, std::move(message), {}, std::move(path), {}};
}

// A payload's fields: a bool as one byte, other numbers as eight, a string up to a '\0'.
struct Writer {
    std::string out;
    Writer& operator()(const std::string& text) {
        out.append(text.c_str(), text.size() + 1);
        return *this;
    }
    template <class T>
    requires std::is_arithmetic_v<T> || std::is_enum_v<T> Writer& operator()(T number) {
        const auto value = static_cast<std::uint64_t>(number);
        out.append(reinterpret_cast<const char*>(&value), std::is_same_v<T, bool> ? 1 : 8);
        return *this;
    }
};

struct Reader {
    std::string_view in;
    bool ok = true; // every field was there
    Reader& operator()(std::string& text) {
        const auto end = in.find('\0');
        ok = ok && end != std::string_view::npos;
        text = in.substr(0, end);
        in.remove_prefix(std::min(end + 1, in.size()));
        return *this;
    }
    template <class T>
    requires std::is_arithmetic_v<T> || std::is_enum_v<T> Reader& operator()(T& number) {
        const std::size_t size = std::is_same_v<T, bool> ? 1 : 8;
        std::uint64_t value = 0;
        ok = ok && in.size() >= size;
        if (ok)
            std::memcpy(&value, in.data(), size); // as written, on this machine
        in.remove_prefix(std::min(size, in.size()));
        number = static_cast<T>(value);
        return *this;
    }
};

// What a helper needs to log in. The password goes over the socket, never on a command line.
struct Login {
    std::string host, share, user, domain, password;
    std::string signing = "if_required"; // smb.conf's `client signing`
    std::uint16_t port = 0;
    int timeout_seconds = 30;
    bool encrypt = false;
    bool parked = false;   // waits for Message::go before it logs in
    bool report = false;   // says Message::setup_ok when its session setup succeeded
    bool answered = false; // a login with these settings succeeded before (a time-out then means
                           // the server stopped answering)

    template <class Self, class Field>
    static void fields(Self& l, Field&& f) {
        f(l.host)(l.share)(l.user)(l.domain)(l.password)(l.signing)(l.port)(l.timeout_seconds);
        f(l.encrypt)(l.parked)(l.report)(l.answered);
    }
    std::string where() const { return host + ':' + std::to_string(port); }
};

// One entry of a listed folder. A folder's own entry "." is kept: its id is the folder's.
struct Item {
    std::string name;
    bool is_folder = false;
    bool is_link = false; // a reparse point: junction or symbolic link
    std::uint64_t size = 0;
    std::int64_t mtime = 0;
    std::uint32_t mtime_nsec = 0; // SMB times have 100 ns steps
    std::uint64_t id = 0; // folders: the server's file id (a link to a folder has its target's);
                          // files: the creation time in ns (birth_id in session.hpp)

    template <class Self, class Field>
    static void fields(Self& i, Field&& f) {
        f(i.name)(i.is_folder)(i.is_link)(i.size)(i.mtime)(i.mtime_nsec)(i.id);
    }
};

template <class T>
std::string encode(const T& value) {
    Writer writer;
    T::fields(value, writer);
    return std::move(writer.out);
}

template <class T>
bool decode(std::string_view in, T& value) {
    Reader reader{in};
    T::fields(value, reader);
    return reader.ok;
}

// The values of a payload of one or more of them; false when one is cut short.
template <class T>
bool decode_all(std::string_view in, std::vector<T>& out) {
    for (Reader reader{in}; !reader.in.empty();) {
        T::fields(out.emplace_back(), reader);
        if (!reader.ok)
            return false;
    }
    return true;
}

// An error without its connection name (the plugin adds it).
inline std::string encode_error(const UsageError& e) {
    return Writer{}(e.kind)(e.message)(e.path).out;
}

inline UsageError decode_error(std::string_view in, std::string connection, std::string path) {
    auto kind = ErrorKind::internal;
    std::string message, at;
    Reader{in}(kind)(message)(at);
    if (message.empty())
        message = "an SMB helper sent an empty error";
    return UsageError{kind <= ErrorKind::internal ? kind : ErrorKind::internal,
                      std::move(message),
                      std::move(connection),
                      at.empty() ? std::move(path) : std::move(at),
                      {}};
}

} // namespace kitovu::detail::smb
