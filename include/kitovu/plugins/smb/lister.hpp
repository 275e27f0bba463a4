// How a tree is listed over helpers: by the instance's own helper until it fans out, then by as
// many as the link needs (listers_for_link), each one folder at a time; each folder once, however
// many links lead to it. Folders go to the engine in the order a one-at-a-time breadth-first
// listing would hand them out, each as soon as it and those before it are read: what a name
// means (FolderNames) never depends on which helper was quicker.
#pragma once

#include "kitovu/plugin/folder_names.hpp"
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
    // `synced`: the folders that hold files synced before (SyncPlugin::synced_folders), read
    // first: where a folder has two names, the one synced before keeps it.
    Lister(Crew& crew, std::chrono::microseconds& round_trip, std::string_view remote_dir,
           ListFilter keep, WarningSink warn, ListSink out,
           std::span<const std::string> synced = {})
        : crew_(crew), round_trip_(round_trip), base_(trim_slashes(remote_dir)), keep_(keep),
          warn_(warn), out_(out), names_(still_listed(synced)) {
        for (const std::string& folder : names_.synced())
            ask(folder);
    }

    expected<void, UsageError> run() {
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
    struct Listing {
        std::vector<Item> items;
        std::optional<UsageError> error; // it could not be read
    };
    struct Folder {
        std::string path;      // the name it is handed out under, relative to base_
        std::string listed_as; // where it was read (another name when a link was read first)
    };

    expected<void, UsageError> fan_out(std::vector<Job>& jobs) {
        // Over a slow link the helpers log in while the top folder is listed: all the link
        // allows, since a login costs more round trips than a listing.
        grow(round_trip_ >= fast_link_round_trip ? polite_connections : 0);
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
            if (pending_.empty() && std::ranges::none_of(jobs, &Job::busy)) {
                if (!order_.empty()) // each waits for a listing asked for: never, unless a bug
                    return fail(crew_.named(error(ErrorKind::internal, "a folder was not listed"),
                                            join_remote(base_, order_.front().path)));
                return {};
            }
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
        arrived(*job.folder, job.items);
        return std::nullopt;
    }

    // A helper gone or stuck: its folder goes back to the queue once (one that ends the next
    // helper too counts as unreadable), and the instance's own helper is replaced. An error only
    // where it cannot be.
    std::optional<UsageError> abandon(std::vector<Job>& jobs, std::size_t i) {
        if (auto folder = std::exchange(jobs[i], Job{}).folder) {
            if (retried_.insert(*folder).second)
                pending_.push_front(std::move(*folder));
            else if (auto e = failed(*folder, crew_.named(error(ErrorKind::internal,
                                                                "an SMB helper process ended on "
                                                                "it twice"))))
                return e;
        }
        at(i).end();
        if (auto replaced = i == 0 ? crew_.ensure_own() : expected<void, UsageError>{}; !replaced)
            return replaced.error();
        return std::nullopt;
    }

    // A lost connection makes the whole listing unreliable; an unreadable subfolder is skipped
    // (named when its turn comes: it may be a name not synced).
    std::optional<UsageError> failed(const std::string& folder, UsageError e) {
        if (folder.empty() && e.kind == ErrorKind::not_found) {
            e.message = "remote folder not found";
            e.path = std::string{base_};
            return e;
        }
        if (folder.empty() || e.kind == ErrorKind::connection || e.kind == ErrorKind::cancelled)
            return e;
        names_.listed(folder, 0, {});
        listed_.insert_or_assign(folder, Listing{{}, std::move(e)});
        hand_out();
        return std::nullopt;
    }

    // A folder read: its subfolders are asked for at once (each folder once, by id), whatever
    // name they are synced under, and what can be handed out goes.
    void arrived(const std::string& folder, std::vector<Item>& items) {
        std::uint64_t own = 0;
        std::vector<FolderNames::Subfolder> subfolders;
        for (const Item& item : items) {
            if (item.name == ".") {
                own = item.id;
                if (own != 0)
                    asked_ids_.try_emplace(own, folder);
                continue;
            }
            if (!item.is_folder || item.is_link)
                continue;
            subfolders.push_back({item.name, item.id});
            const std::string path = join_remote(folder, item.name);
            if (!too_deep(path) && keep_(path, true) &&
                (item.id == 0 || asked_ids_.try_emplace(item.id, path).second))
                ask(path);
        }
        names_.listed(folder, own, subfolders);
        listed_.insert_or_assign(folder, Listing{std::move(items), std::nullopt});
        hand_out();
    }

    // Hands out the folders that are read and whose subfolders' names are decided, breadth first.
    void hand_out() {
        while (!order_.empty()) {
            const auto listing = listed_.find(order_.front().listed_as);
            if (listing == listed_.end() ||
                std::ranges::any_of(listing->second.items, [&](const Item& item) {
                    return item.is_folder && !item.is_link && item.id != 0 && item.name != "." &&
                           !names_.decided(item.id);
                }))
                return;
            const Folder folder = std::move(order_.front());
            order_.pop_front();
            Listing read;
            if (--uses_[folder.listed_as] == 0) {
                read = std::move(listing->second);
                listed_.erase(listing);
                handed_.insert(folder.listed_as);
            } else { // another name reads it too (the share changed while it was read)
                read = listing->second;
            }
            if (read.error)
                warn_(Warning{WarningKind::unlisted, read.error->message + ", skipped",
                              crew_.connection, folder.path});
            else
                take(folder.path, read.items);
        }
    }

    // Samba follows symbolic links and shows a link to a folder as a plain folder, so
    // `up -> ..` would make an endless tree: a folder whose server file id has a name already is
    // skipped (FolderNames says which name keeps it). The depth bound catches servers that give
    // no ids. Names are taken in byte order, so that of two names in one folder for the same
    // folder the first in byte order is synced, whatever order the server lists them in.
    void take(const std::string& folder, std::vector<Item>& items) {
        std::ranges::sort(items, {}, [](const Item& item) { return std::string_view{item.name}; });
        std::vector<RemoteEntry> entries;
        for (const Item& item : items) {
            if (item.name == ".")
                continue;
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
            if (item.is_folder && item.id != 0)
                if (const auto other = names_.choose(path, item.id)) {
                    skip("the same folder as '" + join_remote(base_, *other) +
                         "' (one is a link to the other), skipped: it is synced once");
                    continue;
                }
            if (item.is_folder && too_deep(path)) {
                skip("more than " + std::to_string(max_depth) +
                     " folders deep (a loop of links?), skipped");
                continue;
            }
            entries.push_back(remote_entry(item, path, base_));
            if (item.is_folder)
                queue(std::move(path), item.id);
        }
        out_(entries);
    }

    // A folder to hand out after those queued, read where it was asked for under this name or
    // another (a link's), else asked for now.
    void queue(std::string path, std::uint64_t id) {
        std::string listed_as = path;
        if (!asked_.contains(path) && id != 0)
            listed_as = asked_ids_.try_emplace(id, path).first->second;
        if (handed_.erase(listed_as) != 0) { // handed out under another id: the share changed
            asked_.erase(listed_as);
            listed_as = path;
        }
        ask(listed_as);
        ++uses_[listed_as];
        order_.push_back(Folder{std::move(path), std::move(listed_as)});
    }

    void ask(const std::string& path) {
        if (asked_.insert(path).second)
            pending_.push_back(path);
    }

    static bool too_deep(std::string_view path) {
        return std::ranges::count(path, '/') + 1 > max_depth;
    }

    // The synced folders the listing still descends into.
    std::vector<std::string> still_listed(std::span<const std::string> synced) const {
        std::vector<std::string> kept;
        std::unordered_set<std::string_view> descended{""};
        for (const std::string& folder : synced) {
            const auto slash = folder.rfind('/');
            const std::string_view parent = slash == std::string::npos
                                                ? std::string_view{}
                                                : std::string_view{folder}.substr(0, slash);
            if (!folder.empty() && descended.contains(parent) && !too_deep(folder) &&
                keep_(folder, true)) {
                kept.push_back(folder);
                descended.insert(folder); // a view of `synced`, which outlives this
            }
        }
        return kept;
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
    FolderNames names_;
    std::deque<std::string> pending_;         // to read, relative to base_
    std::unordered_set<std::string> retried_; // given to a new helper after one ended on it
    std::unordered_set<std::string> asked_;   // pending, being read or read
    std::unordered_map<std::uint64_t, std::string> asked_ids_;   // folder id -> where it is read
    std::unordered_map<std::string, Listing> listed_;            // read, not handed out yet
    std::unordered_map<std::string, std::size_t> uses_{{"", 1}}; // by folders to hand out
    std::unordered_set<std::string> handed_;                     // read and handed out
    std::deque<Folder> order_{Folder{}}; // to hand out, breadth first ("" first)
    bool full_ = false;                  // a helper could not be started: no more are tried
};

} // namespace kitovu::detail::smb
