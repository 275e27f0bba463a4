// CourseFiles: the files of Moodle courses as kitovu lays them out (layout.hpp): each module's
// contents with a locator (locator.hpp), an identity that survives a move between sections and a
// fingerprint that survives a rename, through the engine's filter. One object per listing, so a
// name two courses' modules both take is refused the second time.
#pragma once

#include "kitovu/plugin/plugin.hpp"
#include "kitovu/plugins/moodle/layout.hpp"
#include "kitovu/plugins/moodle/locator.hpp"
#include "kitovu/plugins/moodle/service.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu::detail::moodle {

class CourseFiles {
  public:
    CourseFiles(Service& service, ListFilter keep, WarningSink warn)
        : service_(service), keep_(keep), warn_(warn) {}

    // Whether the folder `path` and all folders above it are kept.
    bool kept(std::string_view path) {
        if (path.empty())
            return true;
        if (const auto it = folders_.find(path); it != folders_.end())
            return it->second;
        const auto slash = path.rfind('/');
        const bool result =
            (slash == std::string_view::npos || kept(path.substr(0, slash))) && keep_(path, true);
        folders_.emplace(std::string{path}, result);
        return result;
    }

    // Lists one course's files below `folder` ("" or "Course name/") into entries(); `title` as
    // Moodle shows it. A restricted module is no error: what was synced from it is kept (an
    // unlisted folder).
    expected<void, UsageError> add_course(const json& course, const std::string& title,
                                          const std::string& folder) {
        const std::int64_t id = number(course, "id", -1);
        auto sections =
            service_.call("core_course_get_contents", {{"courseid", std::to_string(id)}});
        if (!sections) {
            auto e = sections.error();
            e.path = title; // the course's folder under "/"
            return fail(std::move(e));
        }
        if (!sections->is_array())
            return fail(service_.error(
                ErrorKind::protocol, "core_course_get_contents did not answer with a list", title));
        for (const auto& placed : place_modules(*sections, folder)) {
            if (!kept(placed.folder))
                continue;
            if (placed.restricted) {
                warn_(Warning{WarningKind::unavailable,
                              "restricted on Moodle" +
                                  (placed.restriction.empty() ? std::string{}
                                                              : " (" + placed.restriction + ")") +
                                  ": not synced now; what was synced from it is kept",
                              service_.connection(), placed.folder});
                continue;
            }
            for (const auto& content : array(*placed.module, "contents"))
                add_content(content, placed);
        }
        return {};
    }

    // The files listed since the last take.
    std::vector<RemoteEntry>& entries() noexcept { return entries_; }

  private:
    void add_content(const json& content, const PlacedModule& module) {
        const std::string type = text(content, "type");
        const std::string url = text(content, "fileurl");
        std::string name = text(content, "filename");
        if ((type != "file" && type != "url") || url.empty())
            return; // inline content (book chapters, labels) has no file to fetch
        // filepath and filename are taken as Moodle sends them: the engine refuses any name
        // that would lead outside the target folder, as for every plugin.
        std::string path = text(content, "filepath");
        while (path.starts_with('/'))
            path.erase(0, 1);
        if (!path.empty() && !path.ends_with('/'))
            path += '/';
        const bool sized = number(content, "filesize") > 0 || !text(content, "mimetype").empty();
        char kind = file_kind;
        std::string former_name;
        if (type == "url") {
            // Moodle derives this file name from the escaped module name ("Links amp; Tools"):
            // the module's name as Moodle shows it is the better one. Kitovu before 2026-11-30
            // took Moodle's: a file of that name is moved, not fetched again.
            kind = link_kind;
            path.clear();
            former_name = one_component(name.empty() ? "link" : name);
            if (!former_name.ends_with(".html"))
                former_name += ".html";
            name = one_component(module.name);
            if (name.empty())
                name = "link";
        } else if (path.empty() && name == "index.html" &&
                   text(*module.module, "modname") == "page") {
            // A page's text, a fragment of the course page, whatever size Moodle gives it.
            kind = document_kind;
        } else if (!sized) {
            kind = page_kind;
        }
        if ((kind == link_kind || kind == page_kind) && !name.ends_with(".html"))
            name = one_component(name) + ".html";
        const std::string full = module.folder + '/' + path + name;
        if (const auto slash = full.rfind('/'); !kept(full.substr(0, slash)))
            return;
        if (!keep_(full, false))
            return;
        if (!paths_.insert(full).second) {
            warn_(Warning{WarningKind::skipped,
                          "Moodle lists two files under this name; only the first is synced",
                          service_.connection(), full});
            return;
        }
        entries_.push_back(RemoteEntry{
            .path = full,
            .is_folder = false,
            .size = kind == file_kind ? static_cast<std::uint64_t>(
                                            std::max<std::int64_t>(0, number(content, "filesize")))
                                      : 0,
            .mtime = number(content, "timemodified"),
            .locator = make_locator(kind, url, module.name),
            .id = kind == link_kind ? "module " + std::to_string(number(*module.module, "id"))
                                    : file_identity(url),
            .fingerprint = kind == file_kind ? file_fingerprint(content, *module.module) : "",
            .former_name = former_name != name ? former_name : ""});
    }

    // What a rename in Moodle's file manager leaves of a file: its module, creation time and
    // size (the URL and timemodified change; a replaced file is created anew).
    static std::string file_fingerprint(const json& content, const json& module) {
        const std::int64_t created = number(content, "timecreated");
        if (created <= 0)
            return {};
        return fmt::format("module {} {} {}", number(module, "id"), created,
                           number(content, "filesize"));
    }

    // What names a file in Moodle whatever section or folder shows it: its context, component,
    // area, item and name in the file URL (the part after pluginfile.php, without the query).
    static std::string file_identity(std::string_view url) {
        url = url.substr(0, url.find('?'));
        constexpr std::string_view marker = "pluginfile.php/";
        if (const auto at = url.find(marker); at != std::string_view::npos)
            url.remove_prefix(at + marker.size());
        return std::string{url};
    }

    Service& service_;
    ListFilter keep_;
    WarningSink warn_;
    std::vector<RemoteEntry> entries_;
    std::map<std::string, bool, std::less<>> folders_; // keep() of each folder seen
    std::set<std::string, std::less<>> paths_;
};

} // namespace kitovu::detail::moodle
