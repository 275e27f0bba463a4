// One file downloaded through the instance's own helper: the helper reads blocks into the two
// slots of their shared memory, the instance writes each out and answers for it.
#pragma once

#include "kitovu/plugin/plugin.hpp"
#include "kitovu/plugins/smb/crew.hpp"

namespace kitovu::detail::smb {

// Until the instance's own helper is logged in. Over a slow link a login is a dozen round trips
// and the last round of a listing a few: a helper still logging in gives way to one of the pool
// that finished listing meanwhile (unless `new_one`: not after one was found stuck), and goes to
// the pool itself, for the next worker: ended, its login would be lost.
inline expected<void, UsageError> own_ready(Crew& crew, bool new_one) {
    while (!crew.own.ready()) {
        std::vector<::pollfd> fds{{crew.own.fd(), POLLIN, 0}};
        if (!new_one)
            fds.push_back({crew.pool->ready_signal(), POLLIN, 0});
        const Heard heard = crew.wait(fds);
        if (heard == Heard::stop)
            return fail(crew.stopped());
        if (heard == Heard::message && fds.size() > 1 && fds[1].revents != 0) {
            if (auto idle = crew.pool->take(true))
                crew.pool->put(std::exchange(crew.own, std::move(*idle)));
        } else if (auto ready = crew.await_ready(crew.own, {}, std::chrono::milliseconds{0});
                   !ready) {
            return fail(ready.error());
        }
    }
    return {};
}

// The answer to a request for one file: its blocks handed to `out`, then done or an error.
inline expected<Retrieved, UsageError> receive_file(Crew& crew, const RemoteEntry& entry,
                                                    ChunkWriter out, bool& written_any) {
    const auto lost = [&](UsageError e) {
        crew.own.end();
        return fail(crew.named(std::move(e), entry.path));
    };
    std::optional<UsageError> writing; // the writer's error wins over what follows from it
    for (;;) {
        std::vector<::pollfd> fds{{crew.own.fd(), POLLIN, 0}};
        const Heard heard = crew.wait(fds);
        if (heard == Heard::stop)
            return lost(crew.stopped());
        if (heard == Heard::silence) {
            auto down = crew.after_silence();
            return lost(down ? *down
                             : error(ErrorKind::internal, "the SMB download process stopped "
                                                          "answering; the next run tries again"));
        }
        Message type{};
        std::string_view payload;
        if (!crew.own.receive(type, payload))
            return lost(crew.gone());
        std::uint64_t size = 0, slot = slots;
        if (type == Message::chunk && Reader{payload}(size)(slot).ok && slot < slots) {
            written_any = true;
            if (!writing)
                if (auto written = out(crew.own.slot(slot, size)); !written)
                    writing = written.error();
            if (!crew.own.send(writing ? Message::stop : Message::ack))
                return lost(crew.gone());
        } else if (writing) {
            return fail(std::move(*writing));
        } else if (type == Message::done) {
            return Retrieved{};
        } else if (type != Message::failed) {
            return lost(crew.gone());
        } else {
            return fail(decode_error(payload, crew.connection, entry.path));
        }
    }
}

// `entry` through the own helper. A stuck or crashed helper is replaced once, where nothing of
// the file was written yet.
inline expected<Retrieved, UsageError> download(Crew& crew, const RemoteEntry& entry,
                                                ChunkWriter out) {
    for (int attempt = 0;; ++attempt) {
        if (auto lost = crew.pool->lost())
            return fail(crew.named(*lost, entry.path));
        if (entry.locator.size() + 16 > message_limit)
            return fail(
                crew.named(error(ErrorKind::protocol, "the remote path is too long"), entry.path));
        // A second attempt takes a new helper, not another stuck one of the pool.
        if (auto own = crew.ensure_own(attempt > 0); !own)
            return fail(crew.named(own.error(), entry.path));
        bool written_any = false;
        expected<Retrieved, UsageError> got = Retrieved{};
        if (auto ready = own_ready(crew, attempt > 0); !ready)
            got = fail(crew.named(ready.error(), entry.path));
        else if (!crew.own.send(Message::request, Writer{}(entry.size)(entry.locator).out))
            crew.own.end(); // then heard as gone
        if (got)
            got = receive_file(crew, entry, out, written_any);
        // Stuck or gone: a new helper tries.
        if (!got && got.error().kind == ErrorKind::internal && !written_any && attempt == 0 &&
            !crew.own)
            continue;
        if (!got && got.error().kind == ErrorKind::connection) // no other file will do better
            crew.pool->lose(
                UsageError{got.error().kind, got.error().message, crew.connection, {}, {}});
        return got;
    }
}

} // namespace kitovu::detail::smb
