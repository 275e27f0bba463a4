// Fuzz target: whatever name a remote sends, local_relative_path either refuses it or returns a
// relative path that stays inside the target folder and is a valid name everywhere.
#include "fuzz_check.hpp"

#include <kitovu/disk/names.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using kitovu::fuzz::check;
    const std::string_view remote{reinterpret_cast<const char*>(data), size};

    const std::string portable = kitovu::portable_name(remote);
    check(portable.size() == remote.size(), "portable_name keeps the length");

    const auto result = kitovu::local_relative_path(remote);
    if (!result) {
        check(!result.error().message.empty(), "a refusal says why");
        return 0;
    }
    const std::filesystem::path& relative = *result;
    check(!relative.empty(), "an accepted name is not empty");
    check(relative.is_relative() && !relative.has_root_directory() && !relative.has_root_name(),
          "an accepted name is relative");
    for (const auto& part : relative) {
        const std::string name = part.string();
        check(!name.empty(), "no empty component");
        check(name != "." && name != "..", "no '.' or '..' component");
        check(name.find('/') == std::string::npos, "no '/' inside a component");
        check(name.size() <= kitovu::max_name_bytes, "a component is at most 255 bytes");
        check(!name.starts_with(kitovu::temporary_prefix), "no reserved temporary name");
        for (const char c : name) {
            const auto byte = static_cast<unsigned char>(c);
            check(byte >= 0x20 && byte != 0x7f, "no control character");
            check(std::string_view{":*?\"<>|\\"}.find(c) == std::string_view::npos,
                  "no character Windows refuses");
        }
    }
    const std::filesystem::path root{"/fuzz/target"};
    const std::string inside = (root / relative).lexically_normal().string();
    check(inside.starts_with("/fuzz/target/") && inside.size() > root.string().size() + 1,
          "the result stays strictly inside the target folder");
    return 0;
}
