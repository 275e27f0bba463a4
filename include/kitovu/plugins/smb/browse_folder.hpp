// One folder of the share read through the instance's own helper, for a folder browser: one
// listing, no tree, no helpers besides the own one.
#pragma once

#include "kitovu/plugin/browse_entry.hpp"
#include "kitovu/plugins/smb/download.hpp"
#include "kitovu/plugins/smb/paths.hpp"

namespace kitovu::detail::smb {

// The entries of `dir` (share-relative, "" the share's root). Links to folders are left out, as a
// sync leaves them out.
inline expected<std::vector<BrowseEntry>, UsageError> browse_folder(Crew& crew,
                                                                    std::string_view dir) {
    if (auto own = crew.ensure_own(); !own)
        return fail(own.error());
    if (auto ready = own_ready(crew, false); !ready)
        return fail(crew.named(ready.error()));
    const std::string folder{trim_slashes(dir)};
    if (folder.size() + 16 > message_limit)
        return fail(crew.named(error(ErrorKind::protocol, "the remote path is too long"), folder));
    if (!crew.own.send(Message::list, folder)) {
        crew.own.end();
        return fail(crew.gone());
    }
    std::vector<Item> items;
    for (;;) {
        std::vector<::pollfd> fds{{crew.own.fd(), POLLIN, 0}};
        const Heard heard = crew.wait(fds);
        if (heard == Heard::stop)
            return fail(crew.stopped(folder));
        if (heard == Heard::silence) {
            crew.own.end();
            return fail(crew.named(stopped_answering(crew.login.timeout_seconds), folder));
        }
        Message type{};
        std::string_view payload;
        if (!crew.own.receive(type, payload) ||
            (type == Message::items && !decode_all(payload, items)) ||
            (type != Message::items && type != Message::done && type != Message::failed)) {
            crew.own.end();
            return fail(crew.gone());
        }
        if (type == Message::failed) {
            auto e = decode_error(payload, crew.connection, folder);
            if (e.kind == ErrorKind::not_found)
                e.message = "remote folder not found";
            return fail(std::move(e));
        }
        if (type == Message::done)
            break;
    }
    std::vector<BrowseEntry> entries;
    for (Item& item : items)
        if (item.name != "." && item.name != ".." && !(item.is_folder && item.is_link))
            entries.push_back(
                BrowseEntry{.name = std::move(item.name), .is_folder = item.is_folder});
    return entries;
}

} // namespace kitovu::detail::smb
