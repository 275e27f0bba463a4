// The promises about stopping and about instances side by side: two instances at once, stop()
// before and during each call, and a server that holds still (Fixture::hold_still).
#pragma once

#include "kitovu/testing/checker.hpp"
#include "kitovu/testing/remote_tree.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace kitovu::testing::detail {

// Two instances at once list and retrieve the same; stopping one leaves the other going.
inline void check_two_instances(Checker& c, const RemoteTree& tree, const Listing& reference,
                                const SyncPlugin& reference_plugin) {
    const auto expected = facts(reference, reference_plugin);
    auto first = c.open();
    auto second = c.open();
    if (!first || !second)
        return;
    const std::string refuse = tree.refused_folder();
    const RemoteEntry* big = tree.largest(reference);
    const TreeEntry* want = big != nullptr ? tree.described(big->path) : nullptr;
    const auto complete = [&](const Fetched& got) {
        if (!got.result)
            return false;
        if (want != nullptr && want->bytes)
            return got.bytes == *want->bytes;
        return big->size == 0 || got.bytes.size() == big->size;
    };
    Listing listed_first;
    Fetched fetched_first;
    {
        std::jthread other{[&] {
            listed_first = c.seen(list(*first, c.fixture().remote_dir, refuse));
            if (big != nullptr)
                fetched_first = c.seen(fetch(*first, *big));
        }};
        const Listing listed_second = c.seen(list(*second, c.fixture().remote_dir, refuse));
        c.check(listed_second.result && facts(listed_second, *second) == expected, "two instances",
                "a listing differs while another instance lists");
        if (big != nullptr)
            c.check(complete(c.seen(fetch(*second, *big))), "two instances",
                    "'" + big->path + "' differs while another instance reads it");
    }
    c.check(listed_first.result && facts(listed_first, *first) == expected, "two instances",
            "a listing differs while another instance lists");
    c.check(big == nullptr || complete(fetched_first), "two instances",
            "'" + (big ? big->path : std::string{}) + "' differs while another instance reads it");
    first->stop();
    const Listing after = c.seen(list(*second, c.fixture().remote_dir, refuse));
    c.check(after.result && facts(after, *second) == expected, "two instances",
            "stopping one instance stopped the other: " + error_text(after.result));
}

// stop(): before connect, during a listing, during a retrieval.
inline void check_stop(Checker& c, const RemoteTree& tree, const Listing& reference) {
    const RemoteEntry* big = tree.largest(reference);
    if (auto plugin = c.open(false)) {
        plugin->stop();
        const auto connected = plugin->connect();
        c.check(!connected && connected.error().kind == ErrorKind::cancelled, "stop",
                "connect() after stop() gave " + error_text(connected));
        const Listing listed = c.seen(list(*plugin, c.fixture().remote_dir));
        c.check(!listed.result && listed.result.error().kind == ErrorKind::cancelled &&
                    listed.batches.empty(),
                "stop",
                "list() after stop() gave " + error_text(listed.result) + " and " +
                    std::to_string(listed.batches.size()) + " batches");
        if (big != nullptr) {
            const Fetched got = c.seen(fetch(*plugin, *big));
            c.check(!got.result && got.result.error().kind == ErrorKind::cancelled, "stop",
                    "retrieve() after stop() gave " +
                        (got.result ? std::string{"success"} : got.result.error().to_string()));
        }
    }
    if (reference.batches.size() > 1)
        if (auto plugin = c.open()) {
            const Listing listed = c.seen(list(*plugin, c.fixture().remote_dir,
                                               tree.refused_folder(), [&] { plugin->stop(); }));
            c.check(!listed.result && listed.result.error().kind == ErrorKind::cancelled &&
                        listed.batches.size() == 1,
                    "stop",
                    "stopped in the first of " + std::to_string(reference.batches.size()) +
                        " batches, list() gave " + error_text(listed.result) + " after " +
                        std::to_string(listed.batches.size()) + " batches");
        }
    if (big != nullptr)
        if (auto plugin = c.open()) {
            const Fetched got = c.seen(fetch(*plugin, *big, [&](std::size_t) {
                plugin->stop();
                return expected<void, UsageError>{};
            }));
            const bool whole = got.chunks == 1 && got.bytes.size() == big->size;
            c.check(whole || (!got.result && got.result.error().kind == ErrorKind::cancelled),
                    "stop",
                    "stopped in the first chunk of '" + big->path + "', retrieve() gave " +
                        (got.result ? std::string{"success"} : got.result.error().to_string()) +
                        " after " + std::to_string(got.chunks) + " chunks");
        }
}

