// One listed Moodle entry fetched: a file from the site (its token only ever to the site itself),
// a page's fragment inside a document of its own, a link as a small page that opens it. Moodle's
// error objects are told from files: an answer that may be one is held back until it is known.
#pragma once

#include "kitovu/plugin/plugin.hpp"
#include "kitovu/plugins/moodle/html.hpp"
#include "kitovu/plugins/moodle/locator.hpp"
#include "kitovu/plugins/moodle/service.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kitovu::detail::moodle {

// The title of a link page: its file name without ".html".
inline std::string link_title(std::string_view path) {
    std::string_view name = path.substr(path.rfind('/') + 1);
    if (name.ends_with(".html"))
        name.remove_suffix(5);
    return std::string{name};
}

// A file Moodle listed but will not send is an error of that file (not "gone": Moodle still
// lists it), so the run ends with exit 1 and the next run tries again.
inline UsageError download_error(const Service& service, const MoodleError& refused,
                                 std::string path) {
    if (refused.code == "invalidtoken") {
        auto e = service.bad_token();
        e.path = std::move(path);
        return e;
    }
    return service.error(ErrorKind::protocol,
                         "Moodle lists this file but does not send it: " + refused.message + " (" +
                             refused.code + ")",
                         std::move(path));
}

// `entry` into `out`. `site_origin`: the origin of the siteurl Moodle reported, which may differ
// from the configured one (http redirected to https, another host name).
inline expected<Retrieved, UsageError> download(Service& service, const std::string& site_origin,
                                                const RemoteEntry& entry, ChunkWriter out) {
    constexpr std::size_t held_limit = 64 * 1024;
    if (service.stopping())
        return fail(service.stopped(entry.path));
    const Locator locator = read_locator(entry.locator);
    if (locator.kind == link_kind) {
        const std::string page = link_page(link_title(entry.path), locator.target);
        if (auto written = out(std::as_bytes(std::span{page})); !written)
            return fail(written.error());
        return Retrieved{};
    }
    const std::string document_start =
        locator.kind == document_kind ? page_document_start(locator.title) : std::string{};
    // The token goes only to the Moodle site itself, never to a host a file URL names.
    const std::string target_origin = origin(locator.target);
    const bool on_site = target_origin == origin(service.site()) ||
                         (!site_origin.empty() && target_origin == site_origin);
    std::string url = locator.target;
    if (on_site)
        url += (url.find('?') == std::string::npos ? "?token=" : "&token=") +
               form_encode(service.token());

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
    auto reply = service.http().fetch(
        url, nullptr, service.timeout_seconds(),
        [&](std::span<const std::byte> data, const Http::Reply& head) {
            if (service.stopping()) { // between blocks, as the interface asks
                stopped = service.stopped(entry.path);
                return false;
            }
            if (!decided) {
                decided = true;
                holding = head.status >= 400 || head.content_type.starts_with("application/json");
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
    if (!reply && service.stopping())
        return fail(service.stopped(entry.path));
    if (!reply)
        return fail(service.unreachable(reply.error(), entry.path));
    if (holding || reply->status >= 400) {
        const auto body = json::parse(held, nullptr, false);
        if (auto refused = moodle_error(body))
            return fail(download_error(service, *refused, entry.path));
        if (reply->status >= 400)
            return fail(service.error(ErrorKind::protocol,
                                      "Moodle lists this file, but downloading it answers HTTP " +
                                          std::to_string(reply->status),
                                      entry.path));
        if (auto written = write(std::as_bytes(std::span{held})); !written)
            return fail(written.error());
    }
    if (!document_start.empty()) {
        const std::string_view end = page_document_end();
        if (auto written = write(std::as_bytes(std::span{end})); !written)
            return fail(written.error());
    }
    return Retrieved{};
}

} // namespace kitovu::detail::moodle
