// HTTP for the webdav plugin: several requests at once over one libcurl multi handle owned by
// one plugin instance (its connections are reused, never shared with another instance), each
// request's stall timed by kitovu itself so that `timeout` holds while connecting, while
// waiting for an answer and while reading one, and a wake-up for stop() that ends a wait at once.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/plugin/plugin.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace kitovu::detail::webdav {

struct Request {
    std::string method; // "PROPFIND", "GET"
    std::string url;
    int depth = -1;                   // the Depth header, if >= 0
    std::string body{};               // sent with PROPFIND
    std::optional<ChunkWriter> out{}; // a GET's bytes go here (a 2xx answer's only), else to text

    // What came back.
    long status = 0;       // 0: no answer (see failure)
    std::string failure{}; // why there was no (complete) answer, for people
    bool timed_out = false;
    std::string text{};     // the body, when not given to `out`
    std::string location{}; // a redirect's target
    std::optional<std::uint64_t> length{};
    std::optional<UsageError> out_error{}; // what `out` refused with
    std::string last_modified{}, etag{};   // headers of the answer
    std::size_t index = 0;                 // the caller's: which request this is

    // Internal.
    CURL* handle = nullptr;
    curl_slist* headers = nullptr;
    curl_off_t moved = -1;
    std::chrono::steady_clock::time_point last_progress{};
    std::array<char, CURL_ERROR_SIZE> message{};
};

class Transfers {
  public:
    // `user` and `password` are sent (Basic) to every request's URL: the caller asks only its
    // configured server, and redirects are never followed.
    Transfers(std::string user, std::string password, std::chrono::seconds timeout)
        : user_(std::move(user)), password_(std::move(password)), timeout_(timeout) {
        static const bool ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
        (void)ready;
        multi_ = curl_multi_init();
    }
    ~Transfers() {
        for (CURL* handle : idle_)
            curl_easy_cleanup(handle);
        if (multi_ != nullptr)
            curl_multi_cleanup(multi_);
        ::explicit_bzero(password_.data(), password_.size());
    }
    Transfers(const Transfers&) = delete;
    Transfers& operator=(const Transfers&) = delete;

    std::size_t running() const noexcept { return running_.size(); }

