// Plugin options: the schema a plugin declares (name, type, default, allowed values, range,
// help, an example) and the validated values it is configured with. One declaration per option
// drives config validation, defaults, the config template, `kitovu plugins` and reading the
// value back: a plugin reads `options.get(port)` through the same typed declaration, so a typo
// is a compile error and a value is never checked twice.
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
    std::string_view help{};
    std::int64_t min = 0, max = 0; // for integers: inclusive range, when min < max
    std::string_view example{};    // a value to show in the config template, as TOML writes it
};

// One declared option with the C++ type of its value: std::string, std::int64_t or bool.
// Declare it once (`static constexpr auto port = integer_option({.name = "port", ...})`), list
// its `spec` in the plugin's schema, and read it with `options.get(port)`.
template <class T>
struct Option {
    OptionSpec spec;
};

constexpr Option<std::string> string_option(OptionSpec spec) noexcept {
    spec.type = OptionType::string;
    return {spec};
}
constexpr Option<std::int64_t> integer_option(OptionSpec spec) noexcept {
    spec.type = OptionType::integer;
    return {spec};
}
constexpr Option<bool> boolean_option(OptionSpec spec) noexcept {
    spec.type = OptionType::boolean;
    return {spec};
}

// How a plugin's secret (password, token) is found, in this order: the shell command named by
// the option `command_option`; the environment variable ENVIRONMENT_PREFIX + CONNECTION (upper
// case, other characters as '_'); the desktop keyring; a no-echo prompt when there is a
// terminal. Resolved once per connection (credentials.hpp), never stored in the config or the
// cache.
struct SecretSpec {
    std::string_view what; // "password", "token": the word in messages
    const Option<std::string>* command_option = nullptr; // e.g. password-command
    std::string_view environment_prefix;                 // e.g. "KITOVU_PASSWORD_"
    std::string_view hint;         // shown with the prompt: where to find the secret
    std::string_view guest_user{}; // a user (user_option) that logs in with no secret ("guest")
    // The options naming the account the secret belongs to. They key its keyring item, so two
    // connections (or two configs) for one account share it; no server option: no keyring.
    const Option<std::string>* server_option = nullptr; // a host name or a site's address
    const Option<std::int64_t>* port_option = nullptr;  // added as host:PORT unless usual_port
    std::int64_t usual_port = 0;
    const Option<std::string>* user_option = nullptr;  // none: the secret stands for its user
    const Option<std::string>* place_option = nullptr; // only shown in the item's label (a share)

    std::string_view command_name() const noexcept { return command_option->spec.name; }
};

using OptionValue = std::variant<std::string, std::int64_t, bool>;

// Validated option values of one connection: every required option is present, every value
// has its declared type and range, defaults are filled in. An optional option without a default
// that the config leaves out reads as the empty value of its type (has() tells them apart).
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
    template <class T>
    bool has(const Option<T>& option) const {
        return values_.find(option.spec.name) != values_.end();
    }
    template <class T>
    T get(const Option<T>& option) const {
        auto it = values_.find(option.spec.name);
        if (it == values_.end())
            return T{};
        if (const T* value = std::get_if<T>(&it->second))
            return *value;
        return T{};
    }

    const std::map<std::string, OptionValue, std::less<>>& values() const noexcept {
        return values_;
    }
    friend bool operator==(const Options&, const Options&) = default;

  private:
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

namespace detail {

// A string as a TOML basic string: what to write in a config.
inline std::string toml_quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + '"';
}

} // namespace detail

// How a value is shown to people, and written in a config: as in TOML. (Passwords and tokens
// are never options: they come through SecretSpec.)
inline std::string display(const OptionValue& value) {
    return std::visit(
        [](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>)
                return detail::toml_quoted(v);
            else if constexpr (std::is_same_v<T, bool>)
                return v ? "true" : "false";
            else
                return std::to_string(v);
        },
        value);
}

} // namespace kitovu
