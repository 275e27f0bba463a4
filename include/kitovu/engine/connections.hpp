// Plugin instances and their secrets: each connection's options with its secret (resolved once
// for all its instances, shared between connections to one account, kept in the keyring when
// the user asked and the server accepted it), and configured, connected instances that hear the
// run's stop.
#pragma once

#include "kitovu/config/settings_model.hpp"
#include "kitovu/engine/ledger.hpp"
#include "kitovu/engine/sync_options.hpp"
#include "kitovu/plugin/browse.hpp"
#include "kitovu/plugin/credentials.hpp"
#include "kitovu/plugin/registry.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string_view>
#include <vector>

namespace kitovu::detail {

// The sources of `connection`, in the order of the config.
inline std::vector<const Source*> sources_of(const Settings& settings,
                                             const Connection& connection) {
    std::vector<const Source*> sources;
    for (const Subject& subject : settings.subjects)
        for (const Source& source : subject.sources)
            if (source.connection == connection.name)
                sources.push_back(&source);
    return sources;
}

// A plugin instance that is told when the run is stopped (SyncPlugin::stop), from before it
// connects until it is destroyed.
struct Instance {
    struct Stopper {
        SyncPlugin* plugin;
        void operator()() const noexcept { plugin->stop(); }
    };
    std::unique_ptr<SyncPlugin> plugin;
    std::unique_ptr<std::stop_callback<Stopper>> interrupt; // destroyed before the plugin

    SyncPlugin& operator*() const { return *plugin; }
    SyncPlugin* operator->() const { return plugin.get(); }
    explicit operator bool() const { return plugin != nullptr; }
};

class Connections {
  public:
    Connections(const Settings& settings, const SyncOptions& options, Ledger& ledger)
        : settings_(settings), options_(options), ledger_(ledger) {}

    // Every password is asked before the first transfer: the run then goes on unattended and
    // prompts never interleave with progress output. Run before the workers start.
    void resolve_secrets() {
        for (std::size_t index = 0; index < settings_.connections.size(); ++index)
            if (!sources_of(settings_, settings_.connections[index]).empty() &&
                !options_.stop.stop_requested())
                resolved_[index] = resolve_options(index);
    }

    // Whether resolve_secrets() came to this connection (it is not when the run was stopped).
    bool resolved(std::size_t index) const { return resolved_[index].has_value(); }

    // A configured, connected instance; the error of resolving its secret when that failed.
    expected<Instance, UsageError> open(std::size_t index) {
        const Connection& connection = settings_.connections[index];
        if (!*resolved_[index])
            return fail(resolved_[index]->error());
        auto plugin = PluginRegistry::create(connection.plugin);
        if (!plugin)
            return fail(with_place(plugin.error(), connection.name));
        if (auto configured = (*plugin)->configure(connection.name, **resolved_[index]);
            !configured)
            return fail(configured.error());
        Instance instance{std::move(*plugin), nullptr};
        instance.interrupt = std::make_unique<std::stop_callback<Instance::Stopper>>(
            options_.stop, Instance::Stopper{instance.plugin.get()});
        if (auto connected = after_connect(index, instance->connect()); !connected)
            return fail(connected.error());
        return instance;
    }

    // Whether a plugin's `cancelled` is the run's stop. One that nobody asked for is the
    // plugin's mistake, not the user's stop: it becomes an error naming the plugin, so the run
    // is not in step (exit 1) and says why.
    bool stopped_by_user(UsageError& e, const Connection& connection) const {
        if (e.kind != ErrorKind::cancelled)
            return false;
        if (options_.stop.stop_requested())
            return true;
        e.kind = ErrorKind::internal;
        e.message = "the plugin '" + connection.plugin + "' said it was stopped (\"" + e.message +
                    "\") but no stop was asked for";
        return false;
    }

