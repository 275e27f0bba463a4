// Fuzz target: whatever bytes the cache file holds, FileCache::load does not crash; it either
// loads the cache, which then survives serialize() and a second load unchanged, or it moves the
// damaged file aside with exactly one warning and starts empty.
#include "fuzz_check.hpp"

#include <kitovu/cache/filecache.hpp>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;

// One folder per process, emptied before each input.
const fs::path& work_folder() {
    static const fs::path folder = [] {
        auto path = fs::temp_directory_path() / ("kitovu-cache-fuzz-" + std::to_string(::getpid()));
        fs::create_directories(path);
        return path;
    }();
    return folder;
}

void write_file(const fs::path& file, std::string_view bytes) {
    std::ofstream out{file, std::ios::binary | std::ios::trunc};
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    kitovu::fuzz::check(static_cast<bool>(out.flush()), "the harness can write its cache file");
}

std::size_t files_in(const fs::path& folder) {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator{folder})
        ++count;
    return count;
}

struct Cleanup {
    ~Cleanup() {
        std::error_code ec;
        fs::remove_all(work_folder(), ec);
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using kitovu::fuzz::check;
    static const Cleanup cleanup_at_exit;
    const fs::path& folder = work_folder();
    for (const auto& entry : fs::directory_iterator{folder})
        fs::remove_all(entry.path());
    const fs::path file = folder / "kitovu.cache";
    write_file(file, {reinterpret_cast<const char*>(data), size});

    kitovu::CollectingSink warnings;
    const auto cache = kitovu::FileCache::load(file, warnings);
    check(cache.has_value(), "a readable cache file always loads (possibly as an empty cache)");

    if (warnings.warnings().empty()) {
        check(fs::exists(file), "a cache loaded without warning stays where it was");
        check(files_in(folder) == 1, "loading a good cache creates no file");
        // What the cache writes reads back as the same entries, and writes the same bytes.
        const std::string text = cache->serialize();
        const fs::path again = folder / "again.cache";
        write_file(again, text);
        kitovu::CollectingSink more;
        const auto reloaded = kitovu::FileCache::load(again, more);
        check(reloaded.has_value() && more.warnings().empty(),
              "a serialized cache loads without warning");
        check(reloaded->entries() == cache->entries(), "a serialized cache round-trips");
        check(reloaded->serialize() == text, "serializing is stable");
        return 0;
    }
    check(warnings.warnings().size() == 1, "a damaged cache gives exactly one warning");
    check(warnings.warnings().front().kind == kitovu::WarningKind::cache,
          "the warning is a cache warning");
    check(cache->size() == 0, "a damaged cache starts empty");
    check(!fs::exists(file), "a damaged cache is moved away");
    std::size_t aside = 0;
    for (const auto& entry : fs::directory_iterator{folder})
        if (entry.path().filename().string().starts_with("kitovu.cache.corrupt-"))
            ++aside;
    check(aside == 1 && files_in(folder) == 1, "a damaged cache is kept as FILE.corrupt-TIME");
    return 0;
}
