// One remote (the memory or the local plugin), one subject synced into a target folder, and a
// cache: the setup the engine's tests share.
#pragma once

#include "memory_plugin.hpp"
#include "support.hpp"

#include <kitovu/engine/engine.hpp>
#include <kitovu/plugins/local.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace kitovu::test {

inline constexpr std::int64_t old_time = 1'600'000'000;
inline constexpr std::int64_t new_time = 1'700'000'000;

// One remote (memory or a folder for the local plugin), one subject synced into a target
// folder, and a cache: what a user's setup with one source looks like.
class Setup {
  public:
    // `home`: where the target folder goes (a mounted disk, say); else a temp folder.
    explicit Setup(std::string plugin, std::string remote_name = "main",
                   std::filesystem::path home = {})
        : plugin_(std::move(plugin)), remote_name_(std::move(remote_name)),
          home_(home.empty() ? dir_ / "home" : std::move(home)) {
        test::forget_remote(remote_name_);
        std::filesystem::create_directories(remote_root());
    }

    std::filesystem::path remote_root() const { return dir_ / "remote"; }
    std::filesystem::path target() const { return home_ / "EPJ"; }
    std::filesystem::path local(const std::string& relative) const { return target() / relative; }
    std::filesystem::path cache_file() const { return dir_ / "state/kitovu.cache"; }
    test::MemoryRemote& memory() const { return *test::remote(remote_name_); }

    void put(const std::string& path, const std::string& content, std::int64_t mtime = old_time) {
        if (plugin_ == "memory")
            return memory().put("EPJ/" + path, content, mtime);
        write_file(remote_root() / "EPJ" / path, content);
        test::set_mtime(remote_root() / "EPJ" / path, mtime);
    }
    void remove(const std::string& path) {
        if (plugin_ == "memory")
            return memory().remove("EPJ/" + path);
        std::filesystem::remove(remote_root() / "EPJ" / path);
    }

    Connection connection(std::string name = "uni") const {
        Connection connection{std::move(name), plugin_, {}, {}};
        if (plugin_ == "memory")
            connection.options.set("remote", remote_name_);
        else
            connection.options.set("path", remote_root().string());
        return connection;
    }

    Settings settings() const {
        Settings settings;
        settings.root_dir = home_;
        settings.connections.push_back(connection());
        settings.subjects.push_back(Subject{"EPJ", {Source{"uni", "EPJ", target(), {}, {}}}, {}});
        return settings;
    }

    SyncReport run(SyncOptions options = {}) { return run(settings(), std::move(options)); }

    SyncReport run(const Settings& settings, SyncOptions options = {}) {
        if (options.cache_file.empty())
            options.cache_file = cache_file();
        auto report = sync(settings, options, warnings);
        REQUIRE(report);
        return std::move(*report);
    }

    FileCache cache() const {
        auto cache = FileCache::load(cache_file(), no_warnings);
        REQUIRE(cache);
        return std::move(*cache);
    }

    CollectingSink warnings;

  private:
    TempDir dir_;
    std::string plugin_;
    std::string remote_name_;
    std::filesystem::path home_;
};

inline std::vector<std::string> conflict_copies(const std::filesystem::path& folder) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder))
        if (entry.path().filename().string().find(".remote-conflict-") != std::string::npos)
            names.push_back(entry.path().filename().string());
    std::ranges::sort(names);
    return names;
}

inline bool has_warning(const CollectingSink& sink, WarningKind kind) {
    return std::ranges::any_of(sink.warnings(), [&](const Warning& w) { return w.kind == kind; });
}

} // namespace kitovu::test
