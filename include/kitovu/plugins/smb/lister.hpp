// How a tree is listed over helpers: by the instance's own helper until it fans out, then by as
// many as the link needs (listers_for_link), each one folder at a time; each folder once, however
// many links lead to it. Each folder goes to the engine as soon as it is read. A folder browser
// lists one folder (`one_folder`), in the own helper only.
#pragma once

#include "kitovu/plugin/link.hpp"
#include "kitovu/plugin/plugin.hpp"
#include "kitovu/plugin/remote_path.hpp"
#include "kitovu/plugins/smb/crew.hpp"
#include "kitovu/plugins/smb/paths.hpp"

#include <algorithm>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace kitovu::detail::smb {

// The round trip a folder's listing shows: opendir and reading it take about four (create, two
// directory queries, close); each entry costs a few microseconds of CPU, taken off first so that
// a large folder on loopback does not pass for a slow link.
constexpr std::chrono::microseconds round_trip_of_listing(std::chrono::microseconds took,
                                                          std::size_t entries) {
    const auto cpu = std::chrono::microseconds{5} * static_cast<std::int64_t>(entries);
    return took > cpu ? (took - cpu) / 4 : std::chrono::microseconds{};
}

// One listed entry as the engine gets it: the one place that turns a directory entry into a
// RemoteEntry.
inline RemoteEntry remote_entry(const Item& item, const std::string& path, std::string_view base) {
    return RemoteEntry{.path = path,
                       .is_folder = item.is_folder,
                       .size = item.is_folder ? 0 : item.size,
                       .mtime = item.is_folder ? 0 : item.mtime,
                       .mtime_nsec = item.is_folder ? 0u : item.mtime_nsec,
                       .locator = join_remote(base, path),
                       .id = item.is_folder || item.id == 0 ? "" : "b" + std::to_string(item.id)};
}

class Lister {
  public:
    Lister(Crew& crew, std::chrono::microseconds& round_trip, std::string_view remote_dir,
           ListFilter keep, WarningSink warn, ListSink out, bool one_folder = false)
        : crew_(crew), round_trip_(round_trip), base_(trim_slashes(remote_dir)), keep_(keep),
          warn_(warn), out_(out), one_folder_(one_folder) {}

    expected<void, UsageError> run() {
        if (base_.size() + 16 > message_limit)
            return fail(crew_.named(error(ErrorKind::protocol, "the remote path is too long"),
                                    std::string{base_}));
        std::vector<Job> jobs;
        auto listed = fan_out(jobs);
        // Helpers still owing a folder's answers end: the next request would read those.
        for (std::size_t i = 0; i < jobs.size(); ++i)
            if (jobs[i].busy())
                at(i).end();
        spare_all();
        return listed;
    }

  private:
    struct Job {
        std::optional<std::string> folder; // relative to base_
        std::vector<Item> items;
        std::chrono::steady_clock::time_point since;
        bool busy() const { return folder.has_value(); }
    };

    expected<void, UsageError> fan_out(std::vector<Job>& jobs) {
        // Over a slow link the helpers log in while the top folder is listed: all the link
        // allows, since a login costs more round trips than a listing.
        grow(round_trip_ >= fast_link_round_trip && !one_folder_ ? polite_connections : 0);
        jobs.resize(1 + crew_.extra.size());
        for (;;) {
            if (pending_.size() >= 2)
                grow(pending_.size());
            jobs.resize(1 + crew_.extra.size());
            std::vector<::pollfd> fds;
            std::vector<std::size_t> of;
            for (std::size_t i = 0; i < jobs.size(); ++i) {
                Helper& helper = at(i);
                if (helper.ready() && !jobs[i].folder && !pending_.empty()) {
                    jobs[i] =
                        Job{std::move(pending_.front()), {}, std::chrono::steady_clock::now()};
                    pending_.pop_front();
                    if (!helper.send(Message::list, join_remote(base_, *jobs[i].folder)))
                        if (auto e = abandon(jobs, i))
                            return fail(*e);
                }
                if (helper && (jobs[i].folder || !helper.ready())) {
                    fds.push_back({helper.fd(), POLLIN, 0});
                    of.push_back(i);
                }
            }
            if (pending_.empty() && std::ranges::none_of(jobs, &Job::busy))
                return {};
            const Heard heard = crew_.wait(fds);
            if (heard == Heard::stop)
                return fail(crew_.stopped());
            if (heard == Heard::silence) {
                if (auto lost = crew_.after_silence())
                    return fail(*lost);
                for (const std::size_t i : of) // stuck: their folders go to others
                    if (auto e = abandon(jobs, i))
                        return fail(*e);
                continue;
            }
            for (std::size_t k = 0; k < fds.size(); ++k)
                if (fds[k].revents != 0)
                    if (auto fatal = hear(jobs, of[k]))
                        return fail(std::move(*fatal));
        }
    }

    Helper& at(std::size_t i) { return i == 0 ? crew_.own : crew_.extra[i - 1]; }

    // More helpers, up to what `waiting` folders need on this link.
    void grow(std::size_t waiting) {
        while (!full_ && 1 + crew_.extra.size() < listers_for_link(waiting, round_trip_)) {
            auto more = crew_.another();
            full_ = !more;
            if (more)
                crew_.extra.push_back(std::move(*more));
        }
    }

