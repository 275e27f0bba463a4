// Service: a Moodle site's web services as one user reaches them: the site's address, the token
// (sent in a POST's form only, never in a URL that is shown or logged), function calls, and what
// Moodle's refusals mean in words a student or a site administrator can act on.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/plugins/moodle/answers.hpp"
#include "kitovu/plugins/moodle/http.hpp"

#include <string.h> // explicit_bzero

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kitovu::detail::moodle {

class Service {
  public:
    using Parameters = std::vector<std::pair<std::string, std::string>>;

    // `stopping`: when it says so, a call ends within about a second as ErrorKind::cancelled.
    explicit Service(std::function<bool()> stopping)
        : stopping_(std::move(stopping)), http_{stopping_} {}
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;
    ~Service() { ::explicit_bzero(token_.data(), token_.size()); }

    // `site` ends with '/'.
    void set_site(std::string_view connection, std::string site, const std::string& token,
                  int timeout_seconds) {
        connection_ = connection;
        site_ = std::move(site);
        ::explicit_bzero(token_.data(), token_.size());
        token_ = token;
        timeout_seconds_ = timeout_seconds;
    }

    const std::string& connection() const noexcept { return connection_; }
    const std::string& site() const noexcept { return site_; }
    const std::string& token() const noexcept { return token_; }
    int timeout_seconds() const noexcept { return timeout_seconds_; }
    Http& http() noexcept { return http_; }
    bool stopping() const { return stopping_ && stopping_(); }

    // Calls a web-service function: a POST, so the token is in no URL.
    expected<json, UsageError> call(std::string_view function, const Parameters& parameters) {
        if (stopping())
            return fail(stopped());
        std::string form = "moodlewsrestformat=json&wsfunction=" + std::string{function} +
                           "&wstoken=" + form_encode(token_);
        for (const auto& [key, value] : parameters)
            form += '&' + key + '=' + form_encode(value);
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
            return fail(stopped());
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
        auto body = json::parse(answer, nullptr, false);
        if (body.is_discarded())
            return fail(error(ErrorKind::protocol,
                              std::string{function} + ": the answer of " + endpoint +
                                  " is not JSON (HTTP " + std::to_string(reply->status) +
                                  "): is 'url' the address of a Moodle site with web services "
                                  "enabled?"));
        if (auto refused = moodle_error(body))
            return fail(service_error(*refused, function));
        if (reply->status >= 400)
            return fail(error(ErrorKind::protocol,
                              std::string{function} + ": HTTP " + std::to_string(reply->status)));
        return body;
    }

    UsageError error(ErrorKind kind, std::string message, std::string path = {}) const {
        return UsageError{kind, std::move(message), connection_, std::move(path), {}};
    }
    UsageError stopped(std::string path = {}) const {
        return error(ErrorKind::cancelled, "stopped", std::move(path));
    }

    UsageError unreachable(const std::string& reason, std::string path = {}) const {
        return error(ErrorKind::connection,
                     "cannot reach " + origin(site_) + " (" + mask_token(reason) + ")",
                     std::move(path));
    }

    UsageError bad_token() const {
        UsageError refused = error(ErrorKind::authentication,
                                   "Moodle does not accept the token (invalidtoken); get a new "
                                   "one under Preferences > Security keys > \"Moodle mobile web "
                                   "service\"");
        refused.cause = ErrorCause::token_refused;
        return refused;
    }

  private:
    static constexpr std::size_t answer_limit = std::size_t{256} << 20;

    // What an error object from a web-service function means, and who can do something.
    UsageError service_error(const MoodleError& refused, std::string_view function) const {
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

    // A redirect of a web-service call: libcurl would repeat it as a GET without the token, and
    // the token must not go to an address the user did not configure, so kitovu stops and says
    // which address to configure (the redirect names the endpoint; the site is what is above).
    UsageError moved(const std::string& location) const {
        constexpr std::string_view endpoint = "webservice/rest/server.php";
        std::string site = mask_token(location);
        site.resize(std::min(site.find_first_of("?#"), site.size()));
        if (site.ends_with(endpoint))
            site.resize(site.size() - endpoint.size());
        else
            site = origin(site) + '/';
        return error(ErrorKind::config, "the site answers from " + site + ": set url = \"" + site +
                                            "\" (kitovu does not send the token to "
                                            "another address by itself)");
    }

    std::function<bool()> stopping_;
    std::string connection_;
    std::string site_;  // ends with '/'
    std::string token_; // wiped on destruction
    int timeout_seconds_ = 30;
    Http http_;
};

} // namespace kitovu::detail::moodle
