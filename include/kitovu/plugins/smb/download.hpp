// The smb plugin's download of one file through the instance's own connection: what a download
// process runs for its instance, and what an instance without one runs itself. Part of SmbPlugin
// (plugins/smb.hpp).
#pragma once

#include "kitovu/plugins/smb.hpp"

namespace kitovu {

namespace detail::smb {
// Closes the remote file, under the library lock, however retrieve() ends.
struct OpenFile {
    SMBCCTX* context;
    SMBCFILE* handle = nullptr;
    explicit OpenFile(SMBCCTX* owner) noexcept : context(owner) {}
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;
    ~OpenFile() {
        if (handle == nullptr)
            return;
        detail::smb::Call call;
        smbc().getFunctionClose(context)(context, handle);
    }
};
} // namespace detail::smb

inline expected<Retrieved, UsageError> SmbPlugin::retrieve_here(const RemoteEntry& entry,
                                                                ChunkWriter out) {
    if (context_ == nullptr && !lost_) // it went to a helper that was then given up
        if (auto connected = log_in(); !connected) {
            auto error = connected.error();
            error.path = entry.path;
            return fail(std::move(error));
        }
    if (auto usable = ready(); !usable) {
        auto error = usable.error();
        error.path = entry.path;
        return fail(std::move(error));
    }
    // Three round trips per small file: open, one read, close. The mtime comes from the
    // listing (an fstat would cost a fourth), and a file that fits one read is asked for
    // exactly its listed size: libsmbclient answers a short read by asking again, and that
    // second READ would only report the end. Larger files are read until a read returns
    // nothing, so one rewritten while it downloads shows in its size and is refused. (A small
    // file rewritten with another size between listing and download is cut or short; the
    // next listing shows its new size and mtime and downloads it again.)
    detail::smb::OpenFile file{context_};
    {
        detail::smb::Call call;
        load_client_config();
        file.handle =
            smbc().getFunctionOpen(context_)(context_, url(entry.locator).c_str(), O_RDONLY, 0);
        const int error = errno;
        if (fell_back_to_plain())
            return fail(with_path(*lost_, entry.path));
        if (file.handle == nullptr)
            return fail(transfer_error(error, entry.path, "cannot open"));
    }
    if (block_.empty()) {
        own_block_.resize(block_size);
        block_ = own_block_;
    }
    for (std::uint64_t total = 0;;) {
        if (stopping())
            return fail(with_path(stopped(), entry.path));
        const std::size_t want =
            entry.size > total ? static_cast<std::size_t>(
                                     std::min<std::uint64_t>(block_.size(), entry.size - total))
                               : block_.size();
        ssize_t got = 0;
        int error = 0;
        {
            detail::smb::Call call;
            got = smbc().getFunctionRead(context_)(context_, file.handle, block_.data(), want);
            error = errno;
            if (fell_back_to_plain())
                return fail(with_path(*lost_, entry.path));
        }
        if (got < 0)
            return fail(transfer_error(error, entry.path, "cannot read"));
        if (got == 0)
            break;
        if (auto written = out(std::span{block_.data(), static_cast<std::size_t>(got)}); !written)
            return fail(written.error());
        total += static_cast<std::uint64_t>(got);
        if (total == entry.size && entry.size <= block_.size())
            break;
    }
    return Retrieved{};
}

} // namespace kitovu
