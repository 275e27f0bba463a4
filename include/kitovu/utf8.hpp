// UTF-8, the few things kitovu needs of it, in one place: decoding a code point (names that are
// not UTF-8 still decode, byte by byte), the length of a valid sequence, encoding, and cutting a
// name without splitting a character.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kitovu::detail {

// Code points of bytes that are not valid UTF-8: beyond Unicode, so such a byte only ever equals
// itself and names that are not UTF-8 still match `*` and `?` predictably.
inline constexpr char32_t raw_byte_base = 0x110000;

// Decodes the code point starting at `pos` and moves `pos` past it. Invalid sequences decode
// one byte at a time.
inline char32_t next_code_point(std::string_view text, std::size_t& pos) noexcept {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(pos);
    if (lead < 0x80) {
        ++pos;
        return lead;
    }
    // The lead byte gives the length, its payload bits and the smallest value that length may
    // encode (anything smaller is an overlong encoding).
    std::size_t length = 0;
    char32_t value = 0;
    char32_t minimum = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        value = lead & 0x1Fu;
        minimum = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        value = lead & 0x0Fu;
        minimum = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        value = lead & 0x07u;
        minimum = 0x10000;
    }
    if (length != 0 && pos + length <= text.size()) {
        bool valid = true;
        for (std::size_t i = 1; i < length && valid; ++i) {
            const unsigned char next = byte(pos + i);
            valid = (next & 0xC0u) == 0x80u;
            value = (value << 6) | (next & 0x3Fu);
        }
        if (valid && value >= minimum && value <= 0x10FFFF && (value < 0xD800 || value > 0xDFFF)) {
            pos += length;
            return value;
        }
    }
    ++pos;
    return raw_byte_base + lead;
}

// The length of the valid UTF-8 sequence at the start of `text` (no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0.
inline std::size_t utf8_length(std::string_view text) noexcept {
    if (text.empty())
        return 0;
    std::size_t end = 0;
    return next_code_point(text, end) < raw_byte_base ? end : 0;
}

// Appends the UTF-8 encoding of `code`; U+FFFD for what is no character (as browsers do).
inline void append_utf8(std::string& out, std::uint32_t code) {
    if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        code = 0xFFFD;
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

// `name` cut to at most `bytes` bytes without splitting a UTF-8 sequence.
inline std::string_view utf8_prefix(std::string_view name, std::size_t bytes) {
    if (name.size() <= bytes)
        return name;
    std::size_t end = bytes;
    while (end > 0 && (static_cast<unsigned char>(name[end]) & 0xC0) == 0x80)
        --end;
    return name.substr(0, end);
}

} // namespace kitovu::detail
