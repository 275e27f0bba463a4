// UsageError: what went wrong, for people, and where: the error type of every fallible call.
// Built where the cause is known, so the message needs no guesswork upstream.
#pragma once

#include "kitovu/expected.hpp"

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace kitovu {

enum class ErrorKind {
    config,         // the config file or an option in it is wrong
    usage,          // the caller asked for something impossible (bad flag, bad argument)
    not_found,      // a plugin, host, share, folder or file does not exist
    authentication, // wrong user name, password or token
    permission,     // the remote or local side denied access
    connection,     // host unreachable, refused, timed out, connection lost
    io,             // reading or writing a local file failed
    protocol,       // the remote answered something that makes no sense
    cancelled,      // the caller asked to stop
    internal,       // a bug or an exhausted resource (out of memory)
};

constexpr std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::config: return "config";
    case ErrorKind::usage: return "usage";
    case ErrorKind::not_found: return "not-found";
    case ErrorKind::authentication: return "authentication";
    case ErrorKind::permission: return "permission";
    case ErrorKind::connection: return "connection";
    case ErrorKind::io: return "io";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::cancelled: return "cancelled";
    case ErrorKind::internal: return "internal";
    }
    return "unknown";
}

// What a program may act on or put in its own words where one kind holds several causes a user
// meets often (a window translates these); `none` for every other error.
enum class ErrorCause {
    none,
    sync_running,        // another sync holds the lock of the cache or of a target folder
    kept_secret_refused, // the server refused the password or token kept in the keyring
    no_secret,           // no password or token could be had from any source
    token_refused,       // the site does not accept the token (wrong, revoked or expired)
};

// A position in a config file; line and column start at 1, 0 means unknown.
struct ConfigLocation {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;

    bool known() const noexcept { return !file.empty(); }
    friend bool operator==(const ConfigLocation&, const ConfigLocation&) = default;
};

// Every error of the API, not only a caller's misuse: the name is the one the API has always
// had; `kind` says what sort of problem it is.
struct UsageError {
    ErrorKind kind = ErrorKind::internal;
    std::string message{};     // for people: what happened and, where we know it, what to do
    std::string connection{};  // the connection it concerns, if any
    std::string path{};        // the remote or local path it concerns, if any
    ConfigLocation location{}; // the config position it concerns, if any
    ErrorCause cause = ErrorCause::none; // stable across versions, unlike the message

    // "FILE:LINE:COLUMN: message" for config errors, else "connection: path: message".
    std::string to_string() const {
        std::string out;
        if (location.known()) {
            out += location.file;
            if (location.line != 0) {
                out += ':' + std::to_string(location.line);
                if (location.column != 0)
                    out += ':' + std::to_string(location.column);
            }
            out += ": ";
        }
        if (!connection.empty())
            out += connection + ": ";
        if (!path.empty())
            out += path + ": ";
        return out + message;
    }

    friend bool operator==(const UsageError&, const UsageError&) = default;
};

// `return fail(ErrorKind::io, "disk full", path);` converts into any expected<T, UsageError>.
// With a connection, name every field, so that the two strings cannot change places:
// `return fail({.kind = ErrorKind::io, .message = "...", .connection = name, .path = path});`
inline unexpected<UsageError> fail(ErrorKind kind, std::string message, std::string path = {}) {
    return unexpected{UsageError{kind, std::move(message), {}, std::move(path), {}}};
}

// `error` with the connection and the path it concerns, where the code that built it could not
// know them (a plugin's error names no connection, a folder's no file).
inline UsageError with_place(UsageError error, std::string_view connection,
                             std::string_view path = {}) {
    if (error.connection.empty())
        error.connection = connection;
    if (error.path.empty())
        error.path = path;
    return error;
}

namespace detail {

// What a failed system call's error number means, in words ("No such file or directory").
inline std::string errno_message(int error = errno) {
    return std::generic_category().message(error);
}

} // namespace detail

inline unexpected<UsageError> fail(UsageError error) {
    return unexpected{std::move(error)};
}

} // namespace kitovu
