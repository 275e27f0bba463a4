// Runs a program as a user would, for end-to-end tests: with pipes (stdin closed) or under a
// pseudo-terminal, with a chosen environment, capturing what it prints and its exit code.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

extern char** environ;

namespace kitovu::test {

// A test never waits longer than this for a program; then it is killed and the test fails.
inline constexpr int patience_ms = 120'000;

struct ProcessResult {
    int exit_code = -1; // 128 + signal when killed, -1 when it ran out of patience
    std::string out;
    std::string err;
};

using Environment = std::map<std::string, std::string>;

namespace detail {

inline std::vector<std::string> environment_with(const Environment& changes) {
    Environment merged;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string text = *entry;
        const auto equals = text.find('=');
        if (equals != std::string::npos)
            merged[text.substr(0, equals)] = text.substr(equals + 1);
    }
    for (const auto& [name, value] : changes) {
        if (value.empty())
            merged.erase(name);
        else
            merged[name] = value;
    }
    std::vector<std::string> out;
    for (const auto& [name, value] : merged)
        out.push_back(name + '=' + value);
    return out;
}

[[noreturn]] inline void exec(const std::vector<std::string>& args, const Environment& changes) {
    std::vector<std::string> environment = environment_with(changes);
    std::vector<char*> argv, envp;
    for (const auto& arg : args)
        argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    for (auto& variable : environment)
        envp.push_back(variable.data());
    envp.push_back(nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
}

inline int wait_for(pid_t child) {
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace detail

// Runs `args` (args[0] a path) with stdin closed and stdout/stderr on pipes. `on_output` sees
// the output as it arrives (stdout and stderr together) and may act on the child, e.g. send a
// signal; it receives the child's pid.
inline ProcessResult
run_process(const std::vector<std::string>& args, const Environment& changes = {},
            const std::function<void(const std::string&, pid_t)>& on_output = {}) {
    int out_pipe[2], err_pipe[2];
    if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0)
        return {};
    const pid_t child = ::fork();
    if (child == 0) {
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, STDIN_FILENO);
        ::dup2(out_pipe[1], STDOUT_FILENO);
        ::dup2(err_pipe[1], STDERR_FILENO);
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        detail::exec(args, changes);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    ProcessResult result;
    std::string both;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    char buffer[65536];
    while (open_fds > 0) {
        const int ready = ::poll(fds, 2, patience_ms);
        if (ready == 0) {
            ::kill(child, SIGKILL);
            detail::wait_for(child);
            result.exit_code = -1;
            return result;
        }
        if (ready < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            const auto n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
                continue;
            }
            (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
            if (on_output) {
                both.append(buffer, static_cast<std::size_t>(n));
                on_output(both, child);
            }
        }
    }
    result.exit_code = detail::wait_for(child);
    return result;
}

// What to type on a terminal once a prompt has appeared, in order.
struct Reply {
    std::string prompt;
    std::string input;
};

// Runs `args` on a pseudo-terminal (stdin, stdout and stderr all on it), typing each reply's
// input once its prompt has appeared in the output after the previous reply; returns everything
// the terminal showed.
inline ProcessResult run_on_terminal(const std::vector<std::string>& args,
                                     const Environment& changes,
                                     const std::vector<Reply>& replies) {
    int master = -1;
    winsize size{24, 100, 0, 0};
    const pid_t child = ::forkpty(&master, nullptr, nullptr, &size);
    if (child < 0)
        return {};
    if (child == 0)
        detail::exec(args, changes);
    ProcessResult result;
    std::size_t answered = 0;
    std::size_t seen = 0; // where to look for the next prompt
    char buffer[4096];
    for (;;) {
        pollfd terminal{master, POLLIN, 0};
        if (::poll(&terminal, 1, patience_ms) == 0) {
            ::kill(child, SIGKILL);
            ::close(master);
            detail::wait_for(child);
            result.exit_code = -1;
            return result;
        }
        const auto n = ::read(master, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; // EIO: the child closed the terminal
        result.out.append(buffer, static_cast<std::size_t>(n));
        while (answered < replies.size()) {
            const auto found = result.out.find(replies[answered].prompt, seen);
            if (found == std::string::npos)
                break;
            seen = found + replies[answered].prompt.size();
            const std::string& input = replies[answered++].input;
            [[maybe_unused]] auto written = ::write(master, input.data(), input.size());
        }
    }
    ::close(master);
    result.exit_code = detail::wait_for(child);
    return result;
}

// The same with at most one reply: `input` typed once `prompt` has appeared (if given).
inline ProcessResult run_on_terminal(const std::vector<std::string>& args,
                                     const Environment& changes = {},
                                     const std::string& prompt = {},
                                     const std::string& input = {}) {
    return run_on_terminal(args, changes,
                           prompt.empty() && input.empty() ? std::vector<Reply>{}
                                                           : std::vector<Reply>{{prompt, input}});
}

} // namespace kitovu::test
