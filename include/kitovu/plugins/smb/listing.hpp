// How the smb plugin lists a tree: here until it fans out, then in listing processes; each
// folder once, however many links lead to it. Part of SmbPlugin (plugins/smb.hpp).
#pragma once

#include "kitovu/plugins/smb.hpp"

namespace kitovu {

namespace detail::smb {

// A file's id: its creation time in nanoseconds, or 0. It comes with readdirplus at no cost (the
// server's file id would cost a readdirplus2 per file, see read_folder) and survives renames,
// moves and rewrites; a file deleted and uploaded again is born anew, where a reused inode would
// not be. Samba keeps the creation time of a file made through SMB; for one written into the
// share on the server it shows the earliest of the file's times, which a rewrite changes (such a
// file is then followed by name and digest, or its unchanged times).
inline std::uint64_t birth_id(const libsmb_file_info& file) {
    if (file.btime_ts.tv_sec <= 0)
        return 0;
    return static_cast<std::uint64_t>(file.btime_ts.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(file.btime_ts.tv_nsec);
}

// The round trip a folder's listing shows: opendir and reading it take about four (create, two
// directory queries, close), and each entry costs some CPU besides (a few microseconds on this
// class of machine, server and client together), which is taken off first so that a large folder
// on loopback does not pass for a slow link.
constexpr std::chrono::microseconds round_trip_of_listing(std::chrono::microseconds took,
                                                          std::size_t entries) {
    const auto cpu = std::chrono::microseconds{5} * static_cast<std::int64_t>(entries);
    return took > cpu ? (took - cpu) / 4 : std::chrono::microseconds{};
}

// The round trip a login shows where it is clearly slow, else zero (the first listing tells).
// A login takes eleven round trips (negotiate, two session setups, libsmbclient's check for a
// DFS proxy share (three), tree connect, reading the share's attributes (three) and the name it
// asks for; over a real link the TCP handshake too), and up to some tens of milliseconds of CPU
// on both sides when the machine is busy (taken off first): only a round trip of 5 ms or more
// stands out from that.
constexpr std::chrono::microseconds round_trip_of_login(std::chrono::microseconds took) {
    constexpr std::chrono::microseconds cpu{35000};
    const auto round_trip = took > cpu ? (took - cpu) / 11 : std::chrono::microseconds{};
    return round_trip >= std::chrono::microseconds{5000} ? round_trip : std::chrono::microseconds{};
}

} // namespace detail::smb

// Lists here until the tree fans out, then in parallel in listing processes (see
// start_helper): libsmbclient spends much CPU per folder, and one process has one lock.
// Each folder goes to `out` as soon as it is read, never under the library lock (the
// engine may wait there for its download workers, which need the lock in-process).
inline expected<void, UsageError> SmbPlugin::list(std::string_view remote_dir, ListFilter keep,
                                                  WarningSink warn, ListSink out) {
    if (context_ == nullptr) // it went to a download process: log in again
        if (auto connected = log_in(); !connected)
            return fail(connected.error());
    if (auto usable = ready(); !usable)
        return fail(usable.error());
    const std::string base{detail::smb::trim_slashes(remote_dir)};
    std::vector<RemoteEntry> entries;
    std::deque<std::string> pending{std::string{}}; // folders to list, relative to base

    // Samba follows symbolic links and shows a link to a folder as a plain folder, so
    // `up -> ..` or `current -> .` would make an endless tree. Every folder is listed once:
    // a folder whose server file id was listed before (under another path) is skipped. The
    // depth bound catches servers that give no ids.
    std::unordered_map<std::uint64_t, std::string> listed_ids; // file id -> first path
    const auto take = [&](const std::string& folder, std::vector<Item>& items) {
        for (Item& item : items) {
            if (item.name == ".") {
                if (item.id != 0)
                    listed_ids.try_emplace(item.id, folder);
                continue;
            }
            std::string path = detail::smb::join(folder, item.name);
            const auto skip = [&](std::string why) {
                warn(Warning{WarningKind::skipped, std::move(why), connection_,
                             detail::smb::join(base, path)});
            };
            if (item.is_folder && item.is_link) {
                // A junction or folder link could loop or lead out of the share.
                skip("link to a folder skipped");
                continue;
            }
            if (!keep(path, item.is_folder))
                continue;
            if (item.is_folder && item.id != 0) {
                const auto [first, fresh] = listed_ids.try_emplace(item.id, path);
                if (!fresh) {
                    skip("the same folder as '" + detail::smb::join(base, first->second) +
                         "' (a link to it), skipped: it is synced once");
                    continue;
                }
            }
            if (item.is_folder && folder_depth(path) > max_depth) {
                skip("more than " + std::to_string(max_depth) +
                     " folders deep (a loop of links?), skipped");
                continue;
            }
            entries.push_back(RemoteEntry{.path = path,
                                          .is_folder = item.is_folder,
                                          .size = item.is_folder ? 0 : item.size,
                                          .mtime = item.is_folder ? 0 : item.mtime,
                                          .mtime_nsec = item.is_folder ? 0u : item.mtime_nsec,
                                          .locator = detail::smb::join(base, path),
                                          .id = item.is_folder || item.id == 0
                                                    ? std::string{}
                                                    : "b" + std::to_string(item.id)});
            if (item.is_folder)
                pending.push_back(std::move(path));
        }
        out(entries);
        entries.clear();
    };
    // A lost connection makes the whole listing unreliable; an unreadable subfolder is
    // skipped.
    const auto failed = [&](const std::string& folder,
                            UsageError error) -> std::optional<UsageError> {
        if (folder.empty() || error.kind == ErrorKind::connection)
            return error;
        warn(Warning{WarningKind::unlisted, error.message + ", skipped", connection_, folder});
        return std::nullopt;
    };

    using detail::smb::Message;
    std::vector<std::optional<std::string>> working; // per listing process: its folder
    std::vector<std::vector<Item>> received;         // per listing process: entries so far
    std::vector<char> sound; // per listing process: no folder failed there last
    // A stuck or dead listing process: its folders go back to the queue and this instance
    // lists the rest itself.
    const auto abandon = [&] {
        for (auto& folder : working)
            if (folder)
                pending.push_back(std::move(*folder));
        working.clear();
        received.clear();
        sound.clear();
        give_up_helpers();
    };
    // Over a link the login showed slow, the listing processes log in while the top folder is
    // listed here: all that the link allows, since a login costs more round trips than a
    // listing and a course tree is wider below its top (a few logins wasted on a flat source).
    if (!helpers_off_ && round_trip_ >= fast_link_round_trip)
        start_listers(polite_connections);
    for (;;) {
        if (stopping())
            return fail(stopped());
        // More listing processes as the queue grows, up to what the link needs. A single
        // folder with none in the processes is listed here: no wait for a process's login.
        if (!helpers_off_ && pending.size() >= 2)
            start_listers(pending.size());
        const bool parallel =
            !helpers_off_ && !listers_.empty() &&
            (pending.size() >= 2 ||
             std::ranges::any_of(working, [](const auto& folder) { return folder.has_value(); }));
        if (!parallel) {
            if (pending.empty()) {
                give_away(working, received, sound, true);
                return {};
            }
            const std::string folder = std::move(pending.front());
            pending.pop_front();
            const std::string remote = detail::smb::join(base, folder);
            const auto started = std::chrono::steady_clock::now();
            auto listed = read_folder(remote);
            if (listed && round_trip_ == std::chrono::microseconds{})
                round_trip_ = detail::smb::round_trip_of_listing(
                    std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started),
                    listed->size());
            if (!listed && stopping())
                return fail(stopped());
            if (!listed) {
                const Failure& failure = listed.error();
                if (folder.empty() && (failure.error == ENOENT || failure.error == ENOTDIR))
                    return fail({.kind = ErrorKind::not_found,
                                 .message = "remote folder not found",
                                 .connection = connection_,
                                 .path = remote});
                if (auto fatal = failed(folder, listing_error(failure, remote)))
                    return fail(std::move(*fatal));
                continue;
            }
            take(folder, *listed);
            continue;
        }

        // In parallel: each listing process lists one folder at a time.
        working.resize(listers_.size());
        received.resize(listers_.size());
        sound.resize(listers_.size(), 1); // until a folder failed there
        bool lost = false;
        std::vector<::pollfd> waiting;
        std::vector<std::size_t> waiting_for;
        for (std::size_t i = 0; i < listers_.size() && !lost; ++i) {
            if (!listers_[i].ready) { // heard from when its login is over
                waiting.push_back(::pollfd{listers_[i].fd, POLLIN, 0});
                waiting_for.push_back(i);
                continue;
            }
            if (!working[i] && !pending.empty()) {
                working[i] = std::move(pending.front());
                pending.pop_front();
                lost = !detail::smb::send_message(listers_[i].fd, Message::list,
                                                  detail::smb::join(base, *working[i]));
            }
            if (working[i]) {
                waiting.push_back(::pollfd{listers_[i].fd, POLLIN, 0});
                waiting_for.push_back(i);
            }
        }
        if (lost) {
            abandon();
            continue;
        }
        if (waiting.empty() ||
            (pending.empty() && std::ranges::none_of(working, [](const auto& folder) {
                 return folder.has_value();
             }))) {
            give_away(working, received, sound, true);
            return {};
        }
        const Heard heard = wait_for(waiting);
        if (heard == Heard::stop)
            return fail(stopped());
        if (heard == Heard::silence) {
            if (!server_answers()) {
                lost_ = stopped_answering();
                return fail(*lost_);
            }
            abandon();
            continue;
        }
        for (std::size_t w = 0; w < waiting.size() && !lost; ++w) {
            if (waiting[w].revents == 0)
                continue;
            const std::size_t i = waiting_for[w];
            Message type{};
            std::string_view payload;
            if (!detail::smb::receive_message(listers_[i].fd, channel_, type, payload) ||
                (type == Message::items && !detail::smb::decode_items(payload, received[i])) ||
                (type == Message::ready) == listers_[i].ready ||
                (type != Message::items && type != Message::done && type != Message::failed &&
                 type != Message::ready)) {
                lost = true;
                break;
            }
            if (type == Message::ready)
                listers_[i].ready = true;
            if (type == Message::items || type == Message::ready)
                continue;
            const std::string folder = std::move(*working[i]);
            working[i].reset();
            sound[i] = type == Message::done;
            if (type == Message::done) {
                // A listing process that read a folder with no subfolders while none wait goes to
                // the downloads before the folder's files are handed out: the first of them finds
                // it, logged in.
                const auto subfolder = [](const Item& item) {
                    return item.is_folder && item.name != ".";
                };
                if (pending.empty() && std::ranges::none_of(received[i], subfolder))
                    put_idle(listers_[i]);
                take(folder, received[i]);
            } else if (auto fatal =
                           failed(folder, decode_error(payload, detail::smb::join(base, folder))))
                return fail(std::move(*fatal));
            received[i].clear();
        }
        if (lost)
            abandon();
        else
            give_away(working, received, sound, pending.empty());
    }
}

// Listing processes with nothing left to list go to the downloads of this login (put_idle),
// logged in already; should more folders turn up, start_listers takes back those no download
// took. Drops from listers_ those given away before.
inline void SmbPlugin::give_away(std::vector<std::optional<std::string>>& working,
                                 std::vector<std::vector<Item>>& received, std::vector<char>& sound,
                                 bool idle_too) {
    working.resize(listers_.size());
    received.resize(listers_.size());
    sound.resize(listers_.size(), 1);
    for (std::size_t i = listers_.size(); i-- > 0;) {
        const bool given = listers_[i].pid <= 0;
        if (!given && (!idle_too || working[i] || !sound[i]))
            continue;
        if (!given)
            put_idle(listers_[i]);
        listers_.erase(listers_.begin() + static_cast<std::ptrdiff_t>(i));
        working.erase(working.begin() + static_cast<std::ptrdiff_t>(i));
        received.erase(received.begin() + static_cast<std::ptrdiff_t>(i));
        sound.erase(sound.begin() + static_cast<std::ptrdiff_t>(i));
    }
}

// One folder's entries, read in one go under the library lock (libsmbclient fetches the
// whole folder at opendir); readdirplus brings attributes, size and times, so no file needs
// a stat. Not readdirplus2: it fills a struct stat by parsing the entry's URL, which
// rebuilds the client's credentials from its settings for every entry (a third of the CPU
// of a no-change sync).
inline expected<std::vector<SmbPlugin::Item>, SmbPlugin::Failure>
SmbPlugin::read_folder(const std::string& folder) {
    detail::smb::Call call;
    load_client_config();
    auto& library = detail::smb::library();
    library.last_log.clear();
    const std::string folder_url = url(folder);
    SMBCFILE* dir = smbc().getFunctionOpendir(context_)(context_, folder_url.c_str());
    if (fell_back_to_plain()) {
        if (dir != nullptr)
            smbc().getFunctionClosedir(context_)(context_, dir);
        return unexpected{Failure{.unencrypted = true}};
    }
    if (dir == nullptr) {
        const int code = errno;
        const bool bad_name = library.last_log.find("bad finfo") != std::string::npos;
        return unexpected{Failure{code, bad_name && code == EINVAL}};
    }
    std::vector<Item> items;
    auto readdirplus = smbc().getFunctionReaddirPlus(context_);
    auto telldir = smbc().getFunctionTelldir(context_);
    for (;;) {
        errno = 0;
        const off_t at = telldir(context_, dir);
        const libsmb_file_info* file = readdirplus(context_, dir);
        if (file == nullptr)
            break;
        const std::string_view name = file->name != nullptr ? file->name : "";
        if (name.empty() || name == "..")
            continue;
        const bool is_folder = (file->attrs & directory) != 0;
        items.push_back(
            Item{.name = std::string{name},
                 .is_folder = is_folder,
                 .is_link = (file->attrs & reparse_point) != 0,
                 .size = file->size,
                 .mtime = file->mtime_ts.tv_sec,
                 .mtime_nsec = static_cast<std::uint32_t>(file->mtime_ts.tv_nsec),
                 .id = is_folder ? folder_id(dir, at, name) : detail::smb::birth_id(*file)});
    }
    const int code = errno;
    smbc().getFunctionClosedir(context_)(context_, dir);
    if (code != 0 && code != ENOENT)
        return unexpected{Failure{code, false}};
    return items;
}

// The server's file id of the folder entry just read from `dir` at `at`, or 0. Only
// readdirplus2 tells it, and that parses the entry's URL: so it is asked for folders only,
// by going back one entry. The id comes with the listing: no round trip.
inline std::uint64_t SmbPlugin::folder_id(SMBCFILE* dir, off_t at, std::string_view name) {
    const int saved = errno;
    std::uint64_t id = 0;
    struct ::stat info {};
    if (smbc().getFunctionLseekdir(context_)(context_, dir, at) == 0) {
        const libsmb_file_info* again =
            smbc().getFunctionReaddirPlus2(context_)(context_, dir, &info);
        if (again != nullptr && again->name != nullptr && name == again->name)
            id = info.st_ino;
    }
    errno = saved;
    return id;
}

} // namespace kitovu
