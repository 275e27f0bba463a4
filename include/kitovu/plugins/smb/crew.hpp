// Crew: the helper processes one plugin instance holds (its own, for downloads and the top of a
// listing, and those that list a tree with it), its login's pool, and how it waits for them: a
// stop of the run ends every wait at once (the stopping thread only writes the stop descriptor),
// and a helper silent for the time-out and half a second more means a hung server or a stuck
// helper, told apart by asking the server for a new connection.
#pragma once

#include "kitovu/plugin/link.hpp"
#include "kitovu/plugins/smb/dialect.hpp"
#include "kitovu/plugins/smb/helper_pool.hpp"
#include "kitovu/plugins/smb/session_errors.hpp"

#include <sys/eventfd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kitovu::detail::smb {

class Crew {
  public:
    Crew() = default;
    Crew(const Crew&) = delete;
    Crew& operator=(const Crew&) = delete;
    ~Crew() {
        end_all();
        ::explicit_bzero(login.password.data(), login.password.size());
        ::close(stop_fd);
    }

    Login login;
    std::string connection;
    std::shared_ptr<HelperPool> pool; // set by connect()
    Helper own;                       // downloads; lists where the tree does not fan out
    std::vector<Helper> extra;        // list a tree that fans out
    std::optional<UsageError> lost;   // this instance's connection broke: no file will do better
    int stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); // readable once the run stops

    // The error as this instance reports it.
    UsageError named(UsageError e, std::string path = {}) const {
        e.connection = connection;
        if (e.path.empty())
            e.path = std::move(path);
        return e;
    }

    // A helper for more work: an idle one of the pool (unless `new_one`), else a new one that logs
    // in on its own.
    expected<Helper, UsageError> another(bool new_one = false) {
        if (auto idle = new_one ? std::nullopt : pool->take())
            return std::move(*idle);
        Login l = login;
        l.answered = true;
        auto started = Helper::start(l);
        ::explicit_bzero(l.password.data(), l.password.size());
        if (!started)
            return fail(named(started.error()));
        return started;
    }

    // The own helper, where there is none (see another).
    expected<void, UsageError> ensure_own(bool new_one = false) {
        if (own)
            return {};
        auto helper = another(new_one);
        if (!helper)
            return fail(helper.error());
        own = std::move(*helper);
        return {};
    }

    // The first login of this pool, in this instance's own helper. Over a link that looks slow
    // the helpers a tree will need are started beside it, parked, and log in as soon as its
    // session setup succeeded (a VPN's eight round trips before the login is over); a password
    // the server refused never reaches them. The login's time is returned.
    expected<std::chrono::microseconds, UsageError> log_in(bool slow) {
        Login l = login;
        l.report = slow;
        auto started = Helper::start(l);
        l.report = false;
        for (l.parked = true; started && slow && extra.size() < polite_connections;) {
            auto parked = Helper::start(l);
            if (!parked)
                break;
            extra.push_back(std::move(*parked));
        }
        ::explicit_bzero(l.password.data(), l.password.size());
        if (!started)
            return fail(named(started.error()));
        own = std::move(*started);
        const auto go = [this] {
            for (Helper& helper : extra)
                helper.parked = helper.parked && !helper.send(Message::go);
        };
        auto logged_in = await_ready(own, go, std::chrono::seconds{2 * login.timeout_seconds});
        if (!logged_in) {
            end_all();
            return logged_in;
        }
        go();
        return logged_in;
    }

    // Reads `helper`'s Message::ready: its login's time, or why it failed. `on_setup` hears of
    // Message::setup_ok; silence for `limit` is a server that does not answer.
    expected<std::chrono::microseconds, UsageError>
    await_ready(Helper& helper, const std::function<void()>& on_setup,
                std::chrono::milliseconds limit) {
        while (!helper.ready()) {
            std::vector<::pollfd> fds{{helper.fd(), POLLIN, 0}};
            const Heard heard = wait_for(fds, stop_fd, limit);
            if (heard == Heard::stop)
                return fail(stopped());
            if (heard == Heard::silence) {
                helper.end();
                return fail(named(
                    login.answered || pool->proven()
                        ? stopped_answering(login.timeout_seconds)
                        : unreachable(login, network_reason(ETIMEDOUT, login.timeout_seconds))));
            }
            Message type{};
            std::string_view payload;
            if (!helper.receive(type, payload)) {
                helper.end();
                return fail(named(gone()));
            }
            if (type == Message::setup_ok && on_setup)
                on_setup();
            if (type != Message::ready)
                continue;
            helper.set_ready();
            const std::chrono::microseconds took{take_size(payload)};
            if (!payload.empty())
                return fail(named(decode_error(payload, connection, {})));
            return took;
        }
        return std::chrono::microseconds{};
    }

    // Waits for a message of one of `fds` or the stop, at most the time-out and half a second.
    Heard wait(std::vector<::pollfd>& fds) const {
        return wait_for(fds, stop_fd,
                        std::chrono::milliseconds{login.timeout_seconds * 1000 + 500});
    }

    // After a helper's silence: the server stopped answering (the pool's instances give up; that
    // error), or it answers a new connection within 0.4 s and the helper is stuck (nothing).
    std::optional<UsageError> after_silence() {
        if (probe_dialect(login.host, login.port, std::chrono::milliseconds{400}) !=
            Dialect::unknown)
            return std::nullopt;
        pool->lose(named(stopped_answering(login.timeout_seconds)));
        return pool->lost();
    }

    UsageError stopped(std::string path = {}) const {
        return named(error(ErrorKind::cancelled, "stopped"), std::move(path));
    }
    UsageError gone() const {
        return named(error(ErrorKind::internal,
                           "an SMB helper process ended unexpectedly; the next run tries again"));
    }

    // Ends every helper this instance holds; all are killed before any is waited for (a run over
    // a slow link ends with seventeen).
    void end_all() noexcept {
        own.kill();
        for (Helper& helper : extra)
            helper.kill();
        own.end();
        extra.clear();
    }
};

} // namespace kitovu::detail::smb
