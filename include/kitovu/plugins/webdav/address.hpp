// Addresses for the webdav plugin: percent-encoding of paths, the parts of a URL, a PROPFIND
// answer's href placed below the folder that was asked for, and Nextcloud's public share links.
#pragma once

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

namespace kitovu::detail::webdav {

// Every byte but RFC 3986's unreserved ones and '/' as %XX: a remote name may hold anything.
inline std::string encode_path(std::string_view path) {
    constexpr std::string_view hex = "0123456789ABCDEF";
    std::string out;
    for (const char c : path) {
        const auto byte = static_cast<unsigned char>(c);
        if ((std::isalnum(byte) != 0 && byte < 0x80) || c == '-' || c == '.' || c == '_' ||
            c == '~' || c == '/') {
            out += c;
            continue;
        }
        out += '%';
        out += hex[byte >> 4];
        out += hex[byte & 0xf];
    }
    return out;
}

// %XX decoded; nothing for a broken escape (the server's answer is then not trusted).
inline std::optional<std::string> decode(std::string_view text) {
    const auto value = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size())
            return std::nullopt;
        const int high = value(text[i + 1]), low = value(text[i + 2]);
        if (high < 0 || low < 0)
            return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

// "https://host:port", lower-cased; empty when `url` is not absolute.
inline std::string origin(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos)
        return {};
    const auto host_end = std::min(url.find_first_of("/?#", scheme_end + 3), url.size());
    std::string out{url.substr(0, host_end)};
    std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// The path of an absolute URL or of an absolute path, without query or fragment ("/" at least).
inline std::string_view path_of(std::string_view url) {
    if (const auto scheme_end = url.find("://"); scheme_end != std::string_view::npos) {
        const auto start = url.find('/', scheme_end + 3);
        url = start == std::string_view::npos ? std::string_view{"/"} : url.substr(start);
    }
    return url.substr(0, std::min(url.find_first_of("?#"), url.size()));
}

// `remote_dir` below the root URL, as a folder URL ending in '/': leading and trailing '/' of
// `remote_dir` do not matter.
inline std::string folder_url(std::string_view root, std::string_view remote_dir) {
    while (remote_dir.starts_with('/'))
        remote_dir.remove_prefix(1);
    while (remote_dir.ends_with('/'))
        remote_dir.remove_suffix(1);
    std::string url{root};
    if (!remote_dir.empty())
        url += encode_path(remote_dir) + '/';
    return url;
}

// Where an answer's href lies relative to the folder asked for (both compared decoded, so the
// servers' different escaping does not matter): "" for the folder itself, a name for an entry
// directly in it, nothing for anything else (or a broken escape).
inline std::optional<std::string> below(std::string_view folder, std::string_view href) {
    auto want = decode(path_of(folder));
    auto got = decode(path_of(href));
    if (!want || !got)
        return std::nullopt;
    while (want->ends_with('/'))
        want->pop_back();
    while (got->ends_with('/'))
        got->pop_back();
    if (*got == *want)
        return std::string{};
    if (!got->starts_with(*want + '/'))
        return std::nullopt;
    std::string name = got->substr(want->size() + 1);
    if (name.empty() || name.find('/') != std::string::npos)
        return std::nullopt;
    return name;
}

// A Nextcloud or ownCloud public share link, "https://cloud.example.org/s/TOKEN" (also with
// index.php/): its WebDAV root is public.php/webdav/ beside it, the token its user name.
struct ShareLink {
    std::string root;
    std::string token;
};

inline std::optional<ShareLink> share_link(std::string_view url) {
    while (url.ends_with('/'))
        url.remove_suffix(1);
    const auto slash = url.rfind('/');
    if (slash == std::string_view::npos || origin(url).empty() || slash <= origin(url).size())
        return std::nullopt;
    const std::string_view token = url.substr(slash + 1);
    std::string_view base = url.substr(0, slash);
    if (token.empty() || !base.ends_with("/s") ||
        !std::ranges::all_of(token, [](unsigned char c) { return std::isalnum(c) != 0; }))
        return std::nullopt;
    base.remove_suffix(1);
    if (base.ends_with("index.php/"))
        base.remove_suffix(std::string_view{"index.php/"}.size());
    return ShareLink{std::string{base} + "public.php/webdav/", std::string{token}};
}

} // namespace kitovu::detail::webdav
