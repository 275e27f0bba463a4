// `kitovu sync --json`: the SyncReport as one JSON object, the shape the contract promises.
#pragma once

#include "escape.hpp"

#include <kitovu/engine/engine.hpp>

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

namespace kitovu::cli {

// A JSON string of `text`. Remote names may be any bytes and a JSON document must be UTF-8: a
// byte that is not part of valid UTF-8 becomes the four characters \xHH (so "caf\xe9"), as on
// the terminal. (Windows servers cannot have a name with a backslash, the one way to mistake it.)
inline std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t length = utf8_length(text.substr(i));
        if (length == 0) {
            out += fmt::format("\\\\x{:02x}", static_cast<unsigned char>(text[i]));
            ++i;
            continue;
        }
        if (length > 1) {
            out.append(text, i, length);
            i += length;
            continue;
        }
        const char c = text[i++];
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (byte < 0x20 || byte == 0x7f)
                out += fmt::format("\\u{:04x}", byte);
            else
                out += c;
        }
    }
    return out + '"';
}

// Where an error is: its path, else its position in the config file ("FILE:LINE:COLUMN").
inline std::string place_of(const UsageError& error) {
    if (!error.path.empty() || !error.location.known())
        return error.path;
    std::string place = UsageError{.location = error.location}.to_string(); // "FILE:L:C: "
    return place.substr(0, place.size() - 2);
}

// {"kind": …, "message": …, "connection": …, "path": …}: a warning or an error in a document.
inline std::string json_item(std::string_view kind, const std::string& message,
                             const std::string& connection, const std::string& path) {
    return fmt::format("{{\"kind\": {}, \"message\": {}, \"connection\": {}, \"path\": {}}}",
                       json_string(kind), json_string(message), json_string(connection),
                       json_string(path));
}

inline std::string json_error(const UsageError& e) {
    return json_item(to_string(e.kind), e.message, e.connection, place_of(e));
}

// `exit_code` is the command's: a run that never started (exit 2) has an empty report.
inline std::string to_json(const SyncReport& report, int exit_code) {
    std::string out = "{\n  \"counts\": {";
    for (std::size_t i = 0; i < file_state_count; ++i)
        out += fmt::format("{}{}: {}", i == 0 ? "" : ", ", json_string(to_string(FileState(i))),
                           report.counts[i]);
    out +=
        fmt::format("}},\n  \"failed\": {},\n  \"bytes_downloaded\": {},\n  \"duration_ms\": {},\n"
                    "  \"dry_run\": {},\n  \"cancelled\": {},\n  \"exit_code\": {},\n",
                    report.failed, report.bytes_downloaded, report.duration.count(), report.dry_run,
                    report.cancelled, exit_code);
    out += "  \"warnings\": [";
    for (std::size_t i = 0; i < report.warnings.size(); ++i) {
        const Warning& w = report.warnings[i];
        out += (i == 0 ? "\n    " : ",\n    ") +
               json_item(to_string(w.kind), w.message, w.connection, w.path);
    }
    out += report.warnings.empty() ? "],\n" : "\n  ],\n";
    out += "  \"errors\": [";
    for (std::size_t i = 0; i < report.errors.size(); ++i) {
        out += (i == 0 ? "\n    " : ",\n    ") + json_error(report.errors[i]);
    }
    out += report.errors.empty() ? "]\n}\n" : "\n  ]\n}\n";
    return out;
}

inline std::string to_json(const SyncReport& report) {
    return to_json(report, report.exit_code());
}

// The document of a run that did not sync (exit 2, or skipped): nothing counted, its errors.
inline std::string to_json(std::vector<UsageError> errors, int exit_code) {
    SyncReport report;
    report.errors = std::move(errors);
    return to_json(report, exit_code);
}

} // namespace kitovu::cli
