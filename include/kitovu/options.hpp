// Plugin options: the schema a plugin declares (name, type, default, allowed values, secret,
// help) and the validated values it is configured with. One declaration per plugin drives
// config validation, defaults, `kitovu plugins` and the docs.
#pragma once

#include <string.h> // explicit_bzero

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace kitovu {

enum class OptionType { string, integer, boolean };

constexpr std::string_view to_string(OptionType type) noexcept {
    switch (type) {
    case OptionType::string: return "string";
    case OptionType::integer: return "integer";
    case OptionType::boolean: return "bool";
    }
    return "unknown";
}

// A default as written in the schema; constexpr-friendly so a schema can be a static array.
using OptionDefault = std::variant<std::monostate, std::string_view, std::int64_t, bool>;

struct OptionSpec {
    std::string_view name{}; // kebab-case, as written in the config
    OptionType type = OptionType::string;
    bool required = false;
    OptionDefault default_value{};               // monostate: no default
    std::span<const std::string_view> allowed{}; // for strings: the only values accepted
    bool secret = false;                         // never printed, logged or cached
    std::string_view help{};
    std::int64_t min = 0, max = 0; // for integers: inclusive range, when min < max
};

// How a plugin's secret (password, token) is found, in this order: the shell command named by
// the option `command_option`; the environment variable ENVIRONMENT_PREFIX + CONNECTION (upper
// case, other characters as '_'); the desktop keyring; a no-echo prompt when there is a
// terminal. Resolved once per connection (credentials.hpp), never stored in the config or the
// cache.
struct SecretSpec {
    std::string_view what;               // "password", "token": the word in messages
    std::string_view command_option;     // e.g. "password-command"
    std::string_view environment_prefix; // e.g. "KITOVU_PASSWORD_"
    std::string_view hint;               // shown with the prompt: where to find the secret
    std::string_view guest_user{};       // a `username` that logs in with no secret ("guest")
    // The options naming the account the secret belongs to. They key its keyring item, so two
    // connections (or two configs) for one account share it; no server option: no keyring.
    std::string_view server_option{}; // a host name or a site's address
    std::string_view port_option{};   // added to the server as host:PORT unless it is usual_port
    std::int64_t usual_port = 0;
    std::string_view user_option{};  // none: the secret stands for its user (a token)
    std::string_view place_option{}; // only shown in the item's label (an smb share)
};

using OptionValue = std::variant<std::string, std::int64_t, bool>;

// Validated option values of one connection: every required option is present, every value
// has its declared type, defaults are filled in. Reading an option the schema does not
// declare, or with the wrong type, is a plugin bug and yields the empty value of the type.
class Options {
  public:
    Options() = default;
    Options(const Options&) = default;
    Options& operator=(const Options&) = default;
    ~Options() { ::explicit_bzero(secret_.data(), secret_.size()); }

    // The connection's resolved secret (see SecretSpec); empty when the plugin declares none.
    const std::string& secret() const noexcept { return secret_; }
    void set_secret(std::string secret) {
        ::explicit_bzero(secret_.data(), secret_.size());
        secret_ = std::move(secret);
    }

    void set(std::string name, OptionValue value) {
        values_.insert_or_assign(std::move(name), std::move(value));
    }
    bool has(std::string_view name) const { return values_.find(name) != values_.end(); }

    std::string string(std::string_view name) const {
        return get<std::string>(name).value_or(std::string{});
    }
    std::int64_t integer(std::string_view name) const {
        return get<std::int64_t>(name).value_or(0);
    }
    bool boolean(std::string_view name) const { return get<bool>(name).value_or(false); }

    const std::map<std::string, OptionValue, std::less<>>& values() const noexcept {
        return values_;
    }
    friend bool operator==(const Options&, const Options&) = default;

  private:
    template <class T>
    std::optional<T> get(std::string_view name) const {
        auto it = values_.find(name);
        if (it == values_.end())
            return std::nullopt;
        if (const T* value = std::get_if<T>(&it->second))
            return *value;
        return std::nullopt;
    }

    std::map<std::string, OptionValue, std::less<>> values_;
    std::string secret_;
};

// The default of a spec as a value, if it has one.
inline std::optional<OptionValue> default_value(const OptionSpec& spec) {
    return std::visit(
        [](const auto& value) -> std::optional<OptionValue> {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, std::monostate>)
                return std::nullopt;
            else if constexpr (std::is_same_v<T, std::string_view>)
                return OptionValue{std::string{value}};
            else
                return OptionValue{value};
        },
        spec.default_value);
}

// How a value is shown to people: secrets masked, strings quoted as in TOML.
inline std::string display(const OptionSpec& spec, const OptionValue& value) {
    if (spec.secret)
        return "********";
    return std::visit(
        [](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>)
                return '"' + v + '"';
            else if constexpr (std::is_same_v<T, bool>)
                return v ? "true" : "false";
            else
                return std::to_string(v);
        },
        value);
}

} // namespace kitovu
