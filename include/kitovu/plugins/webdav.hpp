// Plugin `webdav`: a folder on a WebDAV server (Nextcloud, ownCloud, SWITCHdrive, sciebo, Apache
// mod_dav, rclone), read with PROPFIND and GET over libcurl; written on the public plugin API
// only (plugin.hpp, registry.hpp, options.hpp), as a plugin outside kitovu would be.
//
//   webdav/address.hpp      percent-encoding, hrefs below a folder, Nextcloud share links
//   webdav/multistatus.hpp  PROPFIND answers read with expat; HTTP dates
//   webdav/transfers.hpp    several requests at once on one libcurl multi handle, time-outs
//
// Listing: PROPFIND Depth 1 per folder, several folders at once over as many connections (on a
// slow link a listing is round trips, not bytes). Digest: the ETag, else size and mtime. Entry
// id: Nextcloud's oc:fileid, so a renamed file is moved, not downloaded again. Redirects are
// never followed: the password goes only to the configured address.
#pragma once

#include "kitovu/plugin/registry.hpp"
#include "kitovu/plugins/webdav/address.hpp"
#include "kitovu/plugins/webdav/multistatus.hpp"
#include "kitovu/plugins/webdav/transfers.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kitovu {

class WebdavPlugin final : public SyncPlugin {
  public:
    static constexpr auto url = string_option(
        {.name = "url",
         .required = true,
         .help = "the WebDAV root (https://cloud.example.org/remote.php/dav/files/USER/) or a "
                 "public share link (https://cloud.example.org/s/TOKEN)",
         .example = "https://cloud.example.org/remote.php/dav/files/alice/"});
    static constexpr auto username =
        string_option({.name = "username",
                       .required = true,
                       .help = "user name (for a public share link: the share's token)",
                       .example = "alice"});
    static constexpr auto password_command =
        string_option({.name = "password-command",
                       .help = "shell command whose first output line is the password",
                       .example = "secret-tool lookup service kitovu user alice"});
    static constexpr auto timeout =
        integer_option({.name = "timeout",
                        .default_value = std::int64_t{30},
                        .help = "connect time-out, and longest stall of a request, in seconds",
                        .min = 1,
                        .max = 3600});

    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{url.spec, username.spec, password_command.spec,
                                          timeout.spec};
        return specs;
    }

    static SecretSpec secret() noexcept {
        return {.what = "password",
                .command_option = &password_command,
                .environment_prefix = "KITOVU_PASSWORD_",
                .hint = "Nextcloud: an app password from Settings > Security",
                .server_option = &url,
                .user_option = &username};
    }

    // Folders listed at once by one instance.
    static constexpr std::size_t parallel_listings = 16;

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        connection_ = connection;
        root_ = options.get(url);
        std::string user = options.get(username);
        const auto bad = [&](std::string message) {
            return fail({.kind = ErrorKind::config,
                         .message = std::move(message),
                         .connection = connection_});
        };
        if ((!root_.starts_with("https://") && !root_.starts_with("http://")) ||
            detail::webdav::origin(root_).size() <= root_.find("://") + 3 ||
            root_.find_first_of("?# \t") != std::string::npos)
            return bad("option 'url' must be a WebDAV address like "
                       "https://cloud.example.org/remote.php/dav/files/alice/, not '" +
                       root_ + "'");
        if (auto share = detail::webdav::share_link(root_)) {
            if (user != share->token)
                return bad("option 'username' must be the share's token '" + share->token +
                           "' for the share link " + root_);
            root_ = std::move(share->root);
        }
        if (!root_.ends_with('/'))
            root_ += '/';
        timeout_ = std::chrono::seconds{options.get(timeout)};
        http_ = std::make_unique<detail::webdav::Transfers>(std::move(user), options.secret(),
                                                            timeout_);
        return {};
    }

    // Logs in: the root answers a PROPFIND of itself (Depth 0) with the password accepted.
    expected<void, UsageError> connect() override {
        const auto started = std::chrono::steady_clock::now();
        auto request = propfind(root_, 0);
        if (!run(request))
            return fail(stopped());
        if (request.status != 207)
            return fail(refusal(request, {}));
        round_trip_ = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - started);
        return {};
    }

    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override {
        if (stopping())
            return fail(stopped());
        const std::string base = detail::webdav::folder_url(root_, remote_dir);
        std::deque<detail::webdav::Request> requests; // stable addresses while they run
        std::vector<std::string> folders{""};         // relative to remote_dir, by index
        std::size_t next = 0;
        for (;;) {
            while (next < folders.size() && http_->running() < parallel_listings) {
                const std::string& folder = folders[next];
                requests.push_back(propfind(
                    folder.empty() ? base : base + detail::webdav::encode_path(folder) + '/', 1));
                requests.back().index = next++;
                http_->start(requests.back());
            }
            detail::webdav::Request* answer = http_->next_done(*this);
            if (answer == nullptr) {
                if (stopping())
                    return fail(stopped());
                return {};
            }
            const std::string folder = folders[answer->index]; // folders grows in read_folder
            auto listed = read_folder(*answer, folder, keep, warn, folders);
            if (!listed)
                return fail(listed.error());
            if (stopping())
                return fail(stopped());
            if (!listed->empty())
                out(*listed);
            *answer = detail::webdav::Request{}; // its memory, not its place
        }
    }

    expected<Retrieved, UsageError> retrieve(const RemoteEntry& entry, ChunkWriter out) override {
        if (stopping())
            return fail(stopped(entry.path));
        detail::webdav::Request request{.method = "GET",
                                        .url = entry.locator.substr(0, entry.locator.find('\n'))};
        request.out = out;
        if (!run(request))
            return fail(stopped(entry.path));
        if (request.out_error)
            return fail(*request.out_error);
        if (request.status < 200 || request.status >= 300 || !request.failure.empty())
            return fail(refusal(request, entry.path));
        // What the answer's headers say of the file as the download started: a change between
        // the listing and then is seen; one during the download is not (HTTP has no cheap way).
        Retrieved seen{.size = request.length};
        if (auto mtime = detail::webdav::http_date(request.last_modified))
            seen.mtime = *mtime;
        return seen;
    }

    std::chrono::microseconds round_trip() const override { return round_trip_; }

    // The ETag where the server sends one (it changes with the content), else size and mtime.
    // The locator carries it: "URL\nETAG".
    std::string remote_digest(const RemoteEntry& entry) const override {
        const auto newline = entry.locator.find('\n');
        if (newline == std::string::npos)
            return SyncPlugin::remote_digest(entry);
        return "etag " + entry.locator.substr(newline + 1);
    }

  protected:
    void interrupt() noexcept override {
        if (http_)
            http_->wake();
    }

  private:
    static detail::webdav::Request propfind(std::string url, int depth) {
        return {.method = "PROPFIND",
                .url = std::move(url),
                .depth = depth,
                .body = R"(<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><d:resourcetype/>
<d:getcontentlength/><d:getlastmodified/><d:getetag/><oc:fileid/><oc:permissions/></d:prop>
</d:propfind>)"};
    }

    // One request on its own; false when stopped.
    bool run(detail::webdav::Request& request) {
        http_->start(request);
        return http_->next_done(*this) != nullptr;
    }

    // A folder's answer: its entries as one batch; its subfolders that `keep` keeps appended to
    // `folders`. A subfolder the server will not list is an `unlisted` warning; the listed
    // folder itself (remote_dir) is an error.
    expected<std::vector<RemoteEntry>, UsageError>
    read_folder(const detail::webdav::Request& answer, const std::string& folder, ListFilter keep,
                WarningSink warn, std::vector<std::string>& folders) {
        const bool top = folder.empty();
        const auto unlisted =
            [&](std::string why) -> expected<std::vector<RemoteEntry>, UsageError> {
            warn(Warning{WarningKind::unlisted, std::move(why), connection_, folder});
            return std::vector<RemoteEntry>{};
        };
        if (answer.status != 207) {
            UsageError e = refusal(answer, folder);
            if (top || e.kind == ErrorKind::authentication || e.kind == ErrorKind::connection ||
                e.kind == ErrorKind::config)
                return fail(std::move(e));
            return unlisted(e.message);
        }
        auto entries = detail::webdav::read_multistatus(answer.text);
        if (!entries)
            return fail(
                error(ErrorKind::protocol, "the server's listing is not valid XML", folder));
        std::vector<RemoteEntry> batch;
        bool self = false, self_tagged = false;
        std::size_t children = 0;
        for (const detail::webdav::DavEntry& dav : *entries) {
            const auto name = detail::webdav::below(answer.url, dav.href);
            if (!name)
                continue;
            if (name->empty()) {
                self = true;
                self_tagged = !dav.etag.empty();
                continue;
            }
            const std::string path = top ? *name : folder + '/' + *name;
            ++children;
            if (dav.status != 200) {
                warn(Warning{WarningKind::skipped,
                             "the server withholds it (" + std::to_string(dav.status) + ")",
                             connection_, path});
                continue;
            }
            if (!keep(path, dav.is_folder))
                continue;
            RemoteEntry entry{.path = path,
                              .is_folder = dav.is_folder,
                              .size = dav.is_folder ? 0 : dav.length.value_or(0),
                              .mtime = dav.mtime.value_or(0),
                              .locator = detail::webdav::origin(root_) +
                                         std::string{detail::webdav::path_of(dav.href)},
                              .id = dav.file_id};
            if (!dav.etag.empty() && !dav.is_folder)
                entry.locator += '\n' + dav.etag;
            if (dav.is_folder)
                folders.push_back(path);
            batch.push_back(std::move(entry));
        }
        if (!self) // not even the folder itself: no listing
            return top ? fail(error(ErrorKind::permission,
                                    "the server's listing does not hold the folder itself", folder))
                       : unlisted("the server's listing does not hold the folder itself");
        // rclone answers a folder it cannot read as an empty one (207, the folder alone) and
        // gives folders no ETag, unlike Apache and Nextcloud: from such a server an empty
        // subfolder keeps what was synced from it, like a withheld one, rather than have its
        // files taken for deleted.
        if (children == 0 && !top && !self_tagged)
            warn(Warning{WarningKind::unavailable,
                         "listed as empty by a server that also lists unreadable folders so; "
                         "what was synced from it is kept",
                         connection_, folder});
        return batch;
    }

    // What an answer other than the one wanted means, for people.
    UsageError refusal(const detail::webdav::Request& answer, const std::string& path) const {
        if (answer.status == 0 || answer.timed_out)
            return error(ErrorKind::connection,
                         "cannot reach " + detail::webdav::origin(root_) + " (" + answer.failure +
                             ")",
                         path);
        // The server answered and then broke the transfer off (rclone does so for a file it
        // cannot read): this file failed, the server is still there for the others.
        if (!answer.failure.empty())
            return error(ErrorKind::protocol,
                         "the server broke the transfer off (" + answer.failure + ")", path);
        const std::string code = " (" + std::to_string(answer.status) + ")";
        switch (answer.status) {
        case 401:
            return error(ErrorKind::authentication,
                         "the server refuses this user name and password" + code);
        case 403: return error(ErrorKind::permission, "access denied" + code, path);
        case 404: return error(ErrorKind::not_found, "not found on the server" + code, path);
        default: break;
        }
        if (answer.status >= 300 && answer.status < 400) {
            std::string moved = answer.location;
            moved.resize(std::min(moved.find_first_of("?#"), moved.size()));
            const std::string asked{detail::webdav::path_of(answer.url)};
            const std::string root_path{detail::webdav::path_of(root_)};
            const std::string below_root = asked.substr(std::min(root_path.size(), asked.size()));
            if (!below_root.empty() && moved.ends_with(below_root))
                moved.resize(moved.size() - below_root.size());
            return error(ErrorKind::config, "the server answers from " + moved + ": set url = \"" +
                                                moved +
                                                "\" (kitovu does not send the password to "
                                                "another address by itself)");
        }
        return error(ErrorKind::protocol, "the server answered " + std::to_string(answer.status),
                     path);
    }

    UsageError error(ErrorKind kind, std::string message, std::string path = {}) const {
        return {.kind = kind,
                .message = std::move(message),
                .connection = connection_,
                .path = std::move(path)};
    }
    UsageError stopped(std::string path = {}) const {
        return error(ErrorKind::cancelled, "stopped", std::move(path));
    }

    std::string connection_;
    std::string root_; // ends with '/'
    std::chrono::seconds timeout_{30};
    std::chrono::microseconds round_trip_{};
    std::unique_ptr<detail::webdav::Transfers> http_;
};

inline const PluginRegistry::Add<WebdavPlugin> webdav_plugin{
    "webdav", "a folder on a WebDAV server (Nextcloud, ownCloud, Apache, rclone)"};

} // namespace kitovu
