// Credentials: a connection's password or token, found once per connection in the order its
// plugin's SecretSpec gives (command, environment, keyring, prompt), and never written anywhere
// but the keyring.
#pragma once

#include "kitovu/config/options.hpp"
#include "kitovu/error.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kitovu {

// Asks the user; returns nothing when no one can be asked (no terminal). The CLI supplies a
// no-echo terminal prompt; tests supply a function.
using SecretPrompt = std::function<std::optional<std::string>(std::string_view question)>;

// Asks a yes/no question; false when no one can be asked.
using SecretConfirm = std::function<bool(std::string_view question)>;

// Text wiped from memory when it goes, moved from or not: for passwords and tokens held longer
// than one call. The whole buffer is wiped, since a moved-from short string keeps its bytes.
class SecretText {
  public:
    SecretText() = default;
    explicit SecretText(std::string&& text) : text_(std::move(text)) { wipe(text); }
    SecretText(SecretText&& other) noexcept : text_(std::move(other.text_)) { other.wipe(); }
    SecretText& operator=(SecretText&& other) noexcept {
        wipe();
        text_ = std::move(other.text_);
        other.wipe();
        return *this;
    }
    SecretText(const SecretText&) = delete;
    SecretText& operator=(const SecretText&) = delete;
    ~SecretText() { wipe(); }

    const std::string& str() const noexcept { return text_; }
    // Hands the text on (to Options::set_secret, which wipes it in turn).
    std::string take() && {
        std::string out = text_;
        wipe();
        return out;
    }
    void wipe() noexcept { wipe(text_); }
    static void wipe(std::string& text) noexcept {
        ::explicit_bzero(text.data(), text.capacity());
        text.clear();
    }

  private:
    std::string text_;
};

// Where a connection's secret comes from, in the order they are tried.
enum class SecretSource { guest, command, environment, keyring, prompt };

// A secret's item in the desktop keyring: the attributes that find it (plugin, server and,
// where the plugin has one, user: two connections for one account share the item) and the
// label people see in their keyring's window.
struct KeyringItem {
    std::vector<std::pair<std::string, std::string>> attributes;
    std::string label; // "kitovu: alice on files.example.edu/skripte"
    friend bool operator==(const KeyringItem&, const KeyringItem&) = default;
};

// What a keyring answered. `unavailable`: no keyring could be asked (none runs, it is locked,
// it did not answer in time); `why` says so in words for people.
struct KeyringAnswer {
    enum class Status { done, absent, unavailable };
    Status status = Status::absent;
    SecretText secret; // lookup: the secret found
    std::string why;
};

// The desktop keyring; keyring.hpp has the Secret Service one (GNOME Keyring, KeePassXC,
// KWallet), in its own library target so that the core needs no GLib. Every call returns within
// the keyring's time limit.
class Keyring {
  public:
    virtual ~Keyring() = default;
    // done with the secret, absent, or unavailable.
    virtual KeyringAnswer lookup(const KeyringItem& item) = 0;
    // done or unavailable; replaces what the item held.
    virtual KeyringAnswer store(const KeyringItem& item, const std::string& secret) = 0;
    // done (removed), absent (nothing was kept) or unavailable.
    virtual KeyringAnswer forget(const KeyringItem& item) = 0;
};

// Who resolve_secret may ask besides the config and the environment.
struct SecretSources {
    SecretPrompt prompt{};         // asks for the secret on a terminal; unset: never ask
    Keyring* keyring = nullptr;    // unset: no keyring
    SecretConfirm offer_to_keep{}; // whether to keep a typed secret in the keyring; unset: never
    std::stop_token stop{};        // a stopped run ends a waiting secret command
};

struct ResolvedSecret {
    SecretText value;
    SecretSource source = SecretSource::prompt;
    // Typed, and the user wants it kept in the keyring: store it once the server accepted it.
    bool keep = false;
};

// KITOVU_PASSWORD_ + the connection name upper-cased, other characters as '_'.
inline std::string secret_variable(std::string_view prefix, std::string_view connection) {
    std::string name{prefix};
    for (char c : connection) {
        const auto byte = static_cast<unsigned char>(c);
        name += std::isalnum(byte) && byte < 0x80 ? static_cast<char>(std::toupper(byte)) : '_';
    }
    return name;
}

