// Where a course's modules go on disk: a pure function of core_course_get_contents' answer.
//
//   NN - Section name/Module name/...            a module of a regular section
//   NN - Section name/Subsection name/Module/... a module of a subsection (Moodle 4.5)
//
// Names are decoded as Moodle shows them (Moodle sends them HTML-escaped). A subsection arrives
// as an empty module (modname "subsection") in its parent section plus a section of its own,
// numbered after all regular sections, with component "mod_subsection" and itemid = the
// module's instance. Its folder is named by the module inside the parent section's folder, so
// its path does not depend on how many sections follow it.
#pragma once

#include "kitovu/plugins/moodle/answers.hpp"
#include "kitovu/plugins/moodle/html.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu::detail::moodle {

// A Moodle title (course, section, module) as Moodle shows it: entities decoded, without the
// spaces around it that a browser does not show either ("Q&amp;A " is "Q&A").
inline std::string shown_name(std::string_view title) {
    std::string out = decode_entities(title);
    constexpr std::string_view spaces = " \t\r\n";
    out.erase(0, std::min(out.find_first_not_of(spaces), out.size()));
    out.erase(out.find_last_not_of(spaces) + 1);
    return out;
}

// One path component from a name as it is shown (decoded already): '_' for a '/' in it.
inline std::string one_component(std::string name) {
    std::ranges::replace(name, '/', '_');
    return name;
}

// One name component from a Moodle title as Moodle sends it.
inline std::string folder_name(std::string_view title) {
    return one_component(shown_name(title));
}

struct PlacedModule {
    std::string folder;      // relative to the listed folder, no trailing '/'
    std::string name;        // as Moodle shows it
    const json* module;      // the module's object in the answer
    bool restricted = false; // listed for the user, but not available to them
    std::string restriction; // why, as Moodle words it (plain text), if it says
};

// Modules that can carry files: what was synced from one that became restricted is kept.
inline bool carries_files(const json& module) {
    static constexpr std::array<std::string_view, 7> kinds{"resource", "folder", "page",      "url",
                                                           "book",     "imscp",  "subsection"};
    return std::ranges::find(kinds, text(module, "modname")) != kinds.end();
}

namespace layout_detail {

inline bool is_subsection_section(const json& section) {
    return text(section, "component") == "mod_subsection";
}

// Places the modules of `section` into `folder` (its own folder), descending into subsections
// (Moodle nests them one level deep; `depth` stops a malformed answer from looping).
inline void place_section(const json& section, const std::string& folder,
                          const std::map<std::int64_t, const json*>& subsections, int depth,
                          std::vector<PlacedModule>& out) {
    std::map<std::string, int, std::less<>> seen; // same names get " (2)", ...
    for (const auto& module : array(section, "modules")) {
        const bool subsection = text(module, "modname") == "subsection";
        const auto inner =
            subsection ? subsections.find(number(module, "instance", -1)) : subsections.end();
        const bool hidden_contents = !flag(module, "uservisible", true) && carries_files(module);
        if (!subsection && !module.contains("contents") && !hidden_contents)
            continue; // a forum, a label, a restricted quiz: nothing to fetch, no folder
        if (subsection && inner == subsections.end() && flag(module, "uservisible", true))
            continue; // its section was not sent (hidden from the user)
        const std::string title = shown_name(text(module, "name"));
        std::string name = one_component(title);
        if (const int count = ++seen[name]; count > 1)
            name += " (" + std::to_string(count) + ")";
        const std::string module_folder = folder + '/' + name;
        const bool restricted = !flag(module, "uservisible", true) ||
                                (subsection && !flag(*inner->second, "uservisible", true));
        if (restricted || !subsection) {
            out.push_back(PlacedModule{module_folder, title, &module, restricted,
                                       plain_text(text(module, "availabilityinfo"))});
            continue;
        }
        if (depth < 2)
            place_section(*inner->second, module_folder, subsections, depth + 1, out);
    }
}

} // namespace layout_detail

// Every module of a course with contents (and every restricted one) with its folder below
// `folder` ("" or "Course name/"), in Moodle's order.
inline std::vector<PlacedModule> place_modules(const json& sections, std::string_view folder) {
    std::map<std::int64_t, const json*> subsections; // by itemid, the subsection's instance
    for (const auto& section : sections)
        if (layout_detail::is_subsection_section(section))
            subsections.emplace(number(section, "itemid", -1), &section);
    std::vector<PlacedModule> out;
    for (const auto& section : sections) {
        if (layout_detail::is_subsection_section(section) || !flag(section, "uservisible", true))
            continue;
        const std::int64_t index = number(section, "section");
        std::string title = text(section, "name");
        if (title.empty()) // Moodle 4.5 always names them; older answers may not
            title = index == 0 ? "General" : "Section " + std::to_string(index);
        layout_detail::place_section(section,
                                     fmt::format("{}{:02} - {}", folder, index, folder_name(title)),
                                     subsections, 1, out);
    }
    return out;
}

} // namespace kitovu::detail::moodle
