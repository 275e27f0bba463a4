// Engine and cache benchmark (not a test): no-change resync of N local-plugin files, cache
// load + save of N entries, and the peak memory of each, measured in a child process so the
// set-up does not count. Prints one markdown table row per measurement.
//
//   engine_bench [FILES]        (default 100000)
#include <kitovu/engine/engine.hpp>
#include <kitovu/plugins/local.hpp>

#include <fmt/core.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <vector>

namespace fs = std::filesystem;
using namespace kitovu;

namespace {

struct Measure {
    double seconds;
    long peak_kib;
};

// Runs `work` in a forked child `runs` times; median wall time and the largest peak RSS.
Measure in_child(int runs, const std::function<bool()>& work) {
    std::vector<double> times;
    long peak = 0;
    for (int i = 0; i < runs; ++i) {
        const auto start = std::chrono::steady_clock::now();
        const pid_t child = ::fork();
        if (child == 0)
            ::_exit(work() ? 0 : 1);
        int status = 0;
        rusage usage{};
        ::wait4(child, &status, 0, &usage);
        times.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fmt::print(stderr, "benchmark child failed\n");
            std::exit(1);
        }
        peak = std::max(peak, usage.ru_maxrss);
    }
    std::ranges::sort(times);
    return {times[times.size() / 2], peak};
}

} // namespace

int main(int argc, char** argv) {
    const std::size_t files = argc > 1 ? std::stoul(argv[1]) : 100000;
    const fs::path dir =
        fs::temp_directory_path() / fmt::format("kitovu-engine-bench-{}", ::getpid());
    const fs::path remote = dir / "remote", target = dir / "target",
                   cache_file = dir / "kitovu.cache";

    // 100 files per folder, like course material.
    for (std::size_t i = 0; i < files; ++i) {
        const fs::path file = remote / "course" / fmt::format("folder{:04}", i / 100) /
                              fmt::format("file{:06}.pdf", i);
        if (i % 100 == 0)
            fs::create_directories(file.parent_path());
        std::ofstream{file} << "content " << i;
    }
    Settings settings;
    settings.root_dir = dir;
    Connection connection{"disk", "local", {}, {}};
    connection.options.set("path", remote.string());
    settings.connections.push_back(connection);
    settings.subjects.push_back(Subject{"course", {Source{"disk", "course", target, {}, {}}}, {}});
    SyncOptions options;
    options.cache_file = cache_file;

    const auto sync_once = [&] {
        auto report = sync(settings, options, no_warnings);
        return report && report->exit_code() == 0;
    };
    const Measure first = in_child(1, sync_once);
    const Measure resync = in_child(3, sync_once);

    const Measure cache_io = in_child(5, [&] {
        auto cache = FileCache::load(cache_file, no_warnings);
        return cache && cache->size() == files && cache->save(cache_file);
    });

    fmt::print("| engine: first sync of {} local files | {:.2f} s | {:.1f} MB |\n", files,
               first.seconds, static_cast<double>(first.peak_kib) / 1024);
    fmt::print("| engine: no-change resync of {} local files | {:.2f} s | {:.1f} MB |\n", files,
               resync.seconds, static_cast<double>(resync.peak_kib) / 1024);
    fmt::print("| cache: load + save of {} entries | {:.3f} s | {:.1f} MB |\n", files,
               cache_io.seconds, static_cast<double>(cache_io.peak_kib) / 1024);
    std::error_code ec;
    fs::remove_all(dir, ec);
}
