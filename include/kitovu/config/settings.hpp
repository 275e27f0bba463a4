// Settings from a TOML config: parsed with toml++, its shape read (detail/settings_reader.hpp)
// and its meaning checked by validate(), every problem reported as `FILE:LINE:COLUMN: message`.
#pragma once

#include "kitovu/config/settings_model.hpp"
#include "kitovu/config/settings_reader.hpp"
#include "kitovu/config/validate.hpp"
#include "kitovu/error.hpp"

#include <toml++/toml.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <string_view>
#include <system_error>

// kitovu uses toml++'s exception mode (Debian's shared libtomlplusplus is built that way);
// every toml::parse_error is caught in this header.
static_assert(TOML_EXCEPTIONS, "kitovu needs toml++ with exceptions enabled");

namespace kitovu {

// A config file larger than this is refused unread: it is surely not a kitovu config (think of
// `--config /dev/zero`).
inline constexpr std::size_t max_config_bytes = 16 * 1024 * 1024;

// Parses and validates a config held in memory. `file` is where it came from: errors name it
// (or "<string>" when it is empty) and relative root-dir and local-dir are taken relative to its
// folder (the current folder when it is empty). Never throws.
inline expected<Settings, ConfigErrors> parse_settings(std::string_view text,
                                                       const std::filesystem::path& file) {
    const std::string label = file.empty() ? std::string{"<string>"} : file.string();
    try {
        Settings settings;
        std::error_code ec;
        std::filesystem::path base;
        if (file.empty() || file.is_relative())
            base = std::filesystem::current_path(ec);
        if (ec)
            return detail::config_error(label,
                                        "cannot determine the current folder: " + ec.message());
        if (!file.empty()) {
            settings.file = detail::normal_absolute(file, base);
            base = settings.file.parent_path();
        }

        if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
            return detail::config_error(label, "config file is empty");
        if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF"))
            return detail::config_error(label, "the file is UTF-16 text; save it as UTF-8", 1, 1);
        if (const auto bad = detail::first_invalid_utf8(text)) {
            constexpr char hex[] = "0123456789ABCDEF";
            const std::string byte{hex[bad->byte >> 4], hex[bad->byte & 0xF]};
            return detail::config_error(
                label, "invalid UTF-8 (byte 0x" + byte + "); save the file as UTF-8",
                bad->position.line, bad->position.column);
        }

        toml::table root;
        try {
            root = toml::parse(text, std::string_view{label});
        } catch (const toml::parse_error& error) {
            const auto& at = error.source().begin;
            return detail::config_error(label, std::string{error.description()}, at.line,
                                        at.line == 0 ? 0 : at.column);
        }

        detail::SettingsReader reader{label, base};
        reader.read(root, settings);
        ConfigErrors errors = reader.take_errors();    // the shape
        for (UsageError& problem : validate(settings)) // what the values mean
            errors.push_back(std::move(problem));
        detail::in_file_order(errors);
        if (!errors.empty())
            return unexpected{std::move(errors)};
        return settings;
    } catch (const std::bad_alloc&) {
        return detail::config_error(label, "out of memory while reading the config");
    } catch (const std::exception& error) {
        return detail::config_error(label, std::string{"cannot read the config: "} + error.what());
    }
}

// Reads, parses and validates the config file. A missing, unreadable or empty file, or a folder,
// is an error naming the path; never throws.
inline expected<Settings, ConfigErrors> load_settings(const std::filesystem::path& file) {
    const std::string label = file.string();
    try {
        if (file.empty())
            return detail::config_error("", "no config file given");
        std::error_code ec;
        const auto status = std::filesystem::status(file, ec);
        if (status.type() == std::filesystem::file_type::not_found)
            return detail::config_error(label, "config file not found");
        if (ec)
            return detail::config_error(label, "cannot access config file: " + ec.message());
        if (std::filesystem::is_directory(status))
            return detail::config_error(label, "is a folder, not a config file");

        errno = 0;
        std::ifstream in{file, std::ios::binary};
        if (!in) {
            const int cause = errno;
            return detail::config_error(
                label, "cannot open config file" +
                           (cause != 0 ? ": " + detail::errno_message(cause) : std::string{}));
        }
        std::string text;
        char buffer[64 * 1024];
        while (in) {
            in.read(buffer, sizeof buffer);
            text.append(buffer, static_cast<std::size_t>(in.gcount()));
            if (text.size() > max_config_bytes)
                return detail::config_error(label,
                                            "config file is larger than 16 MiB; is it the right "
                                            "file?");
        }
        if (in.bad())
            return detail::config_error(label, "cannot read config file");
        return parse_settings(text, file);
    } catch (const std::bad_alloc&) {
        return detail::config_error(label, "out of memory while reading the config file");
    } catch (const std::exception& error) {
        return detail::config_error(label, std::string{"cannot read config file: "} + error.what());
    }
}

} // namespace kitovu
