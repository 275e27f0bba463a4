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

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kitovu::detail::smb {

// Helpers found stuck: silent for the time-out while their server answered a new connection.
// Each is replaced once. None is expected of a helper started by exec (forked ones hung under
// ThreadSanitizer, each costing a time-out); the smb tests count them.
inline std::atomic<unsigned> stuck_helpers{0};

enum class Heard { message, silence, stop };

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
    int stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); // readable once the run stops

    // The error as this instance reports it.
    UsageError named(UsageError e, std::string path = {}) const {
        e.connection = connection;
        if (e.path.empty())
            e.path = std::move(path);
        return e;
    }
    UsageError stopped(std::string path = {}) const {
        return named(error(ErrorKind::cancelled, "stopped"), std::move(path));
    }
    UsageError gone() const {
        return named(error(ErrorKind::internal,
                           "an SMB helper process ended unexpectedly; the next run tries again"));
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
        if (helper)
            own = std::move(*helper);
        return helper ? expected<void, UsageError>{} : fail(helper.error());
    }

    // The first login of this pool, in this instance's own helper, while a probe measures the
    // link's round trip for the pool. Over a link that looks slow the helpers a tree will need are
    // started beside it, parked, and log in as soon as its session setup succeeded (a VPN's eight
    // round trips before the login is over); a password the server refused never reaches them.
    expected<void, UsageError> log_in() {
        Login l = login;
        l.report = true;
        auto started = Helper::start(l);
        const auto probed = probe(login.host, login.port, std::chrono::milliseconds{250}, true);
        pool->round_trip = probed.round_trip.value_or(std::chrono::microseconds{});
        const bool slow = pool->round_trip >= fast_link_round_trip;
        l.report = false;
        l.parked = true;
        l.answered = true; // told to log in once the server answered (a time-out: it stopped)
        while (started && slow && extra.size() < polite_connections) {
            auto parked = Helper::start(l);
            if (!parked)
                break;
            extra.push_back(std::move(*parked));
        }
        ::explicit_bzero(l.password.data(), l.password.size());
        if (!started)
            return fail(named(started.error()));
        own = std::move(*started);
        const auto go = [this] { std::ranges::for_each(extra, &Helper::go); };
        auto logged_in = await_ready(own, go, std::chrono::seconds{2 * login.timeout_seconds});
        if (logged_in)
            go();
        else
            end_all();
        return logged_in;
    }

    // Reads `helper`'s Message::ready: why its login failed, if it did. `on_setup` hears of
    // Message::setup_ok; silence for `limit` is a server that does not answer.
    expected<void, UsageError> await_ready(Helper& helper, const std::function<void()>& on_setup,
                                           std::chrono::milliseconds limit) {
        while (!helper.ready()) {
            std::vector<::pollfd> fds{{helper.fd(), POLLIN, 0}};
            const Heard heard = wait(fds, limit);
            Message type{};
            std::string_view payload;
            if (heard == Heard::stop)
                return fail(stopped());
            if (heard == Heard::silence || !helper.receive(type, payload)) {
                helper.end();
                if (heard != Heard::silence)
                    return fail(gone());
                return fail(named(
                    login.answered || pool->proven()
                        ? stopped_answering(login.timeout_seconds)
                        : unreachable(login, network_reason(ETIMEDOUT, login.timeout_seconds))));
            }
            if (type == Message::setup_ok && on_setup)
                on_setup();
            if (type != Message::ready)
                continue;
            helper.set_ready();
            if (!payload.empty())
                return fail(named(decode_error(payload, connection, {})));
        }
        return {};
    }

    // Waits until one of `fds` has a message, the run stops, or `limit` (by default the time-out
    // and half a second) passes in silence.
    Heard wait(std::vector<::pollfd>& fds, std::optional<std::chrono::milliseconds> limit = {}) {
        fds.push_back(::pollfd{stop_fd, POLLIN, 0});
        const auto deadline = std::chrono::steady_clock::now() +
                              limit.value_or(std::chrono::seconds{login.timeout_seconds} +
                                             std::chrono::milliseconds{500});
        int ready = 0;
        do {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            ready =
                ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(0, left.count())));
        } while (ready < 0 && errno == EINTR);
        const bool stop = fds.back().revents != 0;
        fds.pop_back();
        return stop ? Heard::stop : ready > 0 ? Heard::message : Heard::silence;
    }

    // After a helper's silence: the server stopped answering (the pool's instances give up; that
    // error), or it answers a new connection within 0.4 s and the helper is stuck (nothing).
    std::optional<UsageError> after_silence() {
        if (probe_dialect(login.host, login.port, std::chrono::milliseconds{400}) !=
            Dialect::unknown) {
            ++stuck_helpers;
            return std::nullopt;
        }
        pool->lose(named(stopped_answering(login.timeout_seconds)));
        return pool->lost();
    }

    // Ends every helper this instance holds; all are killed before any is waited for (a run over
    // a slow link ends with seventeen).
    void end_all() noexcept {
        own.kill();
        std::ranges::for_each(extra, &Helper::kill);
        own.end();
        extra.clear();
    }
};

} // namespace kitovu::detail::smb
