#include "password_retry.hpp"

#include <kitovu/plugin/registry.hpp>

namespace kitovu::gui {

std::optional<std::string> refused_keyring_secret(const SyncReport& report) {
    // The engine's words for it (engine/connections.hpp, after_connect).
    for (const UsageError& error : report.errors)
        if (error.kind == ErrorKind::authentication &&
            error.message.find("kept in the keyring for") != std::string::npos)
            return error.connection;
    return std::nullopt;
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
