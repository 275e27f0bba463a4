// Plugin `moodle`: the files of Moodle courses, read through the site's web services (REST with
// JSON answers) with libcurl. `remote-dir` is a course's full name; "/" means every course the
// user is enrolled in, each in a folder of its own. Local layout below it:
// `NN - Section name/Module name/filepath/filename`.
#pragma once

#include "kitovu/registry.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <string.h> // explicit_bzero

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu {

namespace detail::moodle {

using json = nlohmann::json;

// libcurl's process-wide setup, once, before the first handle.
inline void init_curl() {
    static const bool done = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    (void)done;
}

// Replaces the value of every `token=` and `wstoken=` parameter with ***, so a URL can be shown.
inline std::string mask_token(std::string text) {
    constexpr std::string_view key = "token=";
    for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
        const std::size_t start = at + key.size();
        const std::size_t end = std::min(text.find_first_of("&# \"'\n", start), text.size());
        text.replace(start, end - start, "***");
        at = start + 3;
    }
    return text;
}

// application/x-www-form-urlencoded, for POST bodies and query parameters.
inline std::string form_encode(std::string_view text) {
    constexpr std::string_view hex = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 && byte < 0x80)
            out += c;
        else if (c == '-' || c == '.' || c == '_' || c == '~')
            out += c;
        else {
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        }
    }
    return out;
}

