// Plugin `memory` for tests: a scriptable remote held in memory, with switches for every kind of
// failure the engine must survive. Instances configured with the same `remote` option share it.
#pragma once

#include <kitovu/plugin/registry.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace kitovu::test {

struct MemoryFile {
    std::string content;
    std::int64_t mtime = 1'600'000'000;
    std::string fingerprint{}; // listed as the entry's fingerprint
    std::string id{};          // listed as the entry's id
};

struct MemoryRemote {
    std::mutex mutex;
    std::map<std::string, MemoryFile> files; // '/'-separated paths
    std::set<std::string> folders;           // explicit folders (parents of files are implicit)

    // Failure switches.
    std::optional<UsageError> connect_error;
    std::optional<UsageError> list_error;     // what list() gives after handing out its batches
    std::optional<UsageError> retrieve_error; // what every retrieve() gives
    std::set<std::string> unlistable;         // folders whose listing fails
    std::set<std::string> failing;            // files whose retrieval fails
    std::set<std::string> vanishing;          // files removed right after listing
    std::size_t short_by = 0;                 // bytes each retrieval leaves out
    std::size_t extra_bytes = 0; // bytes each retrieval sends beyond the file (a device), 64 KiB
                                 // at a time while they are taken
    std::function<void(const std::string&)> during_retrieve; // runs mid-transfer
    std::function<void()> after_batch; // runs in list() after each batch is handed out
    bool ignores_keep = false;         // lists everything, as a plugin that never calls keep()
    // Folders that show another folder's content, as a server that follows links serves them
    // (full remote paths: "EPJ/current" -> "EPJ"); listed folder by folder, without ids. The
    // listing gives up after `most_folders` folders (an endless tree would never end).
    std::map<std::string, std::string> folder_links;
    std::size_t most_folders = 1000;

    std::atomic<int> connects{0};
    std::atomic<int> retrievals{0};
    std::atomic<std::uint64_t> sent_bytes{0}; // of extra_bytes, what the engine took

    void put(const std::string& path, std::string content, std::int64_t mtime = 1'600'000'000) {
        std::scoped_lock lock{mutex};
        files[path] = MemoryFile{std::move(content), mtime};
    }
    void remove(const std::string& path) {
        std::scoped_lock lock{mutex};
        files.erase(path);
    }
};

// The remotes by name; a test creates one with remote("name") and configures a connection
// with the option remote = "name".
inline std::shared_ptr<MemoryRemote> remote(const std::string& name) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<MemoryRemote>> remotes;
    std::scoped_lock lock{mutex};
    auto& slot = remotes[name];
    if (!slot)
        slot = std::make_shared<MemoryRemote>();
    return slot;
}

inline void forget_remote(const std::string& name) {
    auto r = remote(name);
    std::scoped_lock lock{r->mutex};
    r->files.clear();
    r->folders.clear();
    r->unlistable.clear();
    r->failing.clear();
    r->vanishing.clear();
    r->connect_error.reset();
    r->list_error.reset();
    r->retrieve_error.reset();
    r->short_by = 0;
    r->extra_bytes = 0;
    r->sent_bytes = 0;
    r->during_retrieve = nullptr;
    r->after_batch = nullptr;
    r->ignores_keep = false;
    r->folder_links.clear();
    r->most_folders = 1000;
    r->connects = 0;
    r->retrievals = 0;
}

