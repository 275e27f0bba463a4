// What the conformance suite (kitovu/testing.hpp) is given and gives back: the remote it works
// on (a way to write it, or a description of what it holds), the plugin's options and
// instances, and the report of its checks.
#pragma once

#include "kitovu/config/options.hpp"
#include "kitovu/error.hpp"
#include "kitovu/plugin/plugin.hpp"
#include "kitovu/plugin/registry.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu::testing {

// How the suite changes the remote. Paths are relative to Fixture::remote_dir, '/'-separated;
// parent folders are made as needed.
struct RemoteWriter {
    std::function<void(const std::string& path, const std::string& bytes, std::int64_t mtime)>
        make_file;
    std::function<void(const std::string& path)> make_folder;
    std::function<void(const std::string& path)> remove; // a file
    // Optional (empty where the test cannot, e.g. as root on a local disk): makes the existing
    // folder unlistable, resp. the existing file unreadable, for the plugin's user.
    std::function<void(const std::string& path)> make_unreadable_folder{};
    std::function<void(const std::string& path)> make_unreadable_file{};
    // Optional: renames a file as a user of the remote would (its id stays, where it has one).
    std::function<void(const std::string& from, const std::string& to)> rename{};
};

// One entry of a remote the suite cannot write.
struct TreeEntry {
    std::string path; // relative to Fixture::remote_dir
    bool is_folder = false;
    std::uint64_t size = 0;             // as listed (0: the remote does not know it)
    std::int64_t mtime = 0;             // as listed; not checked for folders
    std::optional<std::string> bytes{}; // what retrieve() delivers, where the test knows it
    std::optional<ErrorKind> refused{}; // retrieve() fails with this kind (a refused download)
};

// A remote the fixture can make stop answering (testing/hold_still.hpp has a proxy for it), so
// that the suite can check that `timeout` ends a wait and stop() ends one at once.
struct HoldStillHook {
    std::function<void()> freeze; // from now on nothing passes either way
    std::function<void()> thaw;   // as before
    // Returns true once a request waits, frozen; false when none came within the time given.
    std::function<bool(std::chrono::milliseconds)> wait_until_held;
    std::chrono::seconds timeout{}; // the plugin's time-out in Fixture::options
};

struct Fixture {
    std::string connection = "conformance";
    Options options{};                      // validated: defaults filled in, secret set
    std::vector<Options> refused_options{}; // configure() refuses each with ErrorKind::config
    std::string remote_dir{};               // with a writer: an empty folder the suite fills
    std::optional<RemoteWriter> writer{};
    std::vector<TreeEntry> tree{};       // without a writer: what remote_dir holds
    std::vector<std::string> unlisted{}; // without a writer: subfolders that cannot be listed
    std::string missing_dir{};           // a remote_dir that does not exist; default: made up
    std::optional<HoldStillHook> hold_still{};
    // The plugin runs in a child process, so that a crash is a failed check, not the end of the
    // test program (false: in this process, e.g. under a debugger).
    bool in_child_process = true;
};

// A new, unconfigured instance per call.
using PluginFactory = std::function<std::unique_ptr<SyncPlugin>()>;

inline PluginFactory registered(std::string_view name) {
    return [name = std::string{name}]() -> std::unique_ptr<SyncPlugin> {
        auto plugin = PluginRegistry::create(name);
        return plugin ? std::move(*plugin) : nullptr;
    };
}

// `given` with the defaults of the plugin `name`'s schema added: options as a config gives them.
inline Options with_defaults(std::string_view name, Options given = {}) {
    if (auto entry = PluginRegistry::find(name))
        for (const OptionSpec& spec : (*entry)->options)
            if (!given.values().contains(spec.name))
                if (auto value = default_value(spec))
                    given.set(std::string{spec.name}, *value);
    return given;
}

struct Report {
    std::vector<std::string> failures;    // "check: what was wrong"
    std::vector<std::string> not_checked; // what the fixture could not support
    std::size_t checks = 0;

    bool passed() const noexcept { return failures.empty() && checks > 0; }
    std::string to_string() const {
        std::string out =
            std::to_string(checks) + " checks, " + std::to_string(failures.size()) + " failed\n";
        for (const auto& failure : failures)
            out += "FAILED " + failure + '\n';
        for (const auto& skipped : not_checked)
            out += "not checked: " + skipped + '\n';
        return out;
    }
};

} // namespace kitovu::testing
