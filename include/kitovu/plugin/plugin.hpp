// SyncPlugin: what a kind of remote (SMB share, local folder, Moodle) must do for the engine.
// The engine creates one instance per worker, so instances share nothing of the engine's; a plugin
// whose library keeps process-wide state guards it itself (libsmbclient does: see plugins/smb.hpp).
#pragma once

#include "kitovu/config/options.hpp"
#include "kitovu/error.hpp"
#include "kitovu/function_ref.hpp"
#include "kitovu/warning.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kitovu {

// One file or folder of a remote listing. Sizes and mtimes come with the listing so digests
// need no round trip per file.
struct RemoteEntry {
    std::string path{};     // relative to the listed folder, '/'-separated, as the remote names it
    bool is_folder = false; // folders are listed so that empty ones are created too
    std::uint64_t size = 0; // bytes; 0 for folders
    std::int64_t mtime = 0; // seconds since the Unix epoch
    std::uint32_t mtime_nsec = 0; // and nanoseconds, where the remote tells them (else 0)
    std::string locator{};        // plugin-private: how to fetch it (full remote path, URL, ...)
    std::string id{}; // what stays the same when the file is renamed or moved (an inode, a file
                      // id), where the listing tells it at no cost; "" if the remote has none
    std::string fingerprint{}; // what stays the same when the file is renamed or moved but not
                               // when it changes (size and creation time); "" if none
    std::string former_name{}; // its name under kitovu's previous naming rules, where they
                               // differ: kitovu's own rename is followed like a remote one

    friend bool operator==(const RemoteEntry&, const RemoteEntry&) = default;
};

// Decides during listing whether an entry is kept; a folder that is not kept is not descended
// into. Receives the entry's path relative to the listed folder.
using ListFilter = FunctionRef<bool(std::string_view path, bool is_folder)>;

// Receives listed entries a batch at a time, on the thread that called list(), while the rest
// is still being listed. All entries directly inside one folder come in one batch (a name clash
// between them is then decided the same way every run), and no batch has an entry whose folder's
// own entry comes in a later batch. The receiver may reorder the batch and move from it.
using ListSink = FunctionRef<void(std::span<RemoteEntry>)>;

// Receives a file's bytes in order. An error (disk full, cancelled) must end the retrieval and
// be returned by retrieve() as it is. The engine counts progress from what it receives.
using ChunkWriter = FunctionRef<expected<void, UsageError>(std::span<const std::byte>)>;

