// Fuzz target: the config loader never throws or crashes; it returns either settings or a
// non-empty list of errors, each with a message and the position's file set to the given path.
#include "fuzz_check.hpp"

#include <kitovu/config/settings.hpp>
#include <kitovu/plugins/local.hpp> // registers "local", so connections can validate

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using kitovu::fuzz::check;
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    const std::filesystem::path file{"/fuzz/config/kitovu.toml"};

    // An exception escaping here terminates the program: the fuzzer reports it as a crash.
    const auto settings = kitovu::parse_settings(text, file);
    if (settings) {
        check(settings->file == file, "valid settings name their file");
        check(settings->root_dir.is_absolute(), "root-dir is absolute");
        for (const auto& subject : settings->subjects)
            for (const auto& source : subject.sources) {
                check(source.local_dir.is_absolute(), "a source's local folder is absolute");
                check(settings->connection(source.connection) != nullptr,
                      "a source names a known connection");
            }
        return 0;
    }
    check(!settings.error().empty(), "a failed parse reports at least one error");
    for (const auto& error : settings.error()) {
        check(!error.message.empty(), "every error has a message");
        check(error.location.file == file.string(), "every error names the config file");
    }
    return 0;
}