// Moodle's JSON is read defensively: a missing key or another type gives the empty value.
inline std::string text(const json& object, std::string_view key) {
    if (!object.is_object())
        return {};
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

inline std::int64_t number(const json& object, std::string_view key, std::int64_t otherwise = 0) {
    if (!object.is_object())
        return otherwise;
    const auto it = object.find(key);
    if (it == object.end())
        return otherwise;
    if (it->is_number_integer())
        return it->get<std::int64_t>();
    if (it->is_number_float())
        return static_cast<std::int64_t>(it->get<double>());
    if (it->is_string()) { // some Moodle versions send numbers as strings
        const std::string s = it->get<std::string>();
        std::int64_t value = 0;
        const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
        return error == std::errc{} && end == s.data() + s.size() ? value : otherwise;
    }
    return otherwise;
}

inline bool flag(const json& object, std::string_view key, bool otherwise) {
    if (!object.is_object())
        return otherwise;
    const auto it = object.find(key);
    if (it == object.end())
        return otherwise;
    if (it->is_boolean())
        return it->get<bool>();
    if (it->is_number())
        return it->get<double>() != 0;
    return otherwise;
}

inline const json& array(const json& object, std::string_view key) {
    static const json empty = json::array();
    if (!object.is_object())
        return empty;
    const auto it = object.find(key);
    return it != object.end() && it->is_array() ? *it : empty;
}

// Moodle reports errors as HTTP 200 with a JSON object: {"exception", "errorcode", "message"}
// from web services, {"error", "errorcode"} from file downloads.
struct MoodleError {
    std::string code;
    std::string message;
};

inline std::optional<MoodleError> moodle_error(const json& body) {
    if (!body.is_object() || !body.contains("errorcode") ||
        (!body.contains("exception") && !body.contains("error")))
        return std::nullopt;
    std::string message = text(body, "message");
    if (message.empty())
        message = text(body, "error");
    return MoodleError{text(body, "errorcode"), message};
}

// One name component from a Moodle title (section, module, course): it may hold '/'.
inline std::string one_name(std::string_view title) {
    std::string out{title};
    std::ranges::replace(out, '/', '_');
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

// The scheme, host and port of an http(s) URL, lower-cased: "https://moodle.example.edu:443".
inline std::string origin(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos)
        return {};
    const auto host_end = url.find_first_of("/?#", scheme_end + 3);
    std::string out{url.substr(0, host_end)};
    std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// One libcurl handle; kept for the plugin instance's life so connections are reused.
class Http {
  public:
    Http() {
        init_curl();
        handle_ = curl_easy_init();
    }
    ~Http() {
        if (handle_ != nullptr)
            curl_easy_cleanup(handle_);
    }
    Http(const Http&) = delete;
    Http& operator=(const Http&) = delete;

    struct Reply {
        long status = 0;
        std::string content_type;
    };
    // Receives the body; returns false to stop the transfer.
    using BodySink = detail::FunctionRef<bool(std::span<const std::byte> data, const Reply& head)>;

    // GET `url`, or POST `form` to it when given. On failure: libcurl's reason, for people.
    expected<Reply, std::string> fetch(const std::string& url, const std::string* form,
                                       int timeout_seconds, BodySink body) {
        if (handle_ == nullptr)
            return unexpected{std::string{"cannot start libcurl"}};
        curl_easy_reset(handle_);
        std::array<char, CURL_ERROR_SIZE> message{};
        Transfer transfer{handle_, body, {}};
        transfer.stall_limit = std::chrono::seconds{timeout_seconds};
        transfer.last_progress = std::chrono::steady_clock::now();
        curl_easy_setopt(handle_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, message.data());
        curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L); // several threads download at once
        curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(handle_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(handle_, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(handle_, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(handle_, CURLOPT_USERAGENT, "kitovu");
        curl_easy_setopt(handle_, CURLOPT_CONNECTTIMEOUT, static_cast<long>(timeout_seconds));
        // A stalled transfer, not a long one, is a time-out: large files may take their time.
        // (libcurl's low-speed limit does not cover the wait for an answer, hence a check of our
        // own, which libcurl calls about once a second.)
        curl_easy_setopt(handle_, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(handle_, CURLOPT_XFERINFOFUNCTION, &Http::check_stall);
        curl_easy_setopt(handle_, CURLOPT_XFERINFODATA, &transfer);
        curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &Http::receive);
        curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &transfer);
        if (form != nullptr) {
            curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, form->c_str());
            curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE, static_cast<long>(form->size()));
            curl_easy_setopt(handle_, CURLOPT_ACCEPT_ENCODING, ""); // JSON compresses well
        }
        const CURLcode result = curl_easy_perform(handle_);
        // libcurl's copy of the POST body (it holds the token) is not kept past the call.
        curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, nullptr);
        if (result == CURLE_WRITE_ERROR && transfer.stopped)
            return transfer.reply; // the sink stopped it and knows why
        if (transfer.stalled)
            return unexpected{reason(CURLE_OPERATION_TIMEDOUT, "", timeout_seconds)};
        if (result != CURLE_OK)
            return unexpected{reason(result, message.data(), timeout_seconds)};
        read_head(handle_, transfer.reply);
        return transfer.reply;
    }

  private:
    struct Transfer {
        CURL* handle;
        BodySink sink;
        Reply reply;
        bool head_read = false;
        bool stopped = false;
        bool stalled = false;
        std::chrono::seconds stall_limit{30};
        std::chrono::steady_clock::time_point last_progress{};
        curl_off_t last_bytes = 0;
    };

    // Ends the transfer when no byte moved either way for the time-out.
    static int check_stall(void* user, curl_off_t /*download_total*/, curl_off_t downloaded,
                           curl_off_t /*upload_total*/, curl_off_t uploaded) {
        auto& transfer = *static_cast<Transfer*>(user);
        const auto now = std::chrono::steady_clock::now();
        if (downloaded + uploaded != transfer.last_bytes) {
            transfer.last_bytes = downloaded + uploaded;
            transfer.last_progress = now;
            return 0;
        }
        transfer.stalled = now - transfer.last_progress > transfer.stall_limit;
        return transfer.stalled ? 1 : 0;
    }

    static void read_head(CURL* handle, Reply& reply) {
        curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply.status);
        const char* type = nullptr;
        if (curl_easy_getinfo(handle, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr)
            reply.content_type = type;
    }

    static std::size_t receive(char* data, std::size_t size, std::size_t count, void* user) {
        auto& transfer = *static_cast<Transfer*>(user);
        if (!transfer.head_read) {
            read_head(transfer.handle, transfer.reply);
            transfer.head_read = true;
        }
        const std::size_t bytes = size * count;
        if (!transfer.sink(std::span{reinterpret_cast<const std::byte*>(data), bytes},
                           transfer.reply)) {
            transfer.stopped = true;
            return 0;
        }
        return bytes;
    }

    static std::string reason(CURLcode code, const char* detail, int timeout_seconds) {
        switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST: return "host not found";
        case CURLE_COULDNT_CONNECT: return "connection refused";
        case CURLE_OPERATION_TIMEDOUT:
            return "no answer within " + std::to_string(timeout_seconds) + " s";
        case CURLE_PEER_FAILED_VERIFICATION:
            return "its TLS certificate is not trusted (" + std::string{detail} + ")";
        case CURLE_SSL_CONNECT_ERROR: return "TLS failed (" + std::string{detail} + ")";
        case CURLE_TOO_MANY_REDIRECTS: return "too many redirects";
        case CURLE_UNSUPPORTED_PROTOCOL:
            return "a redirect to something other than http or https was refused";
        default:
            return *detail != '\0' ? std::string{detail} : std::string{curl_easy_strerror(code)};
        }
    }

    CURL* handle_ = nullptr;
};

} // namespace detail::moodle

