// Remote names are any bytes: before they reach a terminal or a JSON document, bytes that are
// not UTF-8 and control characters (which a terminal would obey: colours, titles, cursor moves)
// are written as the four characters \xHH.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace kitovu::cli {

// The length of the valid UTF-8 sequence at the start of `text` (no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0.
inline std::size_t utf8_length(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const auto follows = [&](std::size_t i) { return i < text.size() && (byte(i) & 0xc0) == 0x80; };
    if (text.empty())
        return 0;
    const unsigned char lead = byte(0);
    if (lead < 0x80)
        return 1;
    if (lead >= 0xc2 && lead <= 0xdf)
        return follows(1) ? 2 : 0;
    if (lead >= 0xe0 && lead <= 0xef) {
        if (!follows(1) || !follows(2))
            return 0;
        if ((lead == 0xe0 && byte(1) < 0xa0) || (lead == 0xed && byte(1) >= 0xa0))
            return 0; // overlong, or a surrogate
        return 3;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
        if (!follows(1) || !follows(2) || !follows(3))
            return 0;
        if ((lead == 0xf0 && byte(1) < 0x90) || (lead == 0xf4 && byte(1) >= 0x90))
            return 0; // overlong, or above U+10FFFF
        return 4;
    }
    return 0;
}

// `text` with invalid UTF-8 and control characters (C0 but tab and, if `keep_newlines`, line
// feed; DEL; C1, U+0080 to U+009F) as \xHH, one per byte.
inline std::string printable(std::string_view text, bool keep_newlines = false) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t length = utf8_length(text.substr(i));
        const auto lead = static_cast<unsigned char>(text[i]);
        const bool c1 =
            length == 2 && lead == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0;
        const bool control = length == 1 && (lead < 0x20 || lead == 0x7f) && lead != '\t' &&
                             !(keep_newlines && lead == '\n');
        if (length == 0 || control || c1) {
            for (std::size_t j = 0; j < std::max<std::size_t>(length, 1); ++j)
                out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i + j]));
            i += std::max<std::size_t>(length, 1);
            continue;
        }
        out.append(text, i, length);
        i += length;
    }
    return out;
}

} // namespace kitovu::cli
