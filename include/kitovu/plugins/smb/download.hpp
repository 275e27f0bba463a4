// One file downloaded through the instance's own helper: the helper reads blocks into the two
// slots of their shared memory, the instance writes each out and answers for it.
#pragma once

#include "kitovu/plugin/plugin.hpp"
#include "kitovu/plugins/smb/crew.hpp"

namespace kitovu::detail::smb {

// Until the instance's own helper is logged in. Over a slow link a login is a dozen round trips
// and the last round of a listing a few: a helper still logging in gives way to one of the pool
// that finished listing meanwhile.
inline expected<void, UsageError> own_ready(Crew& crew) {
    while (!crew.own.ready()) {
        std::vector<::pollfd> fds{{crew.own.fd(), POLLIN, 0},
                                  {crew.pool->ready_signal(), POLLIN, 0}};
        const Heard heard = crew.wait(fds);
        if (heard == Heard::message && fds[1].revents != 0) {
            if (auto idle = crew.pool->take(true))
                crew.own = std::move(*idle);
            continue;
        }
        if (heard == Heard::stop)
            return fail(crew.stopped());
        if (auto ready = crew.await_ready(crew.own, {}, std::chrono::milliseconds{0}); !ready)
            return fail(ready.error());
    }
    return {};
}

// `entry` through the own helper. A stuck helper (silent while the server answers) is replaced
// once, where nothing of the file was written yet.
inline expected<Retrieved, UsageError> download(Crew& crew, const RemoteEntry& entry,
                                                ChunkWriter out) {
    for (int attempt = 0;; ++attempt) {
        if (auto lost = crew.pool->lost())
            return fail(crew.named(*lost, entry.path));
        if (crew.lost)
            return fail(crew.named(*crew.lost, entry.path));
        if (auto own = crew.ensure_own(attempt > 0); !own) // not another stuck one of the pool
            return fail(crew.named(own.error(), entry.path));
        if (auto ready = own_ready(crew); !ready) {
            if (ready.error().kind == ErrorKind::connection)
                crew.lost = ready.error();
            return fail(crew.named(ready.error(), entry.path));
        }
        if (entry.locator.size() + 16 > message_limit)
            return fail(
                crew.named(error(ErrorKind::protocol, "the remote path is too long"), entry.path));
        if (!crew.own.send(Message::request, encode_size(entry.size) + entry.locator)) {
            crew.own.end();
            return fail(crew.gone());
        }
        std::optional<UsageError> writing; // the writer's error wins over what follows from it
        bool written_any = false;
        for (;;) {
            std::vector<::pollfd> fds{{crew.own.fd(), POLLIN, 0}};
            const Heard heard = crew.wait(fds);
            if (heard != Heard::message)
                crew.own.end();
            if (heard == Heard::stop)
                return fail(crew.stopped(entry.path));
            if (heard == Heard::silence) {
                if (auto lost = crew.after_silence())
                    return fail(crew.named(*lost, entry.path));
                if (!written_any && attempt == 0)
                    break; // a new helper tries
                return fail(crew.named(error(ErrorKind::internal,
                                             "the SMB download process stopped answering; the "
                                             "next run tries again"),
                                       entry.path));
            }
            Message type{};
            std::string_view payload;
            if (!crew.own.receive(type, payload)) {
                crew.own.end();
                return fail(crew.named(crew.gone(), entry.path));
            }
            if (type == Message::chunk && payload.size() == 9 &&
                static_cast<std::size_t>(payload[8]) < slots) {
                const auto slot = static_cast<std::size_t>(payload[8]);
                const auto size = static_cast<std::size_t>(take_size(payload));
                written_any = true;
                if (!writing)
                    if (auto written = out(crew.own.slot(slot, size)); !written)
                        writing = written.error();
                if (!crew.own.send(writing ? Message::stop : Message::ack)) {
                    crew.own.end();
                    return fail(crew.named(crew.gone(), entry.path));
                }
                continue;
            }
            if (writing)
                return fail(std::move(*writing));
            if (type == Message::done)
                return Retrieved{};
            if (type != Message::failed) {
                crew.own.end();
                return fail(crew.named(crew.gone(), entry.path));
            }
            auto failed = decode_error(payload, crew.connection, entry.path);
            if (failed.kind == ErrorKind::connection) { // no other file will do better
                crew.lost = UsageError{failed.kind, failed.message, crew.connection, {}, {}};
                if (failed.message.starts_with("the server stopped answering"))
                    crew.pool->lose(*crew.lost);
            }
            return fail(std::move(failed));
        }
    }
}

} // namespace kitovu::detail::smb
