// Plugin `moodle`: the files of Moodle courses, read through the site's web services (REST with
// JSON answers) with libcurl. `remote-dir` is a course's full name as Moodle shows it; "/"
// means every course the user is enrolled in, each in a folder of its own. Local layout below
// it (moodle/layout.hpp): `NN - Section name/Module name/filepath/filename`, a subsection's
// modules in `NN - Section name/Subsection name/Module name/...`.
//
//   moodle/service.hpp       the site's web services: calls with the token, refusals in words
//   moodle/courses.hpp       the user's courses: found by name, offered to a course picker
//   moodle/course_files.hpp  a course's modules -> the files kitovu syncs
//   moodle/download.hpp      one file, page or link fetched
//   moodle/locator.hpp       what a listed entry is and where it comes from
//   moodle/http.hpp          libcurl: requests, redirects, time-outs, token masking
//   moodle/answers.hpp       reading Moodle's JSON answers and error objects
//   moodle/layout.hpp        a course's sections and modules -> folders
//   moodle/html.hpp          names as Moodle shows them (entities decoded); the HTML kitovu writes
//
// What is synced: the files of resource, folder and page modules (a page as a small UTF-8 HTML
// document, its embedded files beside it) and url modules (an HTML file that opens the link).
// What is not: modules without files (forums, labels, quizzes...), hidden ones (Moodle does not
// send them) and restricted ones (listed without contents; what was synced from one before is
// kept, like an unlisted folder).
#pragma once

#include "kitovu/plugin/registry.hpp"
#include "kitovu/plugins/moodle/course_files.hpp"
#include "kitovu/plugins/moodle/courses.hpp"
#include "kitovu/plugins/moodle/download.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu {

