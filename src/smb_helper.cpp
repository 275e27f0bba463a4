// kitovu-smb-helper: the process in which the smb plugin runs libsmbclient, installed in libexec
// beside the kitovu command and started by the plugin (include/kitovu/plugins/smb/helper.hpp);
// not meant to be run by hand. One Session serves the plugin over the socket on descriptor 3,
// with the two block slots in the shared memory file on descriptor 4. It ends when that socket
// closes: the plugin ended it, or the plugin's process died.
#include <kitovu/plugins/smb/session.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <utility>

using namespace kitovu;
using namespace kitovu::detail::smb;

namespace {

constexpr int channel_fd = 3;
constexpr int blocks_fd = 4;

// Sends one folder's items in messages of about 60 KiB, then done; or the error.
bool send_listing(int fd, const expected<std::vector<Item>, UsageError>& listed) {
    if (!listed)
        return send_message(fd, Message::failed, encode_error(listed.error()));
    std::string batch;
    for (const Item& item : *listed) {
        batch += encode(item);
        if (batch.size() > 60 * 1024 && !send_message(fd, Message::items, std::exchange(batch, {})))
            return false;
    }
    return (batch.empty() || send_message(fd, Message::items, batch)) &&
           send_message(fd, Message::done);
}

// Reads one file: blocks go out alternately from the slots; one is read into again only once the
// plugin answered for the block it held.
bool send_file(int fd, Session& session, std::byte* shared, std::string_view request) {
    std::uint64_t size = 0;
    std::string path;
    Reader{request}(size)(path);
    std::size_t slot = 0, unanswered = 0;
    std::vector<char> buffer;
    bool gone = false;
    const auto answered = [&] {
        Message type{};
        std::string_view payload;
        gone = gone || !receive_message(fd, buffer, type, payload);
        --unanswered;
        return !gone && type == Message::ack;
    };
    const auto next_block = [&] { return std::span{shared + slot * block_size, block_size}; };
    const auto out = [&](std::size_t got) -> expected<void, UsageError> {
        if (!send_message(fd, Message::chunk, Writer{}(got)(slot).out))
            gone = true;
        ++unanswered;
        slot = (slot + 1) % slots;
        if (gone || (unanswered == slots && !answered()))
            return fail(error(ErrorKind::cancelled, "stopped"));
        return {};
    };
    const auto result = session.read(path, size, next_block, out);
    while (unanswered > 0 && !gone)
        answered();
    return !gone && (result ? send_message(fd, Message::done)
                            : send_message(fd, Message::failed, encode_error(result.error())));
}

int serve() {
    ::signal(SIGPIPE, SIG_IGN);
    ::close_range(blocks_fd + 1, ~0U, 0); // nothing of the plugin's process stays open here
    const int fd = channel_fd;
    // Watches the socket apart from the calls into libsmbclient, which may wait for a server for
    // the whole time-out: the plugin's end closing ends this process at once.
    std::thread{[fd] {
        ::pollfd hangup{fd, 0, 0};
        while (::poll(&hangup, 1, -1) < 0 && errno == EINTR) {
        }
        ::_exit(0);
    }}.detach();
    void* shared =
        ::mmap(nullptr, slots * block_size, PROT_READ | PROT_WRITE, MAP_SHARED, blocks_fd, 0);
    std::vector<char> buffer;
    Message type{};
    std::string_view payload;
    if (shared == MAP_FAILED || !receive_message(fd, buffer, type, payload) ||
        type != Message::login)
        return 1;
    Login login;
    decode(payload, login);
    Session session{login};
    ::explicit_bzero(login.password.data(), login.password.size());
    ::explicit_bzero(buffer.data(), buffer.size());
    auto ready = session.set_up();
    // A parked helper sets up its client while the first login runs, then waits for the word
    // that the server took the password.
    if (ready && login.parked &&
        (!receive_message(fd, buffer, type, payload) || type != Message::go))
        return 0;
    if (ready)
        ready = session.log_in(
            login.report ? std::function<void()>{[fd] { send_message(fd, Message::setup_ok); }}
                         : std::function<void()>{});
    if (!send_message(fd, Message::ready, ready ? "" : encode_error(ready.error())))
        return 0;
    while (receive_message(fd, buffer, type, payload)) {
        bool sent = false;
        if (!ready)
            sent = send_message(fd, Message::failed, encode_error(ready.error()));
        else if (type == Message::list)
            sent = send_listing(fd, session.list(std::string{payload}));
        else if (type == Message::request)
            sent = send_file(fd, session, static_cast<std::byte*>(shared), payload);
        if (!sent)
            break;
    }
    return 0;
}

} // namespace

// libsmbclient (4.17) prints some failures with Samba's d_printf, which writes to stdout. This
// definition takes its place in this program (exported: the dynamic linker binds the library's
// calls to it), keeps the text with the log, and notes the one failure that must not pass
// silently: "Encryption required and server doesn't support SMB3 encryption - failing connect",
// after which libsmbclient goes on unencrypted.
extern "C" __attribute__((format(printf, 1, 2))) int d_printf(const char* format, ...) {
    va_list arguments;
    va_start(arguments, format);
    char text[1024];
    const int length = std::vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    if (length < 0)
        return length;
    if (std::string_view{text}.starts_with("Encryption required"))
        session_log.unencrypted = true;
    keep_log(nullptr, 0, text);
    return length;
}

int main(int argc, char** argv) {
    if (argc != 2 || std::string_view{argv[1]} != "--serve") {
        std::fputs("kitovu-smb-helper is started by kitovu's smb plugin, not by hand\n", stderr);
        return 2;
    }
    // Ends without exit handlers: nothing here needs flushing, and a sanitizer's leak check at exit
    // would only report libsmbclient's process-global state.
    std::_Exit(serve());
}
