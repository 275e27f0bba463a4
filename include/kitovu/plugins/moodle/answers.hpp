// Reading Moodle's web-service answers: JSON read defensively (a missing key or another type
// gives the empty value, as Moodle versions differ), and Moodle's error objects.
#pragma once

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kitovu::detail::moodle {

using json = nlohmann::json;

// Moodle's JSON is read defensively: a missing key or another type gives the empty value.
inline std::string text(const json& object, std::string_view key) {
    if (!object.is_object())
        return {};
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

inline std::int64_t number(const json& object, std::string_view key, std::int64_t otherwise = 0) {
    if (!object.is_object())
        return otherwise;
    const auto it = object.find(key);
    if (it == object.end())
        return otherwise;
    if (it->is_number_integer())
        return it->get<std::int64_t>();
    if (it->is_number_float())
        return static_cast<std::int64_t>(it->get<double>());
    if (it->is_string()) { // some Moodle versions send numbers as strings
        const std::string s = it->get<std::string>();
        std::int64_t value = 0;
        const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
        return error == std::errc{} && end == s.data() + s.size() ? value : otherwise;
    }
    return otherwise;
}

inline bool flag(const json& object, std::string_view key, bool otherwise) {
    if (!object.is_object())
        return otherwise;
    const auto it = object.find(key);
    if (it == object.end())
        return otherwise;
    if (it->is_boolean())
        return it->get<bool>();
    if (it->is_number())
        return it->get<double>() != 0;
    return otherwise;
}

inline const json& array(const json& object, std::string_view key) {
    static const json empty = json::array();
    if (!object.is_object())
        return empty;
    const auto it = object.find(key);
    return it != object.end() && it->is_array() ? *it : empty;
}

// Moodle reports errors as HTTP 200 with a JSON object: {"exception", "errorcode", "message"}
// from web services, {"error", "errorcode"} from file downloads.
struct MoodleError {
    std::string code;
    std::string message;
};

inline std::optional<MoodleError> moodle_error(const json& body) {
    if (!body.is_object() || !body.contains("errorcode") ||
        (!body.contains("exception") && !body.contains("error")))
        return std::nullopt;
    std::string message = text(body, "message");
    if (message.empty())
        message = text(body, "error");
    return MoodleError{text(body, "errorcode"), message};
}

} // namespace kitovu::detail::moodle