class MoodlePlugin final : public SyncPlugin {
  public:
    static constexpr auto url =
        string_option({.name = "url",
                       .required = true,
                       .help = "address of the Moodle site, e.g. https://moodle.example.edu/",
                       .example = "https://moodle.example.edu/"});
    static constexpr auto token_command =
        string_option({.name = "token-command",
                       .help = "shell command whose first output line is the web-service token",
                       .example = "secret-tool lookup service kitovu-moodle"});
    static constexpr auto timeout =
        integer_option({.name = "timeout",
                        .default_value = std::int64_t{30},
                        .help = "connect time-out, and longest stall of a transfer, in seconds",
                        .min = 1,
                        .max = 3600});

    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{url.spec, token_command.spec, timeout.spec};
        return specs;
    }

    static SecretSpec secret() noexcept {
        return {.what = "token",
                .command_option = &token_command,
                .environment_prefix = "KITOVU_TOKEN_",
                .hint = "Moodle shows it under Preferences > Security keys > \"Moodle mobile web "
                        "service\"",
                .server_option = &url};
    }

    MoodlePlugin() = default;

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        std::string site = options.get(url);
        const bool web = site.starts_with("https://") || site.starts_with("http://");
        if (!web || detail::moodle::origin(site).size() <= site.find("://") + 3 ||
            site.find_first_of("?# \t") != std::string::npos)
            return fail({.kind = ErrorKind::config,
                         .message = "option 'url' must be the address of a Moodle site, like "
                                    "https://moodle.example.edu/, not '" +
                                    site + "'",
                         .connection = std::string{connection}});
        if (!site.ends_with('/'))
            site += '/';
        service_.set_site(connection, std::move(site), options.secret(),
                          static_cast<int>(options.get(timeout)));
        return {};
    }

    // Checks the token and learns the user's id (needed to list their courses).
    expected<void, UsageError> connect() override {
        auto site = service_.call("core_webservice_get_site_info", {});
        if (!site)
            return fail(site.error());
        user_id_ = detail::moodle::number(*site, "userid", -1);
        // File URLs are built from the site's own address, which may differ from the configured
        // one (http redirected to https, another host name).
        site_origin_ = detail::moodle::origin(detail::moodle::text(*site, "siteurl"));
        if (user_id_ < 0)
            return fail(service_.error(
                ErrorKind::protocol,
                "the site's answer to core_webservice_get_site_info has no user id"));
        return {};
    }

    // One batch per course. With `remote_dir` "/", a course whose contents Moodle refuses is
    // reported after the others are listed (the run ends with exit 1, nothing of that course is
    // taken for gone); a lost connection or a refused token stops at once.
    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override {
        auto courses = detail::moodle::users_courses(service_, user_id_);
        if (!courses)
            return fail(courses.error());
        std::string_view name = remote_dir;
        while (name.starts_with('/'))
            name.remove_prefix(1);
        while (name.ends_with('/'))
            name.remove_suffix(1);
        // As Moodle shows it; the escaped form a user may have copied from elsewhere also works.
        const std::string wanted = detail::moodle::shown_name(name);

        detail::moodle::CourseFiles files{service_, keep, warn};
        bool found = false;
        std::optional<UsageError> refused; // the courses Moodle refused, in one error
        for (const auto& course : *courses) {
            const std::string title = detail::moodle::course_title(course);
            if (!name.empty() && title != wanted)
                continue;
            found = true;
            const std::string folder =
                name.empty() ? detail::moodle::one_component(title) + '/' : "";
            if (!folder.empty() && !files.kept(folder.substr(0, folder.size() - 1)))
                continue;
            auto listed = files.add_course(course, title, folder);
            if (!listed) {
                const ErrorKind kind = listed.error().kind;
                if (!folder.empty() && kind != ErrorKind::connection &&
                    kind != ErrorKind::authentication) {
                    refused = refused ? combined(*refused, listed.error()) : listed.error();
                    continue;
                }
                return fail(listed.error());
            }
            if (stopping())
                return fail(service_.stopped());
            out(files.entries());
            files.entries().clear();
        }
        if (!found && !name.empty())
            return fail(detail::moodle::unknown_course(service_, name, *courses));
        if (refused)
            return fail(std::move(*refused));
        return {};
    }

    // The user's courses, by the names remote-dir takes (as Moodle shows them). A course is
    // synced whole, laid out by kitovu: there is nothing to browse below one.
    expected<std::vector<BrowseEntry>, UsageError> browse(std::string_view dir) {
        if (!dir.empty())
            return fail(service_.error(ErrorKind::usage,
                                       "a Moodle connection lists courses only: a course is "
                                       "synced whole, with its name as remote-dir",
                                       std::string{dir}));
        auto courses = detail::moodle::users_courses(service_, user_id_);
        if (!courses)
            return fail(courses.error());
        return detail::moodle::course_choices(*courses);
    }

    expected<Retrieved, UsageError> retrieve(const RemoteEntry& entry, ChunkWriter out) override {
        return detail::moodle::download(service_, site_origin_, entry, out);
    }

    // Pages and links have no size in Moodle's answers: their digest is their time alone. A
    // page document's has its own letter, so a page saved as a bare fragment by an older kitovu
    // is saved again as a document.
    std::string remote_digest(const RemoteEntry& entry) const override {
        const char kind = entry.locator.empty() ? '?' : entry.locator.front(); // locator.hpp
        if (kind == detail::moodle::link_kind || kind == detail::moodle::page_kind)
            return "t" + std::to_string(entry.mtime);
        if (kind == detail::moodle::document_kind)
            return "h" + std::to_string(entry.mtime);
        return size_mtime_digest(entry.size, entry.mtime);
    }

  private:
    // Several courses refused under "/": one error naming them all.
    static UsageError combined(UsageError first, const UsageError& next) {
        first.message += "; " + next.path + ": " + next.message;
        return first;
    }

    detail::moodle::Service service_{[this] { return stopping(); }};
    std::int64_t user_id_ = -1;
    std::string site_origin_; // of the siteurl Moodle reports
};

inline const PluginRegistry::Add<MoodlePlugin> moodle_plugin{
    "moodle", "course files from a Moodle site; a source's remote-dir is a course's full name"};

} // namespace kitovu
