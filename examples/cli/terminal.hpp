// What the kitovu command shows on a terminal: colours (never with NO_COLOR or into a pipe),
// the live progress line, per-file lines for -v, and the no-echo password prompt.
#pragma once

#include "escape.hpp"

#include <kitovu/engine/engine.hpp>

#include <fmt/core.h>

#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

namespace kitovu::cli {

enum class Verbosity { quiet, normal, verbose };

inline bool is_terminal(std::FILE* stream) {
    return ::isatty(::fileno(stream)) == 1;
}

inline bool colour_on(std::FILE* stream) {
    const char* no_colour = std::getenv("NO_COLOR");
    const char* term = std::getenv("TERM");
    return is_terminal(stream) && (no_colour == nullptr || *no_colour == '\0') &&
           !(term != nullptr && std::string_view{term} == "dumb");
}

// "warning: ..." / "error: ..." lines on stderr, the label coloured on a terminal.
class Messages {
  public:
    Messages() : colour_(colour_on(stderr)) {}

    void warning(const std::string& text) const { line("warning", "\033[33m", text); }
    void error(const std::string& text) const { line("error", "\033[31m", text); }
    void note(const std::string& text) const { fmt::print(stderr, "{}\n", printable(text)); }

  private:
    // Messages name remote files: their control characters never reach the terminal.
    void line(std::string_view label, std::string_view colour, const std::string& text) const {
        if (colour_)
            fmt::print(stderr, "{}{}:\033[0m {}\n", colour, label, printable(text));
        else
            fmt::print(stderr, "{}: {}\n", label, printable(text));
        std::fflush(stderr);
    }
    bool colour_;
};

inline std::string human_bytes(std::uint64_t bytes) {
    constexpr const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1000 && unit + 1 < std::size(units)) {
        value /= 1000;
        ++unit;
    }
    return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

// Shows the run as it goes: with -v a line per file and what happens to it, on `lines` (stdout,
// or stderr when stdout carries --json's document); on a terminal a progress line redrawn in
// place (files, bytes, rate, ETA), cleared before any other output.
class Progress final : public SyncObserver {
  public:
    Progress(Verbosity verbosity, bool dry_run, std::FILE* lines = stdout)
        : verbosity_(verbosity), dry_run_(dry_run), lines_(lines),
          live_(verbosity != Verbosity::quiet && is_terminal(stderr)) {}

    ~Progress() override { clear(); }

    // Call before printing anything else to stderr.
    void clear() {
        if (!drawn_)
            return;
        fmt::print(stderr, "\r\033[K");
        std::fflush(stderr);
        drawn_ = false;
    }

    void planned(std::size_t files, std::uint64_t bytes) override {
        total_files_ = files;
        total_bytes_ = bytes;
        draw(false);
    }

    // -v: every file. A dry run: every file that would be written, unless -q.
    void decided(const FileEvent& file, FileState state) override {
        const bool writes = state == FileState::new_file || state == FileState::remote_changed ||
                            state == FileState::conflict || state == FileState::moved;
        if (verbosity_ != Verbosity::verbose &&
            !(dry_run_ && writes && verbosity_ != Verbosity::quiet))
            return;
        clear();
        if (state == FileState::moved)
            fmt::print(lines_, "{}{:<15} {} -> {}\n", dry_run_ ? "would be " : "", "moved",
                       printable(std::string{file.moved_from}),
                       printable(file.local_path.string()));
        else
            fmt::print(lines_, "{}{:<15} {}\n", dry_run_ ? "would be " : "", to_string(state),
                       printable(file.local_path.string()));
        std::fflush(lines_);
        draw(true);
    }

    void received(std::uint64_t bytes) override {
        done_bytes_ += bytes;
        draw(false);
    }

    void finished(const FileEvent&, const UsageError*) override {
        ++done_files_;
        draw(false);
    }

  private:
    void draw(bool force) {
        if (!live_)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (!force && now - last_draw_ < std::chrono::milliseconds{100})
            return;
        last_draw_ = now;
        const double seconds = std::chrono::duration<double>(now - start_).count();
        const double rate = seconds > 0 ? static_cast<double>(done_bytes_) / seconds : 0;
        std::string eta = "--";
        if (rate > 0 && total_bytes_ > done_bytes_) {
            const auto left =
                static_cast<long>(static_cast<double>(total_bytes_ - done_bytes_) / rate);
            eta = fmt::format("{}:{:02}", left / 60, left % 60);
        }
        fmt::print(stderr, "\r\033[K{}/{} files  {} / {}  {}/s  ETA {}", done_files_, total_files_,
                   human_bytes(done_bytes_), human_bytes(total_bytes_),
                   human_bytes(static_cast<std::uint64_t>(rate)), eta);
        std::fflush(stderr);
        drawn_ = true;
    }

    Verbosity verbosity_;
    bool dry_run_;
    std::FILE* lines_;
    bool live_;
    bool drawn_ = false;
    std::size_t total_files_ = 0, done_files_ = 0;
    std::uint64_t total_bytes_ = 0, done_bytes_ = 0;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_draw_{};
};

namespace detail {
// The terminal mode before the prompt turned echo off, for quitting in the middle of it.
inline std::optional<termios>& saved_terminal() {
    static std::optional<termios> mode;
    return mode;
}
} // namespace detail

// Puts echo back if a prompt turned it off; for quitting at once on a second Ctrl-C.
inline void restore_terminal() {
    if (auto& mode = detail::saved_terminal())
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &*mode);
}

// Asks on the terminal with echo off; nothing when stdin is not a terminal (the contract:
// then the password must come from password-command or the environment).
inline std::optional<std::string> ask_secret(std::string_view question) {
    if (::isatty(STDIN_FILENO) != 1)
        return std::nullopt;
    // Echo goes off before the question appears, so nothing typed after it is ever shown.
    termios old_mode{};
    if (::tcgetattr(STDIN_FILENO, &old_mode) == 0) {
        detail::saved_terminal() = old_mode;
        termios quiet = old_mode;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    fmt::print(stderr, "{}", question);
    std::fflush(stderr);
    std::string answer;
    const bool got = static_cast<bool>(std::getline(std::cin, answer));
    restore_terminal();
    detail::saved_terminal().reset();
    fmt::print(stderr, "\n");
    if (!got || answer.empty())
        return std::nullopt;
    return answer;
}

} // namespace kitovu::cli