namespace detail {

// Runs `command` through /bin/sh -c with stdin closed and returns the first line it prints.
// The command's output is never put into an error: it might be the secret itself. A stopped run
// kills the command (it may wait for a keyring that never answers) and is ErrorKind::cancelled.
inline expected<std::string, UsageError> first_line_of(const std::string& command,
                                                       std::string_view connection,
                                                       std::string_view what,
                                                       const std::stop_token& stop = {}) {
    const auto failed = [&](std::string why) {
        return fail({.kind = ErrorKind::authentication,
                     .message = std::string{what} + "-command " + why,
                     .connection = std::string{connection}});
    };
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        return failed("could not be started");
    // Started by exec (posix_spawn), never by fork() of a host whose threads may hold locks.
    pid_t child = -1;
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    std::string shell = "sh", dash_c = "-c", line_to_run = command;
    char* argv[] = {shell.data(), dash_c.data(), line_to_run.data(), nullptr};
    const int spawned = ::posix_spawn(&child, "/bin/sh", &actions, nullptr, argv, environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (spawned != 0) {
        ::close(pipe_fds[0]);
        return failed("could not be started");
    }
    std::string output;
    char buffer[512];
    bool stopped = false;
    for (;;) {
        ::pollfd readable{pipe_fds[0], POLLIN, 0};
        const int ready = ::poll(&readable, 1, stop.stop_possible() ? 100 : -1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) {
            if (!stop.stop_requested())
                continue;
            ::kill(child, SIGKILL);
            stopped = true;
            break;
        }
        const auto n = ::read(pipe_fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (output.size() < 64 * 1024)
            output.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    ::explicit_bzero(buffer, sizeof buffer);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (stopped)
        return fail({.kind = ErrorKind::cancelled,
                     .message = "stopped",
                     .connection = std::string{connection}});
    std::string line = output.substr(0, output.find('\n'));
    ::explicit_bzero(output.data(), output.size());
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return failed(WIFEXITED(status)
                          ? "failed with exit code " + std::to_string(WEXITSTATUS(status))
                          : "was killed by a signal");
    if (line.empty())
        return failed("printed nothing");
    return line;
}

} // namespace detail

// The keyring item for `plugin`'s secret with these options; nothing when the plugin names no
// server for it. The server is the host name (with :PORT unless it is the usual port) or the
// site's address without trailing slashes.
inline std::optional<KeyringItem> keyring_item(std::string_view plugin, const Options& options,
                                               const SecretSpec& spec) {
    if (spec.server_option == nullptr)
        return std::nullopt;
    std::string server = options.get(*spec.server_option);
    while (server.ends_with('/'))
        server.pop_back();
    if (server.empty())
        return std::nullopt;
    if (spec.port_option != nullptr && options.has(*spec.port_option) &&
        options.get(*spec.port_option) != spec.usual_port)
        server += ':' + std::to_string(options.get(*spec.port_option));
    const std::string user = spec.user_option ? options.get(*spec.user_option) : "";
    const std::string place = spec.place_option ? options.get(*spec.place_option) : "";
    KeyringItem item;
    item.attributes = {{"plugin", std::string{plugin}}, {"server", server}};
    if (!user.empty())
        item.attributes.emplace_back("user", user);
    item.label = "kitovu: " + (user.empty() ? std::string{spec.what} + " for " : user + " on ") +
                 server + (place.empty() ? "" : '/' + place);
    return item;
}

// The source named in the config or the environment, if any, without running the command: for
// saying where a secret comes from.
inline std::optional<SecretSource> configured_secret_source(std::string_view connection,
                                                            const Options& options,
                                                            const SecretSpec& spec) {
    if (!spec.guest_user.empty() && spec.user_option != nullptr &&
        options.get(*spec.user_option) == spec.guest_user)
        return SecretSource::guest;
    if (spec.command_option != nullptr && !options.get(*spec.command_option).empty())
        return SecretSource::command;
    const auto variable = secret_variable(spec.environment_prefix, connection);
    if (const char* value = std::getenv(variable.c_str()); value != nullptr && *value != '\0')
        return SecretSource::environment;
    return std::nullopt;
}

// The secret of `connection`: its command option, else the environment, else the keyring, else
// the prompt, which offers to keep the answer in the keyring. A keyring that cannot be asked is
// one sentence with the prompt (or in the error), never an error of its own.
inline expected<ResolvedSecret, UsageError>
resolve_secret(std::string_view connection, std::string_view plugin, const Options& options,
               const SecretSpec& spec, const SecretSources& sources) {
    const auto variable = secret_variable(spec.environment_prefix, connection);
    switch (configured_secret_source(connection, options, spec).value_or(SecretSource::prompt)) {
    case SecretSource::guest: return ResolvedSecret{SecretText{std::string{}}, SecretSource::guest};
    case SecretSource::command: {
        auto line = detail::first_line_of(options.get(*spec.command_option), connection, spec.what,
                                          sources.stop);
        if (!line)
            return fail(line.error());
        return ResolvedSecret{SecretText{std::move(*line)}, SecretSource::command};
    }
    case SecretSource::environment:
        return ResolvedSecret{SecretText{std::string{std::getenv(variable.c_str())}},
                              SecretSource::environment};
    default: break;
    }
    const std::string what{spec.what};
    const std::string name{connection};
    const auto item = sources.keyring ? keyring_item(plugin, options, spec) : std::nullopt;
    std::string unavailable; // why the keyring cannot help
    if (item) {
        auto answer = sources.keyring->lookup(*item);
        if (answer.status == KeyringAnswer::Status::done)
            return ResolvedSecret{std::move(answer.secret), SecretSource::keyring};
        if (answer.status == KeyringAnswer::Status::unavailable)
            unavailable = answer.why;
    }
    if (sources.prompt) {
        std::string question = what + " for " + name;
        if (!spec.hint.empty())
            question += " (" + std::string{spec.hint} + ")";
        if (!unavailable.empty())
            question = "the " + what + " cannot be remembered: " + unavailable + "\n" + question;
        if (auto answer = sources.prompt(question + ": ")) {
            ResolvedSecret typed{SecretText{std::move(*answer)}, SecretSource::prompt};
            typed.keep = item && unavailable.empty() && sources.offer_to_keep &&
                         sources.offer_to_keep("remember the " + what + " for " + name +
                                               " in the keyring? [Y/n] ");
            return typed;
        }
    }
    std::string message = "no " + what + ": set " + std::string{spec.command_name()} +
                          " in the config, or " + variable + " in the environment, ";
    if (item && unavailable.empty())
        message += "or keep it in the keyring with `kitovu login " + name + "`, ";
    message += "or run kitovu in a terminal to be asked";
    if (!unavailable.empty())
        message += " (the keyring cannot help: " + unavailable + ")";
    return fail({.kind = ErrorKind::authentication,
                 .message = std::move(message),
                 .connection = name,
                 .cause = ErrorCause::no_secret});
}

} // namespace kitovu
