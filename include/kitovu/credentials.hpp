// Credentials: a connection's password or token, found once per connection in the order its
// plugin's SecretSpec gives, and never written anywhere.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/options.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace kitovu {

// Asks the user; returns nothing when no one can be asked (no terminal). The CLI supplies a
// no-echo terminal prompt; tests supply a function.
using SecretPrompt = std::function<std::optional<std::string>(std::string_view question)>;

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
        return fail(ErrorKind::authentication, std::string{what} + "-command " + why, {},
                    std::string{connection});
    };
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        return failed("could not be started");
    const pid_t child = ::fork();
    if (child < 0) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        return failed("could not be started");
    }
    if (child == 0) {
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, STDIN_FILENO);
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(pipe_fds[1]);
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
        return fail(ErrorKind::cancelled, "stopped", {}, std::string{connection});
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

// The secret of `connection`: its command option, else the environment, else `prompt`.
inline expected<std::string, UsageError>
resolve_secret(std::string_view connection, const Options& options, const SecretSpec& spec,
               const SecretPrompt& prompt, const std::stop_token& stop = {}) {
    if (!spec.guest_user.empty() && options.string("username") == spec.guest_user)
        return std::string{};
    if (const auto command = options.string(spec.command_option); !command.empty())
        return detail::first_line_of(command, connection, spec.what, stop);
    const auto variable = secret_variable(spec.environment_prefix, connection);
    if (const char* value = std::getenv(variable.c_str()); value != nullptr && *value != '\0')
        return std::string{value};
    if (prompt) {
        std::string question = std::string{spec.what} + " for " + std::string{connection};
        if (!spec.hint.empty())
            question += " (" + std::string{spec.hint} + ")";
        if (auto answer = prompt(question + ": "))
            return std::move(*answer);
    }
    return fail(ErrorKind::authentication,
                "no " + std::string{spec.what} + ": set " + std::string{spec.command_option} +
                    " in the config, or " + variable +
                    " in the environment, or run kitovu in a terminal to be asked",
                {}, std::string{connection});
}

} // namespace kitovu
