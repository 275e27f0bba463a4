// A PROPFIND answer (207 Multi-Status, RFC 4918) read with expat: each response's href, whether
// it is a folder, its length, modification time, ETag and, from Nextcloud and ownCloud, its file
// id and permissions. Properties count only from a propstat whose status is 200.
#pragma once

#include <expat.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu::detail::webdav {

struct DavEntry {
    std::string href; // as the server wrote it (escaped)
    bool is_folder = false;
    std::optional<std::uint64_t> length{};
    std::optional<std::int64_t> mtime{}; // seconds since the epoch
    std::string etag{};                  // as sent, quotes included
    std::string file_id{};               // oc:fileid
    std::string permissions{};           // oc:permissions
    int status = 200;                    // a response's own status (403: listed but refused)
};

// "HTTP/1.1 403 Forbidden" -> 403; 0 when there is none.
inline int status_code(std::string_view line) {
    const auto space = line.find(' ');
    if (space == std::string_view::npos || line.size() < space + 4)
        return 0;
    int code = 0;
    for (const char c : line.substr(space + 1, 3)) {
        if (c < '0' || c > '9')
            return 0;
        code = code * 10 + (c - '0');
    }
    return code;
}

// An HTTP date (RFC 9110 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"), always UTC: the
// machine's time zone plays no part.
inline std::optional<std::int64_t> http_date(std::string_view text) {
    constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (const auto comma = text.find(", "); comma != std::string_view::npos)
        text.remove_prefix(comma + 2);
    if (text.size() < 24 || text.substr(21, 3) != "GMT")
        return std::nullopt;
    const auto number = [&](std::size_t at, std::size_t digits) -> int {
        int value = 0;
        for (std::size_t i = at; i < at + digits; ++i) {
            if (text[i] < '0' || text[i] > '9')
                return -1;
            value = value * 10 + (text[i] - '0');
        }
        return value;
    };
    const auto month = months.find(text.substr(3, 3));
    const int day = number(0, 2), year = number(7, 4);
    const int hour = number(12, 2), minute = number(15, 2), second = number(18, 2);
    if (month == std::string_view::npos || month % 3 != 0 || day < 1 || year < 0 || hour < 0 ||
        minute < 0 || second < 0)
        return std::nullopt;
    const std::chrono::year_month_day date{std::chrono::year{year},
                                           std::chrono::month{static_cast<unsigned>(month / 3 + 1)},
                                           std::chrono::day{static_cast<unsigned>(day)}};
    if (!date.ok())
        return std::nullopt;
    const auto days = std::chrono::sys_days{date}.time_since_epoch().count();
    return std::int64_t{days} * 86400 + hour * 3600 + minute * 60 + second;
}

namespace multistatus {

// Names as expat gives them with namespaces on: "URI local".
constexpr std::string_view dav = "DAV: ";
constexpr std::string_view owncloud = "http://owncloud.org/ns ";

struct Reader {
    std::vector<DavEntry> entries;
    DavEntry current{};
    DavEntry props{}; // of the propstat being read
    std::string text;
    int propstat_status = 0;
    int depth_in_response = 0;
    bool in_response = false, in_propstat = false;

    static void start(void* user, const XML_Char* name, const XML_Char** /*attributes*/) {
        auto& r = *static_cast<Reader*>(user);
        const std::string_view n{name};
        r.text.clear();
        if (n.substr(0, dav.size()) == dav) {
            const auto local = n.substr(dav.size());
            if (local == "response") {
                r.in_response = true;
                r.current = DavEntry{};
            } else if (local == "propstat" && r.in_response) {
                r.in_propstat = true;
                r.props = DavEntry{};
                r.propstat_status = 0;
            } else if (local == "collection" && r.in_propstat) {
                r.props.is_folder = true;
            }
        }
    }

    static void end(void* user, const XML_Char* name) {
        auto& r = *static_cast<Reader*>(user);
        const std::string_view n{name};
        std::string value = std::move(r.text);
        r.text.clear();
        if (!r.in_response)
            return;
        if (n.substr(0, owncloud.size()) == owncloud && r.in_propstat) {
            const auto local = n.substr(owncloud.size());
            if (local == "fileid")
                r.props.file_id = trim(value);
            else if (local == "permissions")
                r.props.permissions = trim(value);
            return;
        }
        if (n.substr(0, dav.size()) != dav)
            return;
        const auto local = n.substr(dav.size());
        if (local == "href" && !r.in_propstat)
            r.current.href = trim(value);
        else if (local == "status")
            (r.in_propstat ? r.propstat_status : r.current.status) = status_code(trim(value));
        else if (local == "getcontentlength" && r.in_propstat) {
            std::uint64_t length = 0;
            const std::string digits = trim(value);
            bool ok = !digits.empty();
            for (const char c : digits)
                ok = ok && c >= '0' && c <= '9' && (length = length * 10 + (c - '0'), true);
            if (ok)
                r.props.length = length;
        } else if (local == "getlastmodified" && r.in_propstat)
            r.props.mtime = http_date(trim(value));
        else if (local == "getetag" && r.in_propstat)
            r.props.etag = trim(value);
        else if (local == "propstat") {
            r.in_propstat = false;
            if (r.propstat_status == 200)
                merge(r.current, r.props);
        } else if (local == "response") {
            r.in_response = false;
            r.entries.push_back(std::move(r.current));
        }
    }

    static void characters(void* user, const XML_Char* data, int length) {
        static_cast<Reader*>(user)->text.append(data, static_cast<std::size_t>(length));
    }

    static std::string trim(const std::string& value) {
        const auto first = value.find_first_not_of(" \t\r\n");
        if (first == std::string::npos)
            return {};
        return value.substr(first, value.find_last_not_of(" \t\r\n") - first + 1);
    }

    static void merge(DavEntry& into, const DavEntry& found) {
        into.is_folder = into.is_folder || found.is_folder;
        if (found.length)
            into.length = found.length;
        if (found.mtime)
            into.mtime = found.mtime;
        if (!found.etag.empty())
            into.etag = found.etag;
        if (!found.file_id.empty())
            into.file_id = found.file_id;
        if (!found.permissions.empty())
            into.permissions = found.permissions;
    }
};

} // namespace multistatus

// The responses of a 207 body; nothing when it is not well-formed XML.
inline std::optional<std::vector<DavEntry>> read_multistatus(std::string_view body) {
    XML_Parser parser = XML_ParserCreateNS(nullptr, ' ');
    if (parser == nullptr)
        return std::nullopt;
    multistatus::Reader reader;
    XML_SetUserData(parser, &reader);
    XML_SetElementHandler(parser, &multistatus::Reader::start, &multistatus::Reader::end);
    XML_SetCharacterDataHandler(parser, &multistatus::Reader::characters);
    const bool ok =
        XML_Parse(parser, body.data(), static_cast<int>(body.size()), 1) == XML_STATUS_OK;
    XML_ParserFree(parser);
    if (!ok)
        return std::nullopt;
    return std::move(reader.entries);
}

} // namespace kitovu::detail::webdav
