// The conformance suite's RemoteWriter for a remote that is a folder on this machine, or that a
// server on loopback serves from one: the tests write the folder itself.
#pragma once

#include "support.hpp"

#include <kitovu/testing/fixture.hpp>

#include <filesystem>
#include <string>

namespace kitovu::test {

// `unreadable`: whether chmod 0 keeps the plugin out (not for a plugin or server running as
// root).
inline testing::RemoteWriter folder_writer(const std::filesystem::path& root, bool unreadable) {
    testing::RemoteWriter writer{
        .make_file =
            [root](const std::string& path, const std::string& bytes, std::int64_t mtime) {
                write_file(root / path, bytes);
                set_mtime(root / path, mtime);
            },
        .make_folder =
            [root](const std::string& path) { std::filesystem::create_directories(root / path); },
        .remove = [root](const std::string& path) { std::filesystem::remove(root / path); },
        .rename =
            [root](const std::string& from, const std::string& to) {
                std::filesystem::rename(root / from, root / to);
            },
    };
    if (unreadable)
        writer.make_unreadable_folder =
            writer.make_unreadable_file = [root](const std::string& path) {
                std::filesystem::permissions(root / path, std::filesystem::perms::none);
            };
    return writer;
}

} // namespace kitovu::test
