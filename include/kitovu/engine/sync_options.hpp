// What a program gives sync() (SyncOptions, with a SyncObserver for progress) and gets back
// (SyncReport): the engine's whole surface besides Settings and the warning sink.
#pragma once

#include "kitovu/decide/decide.hpp"
#include "kitovu/error.hpp"
#include "kitovu/plugin/credentials.hpp"
#include "kitovu/warning.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stop_token>
#include <string_view>
#include <vector>

namespace kitovu {

struct FileEvent {
    std::string_view connection;
    std::string_view remote_path;
    const std::filesystem::path& local_path; // for a conflict: where the remote copy goes
    std::uint64_t size;                      // remote size in bytes
    std::string_view moved_from{};           // for a move: the local path it had
};

// Progress for a progress bar or a log. The engine calls an observer from one thread at a time
// (it serialises its workers), so an observer needs no lock; it must not throw.
class SyncObserver {
  public:
    virtual ~SyncObserver() = default;
    // Downloads known so far; grows as sources are listed (listing overlaps with downloads).
    virtual void planned(std::size_t /*files*/, std::uint64_t /*bytes*/) {}
    // Every listed file with what happens to it, also in a dry run.
    virtual void decided(const FileEvent& /*file*/, FileState /*state*/) {}
    virtual void started(const FileEvent& /*file*/) {}
    virtual void received(std::uint64_t /*bytes*/) {} // bytes since the last call
    // A local file about to be replaced by its new version, just after kitovu checked it is
    // the file it left there: an edit saved from here on is still noticed and kept.
    virtual void replacing(const FileEvent& /*file*/) {}
    // `error` is null when the file is in place.
    virtual void finished(const FileEvent& /*file*/, const UsageError* /*error*/) {}
};

struct SyncOptions {
    std::filesystem::path cache_file; // empty: default_cache_path() of the settings' file
    unsigned jobs = 0;    // parallel downloads, each with its own plugin instance; 0: from the link
    bool dry_run = false; // decide and report; change nothing on disk
    std::stop_token stop; // ends the run cleanly: temporaries removed, cache saved
    SyncObserver* observer = nullptr;
    SecretPrompt prompt;         // asks for a password or token; unset: never ask
    Keyring* keyring = nullptr;  // where secrets are kept between runs (keyring.hpp); unset: none
    SecretConfirm offer_to_keep; // whether to keep a typed secret in the keyring; unset: never
};

struct SyncReport {
    std::array<std::size_t, file_state_count> counts{}; // indexed by FileState
    std::size_t failed = 0;                             // files that could not be synced
    std::uint64_t bytes_downloaded = 0;
    std::chrono::milliseconds duration{};
    std::vector<Warning> warnings;
    std::vector<UsageError> errors; // connections, sources and files that failed
    bool cancelled = false;
    bool dry_run = false;

    std::size_t count(FileState state) const { return counts[static_cast<std::size_t>(state)]; }
    // The contract: 0 when every listed file is in step (warnings allowed), 1 when something
    // failed (a file not placed, say because it changed while it was read) or the run was
    // stopped.
    int exit_code() const { return errors.empty() && failed == 0 && !cancelled ? 0 : 1; }
};

} // namespace kitovu
