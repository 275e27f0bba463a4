// The desktop keyring through the freedesktop Secret Service (GNOME Keyring, KeePassXC,
// KWallet) with libsecret: where kitovu keeps passwords and tokens between runs.
// Link kitovu::keyring (libsecret-1, GLib); the core library needs neither.
#pragma once

#include "kitovu/plugin/credentials.hpp"

#include <libsecret/secret.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

namespace kitovu {

namespace detail::keyring {

// kitovu's own schema: its items are found by these attributes and by nobody else's schema.
inline const SecretSchema* schema() {
    static const SecretSchema kitovu_schema = [] {
        SecretSchema s{};
        s.name = "org.kitovu.Secret";
        s.flags = SECRET_SCHEMA_NONE;
        s.attributes[0] = {"plugin", SECRET_SCHEMA_ATTRIBUTE_STRING};
        s.attributes[1] = {"server", SECRET_SCHEMA_ATTRIBUTE_STRING};
        s.attributes[2] = {"user", SECRET_SCHEMA_ATTRIBUTE_STRING};
        return s;
    }();
    return &kitovu_schema;
}

// The item's attributes as libsecret takes them; the strings stay owned by `item`.
struct Attributes {
    explicit Attributes(const KeyringItem& item)
        : table(g_hash_table_new(g_str_hash, g_str_equal)) {
        for (const auto& [name, value] : item.attributes)
            g_hash_table_insert(table, const_cast<char*>(name.c_str()),
                                const_cast<char*>(value.c_str()));
    }
    Attributes(const Attributes&) = delete;
    Attributes& operator=(const Attributes&) = delete;
    ~Attributes() { g_hash_table_unref(table); }
    GHashTable* table;
};

// One sentence for people on why the keyring could not be asked.
inline std::string why(const GError* error) {
    if (error->domain == G_DBUS_ERROR && (error->code == G_DBUS_ERROR_SERVICE_UNKNOWN ||
                                          error->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        return "no Secret Service (such as GNOME Keyring or KeePassXC) runs in this session";
    if (error->domain == SECRET_ERROR && error->code == SECRET_ERROR_IS_LOCKED)
        return "the keyring is locked and was not unlocked";
    if (error->domain == G_IO_ERROR || error->domain == G_DBUS_ERROR)
        if (std::string_view{error->message}.find("D-Bus") != std::string_view::npos ||
            std::string_view{error->message}.find("DISPLAY") != std::string_view::npos ||
            error->code == G_IO_ERROR_NOT_FOUND || error->code == G_IO_ERROR_CONNECTION_REFUSED)
            return "there is no D-Bus session to find a keyring on";
    return std::string{"the keyring failed: "} + error->message;
}

inline KeyringAnswer unavailable(std::string why) {
    return KeyringAnswer{KeyringAnswer::Status::unavailable, {}, std::move(why)};
}

} // namespace detail::keyring

// The Secret Service keyring. Each call runs on a thread of its own and is given up after the
// time limit (a keyring that accepts calls and never answers, say one frozen or stuck behind an
// unlock prompt nobody sees, must not hang the run): the call is cancelled, and if libsecret
// does not return even then, the thread is left behind to finish on its own. After one call
// ran out of time the keyring counts as unavailable for the rest of the run, so a run with many
// connections waits once, not once per connection. Call it from one thread at a time.
class SecretServiceKeyring final : public Keyring {
  public:
    static constexpr std::chrono::seconds default_time_limit{25}; // D-Bus's own default

    explicit SecretServiceKeyring(std::chrono::milliseconds time_limit = default_time_limit)
        : time_limit_(time_limit) {}

    // The time limit from KITOVU_KEYRING_TIMEOUT (seconds, 1 to 3600) if set, else the default.
    static std::chrono::milliseconds time_limit_from_environment() {
        const char* text = std::getenv("KITOVU_KEYRING_TIMEOUT");
        char* end = nullptr;
        const long seconds = text == nullptr ? 0 : std::strtol(text, &end, 10);
        if (text == nullptr || end == text || *end != '\0' || seconds < 1 || seconds > 3600)
            return default_time_limit;
        return std::chrono::seconds{seconds};
    }

    KeyringAnswer lookup(const KeyringItem& item) override {
        return call(item, [](const KeyringItem& copy, GCancellable* cancel, GError** error) {
            const detail::keyring::Attributes attributes{copy};
            gchar* found = secret_password_lookupv_sync(detail::keyring::schema(), attributes.table,
                                                        cancel, error);
            if (found == nullptr)
                return KeyringAnswer{};
            KeyringAnswer answer{KeyringAnswer::Status::done, SecretText{std::string{found}}, {}};
            secret_password_free(found); // wipes it
            return answer;
        });
    }

    KeyringAnswer store(const KeyringItem& item, const std::string& secret) override {
        // The thread gets its own copy of the secret, wiped when the call is over.
        auto copy = std::make_shared<SecretText>(std::string{secret});
        return call(item, [copy](const KeyringItem& owned, GCancellable* cancel, GError** error) {
            const detail::keyring::Attributes attributes{owned};
            const bool stored = secret_password_storev_sync(
                detail::keyring::schema(), attributes.table, SECRET_COLLECTION_DEFAULT,
                owned.label.c_str(), copy->str().c_str(), cancel, error);
            copy->wipe();
            return KeyringAnswer{
                stored ? KeyringAnswer::Status::done : KeyringAnswer::Status::unavailable, {}, {}};
        });
    }

    KeyringAnswer forget(const KeyringItem& item) override {
        return call(item, [](const KeyringItem& owned, GCancellable* cancel, GError** error) {
            const detail::keyring::Attributes attributes{owned};
            const bool removed = secret_password_clearv_sync(detail::keyring::schema(),
                                                             attributes.table, cancel, error);
            return KeyringAnswer{
                removed ? KeyringAnswer::Status::done : KeyringAnswer::Status::absent, {}, {}};
        });
    }

  private:
    // What the calling thread and the call's thread share; kept alive by whichever is last.
    struct Call {
        explicit Call(KeyringItem item) : item(std::move(item)) {}
        ~Call() { g_object_unref(cancellable); }
        const KeyringItem item;
        GCancellable* cancellable = g_cancellable_new();
        std::mutex mutex;
        std::condition_variable finished;
        std::optional<KeyringAnswer> answer;
    };

    template <class Work>
    KeyringAnswer call(const KeyringItem& item, Work work) {
        if (!unresponsive_.empty())
            return detail::keyring::unavailable(unresponsive_);
        auto shared = std::make_shared<Call>(item);
        std::thread thread;
        try {
            thread = std::thread{[shared, work = std::move(work)] {
                GError* error = nullptr;
                KeyringAnswer answer = work(shared->item, shared->cancellable, &error);
                if (error != nullptr) {
                    answer = detail::keyring::unavailable(detail::keyring::why(error));
                    g_error_free(error);
                }
                std::scoped_lock lock{shared->mutex};
                shared->answer = std::move(answer);
                shared->finished.notify_all();
            }};
        } catch (const std::system_error&) {
            return detail::keyring::unavailable("the keyring could not be asked (no thread left)");
        }
        const auto answered = [&] { return shared->answer.has_value(); };
        std::unique_lock lock{shared->mutex};
        if (shared->finished.wait_for(lock, time_limit_, answered)) {
            KeyringAnswer answer = std::move(*shared->answer);
            lock.unlock();
            thread.join();
            return answer;
        }
        // Cancelled without the lock: GLib runs cancellation handlers in this thread.
        lock.unlock();
        g_cancellable_cancel(shared->cancellable);
        lock.lock();
        // A cancelled D-Bus call returns at once; a libsecret stuck elsewhere is left behind.
        const bool returned = shared->finished.wait_for(lock, std::chrono::seconds{1}, answered);
        lock.unlock();
        if (returned)
            thread.join();
        else
            thread.detach();
        unresponsive_ =
            "the keyring did not answer within " +
            std::to_string(std::chrono::ceil<std::chrono::seconds>(time_limit_).count()) + " s";
        return detail::keyring::unavailable(unresponsive_);
    }

    std::chrono::milliseconds time_limit_;
    std::string unresponsive_; // set once a call ran out of time
};

} // namespace kitovu
