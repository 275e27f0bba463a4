// The user's courses: asked of the site once per listing, found by the name remote-dir gives (a
// course's full name as Moodle shows it), offered to a course picker, and missed in words.
#pragma once

#include "kitovu/plugin/browse_entry.hpp"
#include "kitovu/plugins/moodle/layout.hpp"
#include "kitovu/plugins/moodle/service.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu::detail::moodle {

// The courses `user_id` is enrolled in, as Moodle lists them.
inline expected<json, UsageError> users_courses(Service& service, std::int64_t user_id) {
    auto courses =
        service.call("core_enrol_get_users_courses", {{"userid", std::to_string(user_id)}});
    if (courses && !courses->is_array())
        return fail(service.error(ErrorKind::protocol,
                                  "core_enrol_get_users_courses did not answer with a list"));
    return courses;
}

// A course's full name as Moodle shows it: what remote-dir names it by.
inline std::string course_title(const json& course) {
    return shown_name(text(course, "fullname"));
}

// The courses for a course picker: each a folder named as remote-dir takes it.
inline std::vector<BrowseEntry> course_choices(const json& courses) {
    std::vector<BrowseEntry> entries;
    for (const auto& course : courses) {
        std::string title = course_title(course);
        entries.push_back(BrowseEntry{.name = title, .is_folder = true, .title = title});
    }
    return entries;
}

// remote-dir names no course of the user's: a typo, or an enrolment that ended (the engine adds
// that kitovu keeps what it synced from there).
inline UsageError unknown_course(const Service& service, std::string_view name,
                                 const json& courses) {
    std::string names;
    for (const auto& course : courses)
        names += (names.empty() ? "'" : ", '") + course_title(course) + "'";
    const std::string what = "the course '" + std::string{name} +
                             "' is not, or no longer, among this user's courses (" +
                             (names.empty() ? "they have none" : names) + ")";
    return service.error(ErrorKind::not_found,
                         what + ": check remote-dir, or, if the enrolment ended, remove this "
                                "source from the config");
}

} // namespace kitovu::detail::moodle