    // Helper i's message; an error that ends the listing.
    std::optional<UsageError> hear(std::vector<Job>& jobs, std::size_t i) {
        Helper& helper = at(i);
        if (!helper.ready()) {
            if (auto ready = crew_.await_ready(helper, {}, std::chrono::milliseconds{0}); !ready)
                return ready.error().kind == ErrorKind::connection ? std::optional{ready.error()}
                                                                   : abandon(jobs, i);
            return std::nullopt;
        }
        Message type{};
        std::string_view payload;
        if (!helper.receive(type, payload) ||
            (type == Message::items && !decode_all(payload, jobs[i].items)) ||
            (type != Message::items && type != Message::done && type != Message::failed))
            return abandon(jobs, i);
        if (type == Message::items)
            return std::nullopt;
        Job job = std::exchange(jobs[i], Job{});
        if (type == Message::failed)
            return failed(*job.folder,
                          decode_error(payload, crew_.connection, join_remote(base_, *job.folder)));
        if (round_trip_ == std::chrono::microseconds{} && i == 0)
            round_trip_ =
                round_trip_of_listing(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now() - job.since),
                                      job.items.size());
        take(*job.folder, job.items);
        return std::nullopt;
    }

    // A helper gone or stuck: its folder goes back to the queue, once (a folder that ends every
    // helper is skipped), and the instance's own helper is replaced. An error only where it
    // cannot be, or where the top folder failed twice.
    std::optional<UsageError> abandon(std::vector<Job>& jobs, std::size_t i) {
        if (auto folder = std::exchange(jobs[i], Job{}).folder) {
            if (retried_.insert(*folder).second)
                pending_.push_front(std::move(*folder));
            else if (folder->empty())
                return crew_.gone();
            else
                warn_(Warning{WarningKind::unlisted,
                              "an SMB helper process ended on it twice, skipped", crew_.connection,
                              join_remote(base_, *folder)});
        }
        at(i).end();
        if (auto replaced = i == 0 ? crew_.ensure_own() : expected<void, UsageError>{}; !replaced)
            return replaced.error();
        return std::nullopt;
    }

    // A lost connection makes the whole listing unreliable; an unreadable subfolder is skipped.
    std::optional<UsageError> failed(const std::string& folder, UsageError e) {
        if (folder.empty() && e.kind == ErrorKind::not_found) {
            e.message = "remote folder not found";
            e.path = std::string{base_};
            return e;
        }
        if (folder.empty() || e.kind == ErrorKind::connection || e.kind == ErrorKind::cancelled)
            return e;
        warn_(Warning{WarningKind::unlisted, e.message + ", skipped", crew_.connection, folder});
        return std::nullopt;
    }

    // Samba follows symbolic links and shows a link to a folder as a plain folder, so
    // `up -> ..` would make an endless tree: a folder whose server file id was listed before
    // (under another path) is skipped. The depth bound catches servers that give no ids. Names
    // are taken in byte order ("." first), so that of two names in one folder for the same
    // folder the first in byte order is synced, whatever order the server lists them in: a
    // link shows as a plain folder, nothing tells it from the real one.
    void take(const std::string& folder, std::vector<Item>& items) {
        std::ranges::sort(items, {}, [](const Item& item) {
            return std::pair{item.name != ".", std::string_view{item.name}};
        });
        std::vector<RemoteEntry> entries;
        for (const Item& item : items) {
            if (item.name == ".") {
                if (item.id != 0)
                    listed_ids_.try_emplace(item.id, folder);
                continue;
            }
            std::string path = join_remote(folder, item.name);
            const auto skip = [&](std::string why) {
                warn_(Warning{WarningKind::skipped, std::move(why), crew_.connection,
                              join_remote(base_, path)});
            };
            if (item.is_folder && item.is_link) { // a junction could loop or leave the share
                skip("link to a folder skipped");
                continue;
            }
            if (!keep_(path, item.is_folder))
                continue;
            if (item.is_folder && item.id != 0) {
                const auto [first, fresh] = listed_ids_.try_emplace(item.id, path);
                if (!fresh) {
                    skip("the same folder as '" + join_remote(base_, first->second) +
                         "' (one is a link to the other), skipped: it is synced once");
                    continue;
                }
            }
            if (item.is_folder && std::ranges::count(path, '/') + 1 > max_depth) {
                skip("more than " + std::to_string(max_depth) +
                     " folders deep (a loop of links?), skipped");
                continue;
            }
            entries.push_back(remote_entry(item, path, base_));
            if (item.is_folder && !one_folder_)
                pending_.push_back(std::move(path));
        }
        out_(entries);
    }

    // The helpers beyond the instance's own go to the pool, for the downloads.
    void spare_all() {
        for (Helper& helper : crew_.extra)
            if (helper)
                crew_.pool->put(std::move(helper));
        crew_.extra.clear();
    }

    static constexpr std::ptrdiff_t max_depth = 64; // deeper than any real course share

    Crew& crew_;
    std::chrono::microseconds& round_trip_;
    std::string_view base_;
    ListFilter keep_;
    WarningSink warn_;
    ListSink out_;
    std::deque<std::string> pending_{std::string{}}; // folders to list, relative to base_
    std::unordered_map<std::uint64_t, std::string> listed_ids_; // file id -> first path
    std::unordered_set<std::string> retried_; // folders given to a new helper after one ended
    bool one_folder_;
    bool full_ = false; // a helper could not be started: no more are tried
};

} // namespace kitovu::detail::smb
