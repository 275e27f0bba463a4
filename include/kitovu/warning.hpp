// Warnings: what the user should hear about while a sync goes on (a conflict kept, a file that
// vanished, a name refused). Pushed to a sink the caller supplies; the run continues.
#pragma once

#include "kitovu/function_ref.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu {

enum class WarningKind {
    conflict,       // local and remote both changed; the remote version was saved beside it
    remote_deleted, // a file synced before is gone remotely; the local copy is kept
    vanished,       // a file disappeared between listing and download
    changing,       // a file changed while it was downloaded: not placed, the next run tries again
    moved,          // a file edited locally moved with its remote file: where it went
    refused_name,   // a remote name cannot be stored safely and was skipped
    skipped,        // an entry was skipped for another reason (unreadable, special file, ...)
    unlisted,       // a folder could not be listed: what was synced from it stays, not "gone"
    unavailable,    // a folder the remote withholds for now (restricted): kept like `unlisted`,
                    // news only to who asks for every detail (-v)
    cache,          // the file cache was unreadable and was set aside
    keyring,        // a password or token could not be kept in the keyring
};

constexpr std::string_view to_string(WarningKind kind) noexcept {
    switch (kind) {
    case WarningKind::conflict: return "conflict";
    case WarningKind::remote_deleted: return "remote-deleted";
    case WarningKind::vanished: return "vanished";
    case WarningKind::changing: return "changing";
    case WarningKind::moved: return "moved";
    case WarningKind::refused_name: return "refused-name";
    case WarningKind::skipped: return "skipped";
    case WarningKind::unlisted: return "unlisted";
    case WarningKind::unavailable: return "unavailable";
    case WarningKind::cache: return "cache";
    case WarningKind::keyring: return "keyring";
    }
    return "unknown";
}

struct Warning {
    WarningKind kind = WarningKind::skipped;
    std::string message;
    std::string connection; // empty when it concerns no connection (the cache, say)
    std::string path;       // remote or local path it concerns, if any

    std::string to_string() const {
        std::string out;
        if (!connection.empty())
            out += connection + ": ";
        if (!path.empty())
            out += path + ": ";
        return out + message;
    }

    friend bool operator==(const Warning&, const Warning&) = default;
};

// Any callable void(const Warning&) is a sink. kitovu calls a sink from one thread at a time
// (the engine serialises its workers' warnings), so a sink needs no lock of its own; it must
// not throw and must outlive the call it is passed to.
using WarningSink = FunctionRef<void(const Warning&)>;

// Keeps every warning, in the order they came; for tests and for reports.
class CollectingSink {
  public:
    void operator()(const Warning& warning) { warnings_.push_back(warning); }
    const std::vector<Warning>& warnings() const noexcept { return warnings_; }

  private:
    std::vector<Warning> warnings_;
};

// Prints "warning: connection: path: message" through fmt, one line each, flushed at once so
// warnings interleave correctly with other output.
class PrintingSink {
  public:
    explicit PrintingSink(std::FILE* out = stderr) noexcept : out_(out) {}
    void operator()(const Warning& warning) const {
        fmt::print(out_, "warning: {}\n", warning.to_string());
        std::fflush(out_);
    }

  private:
    std::FILE* out_;
};

// For callers that want no warnings: `sync(..., no_warnings)`.
inline constexpr auto no_warnings = [](const Warning&) noexcept {};

} // namespace kitovu
