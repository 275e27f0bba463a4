// Runs the conformance suite in a child process: a plugin that crashes (a libcurl handle shared
// between instances, a use after free) is then a failed check that says where, and the test
// program goes on. The child sends what it checks as it goes, and its report at the end.
#pragma once

#include "kitovu/testing/fixture.hpp"

#include <fcntl.h>
#include <signal.h>
#include <string.h> // strsignal
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <string>
#include <string_view>

namespace kitovu::testing::detail {

// Tells the parent which check runs now; a no-op outside a child.
using Progress = std::function<void(std::string_view step)>;

inline Report run_in_child(const std::function<Report(const Progress&)>& suite) {
    int channel[2];
    if (::pipe2(channel, O_CLOEXEC) != 0)
        return suite([](std::string_view) {});
    const auto line = [](char kind, std::string_view text) {
        std::string out{kind};
        out += ' ';
        for (const char c : text)
            out += c == '\n' ? ' ' : c;
        return out + '\n';
    };
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(channel[0]);
        // A crash ends the child at once: the test framework's handlers (Catch2 reports and
        // summarises) belong to the parent.
        for (const int fatal : {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE})
            ::signal(fatal, SIG_DFL);
        const auto send = [&](const std::string& text) {
            for (std::size_t done = 0; done < text.size();) {
                const auto n = ::write(channel[1], text.data() + done, text.size() - done);
                if (n <= 0)
                    return;
                done += static_cast<std::size_t>(n);
            }
        };
        const Report report = suite([&](std::string_view step) { send(line('P', step)); });
        std::string out = "C " + std::to_string(report.checks) + '\n';
        for (const auto& failure : report.failures)
            out += line('F', failure);
        for (const auto& skipped : report.not_checked)
            out += line('N', skipped);
        send(out + "E\n");
        ::_exit(0); // nothing of the parent's (servers, files) is torn down here
    }
    ::close(channel[1]);
    if (child < 0) {
        ::close(channel[0]);
        return suite([](std::string_view) {});
    }
    std::string received;
    char buffer[4096];
    for (;;) {
        const auto n = ::read(channel[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        received.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(channel[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    Report report;
    std::string step = "starting";
    bool ended = false;
    for (std::size_t at = 0; at < received.size();) {
        const auto end = std::min(received.find('\n', at), received.size());
        const std::string_view text{received.data() + at, end - at};
        at = end + 1;
        if (text.size() < 1)
            continue;
        const std::string rest{text.substr(std::min<std::size_t>(2, text.size()))};
        switch (text[0]) {
        case 'P': step = rest; break;
        case 'C': report.checks = std::stoul(rest); break;
        case 'F': report.failures.push_back(rest); break;
        case 'N': report.not_checked.push_back(rest); break;
        case 'E': ended = true; break;
        default: break;
        }
    }
    if (!ended || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ++report.checks;
        report.failures.push_back("crash: the plugin's process ended during '" + step + "' (" +
                                  (WIFSIGNALED(status)
                                       ? std::string{"signal "} + ::strsignal(WTERMSIG(status))
                                       : "exit code " + std::to_string(WEXITSTATUS(status))) +
                                  ")");
    }
    return report;
}

} // namespace kitovu::testing::detail
