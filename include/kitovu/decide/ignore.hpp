// Ignore rules: glob patterns (`*`, `?`, `[...]`) from global-ignore and a source's ignore,
// compiled once and asked for every listed entry.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/utf8.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu {

namespace detail {

// One element of a compiled pattern. Patterns are split into tokens once so that matching an
// entry decodes nothing but the entry's own name and never allocates.
struct GlobToken {
    enum class Kind : std::uint8_t {
        literal,   // one code point
        any,       // `?`: one code point
        star,      // `*`: any run of code points, possibly empty
        set,       // `[...]`: one code point in (or, negated, not in) the listed ranges
        separator, // '/' between the components of a path pattern
    };
    Kind kind = Kind::literal;
    bool negated = false;    // set only
    char32_t code_point = 0; // literal only
    std::uint32_t first = 0; // set only: its ranges are [first, last) of IgnoreRules' ranges
    std::uint32_t last = 0;
};

struct CodePointRange {
    char32_t low = 0;
    char32_t high = 0;
};

} // namespace detail

// A pattern without '/' matches an entry's name; one containing '/' matches the path relative
// to remote-dir; a trailing '/' matches folders only. `*` and `?` never match '/'.
//
// Details: `[abc]`, `[a-z]`, `[!a-z]` / `[^a-z]` match one character; `]` right after `[` (or
// after `[!`) is literal; `[*]`, `[?]` and `[[]` match those characters literally. A leading '/'
// anchors a pattern at remote-dir, so `/old` ignores only the top-level `old`; path patterns are
// always anchored (`/a/b` is the same as `a/b`). Matching is by Unicode character and
// case-sensitive, and `*` matches names starting with '.'.
class IgnoreRules {
  public:
    IgnoreRules() = default;

    // Compiles the patterns; a malformed one (an unclosed '[', a reversed range such as `[z-a]`,
    // an empty pattern or path component) is an error of kind config naming it.
    static expected<IgnoreRules, UsageError> compile(const std::vector<std::string>& patterns) {
        IgnoreRules rules;
        rules.patterns_ = patterns;
        for (const auto& pattern : patterns)
            if (auto added = rules.add(pattern); !added)
                return fail(added.error());
        return rules;
    }

    // Whether the entry at `path` (relative to remote-dir, '/'-separated) is ignored: when a rule
    // matches it or one of the folders it is in (those count as folders), so the answer is right
    // even for a remote that lists files without their folders. Thread-safe, allocation-free.
    bool ignores(std::string_view path, bool is_folder) const noexcept {
        while (path.starts_with('/'))
            path.remove_prefix(1);
        while (path.ends_with('/')) {
            path.remove_suffix(1);
            is_folder = true;
        }
        if (path.empty() || rules_.empty())
            return false;

        std::size_t components = 0;
        std::size_t start = 0;
        while (true) {
            const std::size_t slash = path.find('/', start);
            const bool last = slash == std::string_view::npos;
            const std::string_view name =
                path.substr(start, last ? std::string_view::npos : slash - start);
            const bool folder = !last || is_folder;
            ++components;
            for (const Rule& rule : rules_)
                if (rule.components == 0 && (folder || !rule.folder_only) &&
                    match_component(rule.first, rule.last, name))
                    return true;
            if (last)
                break;
            start = slash + 1;
        }

        for (const Rule& rule : rules_) {
            if (rule.components == 0 || rule.components > components)
                continue;
            const bool folder = rule.components < components || is_folder;
            if ((folder || !rule.folder_only) && match_path(rule, path))
                return true;
        }
        return false;
    }

    const std::vector<std::string>& patterns() const noexcept { return patterns_; }

    // Two rule sets are equal when they were compiled from the same patterns.
    friend bool operator==(const IgnoreRules& a, const IgnoreRules& b) noexcept {
        return a.patterns_ == b.patterns_;
    }

  private:
    using Token = detail::GlobToken;
    using Kind = detail::GlobToken::Kind;

    struct Rule {
        std::uint32_t first = 0; // tokens [first, last)
        std::uint32_t last = 0;
        std::uint32_t components = 0; // 0: matches names; else the path's component count
        bool folder_only = false;
    };

