// The conformance suite's own test: typical plugin bugs planted one at a time in a plugin of the
// test's own (the in-memory plugin with one mistake), each of which the suite must report. A
// plugin without a bug must pass.
#include "memory_plugin.hpp"

#include <kitovu/testing.hpp>

#include <catch2/catch.hpp>

#include <time.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>

using namespace kitovu;

namespace {

// The bugs, each as a plugin author makes it.
constexpr std::array bugs{
    "none",
    "lists nothing",                // success without a batch
    "sizes off by one",             // getcontentlength misread
    "mtime read as local time",     // passes where the machine runs in UTC
    "folders with a size",          // a directory's 4096 bytes
    "absolute paths",               // the remote path, not one relative to remote_dir
    "an entry listed twice",        // a folder's entries and the folder's own entry mixed up
    "one batch per entry",          // a folder's entries split
    "children before their folder", // batches in the wrong order
    "keep's answer ignored",        // asks keep, then lists what it refused all the same
    "unlistable folder fails all",  // a 403 on a subfolder ends the listing
    "unlistable folder silent",     // left out with no warning: its files look deleted
    "digest differs every time",    // a timestamp of the listing in the digest
    "digest ignores content",       // a constant digest: changes never seen
    "last byte lost",               // an off-by-one in the read loop
    "a byte corrupted",             // a buffer reused too early
    "writer error ignored",         // disk full goes unnoticed
    "writer error replaced",        // disk full becomes "write failed"
    "Retrieved mtime off",          // a second time read differently
    "gone file is permission",      // 404 mapped to permission
    "missing folder lists empty",   // 404 on remote_dir taken for an empty folder
    "connect ignores stop",         // logs in after stop()
    "list ignores stop",            // lists on after stop()
    "retrieve ignores stop",        // downloads on after stop()
    "secret in a warning",          // the password in a message
    "one handle for all instances", // crashes when a second instance works
    "timeout ignored",              // waits for a hung server forever
    "no interrupt()",               // stop() seen only when the wait ends
};

// A remote that can hold still (Fixture::hold_still): requests wait while it is frozen.
struct Frozen {
    std::mutex mutex;
    std::condition_variable changed;
    bool frozen = false;
    int waiting = 0;
};
Frozen& frozen() {
    static Frozen state;
    return state;
}

std::atomic<int> instances{0};

class MutantPlugin final : public SyncPlugin {
  public:
    static constexpr auto remote = string_option({.name = "remote", .required = true});
    static constexpr auto bug_option = string_option({.name = "bug"});
    static constexpr auto timeout =
        integer_option({.name = "timeout", .default_value = std::int64_t{3}});

    MutantPlugin() { ++instances; }
    ~MutantPlugin() override { --instances; }
    MutantPlugin(const MutantPlugin&) = delete;
    MutantPlugin& operator=(const MutantPlugin&) = delete;

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        bug_ = options.get(bug_option);
        secret_ = options.secret();
        timeout_ = std::chrono::seconds{options.has(timeout) ? options.get(timeout) : 3};
        Options inner;
        inner.set("remote", options.get(remote));
        return inner_.configure(connection, inner);
    }

    expected<void, UsageError> connect() override {
        if (stopping() && !is("connect ignores stop"))
            return cancelled();
        return inner_.connect();
    }

    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override {
        if (is("one handle for all instances") && instances > 1)
            std::abort();
        if (stopping() && !is("list ignores stop"))
            return cancelled();
        if (auto held = hold(); !held)
            return held;
        bool unlisted = false;
        std::vector<std::vector<RemoteEntry>> late;
        const auto asked_only = [&](std::string_view path, bool is_folder) {
            (void)keep(path, is_folder);
            return true;
        };
        auto listed = inner_.list(
            remote_dir, is("keep's answer ignored") ? ListFilter{asked_only} : keep,
            [&](const Warning& w) {
                unlisted = unlisted || w.kind == WarningKind::unlisted;
                if (!(w.kind == WarningKind::unlisted && is("unlistable folder silent")))
                    warn(w);
            },
            [&](std::span<RemoteEntry> batch) {
                std::vector<RemoteEntry> entries(batch.begin(), batch.end());
                for (RemoteEntry& e : entries)
                    plant(e);
                if (is("an entry listed twice") && !entries.empty())
                    entries.push_back(entries.front());
                if (is("lists nothing"))
                    return;
                if (is("children before their folder"))
                    return late.push_back(std::move(entries));
                if (is("one batch per entry"))
                    for (RemoteEntry& e : entries)
                        out(std::span{&e, 1});
                else
                    out(entries);
            });
        for (auto it = late.rbegin(); it != late.rend(); ++it)
            out(*it);
        if (is("secret in a warning"))
            warn(Warning{WarningKind::skipped, "logged in with " + secret_, "c", "a.txt"});
        if (!listed && listed.error().kind == ErrorKind::not_found &&
            is("missing folder lists empty"))
            return {};
        if (listed && unlisted && is("unlistable folder fails all"))
            return fail(ErrorKind::permission, "access denied");
        return listed;
    }

