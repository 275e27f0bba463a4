// Paths and URLs as libsmbclient takes them.
#pragma once

#include <string>
#include <string_view>

namespace kitovu::detail::smb {

// libsmbclient URL-decodes the paths it is given and treats '?' as the start of options, so
// every byte of a name other than unreserved ASCII is percent-encoded ('/' separates folders).
inline std::string url_encode(std::string_view text) {
    constexpr std::string_view hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        const bool plain = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                           (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' ||
                           c == '~' || c == '/';
        if (plain) {
            out += c;
        } else {
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        }
    }
    return out;
}

inline std::string_view trim_slashes(std::string_view path) {
    while (path.starts_with('/'))
        path.remove_prefix(1);
    while (path.ends_with('/'))
        path.remove_suffix(1);
    return path;
}

} // namespace kitovu::detail::smb
