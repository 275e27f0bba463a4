// Plugin `moodle`: the files of Moodle courses, read through the site's web services (REST with
// JSON answers) with libcurl. `remote-dir` is a course's full name as Moodle shows it; "/"
// means every course the user is enrolled in, each in a folder of its own. Local layout below
// it (moodle/layout.hpp): `NN - Section name/Module name/filepath/filename`, a subsection's
// modules in `NN - Section name/Subsection name/Module name/...`.
//
//   moodle/http.hpp     libcurl: requests, redirects, time-outs, token masking
//   moodle/answers.hpp  reading Moodle's JSON answers and error objects
//   moodle/layout.hpp   a course's sections and modules -> folders
//   moodle/html.hpp     names as Moodle shows them (entities decoded); the HTML kitovu writes
//
// What is synced: the files of resource, folder and page modules (a page as a small UTF-8 HTML
// document, its embedded files beside it) and url modules (an HTML file that opens the link).
// What is not: modules without files (forums, labels, quizzes...), hidden ones (Moodle does not
// send them) and restricted ones (listed without contents; what was synced from one before is
// kept, like an unlisted folder).
#pragma once

#include "kitovu/plugin/registry.hpp"
#include "kitovu/plugins/moodle/answers.hpp"
#include "kitovu/plugins/moodle/html.hpp"
#include "kitovu/plugins/moodle/http.hpp"
#include "kitovu/plugins/moodle/layout.hpp"

#include <fmt/format.h>

