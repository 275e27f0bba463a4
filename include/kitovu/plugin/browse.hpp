// Browsing a connection and testing it: one level of a remote folder (a share's folders, a Moodle
// user's courses) for `kitovu ls` and the window's folder browser, and a login that says in words
// what is wrong. The connection is opened as a sync opens it: its secret from the same sources.
//
// Errors carry a stable ErrorKind that a program may translate (the message is English):
//   usage           no such connection in the settings; a DIR with `..` or the like
//   authentication  wrong user name, password or token, or none to be had
//   connection      the server cannot be reached, does not answer, the link broke
//   not_found       no such share, site or folder
//   permission      the server refuses access to it
//   config          an option the plugin refuses (as `kitovu validate` would)
//   cancelled       BrowseOptions::stop was requested
// Each names the connection (UsageError::connection) and, where it concerns one, the folder.
#pragma once

#include "kitovu/config/settings_model.hpp"
#include "kitovu/disk/names.hpp"
#include "kitovu/plugin/browse_entry.hpp"
#include "kitovu/plugin/credentials.hpp"
#include "kitovu/plugin/registry.hpp"
#include "kitovu/warning.hpp"

#include <fmt/core.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kitovu {

// Where the connection's secret comes from, as SyncOptions says it for a sync, and how to stop.
struct BrowseOptions {
    SecretPrompt prompt{};         // asks for a password or token; unset: never ask
    Keyring* keyring = nullptr;    // where secrets are kept between runs; unset: none
    SecretConfirm offer_to_keep{}; // whether to keep a typed secret in the keyring; unset: never
    // A secret to log in with before any other source (a set-up assistant's password field);
    // kept in the keyring like a typed one once the server accepted it. Empty: the usual order.
    std::string secret{};
    std::stop_token stop{}; // ends the call within about a second, ErrorKind::cancelled
    // At most this long for a silent server, where it is shorter than the connection's own
    // `timeout` option (every built-in plugin has one); zero: the connection's.
    std::chrono::seconds timeout{0};
    // Hears what is no error (a secret that could not be kept in the keyring); unset: nothing.
    std::function<void(const Warning&)> warn{};
};

namespace detail {

// "the password kept in the keyring for `uni` was refused: `kitovu login uni`": the engine's
// words for it (engine/connections.hpp), which the window recognises.
inline std::string kept_secret_refused(std::string_view what, std::string_view connection) {
    return fmt::format("the {} kept in the keyring for `{}` was refused: `kitovu login {}`", what,
                       connection, connection);
}

// A connection's options for this call (its secret in, its time-out as BrowseOptions says), and
// what to do with the secret once the server took it.
struct Login {
    Options options;
    SecretSource source = SecretSource::guest; // guest: the plugin needs none
    bool keep = false;                         // store it in the keyring after the login
    std::optional<KeyringItem> item{};
};

// The secret is BrowseOptions::secret if one was given, else found where a sync finds it.
inline expected<Login, UsageError> login_for(const Connection& connection,
                                             const PluginRegistry::Entry& entry,
                                             const BrowseOptions& options) {
    Login out{connection.options};
    const auto timeout = out.options.values().find("timeout");
    if (options.timeout.count() > 0 && timeout != out.options.values().end() &&
        std::holds_alternative<std::int64_t>(timeout->second) &&
        std::get<std::int64_t>(timeout->second) > options.timeout.count())
        out.options.set("timeout", std::int64_t{options.timeout.count()});
    if (!entry.secret)
        return out;
    const SecretSpec& spec = *entry.secret;
    out.item = keyring_item(connection.plugin, out.options, spec);
    if (!options.secret.empty()) {
        out.source = SecretSource::prompt;
        out.keep =
            out.item && options.keyring != nullptr && options.offer_to_keep &&
            options.offer_to_keep(fmt::format("remember the {} for {} in the keyring? [Y/n] ",
                                              spec.what, connection.name));
        out.options.set_secret(options.secret);
        return out;
    }
    auto secret =
        resolve_secret(connection.name, connection.plugin, out.options, spec,
                       {options.prompt, options.keyring, options.offer_to_keep, options.stop});
    if (!secret)
        return fail(secret.error());
    out.source = secret->source;
    out.keep = secret->keep;
    out.options.set_secret(std::move(secret->value).take());
    return out;
}

// A configured, connected plugin instance of one connection, stopped with `stop` and
// disconnected when it goes.
class OpenConnection {
  public:
    static expected<OpenConnection, UsageError>
    open(const Settings& settings, std::string_view name, const BrowseOptions& options) {
        const Connection* connection = settings.connection(name);
        if (connection == nullptr)
            return fail(unknown_connection(settings, name));
        const auto named = [&](UsageError e) {
            e.connection = connection->name;
            return fail(std::move(e));
        };
        auto entry = PluginRegistry::find(connection->plugin);
        if (!entry)
            return named(entry.error());
        auto login = login_for(*connection, **entry, options);
        if (!login)
            return named(login.error());
        OpenConnection open;
        open.entry_ = *entry;
        open.plugin_ = (*entry)->create();
        if (auto configured = open.plugin_->configure(connection->name, login->options);
            !configured)
            return named(configured.error());
        open.stopper_ = std::make_unique<std::stop_callback<std::function<void()>>>(
            options.stop, std::function<void()>{[plugin = open.plugin_.get()] { plugin->stop(); }});
        if (auto connected = open.plugin_->connect(); !connected) {
            auto e = connected.error();
            if (e.kind == ErrorKind::authentication && login->source == SecretSource::keyring) {
                e.message = kept_secret_refused((*entry)->secret->what, connection->name);
                e.cause = ErrorCause::kept_secret_refused;
            }
            return named(std::move(e));
        }
        if (login->keep) {
            const auto stored = options.keyring->store(*login->item, login->options.secret());
            if (stored.status != KeyringAnswer::Status::done && options.warn)
                options.warn(Warning{WarningKind::keyring,
                                     fmt::format("the {} was not remembered: {}",
                                                 (*entry)->secret->what, stored.why),
                                     connection->name,
                                     {}});
        }
        return open;
    }

