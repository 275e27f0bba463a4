// What the config editor makes of the library's config errors: where to underline, and the
// quick fix a "did you mean" hint offers. Pure functions, tested as tables.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kitovu::gui {

// The suggestion in "... (did you mean 'X'?)", if the message has one.
inline std::optional<std::string> did_you_mean(std::string_view message) {
    constexpr std::string_view lead = "did you mean '";
    const auto at = message.find(lead);
    if (at == std::string_view::npos)
        return std::nullopt;
    const auto begin = at + lead.size();
    const auto end = message.find('\'', begin);
    if (end == std::string_view::npos || end == begin)
        return std::nullopt;
    return std::string{message.substr(begin, end - begin)};
}

// How many characters from `column` (0-based) to underline in `line`: the bare key or word
// there (letters, digits, '-', '_'), else one character; the whole line when the column is
// unknown (negative).
inline std::size_t underline_length(std::u16string_view line, long column) {
    if (column < 0)
        return line.empty() ? 1 : line.size();
    std::size_t end = static_cast<std::size_t>(column);
    const auto word = [](char16_t c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    };
    while (end < line.size() && word(line[end]))
        ++end;
    return end > static_cast<std::size_t>(column) ? end - static_cast<std::size_t>(column) : 1;
}

} // namespace kitovu::gui
