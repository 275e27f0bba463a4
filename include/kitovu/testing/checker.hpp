// The conformance suite's checks and the tools they share: a report to count them in (from two
// threads at once), a look at everything a plugin says for the secret it was given, and new
// configured (and connected) instances of the plugin under test.
#pragma once

#include "kitovu/testing/fixture.hpp"
#include "kitovu/testing/probes.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <type_traits>

namespace kitovu::testing::detail {

class Checker {
  public:
    Checker(const PluginFactory& create, const Fixture& fixture)
        : create_(create), fixture_(fixture) {}

    const Fixture& fixture() const noexcept { return fixture_; }
    void not_checked(std::string what) {
        std::scoped_lock lock{mutex_};
        report_.not_checked.push_back(std::move(what));
    }

    bool check(bool ok, const std::string& what, const std::string& why) {
        std::scoped_lock lock{mutex_}; // two instances run at once
        ++report_.checks;
        if (!ok)
            report_.failures.push_back(what + ": " + why);
        return ok;
    }

    // What a plugin says (warnings, errors) must never hold the secret it was given.
    template <class Result>
    Result seen(Result result) {
        const std::string& secret = fixture_.options.secret();
        if (secret.empty())
            return result;
        const auto look = [&](const std::string& text, const std::string& where) {
            check(text.find(secret) == std::string::npos, "secret",
                  where + " holds the secret: '" + text + "'");
        };
        if constexpr (std::is_same_v<Result, Listing>) {
            for (const Warning& w : result.warnings)
                look(w.to_string(), "a warning");
            if (!result.result)
                look(result.result.error().to_string(), "an error of list()");
        } else if constexpr (std::is_same_v<Result, Fetched>) {
            if (!result.result)
                look(result.result.error().to_string(), "an error of retrieve()");
        } else {
            if (!result)
                look(result.error().to_string(), "an error");
        }
        return result;
    }

    std::unique_ptr<SyncPlugin> open(bool must_connect = true) {
        auto plugin = create_();
        if (auto configured = plugin->configure(fixture_.connection, fixture_.options); !configured)
            return nullptr;
        if (!must_connect)
            return plugin;
        auto connected = seen(plugin->connect());
        if (!check(static_cast<bool>(connected), "connect", error_text(connected)))
            return nullptr;
        return plugin;
    }

  protected:
    const PluginFactory& create_;
    const Fixture& fixture_;
    std::mutex mutex_; // report_ from two instances' threads
    Report report_;
};

} // namespace kitovu::testing::detail