  private:
    // The connection's options with its secret, resolved once for all its instances (a
    // password-command runs once, a prompt asks once).
    expected<Options, UsageError> resolve_options(std::size_t index) {
        const Connection& connection = settings_.connections[index];
        auto entry = PluginRegistry::find(connection.plugin);
        if (!entry)
            return fail(with_place(entry.error(), connection.name));
        Options options = connection.options;
        if ((*entry)->secret) {
            const SecretSpec& spec = *(*entry)->secret;
            SecretOrigin& origin = secret_origins_[index];
            origin.what = spec.what;
            origin.item = keyring_item(connection.plugin, options, spec);
            if (const auto same = same_account(index, spec)) {
                origin.source = secret_origins_[*same].source;
                options.set_secret((*resolved_[*same])->secret());
                return options;
            }
            auto secret = resolve_secret(
                connection.name, connection.plugin, options, spec,
                {options_.prompt, options_.keyring, options_.offer_to_keep, options_.stop});
            if (!secret)
                return fail(secret.error());
            origin.source = secret->source;
            origin.keep = secret->keep;
            options.set_secret(std::move(secret->value).take());
        }
        return options;
    }

    // An earlier connection to the same account (its keyring item) whose secret came from the
    // keyring or a prompt: that secret is this one's too, so it is asked once. A command or
    // variable configured for this connection comes first.
    std::optional<std::size_t> same_account(std::size_t index, const SecretSpec& spec) const {
        const Connection& connection = settings_.connections[index];
        const SecretOrigin& origin = secret_origins_[index];
        if (!origin.item || configured_secret_source(connection.name, connection.options, spec))
            return std::nullopt;
        for (std::size_t earlier = 0; earlier < index; ++earlier) {
            const SecretOrigin& other = secret_origins_[earlier];
            if (other.item == origin.item && resolved_[earlier] && *resolved_[earlier] &&
                (other.source == SecretSource::keyring || other.source == SecretSource::prompt))
                return earlier;
        }
        return std::nullopt;
    }

    // After the server accepted a typed secret the user wants kept: into the keyring, once.
    // A kept secret the server refuses is said to be the keyring's, with the way to replace it,
    // and is not asked again.
    expected<void, UsageError> after_connect(std::size_t index,
                                             expected<void, UsageError> connected) {
        SecretOrigin& origin = secret_origins_[index];
        const std::string& name = settings_.connections[index].name;
        if (!connected) {
            auto e = connected.error();
            if (e.kind == ErrorKind::authentication && origin.source == SecretSource::keyring) {
                e.message = kept_secret_refused(origin.what, name);
                e.cause = ErrorCause::kept_secret_refused;
            }
            return fail(std::move(e));
        }
        if (origin.keep && options_.keyring != nullptr)
            std::call_once(origin.stored, [&] {
                auto stored = options_.keyring->store(*origin.item, (*resolved_[index])->secret());
                if (stored.status != KeyringAnswer::Status::done)
                    ledger_.warn(Warning{
                        WarningKind::keyring,
                        fmt::format("the {} was not remembered: {}", origin.what, stored.why),
                        name,
                        {}});
            });
        return {};
    }

    const Settings& settings_;
    const SyncOptions& options_;
    Ledger& ledger_;

    // Per connection with sources: its options with the secret, or why there are none. Written
    // before the workers start.
    std::vector<std::optional<expected<Options, UsageError>>> resolved_ =
        std::vector<std::optional<expected<Options, UsageError>>>(settings_.connections.size());

    // Per connection with a secret: where it came from, its keyring item, and whether it was
    // typed and is to be kept. Written before the workers start; `stored` keeps it once.
    struct SecretOrigin {
        SecretSource source = SecretSource::prompt;
        std::string_view what;
        std::optional<KeyringItem> item;
        bool keep = false;
        std::once_flag stored;
    };
    std::deque<SecretOrigin> secret_origins_ =
        std::deque<SecretOrigin>(settings_.connections.size());
};

} // namespace kitovu::detail