inline expected<void, UsageError> fetch_result(const Fetched& got) {
    if (!got.result)
        return fail(got.result.error());
    return {};
}

// Runs `call` on a thread of its own and waits at most `limit` for it; a call still waiting
// then is let go by thawing the server (a plugin that ignores its time-out and stop() would
// hang the suite otherwise). False when it had not returned in time.
inline bool returns_within(const std::function<void()>& call, std::chrono::milliseconds limit,
                           const HoldStillHook& hold) {
    std::mutex mutex;
    std::condition_variable returned;
    bool done = false;
    std::jthread thread{[&] {
        call();
        std::scoped_lock lock{mutex};
        done = true;
        returned.notify_all();
    }};
    std::unique_lock lock{mutex};
    const bool in_time = returned.wait_for(lock, limit, [&] { return done; });
    lock.unlock();
    if (!in_time)
        hold.thaw();
    return in_time;
}

// A server that stops answering: `timeout` ends the wait with an error (not a hang, not
// `cancelled`), and stop() during the wait ends it at once.
inline void check_hold_still(Checker& c, const RemoteTree& tree, const Listing& reference) {
    if (!c.fixture().hold_still)
        return c.not_checked("timeout and stop() while the server does not answer (no "
                             "hold_still)");
    const HoldStillHook& hold = *c.fixture().hold_still;
    const auto limit = std::chrono::milliseconds{2 * hold.timeout + std::chrono::seconds{10}};
    if (auto plugin = c.open()) {
        hold.freeze();
        Listing listed;
        const bool in_time = returns_within(
            [&] { listed = c.seen(list(*plugin, c.fixture().remote_dir)); }, limit, hold);
        hold.thaw();
        c.check(in_time && !listed.result && listed.result.error().kind != ErrorKind::cancelled,
                "timeout",
                "with the server holding still, list() gave " +
                    (in_time ? error_text(listed.result)
                             : "nothing within " + std::to_string(limit.count()) + " ms") +
                    " (timeout " + std::to_string(hold.timeout.count()) + " s)");
    }
    const RemoteEntry* big = tree.largest(reference);
    for (const bool listing : {true, false}) {
        if (!listing && big == nullptr)
            continue;
        auto plugin = c.open();
        if (!plugin)
            continue;
        hold.freeze();
        std::string result = "nothing";
        std::mutex mutex;
        std::condition_variable returned;
        bool done = false;
        std::jthread waiting{[&] {
            std::string got = listing
                                  ? error_text(c.seen(list(*plugin, c.fixture().remote_dir)).result)
                                  : error_text(fetch_result(c.seen(fetch(*plugin, *big))));
            std::scoped_lock lock{mutex};
            result = std::move(got);
            done = true;
            returned.notify_all();
        }};
        const bool held = hold.wait_until_held(limit);
        plugin->stop();
        std::unique_lock lock{mutex};
        const bool in_time = returned.wait_for(lock, std::chrono::seconds{2}, [&] { return done; });
        const std::string said = !held     ? "no wait for the server (" + result + ")"
                                 : in_time ? result
                                           : "nothing within 2 s";
        lock.unlock();
        hold.thaw();
        waiting.join();
        c.check(in_time && said.starts_with("cancelled"), "stop",
                std::string{listing ? "list()" : "retrieve()"} +
                    " waiting for a server that holds still gave " + said +
                    " after stop() (want cancelled, at once)");
    }
}

} // namespace kitovu::testing::detail