// A digest from size and modification time, for remotes that offer no content hash (SMB, local
// folders). Nanoseconds are added where the remote has them, so a rewrite within one second is
// seen; whole seconds keep the original kitovu's "SIZE-MTIME".
inline std::string size_mtime_digest(std::uint64_t size, std::int64_t mtime,
                                     std::uint32_t mtime_nsec = 0) {
    std::string digest = std::to_string(size) + '-' + std::to_string(mtime);
    if (mtime_nsec != 0) {
        const std::string nsec = std::to_string(mtime_nsec % 1'000'000'000);
        digest += '.' + std::string(9 - nsec.size(), '0') + nsec;
    }
    return digest;
}

// What a plugin saw of a file once it had read it, as far as it can tell without another round
// trip. The engine compares it with the listing: a file rewritten while it downloaded is never
// placed as the listed version (the next run fetches it again).
struct Retrieved {
    std::optional<std::uint64_t> size{}; // the file's size after the read
    std::optional<std::int64_t> mtime{}; // its modification time after the read, seconds
    std::uint32_t mtime_nsec = 0;        // and nanoseconds, with mtime
    bool changed = false; // the plugin saw the file change during the read (a change time moved)
};

class SyncPlugin {
  public:
    SyncPlugin() = default;
    SyncPlugin(const SyncPlugin&) = delete;
    SyncPlugin& operator=(const SyncPlugin&) = delete;
    virtual ~SyncPlugin() = default;

    // Stopping a run (Ctrl-C, SIGTERM, SIGHUP): the engine calls stop() from another thread,
    // at any time from before connect() until the instance is destroyed. Whatever the instance
    // is doing must then end within about a second: connect(), list() and retrieve() return
    // ErrorKind::cancelled (list() hands out no more batches). A plugin checks stopping() between
    // steps (each folder, each block) and overrides interrupt() to wake a call that blocks
    // (a network wait): interrupt() runs on the stopping thread, so it only signals.
    void stop() noexcept {
        stopping_.store(true, std::memory_order_release);
        interrupt();
    }
    bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }

    // Takes the connection's validated options (schema checked, defaults filled in). Called
    // once per instance, before connect().
    virtual expected<void, UsageError> configure(std::string_view connection,
                                                 const Options& options) = 0;

    // Opens the connection (logs in); nothing to do by default, for remotes without one. After
    // stop() it is ErrorKind::cancelled, as every call is.
    virtual expected<void, UsageError> connect() {
        if (stopping())
            return unexpected{UsageError{.kind = ErrorKind::cancelled, .message = "stopped"}};
        return {};
    }

    // Must be safe to call when not connected; the destructor calls nothing on its own.
    virtual void disconnect() noexcept {}

    // Lists `remote_dir` recursively into `out`, so that the engine decides about what is
    // listed while the rest is listed. Entries the plugin cannot read are skipped with a
    // warning; a subfolder it cannot list (completely) is a WarningKind::unlisted warning with
    // the folder's path relative to `remote_dir`, so the engine does not take its files for
    // gone; `remote_dir` itself missing or unreadable, or a lost connection, is an error (the
    // batches handed out before it stay handed out).
    virtual expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep,
                                            WarningSink warn, ListSink out) = 0;

    // The folders of the next list() that hold files synced before (relative to its remote_dir,
    // with the folders above them), set by the engine before each list(). A plugin that shows
    // one folder under two names and cannot tell a link from the folder itself keeps the name
    // synced before, so that the user's files do not move to the other; others need not look.
    void set_synced_folders(std::vector<std::string> folders) {
        synced_folders_ = std::move(folders);
    }
    const std::vector<std::string>& synced_folders() const noexcept { return synced_folders_; }

    // The whole listing at once, sorted by path: for callers that want it in one piece.
    expected<std::vector<RemoteEntry>, UsageError> list_all(std::string_view remote_dir,
                                                            ListFilter keep, WarningSink warn) {
        std::vector<RemoteEntry> all;
        auto listed = list(remote_dir, keep, warn, [&all](std::span<RemoteEntry> batch) {
            all.insert(all.end(), std::make_move_iterator(batch.begin()),
                       std::make_move_iterator(batch.end()));
        });
        if (!listed)
            return fail(listed.error());
        std::ranges::sort(all, {}, &RemoteEntry::path);
        return all;
    }

    // Fetches one listed file into `out` and says what it saw of the file afterwards (see
    // Retrieved; nothing where that would cost a round trip). A file gone since the listing is
    // ErrorKind::not_found.
    virtual expected<Retrieved, UsageError> retrieve(const RemoteEntry& entry, ChunkWriter out) = 0;

    // The round trip to the server as this instance measured it (zero: unknown, or too short to
    // matter). The engine chooses how many downloads run at once from it (link.hpp).
    virtual std::chrono::microseconds round_trip() const { return {}; }

    // Digest of a listed remote entry, compared with the one recorded at sync time.
    virtual std::string remote_digest(const RemoteEntry& entry) const {
        return size_mtime_digest(entry.size, entry.mtime, entry.mtime_nsec);
    }

  protected:
    // See stop(): wakes what blocks in this instance; must not block itself.
    virtual void interrupt() noexcept {}

  private:
    std::atomic<bool> stopping_{false};
    std::vector<std::string> synced_folders_;
};

} // namespace kitovu