    OpenConnection(OpenConnection&&) noexcept = default;
    OpenConnection& operator=(OpenConnection&&) = delete; // the stopper must go before its plugin
    ~OpenConnection() {
        stopper_.reset(); // before the plugin it points to
        if (plugin_)
            plugin_->disconnect();
    }

    SyncPlugin& plugin() { return *plugin_; }
    const PluginRegistry::Entry& entry() const { return *entry_; }

  private:
    OpenConnection() = default;

    static UsageError unknown_connection(const Settings& settings, std::string_view name) {
        std::string known;
        for (const Connection& connection : settings.connections)
            known += (known.empty() ? "" : ", ") + connection.name;
        return {.kind = ErrorKind::usage,
                .message = fmt::format("no such connection in the config (connections: {})",
                                       known.empty() ? "none" : known),
                .connection = std::string{name}};
    }

    const PluginRegistry::Entry* entry_ = nullptr;
    std::unique_ptr<SyncPlugin> plugin_;
    std::unique_ptr<std::stop_callback<std::function<void()>>> stopper_;
};

// `dir` without leading and trailing slashes; an error where a part of it could lead out of the
// connection's root (`..`) or is a name kitovu never syncs.
inline expected<std::string, UsageError> browsable_dir(std::string_view dir,
                                                       std::string_view connection) {
    while (dir.starts_with('/'))
        dir.remove_prefix(1);
    while (dir.ends_with('/'))
        dir.remove_suffix(1);
    if (dir.empty())
        return std::string{};
    if (auto checked = local_relative_path(dir); !checked)
        return fail({.kind = ErrorKind::usage,
                     .message = checked.error().message, // "remote name refused: it has a '..'"
                     .connection = std::string{connection},
                     .path = std::string{dir}});
    return std::string{dir};
}

} // namespace detail

// One level below `dir` of the connection called `connection`: "" is its top (an smb share's
// root, a Moodle user's courses, a WebDAV root, a local connection's path). Sorted folders first,
// then by name (tidy_browse); names kitovu would refuse are left out.
inline expected<std::vector<BrowseEntry>, UsageError> browse(const Settings& settings,
                                                             std::string_view connection,
                                                             std::string_view dir,
                                                             const BrowseOptions& options = {}) {
    auto folder = detail::browsable_dir(dir, connection);
    if (!folder)
        return fail(folder.error());
    auto open = detail::OpenConnection::open(settings, connection, options);
    if (!open)
        return fail(open.error());
    auto entries = open->entry().browse(open->plugin(), *folder);
    if (!entries) {
        auto e = entries.error();
        e.connection = std::string{connection};
        return fail(std::move(e));
    }
    return tidy_browse(std::move(*entries));
}

// Logs in to the connection and logs out again: nothing when the server accepts the secret,
// else what is wrong in words (wrong password, cannot reach the server, no such share ...).
inline expected<void, UsageError> test_connection(const Settings& settings,
                                                  std::string_view connection,
                                                  const BrowseOptions& options = {}) {
    auto open = detail::OpenConnection::open(settings, connection, options);
    if (!open)
        return fail(open.error());
    return {};
}

} // namespace kitovu