    // Starts `request`, which must live until next_done() gave it back.
    void start(Request& request) {
        CURL* handle = idle_.empty() ? curl_easy_init() : idle_.back();
        if (!idle_.empty())
            idle_.pop_back();
        curl_easy_reset(handle);
        request.handle = handle;
        request.last_progress = std::chrono::steady_clock::now();
        curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
        curl_easy_setopt(handle, CURLOPT_PRIVATE, &request);
        curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, request.message.data());
        curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(handle, CURLOPT_USERAGENT, "kitovu");
        curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, static_cast<long>(timeout_.count()));
        curl_easy_setopt(handle, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(handle, CURLOPT_USERNAME, user_.c_str());
        curl_easy_setopt(handle, CURLOPT_PASSWORD, password_.c_str());
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &Transfers::receive);
        curl_easy_setopt(handle, CURLOPT_WRITEDATA, &request);
        curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &Transfers::header);
        curl_easy_setopt(handle, CURLOPT_HEADERDATA, &request);
        if (request.depth >= 0)
            request.headers = curl_slist_append(
                request.headers, ("Depth: " + std::to_string(request.depth)).c_str());
        if (!request.body.empty()) {
            request.headers =
                curl_slist_append(request.headers, "Content-Type: application/xml; charset=utf-8");
            curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.c_str());
            curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
            curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        }
        curl_easy_setopt(handle, CURLOPT_HTTPHEADER, request.headers);
        curl_multi_add_handle(multi_, handle);
        running_.push_back(&request);
    }

    // Waits until a started request ends and gives it back; nothing when none runs, or when
    // `stopping` says so (every request is then abandoned).
    Request* next_done(const SyncPlugin& plugin) {
        while (!running_.empty()) {
            if (plugin.stopping()) {
                while (!running_.empty())
                    finish(*running_.back());
                return nullptr;
            }
            int still = 0;
            curl_multi_perform(multi_, &still);
            int left = 0;
            while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
                if (message->msg != CURLMSG_DONE)
                    continue;
                Request* request = nullptr;
                curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &request);
                done(*request, message->data.result);
                return request;
            }
            const auto now = std::chrono::steady_clock::now();
            for (Request* request : running_) {
                curl_off_t down = 0, up = 0;
                curl_easy_getinfo(request->handle, CURLINFO_SIZE_DOWNLOAD_T, &down);
                curl_easy_getinfo(request->handle, CURLINFO_SIZE_UPLOAD_T, &up);
                if (down + up != request->moved) {
                    request->moved = down + up;
                    request->last_progress = now;
                } else if (now - request->last_progress > timeout_) {
                    request->timed_out = true;
                    request->failure = "no answer within " + std::to_string(timeout_.count()) +
                                       " s (option timeout)";
                    finish(*request);
                    return request;
                }
            }
            curl_multi_poll(multi_, nullptr, 0, 250, nullptr);
        }
        return nullptr;
    }

    // From stop(), on another thread: ends next_done()'s wait at once.
    void wake() noexcept {
        if (multi_ != nullptr)
            curl_multi_wakeup(multi_);
    }

  private:
    void done(Request& request, CURLcode result) {
        curl_easy_getinfo(request.handle, CURLINFO_RESPONSE_CODE, &request.status);
        if (result != CURLE_OK && !request.out_error) {
            request.failure = *request.message.data() != '\0'
                                  ? std::string{request.message.data()}
                                  : std::string{curl_easy_strerror(result)};
            if (result == CURLE_OPERATION_TIMEDOUT) {
                request.timed_out = true;
                request.failure =
                    "no answer within " + std::to_string(timeout_.count()) + " s (option timeout)";
            }
        }
        const char* location = nullptr;
        if (curl_easy_getinfo(request.handle, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
            location != nullptr)
            request.location = location;
        finish(request);
    }

    void finish(Request& request) {
        curl_multi_remove_handle(multi_, request.handle);
        curl_easy_setopt(request.handle, CURLOPT_POSTFIELDS, nullptr);
        curl_easy_setopt(request.handle, CURLOPT_HTTPHEADER, nullptr);
        idle_.push_back(request.handle);
        request.handle = nullptr;
        curl_slist_free_all(request.headers);
        request.headers = nullptr;
        std::erase(running_, &request);
    }

    static std::size_t receive(char* data, std::size_t size, std::size_t count, void* user) {
        auto& request = *static_cast<Request*>(user);
        const std::size_t bytes = size * count;
        long status = 0;
        curl_easy_getinfo(request.handle, CURLINFO_RESPONSE_CODE, &status);
        if (request.out && status >= 200 && status < 300) {
            auto written =
                (*request.out)(std::span{reinterpret_cast<const std::byte*>(data), bytes});
            if (!written) {
                request.out_error = written.error();
                return CURL_WRITEFUNC_ERROR;
            }
            return bytes;
        }
        if (request.text.size() < 256 * 1024 * 1024) // a listing of a huge folder, not more
            request.text.append(data, bytes);
        return bytes;
    }

    // Headers of the final answer (an earlier 100 Continue's are replaced).
    static std::size_t header(char* data, std::size_t size, std::size_t count, void* user) {
        auto& request = *static_cast<Request*>(user);
        const std::string_view line{data, size * count};
        const auto value = [&](std::string_view name) -> std::optional<std::string> {
            if (line.size() <= name.size() ||
                !std::ranges::equal(line.substr(0, name.size()), name, [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) == b;
                }))
                return std::nullopt;
            std::string text{line.substr(name.size())};
            while (!text.empty() && (text.back() == '\r' || text.back() == '\n'))
                text.pop_back();
            while (!text.empty() && text.front() == ' ')
                text.erase(0, 1);
            return text;
        };
        if (line.starts_with("HTTP/")) {
            request.length.reset();
            request.last_modified.clear();
            request.etag.clear();
        } else if (auto length = value("content-length:")) {
            try {
                request.length = std::stoull(*length);
            } catch (...) {
                request.length.reset();
            }
        } else if (auto modified = value("last-modified:")) {
            request.last_modified = *modified;
        } else if (auto etag = value("etag:")) {
            request.etag = *etag;
        }
        return size * count;
    }

    std::string user_, password_;
    std::chrono::seconds timeout_;
    CURLM* multi_ = nullptr;
    std::vector<CURL*> idle_;
    std::vector<Request*> running_;
};

} // namespace kitovu::detail::webdav
