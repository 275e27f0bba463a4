// A subject added, changed or removed in the config's text, as the subject dialogs do it: only
// the subject's own lines change, so a power user's comments and layout elsewhere stay. Pure
// functions of the text, tested as tables.
#pragma once

#include <kitovu/config/options.hpp>
#include <kitovu/config/settings_model.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kitovu::gui {

// What the subject dialog asks: one source. `local_dir` empty: the root folder's NAME.
struct SubjectAnswer {
    std::string name;
    std::string connection;
    std::string remote_dir;
    std::string local_dir;
};

inline std::string subject_block(const SubjectAnswer& subject) {
    std::string text = "[[subjects]]\nname = " + detail::toml_quoted(subject.name) + "\n";
    text += "  [[subjects.sources]]\n";
    text += "  connection = " + detail::toml_quoted(subject.connection) + "\n";
    text += "  remote-dir = " + detail::toml_quoted(subject.remote_dir) + "\n";
    if (!subject.local_dir.empty())
        text += "  local-dir = " + detail::toml_quoted(subject.local_dir) + "\n";
    return text;
}

// Whether the dialog can show all of a subject: one source, and no key it does not ask for
// (ignore patterns, say), which would be lost. Others are edited in the Configuration tab.
inline bool fits_subject_dialog(const Subject& subject) {
    if (subject.sources.size() != 1)
        return false;
    for (const auto& [key, where] : subject.sources.front().written)
        if (key != "connection" && key != "remote-dir" && key != "local-dir")
            return false;
    return true;
}

namespace config_lines {

inline std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        lines.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos)
            break;
        start = end + 1;
    }
    return lines;
}

inline std::string joined_lines(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines)
        text += line + "\n";
    return text;
}

inline std::string_view trimmed(std::string_view line) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
        line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
        line.remove_suffix(1);
    return line;
}

} // namespace config_lines

// The lines [first, end) (0-based) of the subject whose `[[subjects]]` header is on line
// `header` (1-based, as Subject::location has it): up to the next table that is not one of its
// sources, without the blank and comment lines just before it (they belong to what follows).
// Nothing when that line is no `[[subjects]]` header (an inline table, say).
inline std::optional<std::pair<std::size_t, std::size_t>>
subject_lines(const std::vector<std::string>& lines, std::uint32_t header) {
    if (header == 0 || header > lines.size())
        return std::nullopt;
    const std::size_t first = header - 1;
    if (!config_lines::trimmed(lines[first]).starts_with("[[subjects]]"))
        return std::nullopt;
    std::size_t end = first + 1;
    while (end < lines.size()) {
        const std::string_view line = config_lines::trimmed(lines[end]);
        if (line.starts_with('[') && !line.starts_with("[[subjects.") &&
            !line.starts_with("[subjects."))
            break;
        ++end;
    }
    while (end > first + 1) {
        const std::string_view line = config_lines::trimmed(lines[end - 1]);
        if (!line.empty() && !line.starts_with('#'))
            break;
        --end;
    }
    return std::pair{first, end};
}

inline std::string with_subject_added(std::string_view text, const SubjectAnswer& subject) {
    std::string out{text};
    if (!out.empty() && !out.ends_with('\n'))
        out += '\n';
    if (!out.empty())
        out += '\n';
    return out + subject_block(subject);
}

// The subject at `header` replaced by `subject` (nothing: `subject` removed); nothing when
// there is no subject at `header`.
inline std::optional<std::string>
with_subject_changed(std::string_view text, std::uint32_t header,
                     const std::optional<SubjectAnswer>& subject) {
    auto lines = config_lines::lines_of(text);
    const auto range = subject_lines(lines, header);
    if (!range)
        return std::nullopt;
    auto first = lines.begin() + static_cast<std::ptrdiff_t>(range->first);
    first = lines.erase(first, lines.begin() + static_cast<std::ptrdiff_t>(range->second));
    if (subject) {
        auto block = config_lines::lines_of(subject_block(*subject));
        lines.insert(first, block.begin(), block.end());
    } else if (first != lines.end() && config_lines::trimmed(*first).empty() &&
               (first == lines.begin() || config_lines::trimmed(*(first - 1)).empty())) {
        lines.erase(first); // no double blank line where the subject was
    }
    return config_lines::joined_lines(lines);
}

} // namespace kitovu::gui
