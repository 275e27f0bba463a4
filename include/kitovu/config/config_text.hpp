// Words for config messages: how values are named, lists joined, near misses suggested, and
// where a file stops being UTF-8.
#pragma once

#include "kitovu/config/options.hpp"
#include "kitovu/utf8.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu::detail {

// "a string", "an integer", ...: how a TOML value is named in messages.
constexpr std::string_view type_phrase(toml::node_type type) noexcept {
    switch (type) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    }
    return "a value";
}

constexpr std::string_view type_phrase(OptionType type) noexcept {
    switch (type) {
    case OptionType::string: return "a string";
    case OptionType::integer: return "an integer";
    case OptionType::boolean: return "a boolean";
    }
    return "a value";
}

template <class Names>
std::string join(const Names& names, std::string_view separator = ", ") {
    std::string out;
    for (const auto& name : names) {
        if (!out.empty())
            out += separator;
        out += name;
    }
    return out;
}

// Levenshtein distance; only called for unknown keys, which are short.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j < row.size(); ++j)
        row[j] = j;
    for (std::size_t i = 0; i < a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i + 1;
        for (std::size_t j = 0; j < b.size(); ++j) {
            const std::size_t above = row[j + 1];
            row[j + 1] = std::min({above + 1, row[j] + 1, diagonal + (a[i] == b[j] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// The known key `key` was probably meant as: the same but for '_' or case (remote_dir,
// Remote-Dir), or within two edits; short keys allow fewer edits, so `port` does not become
// `path`. Empty when nothing is near.
inline std::string_view near_miss(std::string_view key, std::span<const std::string_view> known) {
    std::string normal{key};
    for (char& c : normal) {
        if (c == '_')
            c = '-';
        else if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    }
    std::string_view best;
    std::size_t best_distance = 3;
    for (const std::string_view candidate : known) {
        if (candidate == normal)
            return candidate;
        const std::size_t allowed =
            std::min<std::size_t>(2, std::max<std::size_t>(1, candidate.size() / 3));
        const std::size_t distance = edit_distance(normal, candidate);
        if (distance <= allowed && distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

struct TextPosition {
    std::uint32_t line = 1;
    std::uint32_t column = 1; // in characters, as toml++ counts
};

struct InvalidUtf8 {
    TextPosition position;
    unsigned char byte = 0;
};

// The first byte that is not part of valid UTF-8. toml++ rejects such files too, but reports the
// position of the character before the bad byte; this finds the exact place.
inline std::optional<InvalidUtf8> first_invalid_utf8(std::string_view text) noexcept {
    TextPosition position;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t start = pos;
        const char32_t c = next_code_point(text, pos);
        if (c >= raw_byte_base)
            return InvalidUtf8{position, static_cast<unsigned char>(text[start])};
        if (c == U'\n') {
            ++position.line;
            position.column = 1;
        } else {
            ++position.column;
        }
    }
    return std::nullopt;
}

} // namespace kitovu::detail
