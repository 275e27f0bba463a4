// A password the server refused, typed again in the window: the run that follows looks past the
// keyring's old item for that connection (so the new password is used, not the old one again)
// and keeps the new one once the server accepted it (the library stores it after the login,
// replacing the item). Also: the keyring item of a connection, for "Forget password".
#pragma once

#ifndef Q_MOC_RUN
#include <kitovu/config/settings.hpp>
#include <kitovu/engine/sync_options.hpp>
#include <kitovu/plugin/credentials.hpp>
#endif

#include <optional>
#include <string>

namespace kitovu::gui {

// The connection whose password (or token) kept in the keyring the server refused in this run.
std::optional<std::string> refused_keyring_secret(const SyncReport& report);

// The word for `connection`'s secret ("password", "token"); empty when its plugin needs none.
std::string secret_what(const Settings& settings, const std::string& connection);

// The keyring item of `connection`'s secret; none when its plugin keeps none.
std::optional<KeyringItem> secret_item(const Settings& settings, const std::string& connection);

// The keyring with one item hidden from lookups; stores and forgets go through.
class KeyringLookingPast final : public Keyring {
  public:
    KeyringLookingPast(Keyring& keyring, KeyringItem hidden)
        : keyring_(keyring), hidden_(std::move(hidden)) {}
    KeyringAnswer lookup(const KeyringItem& item) override {
        if (item == hidden_)
            return {KeyringAnswer::Status::absent, {}, {}};
        return keyring_.lookup(item);
    }
    KeyringAnswer store(const KeyringItem& item, const std::string& secret) override {
        return keyring_.store(item, secret);
    }
    KeyringAnswer forget(const KeyringItem& item) override { return keyring_.forget(item); }

  private:
    Keyring& keyring_;
    KeyringItem hidden_;
};

} // namespace kitovu::gui
