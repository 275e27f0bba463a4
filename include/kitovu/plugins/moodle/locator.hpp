// How a listed Moodle entry says what it is and where it comes from: RemoteEntry::locator is
// "K URL", K one of the kinds below; a page's document carries its title too ("h URL\nTitle").
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace kitovu::detail::moodle {

inline constexpr char file_kind = 'f'; // a file with a known size
inline constexpr char page_kind = 'p'; // a file Moodle gives no size for (a page's file)
inline constexpr char link_kind = 'u'; // a url module, saved as an HTML page that opens the link
inline constexpr char document_kind = 'h'; // a page module's index.html: a fragment of the course
                                           // page, saved inside a document of its own

struct Locator {
    char kind = '?';
    std::string target; // the URL (a url module: the link's target)
    std::string title;  // a page document's title
};

inline std::string make_locator(char kind, std::string_view url, std::string_view title = {}) {
    std::string locator{kind};
    locator += ' ';
    locator += url;
    if (kind == document_kind) {
        locator += '\n';
        locator += title;
    }
    return locator;
}

inline Locator read_locator(std::string_view locator) {
    Locator read;
    read.kind = locator.empty() ? '?' : locator.front();
    std::string_view target = locator.size() > 2 ? locator.substr(2) : std::string_view{};
    if (read.kind == document_kind) {
        const auto newline = std::min(target.find('\n'), target.size());
        read.title = target.substr(std::min(newline + 1, target.size()));
        target = target.substr(0, newline);
    }
    read.target = target;
    return read;
}

} // namespace kitovu::detail::moodle
