// `kitovu login` / `kitovu logout`: a connection's password or token kept in the desktop keyring
// (checked against the server first) or removed from it; and, for `kitovu fileinfo`, where each
// connection's secret comes from (never the secret).
#pragma once

#include "terminal.hpp"

#include <kitovu/config/settings.hpp>
#include <kitovu/plugin/credentials.hpp>
#include <kitovu/plugin/registry.hpp>
#if KITOVU_WITH_KEYRING
#include <kitovu/plugin/keyring.hpp>
#endif

#include <fmt/core.h>

#include <iostream>
#include <memory>
#include <string>

namespace kitovu::cli {

namespace exit_code {
constexpr int ok = 0, failed = 1, usage = 2;
}

// The desktop keyring, time-limited by KITOVU_KEYRING_TIMEOUT; none when kitovu was built
// without it.
inline std::unique_ptr<Keyring> desktop_keyring() {
#if KITOVU_WITH_KEYRING
    return std::make_unique<SecretServiceKeyring>(
        SecretServiceKeyring::time_limit_from_environment());
#else
    return nullptr;
#endif
}

// A yes/no question on the terminal, yes unless the answer starts with n; no terminal: no.
inline bool ask_yes(std::string_view question) {
    if (::isatty(STDIN_FILENO) != 1)
        return false;
    fmt::print(stderr, "{}", question);
    std::fflush(stderr);
    std::string answer;
    if (!std::getline(std::cin, answer))
        return false;
    return answer.empty() || (answer[0] != 'n' && answer[0] != 'N');
}

namespace detail {

// The connection called `name` with its plugin's secret spec; prints why not and returns null
// when there is none or it needs no secret.
struct SecretOwner {
    const Connection* connection = nullptr;
    const PluginRegistry::Entry* plugin = nullptr;
};

inline SecretOwner owner_of_secret(const Settings& settings, std::string_view name,
                                   const Messages& say) {
    std::string known;
    for (const Connection& connection : settings.connections) {
        if (connection.name == name) {
            auto entry = PluginRegistry::find(connection.plugin);
            if (!entry) {
                say.error(entry.error().to_string());
                return {};
            }
            if (!(*entry)->secret ||
                !keyring_item(connection.plugin, connection.options, *(*entry)->secret)) {
                say.error(fmt::format("connection `{}` (plugin {}) has no password or token "
                                      "to keep",
                                      name, connection.plugin));
                return {};
            }
            return {&connection, *entry};
        }
        known += (known.empty() ? "" : ", ") + connection.name;
    }
    say.error(fmt::format("no connection `{}` in the config (connections: {})", name,
                          known.empty() ? "none" : known));
    return {};
}

// A secret typed without echo on a terminal, else the first line of stdin (for scripts).
inline std::optional<std::string> read_secret(std::string_view question) {
    if (::isatty(STDIN_FILENO) == 1)
        return ask_secret(question);
    std::string line;
    if (!std::getline(std::cin, line) || line.empty())
        return std::nullopt;
    std::optional<std::string> secret{std::move(line)};
    SecretText::wipe(line); // a moved-from short string keeps its bytes
    return secret;
}

} // namespace detail

// Asks for the connection's secret, connects with it, and only when the server accepts it keeps
// it in the keyring.
inline int run_login(const Settings& settings, std::string_view name) {
    const Messages say;
    const auto owner = detail::owner_of_secret(settings, name, say);
    if (owner.connection == nullptr)
        return exit_code::usage;
    const Connection& connection = *owner.connection;
    const SecretSpec& spec = *owner.plugin->secret;
    auto keyring = desktop_keyring();
    if (!keyring) {
        say.error("this kitovu was built without the keyring (KITOVU_WITH_KEYRING)");
        return exit_code::failed;
    }
    if (configured_secret_source(connection.name, connection.options, spec))
        say.note(fmt::format("note: {} is set for `{}` and comes before the keyring",
                             configured_secret_source(connection.name, connection.options, spec) ==
                                     SecretSource::command
                                 ? std::string{spec.command_name()}
                                 : "$" + secret_variable(spec.environment_prefix, name),
                             name));
    const auto item = *keyring_item(connection.plugin, connection.options, spec);
    // Asked first, so that nobody types a password that then cannot be kept.
    if (const auto probe = keyring->lookup(item);
        probe.status == KeyringAnswer::Status::unavailable) {
        say.error(fmt::format("{}: no keyring to keep the {} in: {}", name, spec.what, probe.why));
        return exit_code::failed;
    }
    std::string question = fmt::format("{} for {}", spec.what, name);
    if (!spec.hint.empty())
        question += fmt::format(" ({})", spec.hint);
    auto typed = detail::read_secret(question + ": ");
    if (!typed) {
        say.error(fmt::format("no {} given; nothing was kept", spec.what));
        return exit_code::usage;
    }
    SecretText secret{std::move(*typed)};

    auto plugin = PluginRegistry::create(connection.plugin);
    if (!plugin) {
        say.error(plugin.error().to_string());
        return exit_code::failed;
    }
    Options options = connection.options;
    options.set_secret(secret.str());
    auto checked = (*plugin)->configure(connection.name, options);
    if (checked)
        checked = (*plugin)->connect();
    (*plugin)->disconnect();
    if (!checked) {
        say.error(checked.error().to_string());
        say.note(fmt::format("the {} was not kept in the keyring", spec.what));
        return checked.error().kind == ErrorKind::config ? exit_code::usage : exit_code::failed;
    }
    auto stored = keyring->store(item, secret.str());
    if (stored.status != KeyringAnswer::Status::done) {
        say.error(
            fmt::format("{}: the {} works but could not be kept: {}", name, spec.what, stored.why));
        return exit_code::failed;
    }
    fmt::print("{}: the {} works and is kept in the keyring as \"{}\"\n", name, spec.what,
               item.label);
    return exit_code::ok;
}

// Removes the connection's secret from the keyring (shared by every connection to the account).
inline int run_logout(const Settings& settings, std::string_view name) {
    const Messages say;
    const auto owner = detail::owner_of_secret(settings, name, say);
    if (owner.connection == nullptr)
        return exit_code::usage;
    const SecretSpec& spec = *owner.plugin->secret;
    auto keyring = desktop_keyring();
    if (!keyring) {
        say.error("this kitovu was built without the keyring (KITOVU_WITH_KEYRING)");
        return exit_code::failed;
    }
    const auto item = *keyring_item(owner.connection->plugin, owner.connection->options, spec);
    auto removed = keyring->forget(item);
    switch (removed.status) {
    case KeyringAnswer::Status::done:
        fmt::print("{}: the {} \"{}\" is removed from the keyring\n", name, spec.what, item.label);
        return exit_code::ok;
    case KeyringAnswer::Status::absent:
        fmt::print("{}: no {} was kept in the keyring\n", name, spec.what);
        return exit_code::ok;
    case KeyringAnswer::Status::unavailable: break;
    }
    say.error(fmt::format("{}: the keyring cannot be asked: {}", name, removed.why));
    return exit_code::failed;
}

// One line per connection with a secret: where `kitovu sync` gets it. Asks the keyring whether
// it keeps one (the secret itself is wiped at once), never runs a command.
inline void print_secret_sources(const Settings& settings) {
    auto keyring = desktop_keyring();
    for (const Connection& connection : settings.connections) {
        auto entry = PluginRegistry::find(connection.plugin);
        if (!entry || !(*entry)->secret)
            continue;
        const SecretSpec& spec = *(*entry)->secret;
        std::string from;
        if (const auto source = configured_secret_source(connection.name, connection.options, spec))
            from = *source == SecretSource::guest ? std::string{"none: it logs in as guest"}
                   : *source == SecretSource::command
                       ? "from " + std::string{spec.command_name()}
                       : "from $" + secret_variable(spec.environment_prefix, connection.name);
        else if (const auto item = keyring_item(connection.plugin, connection.options, spec);
                 item && keyring) {
            const auto found = keyring->lookup(*item);
            if (found.status == KeyringAnswer::Status::done)
                from = fmt::format("from the keyring (\"{}\")", item->label);
            else if (found.status == KeyringAnswer::Status::absent)
                from = fmt::format("asked on the terminal (none kept: kitovu login {})",
                                   connection.name);
            else
                from = fmt::format("asked on the terminal (keyring unavailable: {})", found.why);
        } else
            from = "asked on the terminal";
        fmt::print("{} for {}: {}\n", spec.what, connection.name, from);
    }
}

} // namespace kitovu::cli