#include <string.h> // explicit_bzero

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
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
    MoodlePlugin(const MoodlePlugin&) = delete;
    MoodlePlugin& operator=(const MoodlePlugin&) = delete;
    ~MoodlePlugin() override { ::explicit_bzero(token_.data(), token_.size()); }

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        connection_ = connection;
        site_ = options.get(url);
        ::explicit_bzero(token_.data(), token_.size());
        token_ = options.secret();
        const auto bad = [&](std::string message) {
            return fail({.kind = ErrorKind::config,
                         .message = std::move(message),
                         .connection = connection_});
        };
        const bool web = site_.starts_with("https://") || site_.starts_with("http://");
        if (!web || detail::moodle::origin(site_).size() <= site_.find("://") + 3 ||
            site_.find_first_of("?# \t") != std::string::npos)
            return bad("option 'url' must be the address of a Moodle site, like "
                       "https://moodle.example.edu/, not '" +
                       site_ + "'");
        if (!site_.ends_with('/'))
            site_ += '/';
        timeout_seconds_ = static_cast<int>(options.get(timeout));
        return {};
    }

    // Checks the token and learns the user's id (needed to list their courses).
    expected<void, UsageError> connect() override {
        auto site = call("core_webservice_get_site_info", {});
        if (!site)
            return fail(site.error());
        user_id_ = detail::moodle::number(*site, "userid", -1);
        // File URLs are built from the site's own address, which may differ from the configured
        // one (http redirected to https, another host name).
        site_origin_ = detail::moodle::origin(detail::moodle::text(*site, "siteurl"));
        if (user_id_ < 0)
            return fail(error(ErrorKind::protocol,
                              "the site's answer to core_webservice_get_site_info has no user id"));
        return {};
    }

    // One batch per course. With `remote_dir` "/", a course whose contents Moodle refuses is
    // reported after the others are listed (the run ends with exit 1, nothing of that course is
    // taken for gone); a lost connection or a refused token stops at once.
    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override {
        auto courses = users_courses();
        if (!courses)
            return fail(courses.error());
        std::string_view name = remote_dir;
        while (name.starts_with('/'))
            name.remove_prefix(1);
        while (name.ends_with('/'))
            name.remove_suffix(1);
        // As Moodle shows it; the escaped form a user may have copied from elsewhere also works.
        const std::string wanted = detail::moodle::shown_name(name);

        std::vector<RemoteEntry> entries;
        Listing listing{keep, warn, entries, {}, {}};
        bool found = false;
        std::optional<UsageError> refused; // the courses Moodle refused, in one error
        for (const auto& course : *courses) {
            const std::string title =
                detail::moodle::shown_name(detail::moodle::text(course, "fullname"));
            if (!name.empty() && title != wanted)
                continue;
            found = true;
            const std::string folder =
                name.empty() ? detail::moodle::one_component(title) + '/' : "";
            if (!folder.empty() && !listing.kept(folder.substr(0, folder.size() - 1)))
                continue;
            auto listed = list_course(course, title, folder, listing);
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
                return fail(error(ErrorKind::cancelled, "stopped"));
            out(entries);
            entries.clear();
        }
        if (!found && !name.empty())
            return fail(unknown_course(name, *courses));
        if (refused)
            return fail(std::move(*refused));
        return {};
    }

    // The user's courses, by the names remote-dir takes (as Moodle shows them). A course is
    // synced whole, laid out by kitovu: there is nothing to browse below one.
    expected<std::vector<BrowseEntry>, UsageError> browse(std::string_view dir) {
        if (!dir.empty())
            return fail(error(ErrorKind::usage,
                              "a Moodle connection lists courses only: a course is synced whole, "
                              "with its name as remote-dir",
                              std::string{dir}));
        auto courses = users_courses();
        if (!courses)
            return fail(courses.error());
        std::vector<BrowseEntry> entries;
        for (const auto& course : *courses) {
            std::string name = detail::moodle::shown_name(detail::moodle::text(course, "fullname"));
            entries.push_back(BrowseEntry{.name = name, .is_folder = true, .title = name});
        }
        return entries;
    }

    expected<Retrieved, UsageError> retrieve(const RemoteEntry& entry, ChunkWriter out) override {
        if (stopping())
            return fail(error(ErrorKind::cancelled, "stopped", entry.path));
        const char kind = entry.locator.empty() ? '?' : entry.locator.front();
        std::string target = entry.locator.size() > 2 ? entry.locator.substr(2) : "";
        std::string document_start; // a page's document around Moodle's fragment
        if (kind == document_kind) {
            const auto newline = std::min(target.find('\n'), target.size());
            document_start = detail::moodle::page_document_start(
                std::string_view{target}.substr(std::min(newline + 1, target.size())));
            target.resize(newline);
        }
        if (kind == link_kind) {
            const std::string page = detail::moodle::link_page(link_title(entry.path), target);
            if (auto written = out(std::as_bytes(std::span{page})); !written)
                return fail(written.error());
            return Retrieved{};
        }
        // The token goes only to the Moodle site itself, never to a host a file URL names.
        const std::string target_origin = detail::moodle::origin(target);
        const bool on_site = target_origin == detail::moodle::origin(site_) ||
                             (!site_origin_.empty() && target_origin == site_origin_);
        std::string url = target;
        if (on_site)
            url += (url.find('?') == std::string::npos ? "?token=" : "&token=") +
                   detail::moodle::form_encode(token_);

        // A JSON answer or an HTTP error is held back (up to a limit): it may be Moodle's error
        // object instead of the file.
        std::string held;
        bool holding = false;
        bool decided = false;
        bool started = false; // the document's start was written
        const auto write = [&](std::span<const std::byte> data) -> expected<void, UsageError> {
            if (!started && !document_start.empty()) {
                started = true;
                if (auto written = out(std::as_bytes(std::span{document_start})); !written)
                    return written;
            }
            return out(data);
        };
        std::optional<UsageError> stopped;
        auto reply = http_.fetch(
            url, nullptr, timeout_seconds_,
            [&](std::span<const std::byte> data, const detail::moodle::Http::Reply& head) {
                if (stopping()) { // between blocks, as the interface asks
                    stopped = error(ErrorKind::cancelled, "stopped", entry.path);
                    return false;
                }
                if (!decided) {
                    decided = true;
                    holding =
                        head.status >= 400 || head.content_type.starts_with("application/json");
                }
                if (holding && held.size() + data.size() <= held_limit) {
                    held.append(reinterpret_cast<const char*>(data.data()), data.size());
                    return true;
                }
                if (holding) { // too long for an error object: it is the file
                    holding = false;
                    if (auto written = write(std::as_bytes(std::span{held})); !written) {
                        stopped = written.error();
                        return false;
                    }
                }
                if (auto written = write(data); !written) {
                    stopped = written.error();
                    return false;
                }
                return true;
            });
        ::explicit_bzero(url.data(), url.size());
        if (stopped)
            return fail(std::move(*stopped));
        if (!reply && stopping())
            return fail(error(ErrorKind::cancelled, "stopped", entry.path));
        if (!reply)
            return fail(unreachable(reply.error(), entry.path));
        if (holding || reply->status >= 400) {
            const auto body = detail::moodle::json::parse(held, nullptr, false);
            if (auto refused = detail::moodle::moodle_error(body))
                return fail(download_error(*refused, entry.path));
            if (reply->status >= 400)
                return fail(error(ErrorKind::protocol,
                                  "Moodle lists this file, but downloading it answers HTTP " +
                                      std::to_string(reply->status),
                                  entry.path));
            if (auto written = write(std::as_bytes(std::span{held})); !written)
                return fail(written.error());
        }
        if (!document_start.empty()) {
            const std::string_view end = detail::moodle::page_document_end();
            if (auto written = write(std::as_bytes(std::span{end})); !written)
                return fail(written.error());
        }
        return Retrieved{};
    }

    // Pages and links have no size in Moodle's answers: their digest is their time alone. A
    // page document's has its own letter, so a page saved as a bare fragment by an older kitovu
    // is saved again as a document.
    std::string remote_digest(const RemoteEntry& entry) const override {
        const char kind = entry.locator.empty() ? '?' : entry.locator.front();
        if (kind == link_kind || kind == page_kind)
            return "t" + std::to_string(entry.mtime);
        if (kind == document_kind)
            return "h" + std::to_string(entry.mtime);
        return size_mtime_digest(entry.size, entry.mtime);
    }

  private:
    static constexpr char file_kind = 'f'; // locator "f URL": a file with a known size
    static constexpr char page_kind = 'p'; // "p URL": a file Moodle gives no size for (a page)
    static constexpr char link_kind = 'u'; // "u URL": a link module, saved as an HTML page
    // "h URL\nTitle": a page module's index.html, a fragment saved inside a document
    static constexpr char document_kind = 'h';
    static constexpr std::size_t held_limit = 64 * 1024;
    static constexpr std::size_t answer_limit = std::size_t{256} << 20;

    struct Listing {
        ListFilter keep;
        WarningSink warn;
        std::vector<RemoteEntry>& entries;
        std::map<std::string, bool, std::less<>> folders{}; // keep() of each folder seen
        std::set<std::string, std::less<>> paths{};

        // Whether the folder `path` and all folders above it are kept.
        bool kept(std::string_view path) {
            if (path.empty())
                return true;
            if (const auto it = folders.find(path); it != folders.end())
                return it->second;
            const auto slash = path.rfind('/');
            const bool result = (slash == std::string_view::npos || kept(path.substr(0, slash))) &&
                                keep(path, true);
            folders.emplace(std::string{path}, result);
            return result;
        }
    };

    using Parameters = std::vector<std::pair<std::string, std::string>>;

    UsageError error(ErrorKind kind, std::string message, std::string path = {}) const {
        return UsageError{kind, std::move(message), connection_, std::move(path), {}};
    }

    UsageError unreachable(const std::string& reason, std::string path = {}) const {
        return error(ErrorKind::connection,
                     "cannot reach " + detail::moodle::origin(site_) + " (" +
                         detail::moodle::mask_token(reason) + ")",
                     std::move(path));
    }

    UsageError bad_token() const {
        return error(ErrorKind::authentication,
                     "Moodle does not accept the token (invalidtoken); get a new one under "
                     "Preferences > Security keys > \"Moodle mobile web service\"");
    }

    // What an error object from a web-service function means, and who can do something.
    UsageError service_error(const detail::moodle::MoodleError& refused,
                             std::string_view function) const {
        const std::string said = refused.message + " (" + refused.code + ")";
        if (refused.code == "invalidtoken")
            return bad_token();
        if (refused.code == "invalidrecord")
            return error(ErrorKind::not_found, std::string{function} + ": not found: " + said);
        if (refused.code == "accessexception")
            return error(ErrorKind::permission,
                         function == "core_webservice_get_site_info"
                             ? "Moodle refuses this token its web services (" + said +
                                   "): the site's mobile web service is switched off, or this "
                                   "user may not use it; a site administrator can switch it on "
                                   "(Site administration > General > Mobile app > Mobile "
                                   "settings) or allow the user's role to use it"
                             : std::string{function} +
                                   ": the site's mobile web service does not offer it to this "
                                   "user (" +
                                   said + "); a site administrator can change that");
        if (refused.code == "errorcoursecontextnotvalid" || refused.code == "requireloginerror")
            return error(ErrorKind::permission,
                         "the course is not available to this user (" + refused.code +
                             "): it is hidden or closed, or the enrolment is not active (yet); "
                             "the course's teacher can tell");
        if (refused.code == "nopermissions" || refused.code == "servicerequireslogin")
            return error(ErrorKind::permission, std::string{function} + ": refused: " + said);
        return error(ErrorKind::protocol, std::string{function} + ": Moodle says: " + said);
    }

    // Several courses refused under "/": one error naming them all.
    static UsageError combined(UsageError first, const UsageError& next) {
        first.message += "; " + next.path + ": " + next.message;
        return first;
    }

    // A redirect of a web-service call: libcurl would repeat it as a GET without the token, and
    // the token must not go to an address the user did not configure, so kitovu stops and says
    // which address to configure (the redirect names the endpoint; the site is what is above).
    UsageError moved(const std::string& location) const {
        constexpr std::string_view endpoint = "webservice/rest/server.php";
        std::string site = detail::moodle::mask_token(location);
        site.resize(std::min(site.find_first_of("?#"), site.size()));
        if (site.ends_with(endpoint))
            site.resize(site.size() - endpoint.size());
        else
            site = detail::moodle::origin(site) + '/';
        return error(ErrorKind::config, "the site answers from " + site + ": set url = \"" + site +
                                            "\" (kitovu does not send the token to "
                                            "another address by itself)");
    }

    // A file Moodle listed but will not send is an error of that file (not "gone": Moodle still
    // lists it), so the run ends with exit 1 and the next run tries again.
    UsageError download_error(const detail::moodle::MoodleError& refused, std::string path) const {
        if (refused.code == "invalidtoken") {
            auto e = bad_token();
            e.path = std::move(path);
            return e;
        }
        return error(ErrorKind::protocol,
                     "Moodle lists this file but does not send it: " + refused.message + " (" +
                         refused.code + ")",
                     std::move(path));
    }

    UsageError unknown_course(std::string_view name, const detail::moodle::json& courses) const {
        std::string names;
        for (const auto& course : courses)
            names += (names.empty() ? "'" : ", '") +
                     detail::moodle::shown_name(detail::moodle::text(course, "fullname")) + "'";
        // A typo in remote-dir, or an enrolment that ended (the engine adds that kitovu keeps
        // what it synced from there).
        const std::string what = "the course '" + std::string{name} +
                                 "' is not, or no longer, among this user's courses (" +
                                 (names.empty() ? "they have none" : names) + ")";
        return error(ErrorKind::not_found,
                     what + ": check remote-dir, or, if the enrolment ended, remove this source "
                            "from the config");
    }

    expected<detail::moodle::json, UsageError> users_courses() {
        auto courses = call("core_enrol_get_users_courses", {{"userid", std::to_string(user_id_)}});
        if (courses && !courses->is_array())
            return fail(error(ErrorKind::protocol,
                              "core_enrol_get_users_courses did not answer with a list"));
        return courses;
    }

    // Calls a web-service function: a POST, so the token is in no URL.
    expected<detail::moodle::json, UsageError> call(std::string_view function,
                                                    const Parameters& parameters) {
        if (stopping())
            return fail(error(ErrorKind::cancelled, "stopped"));
        std::string form = "moodlewsrestformat=json&wsfunction=" + std::string{function} +
                           "&wstoken=" + detail::moodle::form_encode(token_);
        for (const auto& [key, value] : parameters)
            form += '&' + key + '=' + detail::moodle::form_encode(value);
        const std::string endpoint = site_ + "webservice/rest/server.php";
        std::string answer;
        bool too_long = false;
        auto reply = http_.fetch(
            endpoint, &form, timeout_seconds_, [&](std::span<const std::byte> data, const auto&) {
                if (answer.size() + data.size() > answer_limit) {
                    too_long = true;
                    return false;
                }
                answer.append(reinterpret_cast<const char*>(data.data()), data.size());
                return true;
            });
        ::explicit_bzero(form.data(), form.size());
        if (too_long)
            return fail(error(ErrorKind::protocol,
                              std::string{function} + ": the answer is larger than 256 MiB"));
        if (!reply && stopping())
            return fail(error(ErrorKind::cancelled, "stopped"));
        if (!reply)
            return fail(unreachable(reply.error()));
        if (reply->status >= 300 && reply->status < 400 && !reply->location.empty())
            return fail(moved(reply->location));
        if (reply->status == 403 && answer.empty())
            return fail(error(ErrorKind::permission,
                              "the site refuses web-service requests (HTTP 403): web services "
                              "are switched off there; a site administrator can switch them on "
                              "(Site administration > General > Mobile app > Mobile settings > "
                              "Enable web services for mobile devices)"));
        if (reply->status == 404)
            return fail(
                error(ErrorKind::not_found, "no Moodle web services at " + endpoint +
                                                " (HTTP 404): is 'url' the site's address?"));
        auto body = detail::moodle::json::parse(answer, nullptr, false);
        if (body.is_discarded())
            return fail(error(ErrorKind::protocol,
                              std::string{function} + ": the answer of " + endpoint +
                                  " is not JSON (HTTP " + std::to_string(reply->status) +
                                  "): is 'url' the address of a Moodle site with web services "
                                  "enabled?"));
        if (auto refused = detail::moodle::moodle_error(body))
            return fail(service_error(*refused, function));
        if (reply->status >= 400)
            return fail(error(ErrorKind::protocol,
                              std::string{function} + ": HTTP " + std::to_string(reply->status)));
        return body;
    }

    // Lists one course's files below `folder` ("" or "Course name/"); `title` as Moodle shows
    // it. A restricted module is no error: what was synced from it is kept (an unlisted folder).
    expected<void, UsageError> list_course(const detail::moodle::json& course,
                                           const std::string& title, const std::string& folder,
                                           Listing& listing) {
        const std::int64_t id = detail::moodle::number(course, "id", -1);
        auto sections = call("core_course_get_contents", {{"courseid", std::to_string(id)}});
        if (!sections) {
            auto e = sections.error();
            e.path = title; // the course's folder under "/"
            return fail(std::move(e));
        }
        if (!sections->is_array())
            return fail(error(ErrorKind::protocol,
                              "core_course_get_contents did not answer with a list", title));
        for (const auto& placed : detail::moodle::place_modules(*sections, folder)) {
            if (!listing.kept(placed.folder))
                continue;
            if (placed.restricted) {
                listing.warn(
                    Warning{WarningKind::unavailable,
                            "restricted on Moodle" +
                                (placed.restriction.empty() ? std::string{}
                                                            : " (" + placed.restriction + ")") +
                                ": not synced now; what was synced from it is kept",
                            connection_, placed.folder});
                continue;
            }
            for (const auto& content : detail::moodle::array(*placed.module, "contents"))
                add_content(content, placed, listing);
        }
        return {};
    }

    void add_content(const detail::moodle::json& content,
                     const detail::moodle::PlacedModule& module, Listing& listing) const {
        const std::string type = detail::moodle::text(content, "type");
        const std::string url = detail::moodle::text(content, "fileurl");
        std::string name = detail::moodle::text(content, "filename");
        if ((type != "file" && type != "url") || url.empty())
            return; // inline content (book chapters, labels) has no file to fetch
        // filepath and filename are taken as Moodle sends them: the engine refuses any name
        // that would lead outside the target folder, as for every plugin.
        std::string path = detail::moodle::text(content, "filepath");
        while (path.starts_with('/'))
            path.erase(0, 1);
        if (!path.empty() && !path.ends_with('/'))
            path += '/';
        const bool sized = detail::moodle::number(content, "filesize") > 0 ||
                           !detail::moodle::text(content, "mimetype").empty();
        char kind = file_kind;
        std::string locator = url;
        std::string former_name;
        if (type == "url") {
            // Moodle derives this file name from the escaped module name ("Links amp; Tools"):
            // the module's name as Moodle shows it is the better one. Kitovu before 2026-11-30
            // took Moodle's: a file of that name is moved, not fetched again.
            kind = link_kind;
            path.clear();
            former_name = detail::moodle::one_component(name.empty() ? "link" : name);
            if (!former_name.ends_with(".html"))
                former_name += ".html";
            name = detail::moodle::one_component(module.name);
            if (name.empty())
                name = "link";
        } else if (path.empty() && name == "index.html" &&
                   detail::moodle::text(*module.module, "modname") == "page") {
            // A page's text, a fragment of the course page, whatever size Moodle gives it.
            kind = document_kind;
            locator += '\n' + module.name;
        } else if (!sized) {
            kind = page_kind;
        }
        if ((kind == link_kind || kind == page_kind) && !name.ends_with(".html"))
            name = detail::moodle::one_component(name) + ".html";
        const std::string full = module.folder + '/' + path + name;
        if (const auto slash = full.rfind('/'); !listing.kept(full.substr(0, slash)))
            return;
        if (!listing.keep(full, false))
            return;
        if (!listing.paths.insert(full).second) {
            listing.warn(Warning{WarningKind::skipped,
                                 "Moodle lists two files under this name; only the first is synced",
                                 connection_, full});
            return;
        }
        listing.entries.push_back(RemoteEntry{
            .path = full,
            .is_folder = false,
            .size = kind == file_kind ? static_cast<std::uint64_t>(std::max<std::int64_t>(
                                            0, detail::moodle::number(content, "filesize")))
                                      : 0,
            .mtime = detail::moodle::number(content, "timemodified"),
            .locator = std::string{kind} + ' ' + locator,
            .id = kind == link_kind
                      ? "module " + std::to_string(detail::moodle::number(*module.module, "id"))
                      : file_identity(url),
            .fingerprint = kind == file_kind ? file_fingerprint(content, *module.module) : "",
            .former_name = former_name != name ? former_name : ""});
    }

    // What a rename in Moodle's file manager leaves of a file: its module, creation time and
    // size (the URL and timemodified change; a replaced file is created anew).
    static std::string file_fingerprint(const detail::moodle::json& content,
                                        const detail::moodle::json& module) {
        const std::int64_t created = detail::moodle::number(content, "timecreated");
        if (created <= 0)
            return {};
        return fmt::format("module {} {} {}", detail::moodle::number(module, "id"), created,
                           detail::moodle::number(content, "filesize"));
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

    static std::string link_title(std::string_view path) {
        std::string_view name = path.substr(path.rfind('/') + 1);
        if (name.ends_with(".html"))
            name.remove_suffix(5);
        return std::string{name};
    }

    std::string connection_;
    std::string site_;  // ends with '/'
    std::string token_; // cleared on destruction
    int timeout_seconds_ = 30;
    std::int64_t user_id_ = -1;
    std::string site_origin_; // of the siteurl Moodle reports
    detail::moodle::Http http_{[this] { return stopping(); }};
};

inline const PluginRegistry::Add<MoodlePlugin> moodle_plugin{
    "moodle", "course files from a Moodle site; a source's remote-dir is a course's full name"};

} // namespace kitovu
