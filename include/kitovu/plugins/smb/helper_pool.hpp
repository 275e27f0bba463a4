// HelperPool: the helper processes of one login (server, share, user, settings, password) that
// no plugin instance holds, and what is known of that login. The engine opens one instance per
// worker; they share a pool while any of them lives, so a download takes a helper that finished
// listing, logged in already (over a slow link a login is a dozen round trips), and a login is
// tried once, not by every worker at the same time (many refused passwords at once could lock a
// student's account). The pool ends its idle helpers when its last instance goes.
#pragma once

#include "kitovu/plugins/smb/helper.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kitovu::detail::smb {

class HelperPool {
  public:
    // The pool of `login`, shared by the instances that hold it.
    static std::shared_ptr<HelperPool> of(const Login& login) {
        const std::string key = login.where() + '/' + login.share + '/' + login.domain + '\\' +
                                login.user + '/' + login.signing + (login.encrypt ? "/e/" : "/") +
                                std::to_string(std::hash<std::string>{}(login.password));
        static std::mutex mutex;
        static std::map<std::string, std::weak_ptr<HelperPool>> pools;
        std::scoped_lock lock{mutex};
        std::erase_if(pools, [](const auto& item) { return item.second.expired(); });
        auto pool = pools[key].lock();
        if (!pool)
            pools[key] = pool = std::make_shared<HelperPool>();
        return pool;
    }

    HelperPool() {
        ::epoll_event event{.events = EPOLLIN, .data = {}};
        ::epoll_ctl(watch_, EPOLL_CTL_ADD, ready_signal_, &event);
    }
    HelperPool(const HelperPool&) = delete;
    HelperPool& operator=(const HelperPool&) = delete;
    ~HelperPool() {
        for (Helper& helper : idle_) // all killed before any is waited for
            helper.kill();
        idle_.clear();
        ::close(ready_signal_);
        ::close(watch_);
    }

    // An idle helper: a logged-in one first; with `ready_only`, only such one.
    std::optional<Helper> take(bool ready_only = false) {
        std::scoped_lock lock{mutex_};
        std::erase_if(idle_, [](Helper& helper) { return !helper.hear_ready(); });
        auto found = std::ranges::find_if(idle_, &Helper::ready);
        if (found == idle_.end() && !ready_only && !idle_.empty())
            found = idle_.begin();
        if (found == idle_.end())
            return std::nullopt;
        ::epoll_ctl(watch_, EPOLL_CTL_DEL, found->fd(), nullptr);
        Helper helper = std::move(*found);
        idle_.erase(found);
        note_ready();
        return helper;
    }

    void put(Helper helper) {
        std::scoped_lock lock{mutex_};
        ::epoll_event event{.events = EPOLLIN, .data = {}};
        ::epoll_ctl(watch_, EPOLL_CTL_ADD, helper.fd(), &event);
        idle_.push_back(std::move(helper));
        note_ready();
    }

    // Readable while a logged-in helper is idle or an idle one says something (such as that it
    // logged in; take() reads it): a download whose own helper still logs in gives way to it.
    int ready_signal() const { return watch_; }

    // Before a login: whether the caller is to try it (true), or it succeeded before (false);
    // how it failed, if it did. Waits while another instance tries it.
    expected<bool, UsageError> turn(const std::function<bool()>& stopping) {
        std::unique_lock lock{mutex_};
        while (trying_) {
            if (stopping())
                return fail(error(ErrorKind::cancelled, "stopped"));
            tried_.wait_for(lock, std::chrono::milliseconds{50});
        }
        if (failed_)
            return fail(*failed_);
        trying_ = !proven_;
        return trying_;
    }
    // The result of the login turn() gave the caller (a stop lets the next one try).
    void tried(const expected<void, UsageError>& result) {
        std::scoped_lock lock{mutex_};
        trying_ = false;
        proven_ = proven_ || result.has_value();
        if (!result && result.error().kind != ErrorKind::cancelled)
            failed_ = result.error();
        tried_.notify_all();
    }
    bool proven() const {
        std::scoped_lock lock{mutex_};
        return proven_;
    }

    // The server stopped answering: every instance gives up at once, a dead server costs one
    // time-out per run, not one per worker or file.
    void lose(const UsageError& why) {
        std::scoped_lock lock{mutex_};
        if (!lost_)
            lost_ = why;
    }
    std::optional<UsageError> lost() const {
        std::scoped_lock lock{mutex_};
        return lost_;
    }

    // The link's round trip (zero: unknown), measured by the first login before tried().
    std::chrono::microseconds round_trip{};

  private:
    // With the lock held: the signal's state follows whether a ready helper is idle.
    void note_ready() {
        std::uint64_t count = 1;
        [[maybe_unused]] const auto ignored = std::ranges::any_of(idle_, &Helper::ready)
                                                  ? ::write(ready_signal_, &count, sizeof count)
                                                  : ::read(ready_signal_, &count, sizeof count);
    }

    mutable std::mutex mutex_;
    std::condition_variable tried_;
    std::vector<Helper> idle_;
    int ready_signal_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); // a ready helper is idle
    int watch_ = ::epoll_create1(EPOLL_CLOEXEC); // ready_signal_ and the idle helpers' sockets
    bool trying_ = false;
    bool proven_ = false;
    std::optional<UsageError> failed_;
    std::optional<UsageError> lost_;
};

} // namespace kitovu::detail::smb
