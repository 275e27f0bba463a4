// Remote names are any bytes: before they reach a terminal or a JSON document, bytes that are
// not UTF-8 and control characters (which a terminal would obey: colours, titles, cursor moves)
// are written as the four characters \xHH.
#pragma once

#include <kitovu/utf8.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace kitovu::cli {

using detail::utf8_length;

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
