// The window's keyring, asked one call at a time: a sync's thread, a folder browser's thread and
// the GUI thread each ask it, and the Secret Service keyring wants one caller at a time.
#pragma once

#ifndef Q_MOC_RUN
#include <kitovu/plugin/credentials.hpp>
#endif

#include <memory>
#include <mutex>

namespace kitovu::gui {

class OneAtATimeKeyring final : public Keyring {
  public:
    explicit OneAtATimeKeyring(std::unique_ptr<Keyring> keyring) : keyring_(std::move(keyring)) {}

    KeyringAnswer lookup(const KeyringItem& item) override {
        const std::scoped_lock one{mutex_};
        return keyring_->lookup(item);
    }
    KeyringAnswer store(const KeyringItem& item, const std::string& secret) override {
        const std::scoped_lock one{mutex_};
        return keyring_->store(item, secret);
    }
    KeyringAnswer forget(const KeyringItem& item) override {
        const std::scoped_lock one{mutex_};
        return keyring_->forget(item);
    }

  private:
    std::mutex mutex_;
    std::unique_ptr<Keyring> keyring_;
};

} // namespace kitovu::gui
