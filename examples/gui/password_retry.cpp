#include "password_retry.hpp"

#include <kitovu/plugin/registry.hpp>

namespace kitovu::gui {

std::optional<std::string> refused_keyring_secret(const SyncReport& report) {
    for (const UsageError& error : report.errors)
        if (error.cause == ErrorCause::kept_secret_refused)
            return error.connection;
    return std::nullopt;
}

std::string secret_what(const Settings& settings, const std::string& connection) {
    const Connection* found = settings.connection(connection);
    if (found == nullptr)
        return {};
    auto entry = PluginRegistry::find(found->plugin);
    if (!entry || !(*entry)->secret)
        return {};
    return std::string{(*entry)->secret->what};
}

std::optional<KeyringItem> secret_item(const Settings& settings, const std::string& connection) {
    for (const Connection& candidate : settings.connections) {
        if (candidate.name != connection)
            continue;
        auto entry = PluginRegistry::find(candidate.plugin);
        if (!entry || !(*entry)->secret)
            return std::nullopt;
        return keyring_item(candidate.plugin, candidate.options, *(*entry)->secret);
    }
    return std::nullopt;
}

} // namespace kitovu::gui
