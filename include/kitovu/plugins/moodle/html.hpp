// HTML for the moodle plugin: Moodle sends names through format_string (HTML-escaped, "&" as
// "&amp;"), so they are decoded before they are compared or become paths; and the files kitovu
// writes itself (a link module's page, a page module's document) are small HTML documents.
#pragma once

#include "kitovu/utf8.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace kitovu::detail::moodle {

// The character a named entity stands for (0: not known). format_string itself produces only
// &amp;, but a teacher may type any entity into a name and Moodle passes it on: the HTML 4
// entities cover what is typed in practice (Latin-1 letters, quotes, dashes, symbols).
inline std::uint32_t named_entity(std::string_view name) {
    // U+00A0 .. U+00FF in order.
    static constexpr std::array<std::string_view, 96> latin1{
        "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
        "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
        "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
        "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
        "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
        "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
        "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
        "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
        "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
        "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
        "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};
    for (std::size_t i = 0; i < latin1.size(); ++i)
        if (latin1[i] == name)
            return static_cast<std::uint32_t>(0xA0 + i);
    struct Named {
        std::string_view name;
        std::uint32_t code;
    };
    static constexpr std::array<Named, 26> others{{
        {"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},
        {"apos", '\''},    {"ndash", 0x2013},  {"mdash", 0x2014}, {"lsquo", 0x2018},
        {"rsquo", 0x2019}, {"sbquo", 0x201A},  {"ldquo", 0x201C}, {"rdquo", 0x201D},
        {"bdquo", 0x201E}, {"hellip", 0x2026}, {"bull", 0x2022},  {"euro", 0x20AC},
        {"trade", 0x2122}, {"larr", 0x2190},   {"rarr", 0x2192},  {"harr", 0x2194},
        {"le", 0x2264},    {"ge", 0x2265},     {"ne", 0x2260},    {"infin", 0x221E},
        {"OElig", 0x0152}, {"oelig", 0x0153},
    }};
    for (const auto& entity : others)
        if (entity.name == name)
            return entity.code;
    return 0;
}

// `text` with its character references (&amp; &uuml; &#252; &#xFC;) replaced by the characters;
// an unknown or unterminated one stays as it is, as a browser shows it.
inline std::string decode_entities(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t amp = text.find('&', at);
        out.append(text.substr(at, amp - at));
        if (amp == std::string_view::npos)
            break;
        const std::size_t semicolon = text.find(';', amp + 1);
        const std::string_view body = semicolon == std::string_view::npos
                                          ? std::string_view{}
                                          : text.substr(amp + 1, semicolon - amp - 1);
        std::uint32_t code = 0;
        if (body.size() > 1 && body.size() <= 10 && body.front() == '#') {
            const bool hex = body[1] == 'x' || body[1] == 'X';
            const std::string_view digits = body.substr(hex ? 2 : 1);
            std::uint32_t value = 0;
            const auto [end, error] =
                std::from_chars(digits.data(), digits.data() + digits.size(), value, hex ? 16 : 10);
            if (!digits.empty() && error == std::errc{} && end == digits.data() + digits.size())
                code = value == 0 ? 0xFFFD : value;
        } else if (!body.empty() && body.size() <= 8) {
            code = named_entity(body);
        }
        if (code == 0) { // not a reference: the '&' is text
            out += '&';
            at = amp + 1;
            continue;
        }
        append_utf8(out, code);
        at = semicolon + 1;
    }
    return out;
}

// `text` without its tags (Moodle's availabilityinfo is HTML), entities decoded, white space
// collapsed: for a message.
inline std::string plain_text(std::string_view html) {
    std::string stripped;
    bool in_tag = false;
    for (const char c : html) {
        if (c == '<')
            in_tag = true;
        else if (c == '>' && in_tag)
            in_tag = false;
        else if (!in_tag)
            stripped += c;
    }
    std::string out;
    for (const char c : decode_entities(stripped)) {
        const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        if (space && (out.empty() || out.back() == ' '))
            continue;
        out += space ? ' ' : c;
    }
    if (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

inline std::string html_escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

// A link module becomes a small HTML file that opens the link.
inline std::string link_page(std::string_view title, std::string_view target) {
    const std::string url = html_escape(target);
    return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" "
           "content=\"0; url=" +
           url + "\">\n<title>" + html_escape(title) + "</title></head>\n<body><a href=\"" + url +
           "\">" + url + "</a></body></html>\n";
}

// Moodle serves a page module's index.html as a fragment of its course page (UTF-8, no charset
// declared): kitovu saves it between these two, so a browser opening it from disk reads UTF-8
// and shows the page's name. The page's files are saved beside it, where its relative links
// point.
inline std::string page_document_start(std::string_view title) {
    return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>" + html_escape(title) +
           "</title></head>\n<body>\n";
}

inline std::string_view page_document_end() {
    return "\n</body></html>\n";
}

} // namespace kitovu::detail::moodle