    expected<void, UsageError> add(std::string_view pattern) {
        const auto invalid = [&](std::string_view why) {
            return fail(ErrorKind::config, "invalid ignore pattern '" + std::string{pattern} +
                                               "': " + std::string{why});
        };
        Rule rule;
        std::string_view rest = pattern;
        if (rest.ends_with('/')) {
            rule.folder_only = true;
            rest.remove_suffix(1);
        }
        const bool anchored = rest.starts_with('/');
        if (anchored)
            rest.remove_prefix(1);
        if (rest.empty())
            return invalid("it is empty");

        rule.first = static_cast<std::uint32_t>(tokens_.size());
        bool path_pattern = anchored;
        bool component_empty = true;
        std::size_t pos = 0;
        while (pos < rest.size()) {
            const char c = rest[pos];
            if (c == '/') {
                if (component_empty)
                    return invalid("it has an empty path component");
                tokens_.push_back(Token{.kind = Kind::separator});
                path_pattern = true;
                component_empty = true;
                ++pos;
                continue;
            }
            component_empty = false;
            if (c == '*') {
                // `**` means the same as `*`: one token keeps the matcher's backtracking linear.
                if (tokens_.size() == rule.first || tokens_.back().kind != Kind::star)
                    tokens_.push_back(Token{.kind = Kind::star});
                ++pos;
            } else if (c == '?') {
                tokens_.push_back(Token{.kind = Kind::any});
                ++pos;
            } else if (c == '[') {
                if (auto set = add_set(rest, pos); !set)
                    return invalid(set.error());
            } else {
                tokens_.push_back(
                    Token{.kind = Kind::literal, .code_point = detail::next_code_point(rest, pos)});
            }
        }
        if (component_empty)
            return invalid("it has an empty path component");
        rule.last = static_cast<std::uint32_t>(tokens_.size());
        if (path_pattern) {
            rule.components = 1;
            for (std::uint32_t i = rule.first; i < rule.last; ++i)
                rule.components += tokens_[i].kind == Kind::separator ? 1 : 0;
        }
        rules_.push_back(rule);
        return {};
    }

    // Parses `[...]` starting at rest[pos] == '['; moves pos past the closing ']'.
    expected<void, std::string> add_set(std::string_view rest, std::size_t& pos) {
        std::size_t i = pos + 1;
        Token set{.kind = Kind::set};
        if (i < rest.size() && (rest[i] == '!' || rest[i] == '^')) {
            set.negated = true;
            ++i;
        }
        set.first = static_cast<std::uint32_t>(ranges_.size());
        bool first_item = true;
        while (true) {
            if (i >= rest.size())
                return unexpected{std::string{"'[' is not closed by ']'"}};
            if (rest[i] == ']' && !first_item)
                break;
            first_item = false;
            const std::size_t low_at = i;
            const char32_t low = detail::next_code_point(rest, i);
            char32_t high = low;
            if (i + 1 < rest.size() && rest[i] == '-' && rest[i + 1] != ']') {
                ++i;
                high = detail::next_code_point(rest, i);
                if (high < low)
                    return unexpected{"the range '" + std::string{rest.substr(low_at, i - low_at)} +
                                      "' is reversed"};
            }
            ranges_.push_back(detail::CodePointRange{low, high});
        }
        set.last = static_cast<std::uint32_t>(ranges_.size());
        tokens_.push_back(set);
        pos = i + 1;
        return {};
    }

    bool matches(const Token& token, char32_t c) const noexcept {
        switch (token.kind) {
        case Kind::literal: return token.code_point == c;
        case Kind::any: return true;
        case Kind::set: {
            bool inside = false;
            for (std::uint32_t i = token.first; i < token.last && !inside; ++i)
                inside = ranges_[i].low <= c && c <= ranges_[i].high;
            return inside != token.negated;
        }
        case Kind::star:
        case Kind::separator: break;
        }
        return false;
    }

    // Tokens [first, last) hold no separator and `name` no '/', so the classic glob matcher that
    // backtracks only to the most recent `*` is exact.
    bool match_component(std::uint32_t first, std::uint32_t last,
                         std::string_view name) const noexcept {
        std::uint32_t token = first;
        std::size_t pos = 0;
        std::uint32_t star = last; // none yet
        std::size_t star_pos = 0;
        while (pos < name.size()) {
            if (token < last && tokens_[token].kind == Kind::star) {
                star = token++;
                star_pos = pos;
                continue;
            }
            std::size_t next = pos;
            const char32_t c = detail::next_code_point(name, next);
            if (token < last && matches(tokens_[token], c)) {
                ++token;
                pos = next;
                continue;
            }
            if (star == last)
                return false;
            // Let the last `*` swallow one more character and try again from there.
            detail::next_code_point(name, star_pos);
            pos = star_pos;
            token = star + 1;
        }
        while (token < last && tokens_[token].kind == Kind::star)
            ++token;
        return token == last;
    }

    // Matches the rule's components against the first rule.components components of `path`.
    bool match_path(const Rule& rule, std::string_view path) const noexcept {
        std::uint32_t token = rule.first;
        std::size_t start = 0;
        for (std::uint32_t component = 0; component < rule.components; ++component) {
            std::uint32_t end = token;
            while (end < rule.last && tokens_[end].kind != Kind::separator)
                ++end;
            const std::size_t slash = path.find('/', start);
            const std::string_view name = path.substr(
                start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
            if (!match_component(token, end, name))
                return false;
            token = end + 1;
            start = slash + 1; // unused after the last component
        }
        return true;
    }

    std::vector<std::string> patterns_;
    std::vector<Rule> rules_;
    std::vector<Token> tokens_;
    std::vector<detail::CodePointRange> ranges_;
};

} // namespace kitovu
