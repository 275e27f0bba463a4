// Helpers shared by kitovu's tests: throwaway folders and small file utilities.
#pragma once

#include <kitovu/disk/local_identity.hpp>
#include <kitovu/plugin/credentials.hpp>
#include <kitovu/plugin/plugin.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>

namespace kitovu::test {

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
class TempDir {
  public:
    TempDir() {
        std::random_device random;
        path_ = std::filesystem::temp_directory_path() /
                ("kitovu-test-" + std::to_string(random()) + std::to_string(random()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    std::filesystem::path operator/(const std::filesystem::path& rest) const {
        return path_ / rest;
    }

  private:
    std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& file, const std::string& content) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out{file, std::ios::binary | std::ios::trunc};
    out << content;
}

inline std::string read_file(const std::filesystem::path& file) {
    std::ifstream in{file, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// `size` reproducible bytes that do not compress: file contents for transfer tests.
inline std::string random_bytes(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 random{seed};
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        const std::uint64_t word = random();
        std::memcpy(out.data() + i, &word, std::min<std::size_t>(8, size - i));
    }
    return out;
}

// Every regular file under `root` (none if it does not exist): relative path -> content.
inline std::map<std::string, std::string> files_in(const std::filesystem::path& root) {
    std::map<std::string, std::string> files;
    if (!std::filesystem::exists(root))
        return files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
        if (entry.is_regular_file())
            files[entry.path().lexically_relative(root).generic_string()] = read_file(entry.path());
    return files;
}

// What lstat says of a file, as kitovu records it.
inline LocalIdentity identity_of(const std::filesystem::path& file) {
    struct ::stat info {};
    if (::lstat(file.c_str(), &info) != 0)
        throw std::filesystem::filesystem_error("lstat", file,
                                                std::error_code{errno, std::generic_category()});
    return LocalIdentity::of(info);
}

// A file's modification time in seconds since the Unix epoch.
inline std::int64_t mtime_of(const std::filesystem::path& file) {
    return LocalIdentity::seconds(identity_of(file).mtime_ns);
}

// Sets a file's modification time to `seconds` since the Unix epoch.
inline void set_mtime(const std::filesystem::path& file, std::int64_t seconds) {
    const auto system = std::chrono::sys_seconds{std::chrono::seconds{seconds}};
    std::filesystem::last_write_time(file, std::chrono::file_clock::from_sys(system));
}

// A plugin that does nothing, for tests of the registry and of config validation: derive and
// declare a schema().
class InertPlugin : public SyncPlugin {
  public:
    expected<void, UsageError> configure(std::string_view, const Options&) override { return {}; }
    expected<void, UsageError> connect() override { return {}; }
    expected<void, UsageError> list(std::string_view, ListFilter, WarningSink, ListSink) override {
        return {};
    }
    expected<Retrieved, UsageError> retrieve(const RemoteEntry&, ChunkWriter) override {
        return Retrieved{};
    }
};

// A keyring in memory, for tests of who asks it what and when; `why_unavailable` set: it cannot
// be asked, and says that.
class MemoryKeyring final : public Keyring {
  public:
    using Attributes = std::vector<std::pair<std::string, std::string>>;
    std::map<Attributes, std::string> items;
    std::string why_unavailable;
    int lookups = 0, stores = 0;

    KeyringAnswer lookup(const KeyringItem& item) override {
        ++lookups;
        if (!why_unavailable.empty())
            return {KeyringAnswer::Status::unavailable, {}, why_unavailable};
        const auto found = items.find(item.attributes);
        if (found == items.end())
            return {};
        return {KeyringAnswer::Status::done, SecretText{std::string{found->second}}, {}};
    }
    KeyringAnswer store(const KeyringItem& item, const std::string& secret) override {
        ++stores;
        if (!why_unavailable.empty())
            return {KeyringAnswer::Status::unavailable, {}, why_unavailable};
        items[item.attributes] = secret;
        return {KeyringAnswer::Status::done, {}, {}};
    }
    KeyringAnswer forget(const KeyringItem& item) override {
        return {items.erase(item.attributes) == 1 ? KeyringAnswer::Status::done
                                                  : KeyringAnswer::Status::absent,
                {},
                {}};
    }
};

} // namespace kitovu::test