class MoodlePlugin final : public SyncPlugin {
  public:
    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{
            OptionSpec{.name = "url",
                       .type = OptionType::string,
                       .required = true,
                       .help = "address of the Moodle site, e.g. https://moodle.example.edu/"},
            OptionSpec{.name = "token-command",
                       .type = OptionType::string,
                       .help = "shell command whose first output line is the web-service token"},
            OptionSpec{.name = "timeout",
                       .type = OptionType::integer,
                       .default_value = std::int64_t{30},
                       .help = "connect time-out, and longest stall of a transfer, in seconds",
                       .min = 1,
                       .max = 3600},
        };
        return specs;
    }

    static SecretSpec secret() noexcept {
        return {.what = "token",
                .command_option = "token-command",
                .environment_prefix = "KITOVU_TOKEN_",
                .hint = "Moodle shows it under Preferences > Security keys > \"Moodle mobile web "
                        "service\"",
                .server_option = "url"};
    }

    MoodlePlugin() = default;
    MoodlePlugin(const MoodlePlugin&) = delete;
    MoodlePlugin& operator=(const MoodlePlugin&) = delete;
    ~MoodlePlugin() override { ::explicit_bzero(token_.data(), token_.size()); }

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        connection_ = connection;
        site_ = options.string("url");
        ::explicit_bzero(token_.data(), token_.size());
        token_ = options.secret();
        const auto bad = [&](std::string message) {
            return fail(ErrorKind::config, std::move(message), {}, connection_);
        };
        const bool web = site_.starts_with("https://") || site_.starts_with("http://");
        if (!web || detail::moodle::origin(site_).size() <= site_.find("://") + 3 ||
            site_.find_first_of("?# \t") != std::string::npos)
            return bad("option 'url' must be the address of a Moodle site, like "
                       "https://moodle.example.edu/, not '" +
                       site_ + "'");
        if (!site_.ends_with('/'))
            site_ += '/';
        const std::int64_t timeout = options.has("timeout") ? options.integer("timeout") : 30;
        if (timeout < 1 || timeout > 3600)
            return bad("option 'timeout' must be between 1 and 3600 seconds");
        timeout_seconds_ = static_cast<int>(timeout);
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

    // One batch at the end: the courses' folders are all directly in `remote_dir` "/".
    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override {
        auto courses = call("core_enrol_get_users_courses", {{"userid", std::to_string(user_id_)}});
        if (!courses)
            return fail(courses.error());
        if (!courses->is_array())
            return fail(error(ErrorKind::protocol,
                              "core_enrol_get_users_courses did not answer with a list"));
        std::string_view name = remote_dir;
        while (name.starts_with('/'))
            name.remove_prefix(1);
        while (name.ends_with('/'))
            name.remove_suffix(1);

        std::vector<RemoteEntry> entries;
        Listing listing{keep, warn, entries, {}, {}};
        bool found = false;
        for (const auto& course : *courses) {
            const std::string title = detail::moodle::text(course, "fullname");
            if (!name.empty() && title != name)
                continue;
            found = true;
            const std::string folder = name.empty() ? detail::moodle::one_name(title) + '/' : "";
            if (!folder.empty() && !listing.kept(folder.substr(0, folder.size() - 1)))
                continue;
            auto listed = list_course(course, folder, listing);
            if (!listed)
                return fail(listed.error());
        }
        if (!found && !name.empty())
            return fail(unknown_course(name, *courses));
        out(entries);
        return {};
    }

    expected<std::optional<std::int64_t>, UsageError> retrieve(const RemoteEntry& entry,
                                                               ChunkWriter out) override {
        const char kind = entry.locator.empty() ? '?' : entry.locator.front();
        const std::string target = entry.locator.size() > 2 ? entry.locator.substr(2) : "";
        if (kind == link_kind) {
            const std::string page = detail::moodle::link_page(link_title(entry.path), target);
            if (auto written = out(std::as_bytes(std::span{page})); !written)
                return fail(written.error());
            return std::nullopt;
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
        std::optional<UsageError> stopped;
        auto reply = http_.fetch(
            url, nullptr, timeout_seconds_,
            [&](std::span<const std::byte> data, const detail::moodle::Http::Reply& head) {
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
                    if (auto written = out(std::as_bytes(std::span{held})); !written) {
                        stopped = written.error();
                        return false;
                    }
                }
                if (auto written = out(data); !written) {
                    stopped = written.error();
                    return false;
                }
                return true;
            });
        ::explicit_bzero(url.data(), url.size());
        if (stopped)
            return fail(std::move(*stopped));
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
            if (auto written = out(std::as_bytes(std::span{held})); !written)
                return fail(written.error());
        }
        return std::nullopt;
    }

    // Pages and links have no size in Moodle's answers: their digest is their time alone.
    std::string remote_digest(const RemoteEntry& entry) const override {
        if (!entry.locator.empty() &&
            (entry.locator.front() == link_kind || entry.locator.front() == page_kind))
            return "t" + std::to_string(entry.mtime);
        return size_mtime_digest(entry.size, entry.mtime);
    }

  private:
    static constexpr char file_kind = 'f'; // locator "f URL": a file with a known size
    static constexpr char page_kind = 'p'; // "p URL": a file Moodle gives no size for (a page)
    static constexpr char link_kind = 'u'; // "u URL": a link module, saved as an HTML page
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

    // What an error object from a web-service function means.
    UsageError service_error(const detail::moodle::MoodleError& refused,
                             std::string_view function) const {
        const std::string said = refused.message + " (" + refused.code + ")";
        if (refused.code == "invalidtoken")
            return bad_token();
        if (refused.code == "invalidrecord")
            return error(ErrorKind::not_found, std::string{function} + ": not found: " + said);
        if (refused.code == "requireloginerror" || refused.code == "nopermissions" ||
            refused.code == "accessexception" || refused.code == "servicerequireslogin")
            return error(ErrorKind::permission, std::string{function} + ": refused: " + said);
        return error(ErrorKind::protocol, std::string{function} + ": Moodle says: " + said);
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
            names += (names.empty() ? "'" : ", '") + detail::moodle::text(course, "fullname") + "'";
        if (names.empty())
            return error(ErrorKind::not_found, "no course named '" + std::string{name} +
                                                   "': this user is not enrolled in any course");
        return error(ErrorKind::not_found, "no course named '" + std::string{name} +
                                               "' among this user's courses: " + names);
    }

    // Calls a web-service function: a POST, so the token is in no URL.
    expected<detail::moodle::json, UsageError> call(std::string_view function,
                                                    const Parameters& parameters) {
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
        if (!reply)
            return fail(unreachable(reply.error()));
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

    // Lists one course's files below `folder` ("" or "Course name/").
    expected<void, UsageError> list_course(const detail::moodle::json& course,
                                           const std::string& folder, Listing& listing) {
        const std::int64_t id = detail::moodle::number(course, "id", -1);
        auto sections = call("core_course_get_contents", {{"courseid", std::to_string(id)}});
        if (!sections)
            return fail(sections.error());
        if (!sections->is_array())
            return fail(error(ErrorKind::protocol,
                              "core_course_get_contents did not answer with a list",
                              detail::moodle::text(course, "fullname")));
        for (const auto& section : *sections) {
            if (!detail::moodle::flag(section, "uservisible", true))
                continue;
            const std::int64_t number = detail::moodle::number(section, "section");
            std::string title = detail::moodle::text(section, "name");
            if (title.empty())
                title = number == 0 ? "General" : "Section " + std::to_string(number);
            const std::string section_folder =
                folder + fmt::format("{:02} - {}", number, detail::moodle::one_name(title));
            if (!listing.kept(section_folder))
                continue;
            std::map<std::string, int, std::less<>> module_names; // same names get " (2)", ...
            for (const auto& module : detail::moodle::array(section, "modules")) {
                const auto& contents = detail::moodle::array(module, "contents");
                if (contents.empty() || !detail::moodle::flag(module, "uservisible", true))
                    continue;
                std::string module_name =
                    detail::moodle::one_name(detail::moodle::text(module, "name"));
                if (const int seen = ++module_names[module_name]; seen > 1)
                    module_name += " (" + std::to_string(seen) + ")";
                const std::string module_folder = section_folder + '/' + module_name;
                if (!listing.kept(module_folder))
                    continue;
                for (const auto& content : contents)
                    add_content(content, module_folder, listing);
            }
        }
        return {};
    }

    void add_content(const detail::moodle::json& content, const std::string& module_folder,
                     Listing& listing) const {
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
        if (type == "url") {
            kind = link_kind;
            path.clear();
            if (name.empty())
                name = "link";
        } else if (!sized) {
            kind = page_kind;
        }
        if (kind != file_kind && !name.ends_with(".html"))
            name = detail::moodle::one_name(name) + ".html";
        const std::string full = module_folder + '/' + path + name;
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
            .locator = std::string{kind} + ' ' + url});
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
    detail::moodle::Http http_;
};

inline const PluginRegistry::Add<MoodlePlugin> moodle_plugin{
    "moodle", "course files from a Moodle site's web services"};

} // namespace kitovu