class MemoryPlugin final : public SyncPlugin {
  public:
    static constexpr auto remote_name =
        string_option({.name = "remote", .required = true, .help = "name of the in-memory remote"});
    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{remote_name.spec};
        return specs;
    }

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        connection_ = connection;
        remote_ = remote(options.get(remote_name));
        return {};
    }

    expected<void, UsageError> connect() override {
        if (stopping())
            return fail(
                {.kind = ErrorKind::cancelled, .message = "stopped", .connection = connection_});
        ++remote_->connects;
        std::scoped_lock lock{remote_->mutex};
        if (remote_->connect_error)
            return fail(*remote_->connect_error);
        return {};
    }

    // Hands out one batch per folder, parents first, each batch in reverse order (the engine
    // must not rely on any order inside a batch).
    // An unlistable subfolder is listed in its parent, and its content is left out with a
    // warning.
    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override {
        if (!remote_->folder_links.empty())
            return list_through_links(std::string{remote_dir}, keep, out);
        std::map<std::string, std::vector<RemoteEntry>> by_folder;
        std::vector<std::string> unlisted;
        {
            // Not held while handing out: the engine may wait there for workers that retrieve.
            std::scoped_lock lock{remote_->mutex};
            const auto everything = [](std::string_view, bool) { return true; };
            auto found =
                remote_->ignores_keep ? find(remote_dir, everything) : find(remote_dir, keep);
            if (!found)
                return fail(found.error());
            const std::string prefix = remote_dir.empty() ? "" : std::string{remote_dir} + '/';
            for (const auto& folder : remote_->unlistable)
                if (folder.starts_with(prefix) && folder.size() > prefix.size())
                    unlisted.push_back(folder.substr(prefix.size()));
            std::erase_if(*found, [&](const auto& item) {
                return std::ranges::any_of(unlisted, [&](const std::string& folder) {
                    return item.first.starts_with(folder + '/');
                });
            });
            for (auto it = found->rbegin(); it != found->rend(); ++it) {
                const auto slash = it->first.rfind('/');
                by_folder[slash == std::string::npos ? "" : it->first.substr(0, slash)].push_back(
                    std::move(it->second));
            }
        }
        for (const auto& folder : unlisted)
            warn(Warning{WarningKind::unlisted, "access denied, skipped", connection_, folder});
        for (auto& [folder, entries] : by_folder) {
            if (stopping())
                return fail({.kind = ErrorKind::cancelled,
                             .message = "stopped",
                             .connection = connection_});
            out(entries);
            if (remote_->after_batch)
                remote_->after_batch();
        }
        std::scoped_lock lock{remote_->mutex};
        if (remote_->list_error)
            return fail(*remote_->list_error);
        return {};
    }

    expected<Retrieved, UsageError> retrieve(const RemoteEntry& entry, ChunkWriter out) override {
        ++remote_->retrievals;
        const auto stopped = [&] { return fail(ErrorKind::cancelled, "stopped", entry.locator); };
        if (stopping())
            return stopped();
        MemoryFile file;
        std::function<void(const std::string&)> hook;
        std::size_t short_by = 0;
        std::size_t extra = 0;
        {
            std::scoped_lock lock{remote_->mutex};
            if (remote_->retrieve_error)
                return fail(*remote_->retrieve_error);
            if (remote_->failing.contains(entry.locator))
                return fail({.kind = ErrorKind::permission,
                             .message = "access denied",
                             .connection = connection_,
                             .path = entry.locator});
            auto it = remote_->files.find(entry.locator);
            if (it == remote_->files.end())
                return fail({.kind = ErrorKind::not_found,
                             .message = "no such file",
                             .connection = connection_,
                             .path = entry.locator});
            file = it->second;
            hook = remote_->during_retrieve;
            short_by = remote_->short_by;
            extra = remote_->extra_bytes;
        }
        const auto bytes = std::as_bytes(std::span{file.content});
        const std::size_t half = bytes.size() / 2;
        if (auto written = out(bytes.first(half)); !written)
            return fail(written.error());
        if (hook)
            hook(entry.locator);
        if (stopping())
            return stopped();
        const std::size_t rest = bytes.size() - half - std::min(short_by, bytes.size() - half);
        if (auto written = out(bytes.subspan(half, rest)); !written)
            return fail(written.error());
        const std::vector<std::byte> zeros(std::size_t{64} << 10);
        for (std::size_t sent = 0; sent < extra; sent += zeros.size()) {
            remote_->sent_bytes += zeros.size();
            if (auto written = out(std::span{zeros}.first(std::min(zeros.size(), extra - sent)));
                !written)
                return fail(written.error());
        }
        // What the remote holds now: a hook may have rewritten it meanwhile.
        std::scoped_lock lock{remote_->mutex};
        auto now = remote_->files.find(entry.locator);
        if (now == remote_->files.end())
            return Retrieved{};
        return Retrieved{.size = now->second.content.size(), .mtime = now->second.mtime};
    }

  private:
    // Folder by folder, going down only into what keep() wants, as smb and webdav list.
    expected<void, UsageError> list_through_links(const std::string& remote_dir, ListFilter keep,
                                                  ListSink out) {
        std::deque<std::string> pending{std::string{}}; // relative to remote_dir
        for (std::size_t listed = 0; !pending.empty(); ++listed) {
            if (stopping())
                return fail(ErrorKind::cancelled, "stopped");
            if (listed == remote_->most_folders)
                return fail(ErrorKind::protocol, "the test remote gave up: endless tree");
            const std::string folder = std::move(pending.front());
            pending.pop_front();
            const auto join = [](const std::string& a, const std::string& b) {
                return a.empty() ? b : b.empty() ? a : a + '/' + b;
            };
            std::vector<RemoteEntry> entries;
            {
                std::scoped_lock lock{remote_->mutex};
                const std::string real = resolve(join(remote_dir, folder));
                const std::string prefix = real.empty() ? "" : real + '/';
                std::set<std::string> folders;
                for (const auto& [path, file] : remote_->files) {
                    if (!path.starts_with(prefix))
                        continue;
                    const std::string rest = path.substr(prefix.size());
                    if (const auto slash = rest.find('/'); slash != std::string::npos) {
                        folders.insert(rest.substr(0, slash));
                        continue;
                    }
                    const std::string relative = join(folder, rest);
                    if (keep(relative, false))
                        entries.push_back(RemoteEntry{.path = relative,
                                                      .size = file.content.size(),
                                                      .mtime = file.mtime,
                                                      .locator = path});
                }
                for (const auto& [link, target] : remote_->folder_links)
                    if (link.starts_with(prefix) && link.find('/', prefix.size()) == link.npos)
                        folders.insert(link.substr(prefix.size()));
                for (const std::string& name : folders)
                    if (const std::string relative = join(folder, name); keep(relative, true)) {
                        entries.push_back(RemoteEntry{
                            .path = relative, .is_folder = true, .locator = prefix + name});
                        pending.push_back(relative);
                    }
            }
            out(entries);
        }
        return {};
    }

    // The folder a path through folder links shows; call with the mutex held.
    std::string resolve(const std::string& path) const {
        std::string real;
        for (std::size_t start = 0; start <= path.size();) {
            const auto slash = std::min(path.find('/', start), path.size());
            real += (real.empty() ? "" : "/") + path.substr(start, slash - start);
            if (auto link = remote_->folder_links.find(real); link != remote_->folder_links.end())
                real = link->second;
            start = slash + 1;
        }
        return real;
    }

    // What a listing of `remote_dir` finds, by path; call with the mutex held.
    expected<std::map<std::string, RemoteEntry>, UsageError> find(std::string_view remote_dir,
                                                                  ListFilter keep) {
        const std::string dir{remote_dir};
        if (remote_->unlistable.contains(dir))
            return fail({.kind = ErrorKind::permission,
                         .message = "access denied",
                         .connection = connection_,
                         .path = dir});
        const std::string prefix = dir.empty() ? "" : dir + '/';
        std::map<std::string, RemoteEntry> found;
        std::set<std::string> dropped;
        const auto under_dropped = [&](const std::string& path) {
            for (std::size_t slash = path.find('/'); slash != std::string::npos;
                 slash = path.find('/', slash + 1))
                if (dropped.contains(path.substr(0, slash)))
                    return true;
            return false;
        };
        const auto add_folders = [&](const std::string& relative) {
            for (std::size_t slash = relative.find('/'); slash != std::string::npos;
                 slash = relative.find('/', slash + 1)) {
                const std::string folder = relative.substr(0, slash);
                if (found.contains(folder) || dropped.contains(folder) || under_dropped(folder))
                    continue;
                if (keep(folder, true))
                    found[folder] =
                        RemoteEntry{.path = folder, .is_folder = true, .locator = prefix + folder};
                else
                    dropped.insert(folder);
            }
        };
        bool any = false;
        for (const auto& folder : remote_->folders) {
            if (!folder.starts_with(prefix))
                continue;
            any = true;
            add_folders(folder.substr(prefix.size()) + '/');
        }
        std::vector<std::string> vanish;
        for (const auto& [path, file] : remote_->files) {
            if (!path.starts_with(prefix))
                continue;
            any = true;
            const std::string relative = path.substr(prefix.size());
            add_folders(relative);
            if (under_dropped(relative) || !keep(relative, false))
                continue;
            found[relative] = RemoteEntry{.path = relative,
                                          .size = file.content.size(),
                                          .mtime = file.mtime,
                                          .locator = path,
                                          .id = file.id,
                                          .fingerprint = file.fingerprint};
            if (remote_->vanishing.contains(path))
                vanish.push_back(path);
        }
        if (!any && !dir.empty())
            return fail({.kind = ErrorKind::not_found,
                         .message = "remote folder not found",
                         .connection = connection_,
                         .path = dir});
        for (const auto& path : vanish)
            remote_->files.erase(path);
        return found;
    }

    std::string connection_;
    std::shared_ptr<MemoryRemote> remote_;
};

inline const PluginRegistry::Add<MemoryPlugin> memory_plugin{"memory",
                                                             "an in-memory remote for tests"};

} // namespace kitovu::test
