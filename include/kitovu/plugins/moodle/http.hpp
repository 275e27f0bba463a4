// HTTP for the moodle plugin: one libcurl handle per plugin instance, URL helpers, and the
// masking that keeps the token out of anything shown.
#pragma once

#include "kitovu/expected.hpp"
#include "kitovu/function_ref.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace kitovu::detail::moodle {

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
    // `stopping`: when it says so, a transfer ends within about a second (libcurl asks that
    // often), as "stopped".
    explicit Http(std::function<bool()> stopping = {}) : stopping_(std::move(stopping)) {
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
        std::string location; // where a redirect that was not followed points
    };
    // Receives the body; returns false to stop the transfer.
    using BodySink = FunctionRef<bool(std::span<const std::byte> data, const Reply& head)>;

    // GET `url`, or POST `form` to it when given. On failure: libcurl's reason, for people.
    // A GET follows redirects (a file may be served from elsewhere; its token is in the first
    // URL only). A POST does not: libcurl would repeat it as a GET without the form on 301, 302
    // and 303, and the form holds the token, which goes to the configured site only; the caller
    // reads Reply::location instead.
    expected<Reply, std::string> fetch(const std::string& url, const std::string* form,
                                       int timeout_seconds, BodySink body) {
        if (handle_ == nullptr)
            return unexpected{std::string{"cannot start libcurl"}};
        curl_easy_reset(handle_);
        std::array<char, CURL_ERROR_SIZE> message{};
        Transfer transfer{handle_, body, {}};
        transfer.stopping = &stopping_;
        transfer.stall_limit = std::chrono::seconds{timeout_seconds};
        transfer.last_progress = std::chrono::steady_clock::now();
        curl_easy_setopt(handle_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, message.data());
        curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L); // several threads download at once
        curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(handle_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(handle_, CURLOPT_FOLLOWLOCATION, form == nullptr ? 1L : 0L);
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
        if (transfer.cancelled)
            return unexpected{std::string{"stopped"}};
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
        bool cancelled = false;
        const std::function<bool()>* stopping = nullptr;
        std::chrono::seconds stall_limit{30};
        std::chrono::steady_clock::time_point last_progress{};
        curl_off_t last_bytes = 0;
    };

    // Ends the transfer when no byte moved either way for the time-out.
    static int check_stall(void* user, curl_off_t /*download_total*/, curl_off_t downloaded,
                           curl_off_t /*upload_total*/, curl_off_t uploaded) {
        auto& transfer = *static_cast<Transfer*>(user);
        if (*transfer.stopping && (*transfer.stopping)()) {
            transfer.cancelled = true;
            return 1;
        }
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
        const char* location = nullptr;
        if (curl_easy_getinfo(handle, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
            location != nullptr)
            reply.location = location;
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
    std::function<bool()> stopping_;
};

} // namespace kitovu::detail::moodle