    expected<Retrieved, UsageError> retrieve(const RemoteEntry& entry, ChunkWriter out) override {
        if (stopping() && !is("retrieve ignores stop"))
            return cancelled();
        if (auto held = hold(); !held)
            return fail(held.error());
        std::string bytes;
        std::optional<UsageError> refused;
        auto got = inner_.retrieve(entry, [&](std::span<const std::byte> chunk) {
            bytes.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
            return expected<void, UsageError>{};
        });
        if (!got) {
            UsageError e = got.error();
            if (e.kind == ErrorKind::not_found && is("gone file is permission"))
                e.kind = ErrorKind::permission;
            return fail(e);
        }
        if (is("last byte lost") && !bytes.empty())
            bytes.pop_back();
        if (is("a byte corrupted") && !bytes.empty())
            bytes[bytes.size() / 2] ^= 1;
        for (std::size_t at = 0; at < bytes.size() || at == 0; at += 64 * 1024) {
            if (stopping() && !is("retrieve ignores stop"))
                return cancelled();
            const auto chunk =
                std::as_bytes(std::span{bytes})
                    .subspan(at, std::min<std::size_t>(64 * 1024, bytes.size() - at));
            if (auto written = out(chunk); !written) {
                if (is("writer error replaced"))
                    return fail(ErrorKind::io, "write failed");
                if (!is("writer error ignored"))
                    return fail(written.error());
            }
            if (bytes.empty())
                break;
        }
        if (is("Retrieved mtime off"))
            got->mtime = entry.mtime + 1;
        return got;
    }

    std::string remote_digest(const RemoteEntry& entry) const override {
        if (is("digest differs every time"))
            return std::to_string(++digests_);
        if (is("digest ignores content"))
            return "always";
        return SyncPlugin::remote_digest(entry);
    }

  protected:
    void interrupt() noexcept override {
        if (is("connect ignores stop") || is("list ignores stop") || is("retrieve ignores stop"))
            return;
        inner_.stop();
        if (is("no interrupt()"))
            return;
        std::scoped_lock lock{frozen().mutex};
        frozen().changed.notify_all();
    }

  private:
    bool is(std::string_view bug) const { return bug_ == bug; }
    static unexpected<UsageError> cancelled() { return fail(ErrorKind::cancelled, "stopped"); }

    void plant(RemoteEntry& e) const {
        if (is("sizes off by one") && !e.is_folder)
            ++e.size;
        if (is("folders with a size") && e.is_folder)
            e.size = 4096;
        if (is("absolute paths"))
            e.path = "/" + e.path;
        if (is("mtime read as local time")) {
            const time_t t = e.mtime;
            tm local{};
            ::localtime_r(&t, &local);
            e.mtime -= ::timegm(&local) - t;
        }
    }

    // Waits while the remote holds still: until thawed, stopped, or the time-out.
    expected<void, UsageError> hold() {
        Frozen& f = frozen();
        std::unique_lock lock{f.mutex};
        if (!f.frozen)
            return {};
        ++f.waiting;
        f.changed.notify_all();
        const auto done = [&] { return !f.frozen || stopping(); };
        bool thawed = true;
        if (is("timeout ignored"))
            f.changed.wait(lock, done);
        else
            thawed = f.changed.wait_for(lock, timeout_, done);
        --f.waiting;
        if (stopping())
            return cancelled();
        if (!thawed)
            return fail(ErrorKind::connection, "no answer");
        return {};
    }

    test::MemoryPlugin inner_;
    std::string bug_, secret_;
    std::chrono::seconds timeout_{3};
    mutable std::atomic<int> digests_{0};
};

// Freezes the Frozen remote: what the suite's hold-still checks use.
testing::HoldStillHook hold_still_hook() {
    Frozen& f = frozen();
    const auto set = [&f](bool value) {
        std::scoped_lock lock{f.mutex};
        f.frozen = value;
        f.changed.notify_all();
    };
    return {.freeze = [set] { set(true); },
            .thaw = [set] { set(false); },
            .wait_until_held =
                [&f](std::chrono::milliseconds limit) {
                    std::unique_lock lock{f.mutex};
                    return f.changed.wait_for(lock, limit, [&] { return f.waiting > 0; });
                },
            .timeout = std::chrono::seconds{3}};
}

testing::Fixture mutant_fixture(const std::string& bug) {
    test::forget_remote("mutants");
    auto memory = test::remote("mutants");
    const auto at = [](const std::string& path) { return "folder/" + path; };
    Options options;
    options.set("remote", std::string{"mutants"});
    options.set("bug", bug);
    options.set("timeout", std::int64_t{3});
    options.set_secret("hunter2-conformance");
    return testing::Fixture{
        .options = options,
        .refused_options = {},
        .remote_dir = "folder",
        .writer = testing::RemoteWriter{
            .make_file = [=](const std::string& path, const std::string& bytes,
                             std::int64_t mtime) { memory->put(at(path), bytes, mtime); },
            .make_folder =
                [=](const std::string& path) {
                    std::scoped_lock lock{memory->mutex};
                    memory->folders.insert(at(path));
                },
            .remove = [=](const std::string& path) { memory->remove(at(path)); },
            .make_unreadable_folder =
                [=](const std::string& path) {
                    std::scoped_lock lock{memory->mutex};
                    memory->unlistable.insert(at(path));
                },
            .make_unreadable_file =
                [=](const std::string& path) {
                    std::scoped_lock lock{memory->mutex};
                    memory->failing.insert(at(path));
                },
        },
        .hold_still = hold_still_hook()};
}

} // namespace

TEST_CASE("the conformance suite reports each planted plugin bug and passes the plugin without") {
    const testing::PluginFactory factory = [] { return std::make_unique<MutantPlugin>(); };
    std::size_t reported = 0;
    for (const std::string bug : bugs) {
        const auto report = testing::check_plugin(factory, mutant_fixture(bug));
        INFO("bug: " << bug << "\n" << report.to_string());
        if (bug == "none") {
            CHECK(report.passed());
            continue;
        }
        CHECK_FALSE(report.passed());
        reported += report.passed() ? 0 : 1;
    }
    UNSCOPED_INFO("reported " << reported << " of " << bugs.size() - 1 << " bugs");
    CHECK(reported == bugs.size() - 1);
}
