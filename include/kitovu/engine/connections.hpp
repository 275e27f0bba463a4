// Plugin instances: each connection's options with its secret (resolved once for all its
// instances, shared between connections to one account, kept in the keyring when the user
// asked and the server accepted it), and configured, connected instances that hear the stop.
#pragma once

#include "kitovu/engine/engine.hpp"

namespace kitovu::detail {

inline expected<Options, UsageError> Engine::resolve_options(std::size_t index) {
    const Connection& connection = settings_.connections[index];
    auto entry = PluginRegistry::find(connection.plugin);
    if (!entry) {
        auto e = entry.error();
        e.connection = connection.name;
        return fail(std::move(e));
    }
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

inline std::optional<std::size_t> Engine::same_account(std::size_t index,
                                                       const SecretSpec& spec) const {
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

inline expected<void, UsageError> Engine::after_connect(std::size_t index,
                                                        expected<void, UsageError> connected) {
    SecretOrigin& origin = secret_origins_[index];
    const std::string& name = settings_.connections[index].name;
    if (!connected) {
        auto e = connected.error();
        if (e.kind == ErrorKind::authentication && origin.source == SecretSource::keyring)
            e.message = fmt::format("the {} kept in the keyring for `{}` was refused: "
                                    "`kitovu login {}`",
                                    origin.what, name, name);
        return fail(std::move(e));
    }
    if (origin.keep && options_.keyring != nullptr)
        std::call_once(origin.stored, [&] {
            auto stored = options_.keyring->store(*origin.item, (*resolved_[index])->secret());
            if (stored.status != KeyringAnswer::Status::done)
                warn(Warning{WarningKind::keyring,
                             fmt::format("the {} was not remembered: {}", origin.what, stored.why),
                             name,
                             {}});
        });
    return {};
}

inline std::vector<const Source*> Engine::sources_of(const Connection& connection) const {
    std::vector<const Source*> sources;
    for (const Subject& subject : settings_.subjects)
        for (const Source& source : subject.sources)
            if (source.connection == connection.name)
                sources.push_back(&source);
    return sources;
}

inline auto Engine::open(std::size_t index) -> expected<Instance, UsageError> {
    const Connection& connection = settings_.connections[index];
    auto plugin = PluginRegistry::create(connection.plugin);
    if (!plugin) {
        auto e = plugin.error();
        e.connection = connection.name;
        return fail(std::move(e));
    }
    if (auto configured = (*plugin)->configure(connection.name, **resolved_[index]); !configured)
        return fail(configured.error());
    Instance instance{std::move(*plugin), nullptr};
    instance.interrupt = std::make_unique<std::stop_callback<Instance::Stopper>>(
        options_.stop, Instance::Stopper{instance.plugin.get()});
    if (auto connected = after_connect(index, instance->connect()); !connected)
        return fail(connected.error());
    return instance;
}

} // namespace kitovu::detail
