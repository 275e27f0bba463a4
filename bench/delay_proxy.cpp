// A TCP proxy that delays each direction by a fixed time, to measure over a link with the round
// trip of a VPN from home on one machine. It delays, it does not limit bandwidth: every chunk
// read from one side is written to the other `delay` after it arrived, in order, so a request
// and its answer each take `delay` and a round trip takes twice that. Many connections at once.
//
//   delay_proxy LISTEN_PORT TARGET_PORT DELAY_MS COUNTS_FILE
//
// Listens on 127.0.0.1:LISTEN_PORT (0: any free port, printed on stdout) and forwards to
// 127.0.0.1:TARGET_PORT. On SIGUSR1 it appends to COUNTS_FILE one line of what it forwarded
// since the last one, then starts counting again:
//   connections  requests  answers  turns
// where requests are chunks from the client, answers chunks from the server, and turns the
// client chunks that arrived after the server had last spoken on their connection: a
// synchronous client (libsmbclient, smbget) waits a round trip for each, so turns count its
// round trips. SIGTERM and SIGINT end it.
//
// With DELAY_PROXY_TRACE=FILE set, every client chunk is also written to FILE as one line
//   MILLISECONDS CONNECTION turn|more COMMAND...
// with the SMB2 commands it holds (several for a compound), to see where a run's round trips go.
//
// With DELAY_PROXY_HOLD=SECONDS set, the first tree connect of the first connection that sent a
// session setup is held until another connection sent a session setup (at most SECONDS), and the
// trace says which ended the hold: "hold released" or "hold timed-out". A test of a client that
// logs in on several connections at once sees by it whether the others began before the first
// login was over, without timing anything.
//
// With DELAY_PROXY_FIRST_ANSWER=MS set, each connection's first answer comes MS later still, as
// from a server that forks a process per connection and reads its files from a cold disk; with
// DELAY_PROXY_LATE_ANSWERS=N too, its first N answers, as on a machine busy for a moment.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<long> connections{0};
std::atomic<long> requests{0};
std::atomic<long> answers{0};
std::atomic<long> turns{0};

const Clock::time_point started = Clock::now();
std::FILE* trace = nullptr; // DELAY_PROXY_TRACE
std::mutex trace_mutex;

// DELAY_PROXY_HOLD: guarded by hold_mutex.
std::chrono::seconds hold_limit{0};
std::chrono::milliseconds first_answer_delay{0}; // DELAY_PROXY_FIRST_ANSWER
int late_answers = 1;                            // DELAY_PROXY_LATE_ANSWERS
std::mutex hold_mutex;
std::condition_variable hold_over;
long first_login = 0; // the connection whose tree connect is held
bool others_logged_in = false;
bool held = false;

// The SMB2 commands of the messages that start in `bytes`: NetBIOS-framed, or one message
// without its frame header where a client writes the 4-byte header separately (rclone). A
// message split over chunks is named only in the chunk where it starts.
std::string smb2_commands(const std::vector<char>& bytes) {
    static constexpr const char* names[] = {
        "negotiate",     "session-setup", "logoff",   "tree-connect", "tree-disconnect",
        "create",        "close",         "flush",    "read",         "write",
        "lock",          "ioctl",         "cancel",   "echo",         "query-directory",
        "change-notify", "query-info",    "set-info", "oplock-break"};
    const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(bytes[at]); };
    const auto starts = [&](std::size_t at, const char* magic) {
        return at + 4 <= bytes.size() && std::memcmp(&bytes[at], magic, 4) == 0;
    };
    std::string out;
    const auto name_messages = [&](std::size_t message) { // a compound's too
        if (starts(message, "\xfdSMB"))
            out += " encrypted";
        while (message + 24 <= bytes.size() && starts(message, "\xfeSMB")) {
            const unsigned command = byte(message + 12) | byte(message + 13) << 8;
            out += ' ';
            out += command < std::size(names) ? names[command] : "?";
            const std::size_t next = byte(message + 20) | byte(message + 21) << 8 |
                                     byte(message + 22) << 16 |
                                     std::size_t{byte(message + 23)} << 24;
            if (next == 0)
                break;
            message += next;
        }
    };
    if (starts(0, "\xfeSMB")) {
        name_messages(0);
        return out;
    }
    for (std::size_t frame = 0; frame + 4 <= bytes.size();) {
        name_messages(frame + 4);
        frame += 4 + (std::size_t{byte(frame + 1)} << 16 | std::size_t{byte(frame + 2)} << 8 |
                      byte(frame + 3));
    }
    return out;
}

struct Chunk {
    Clock::time_point arrived;
    std::vector<char> bytes; // empty: the sender closed its side
};

// One direction of one connection: a reader queues what arrives, a writer sends it on late.
struct Direction {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<Chunk> chunks;
};

struct Connection {
    long id = 0;
    int client;
    int server;
    std::atomic<bool> server_spoke{true}; // the first request is a turn too
    bool turn_untraced = false;           // the reader's: a turn not yet in the trace
    std::atomic<int> writers_left{2};
    Direction up;   // client to server
    Direction down; // server to client
    Connection(int from, int to) : client(from), server(to) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        ::close(client);
        ::close(server);
    }
};

void hold(const Connection& c, const std::string& commands) {
    std::unique_lock lock{hold_mutex};
    if (commands.find("session-setup") != std::string::npos) {
        if (first_login == 0)
            first_login = c.id;
        else if (c.id != first_login)
            others_logged_in = true;
        hold_over.notify_all();
    }
    if (c.id != first_login || held || commands.find("tree-connect") == std::string::npos)
        return;
    held = true;
    const bool released = hold_over.wait_for(lock, hold_limit, [] { return others_logged_in; });
    if (trace != nullptr) {
        std::scoped_lock trace_lock{trace_mutex};
        std::fprintf(trace, "hold %s\n", released ? "released" : "timed-out");
    }
}

void read_side(std::shared_ptr<Connection> c, bool from_client) {
    Direction& d = from_client ? c->up : c->down;
    const int fd = from_client ? c->client : c->server;
    std::vector<char> buffer(256 * 1024);
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        Chunk chunk{Clock::now(), {}};
        if (n > 0) {
            chunk.bytes.assign(buffer.data(), buffer.data() + n);
            if (from_client && hold_limit.count() > 0)
                hold(*c, smb2_commands(chunk.bytes));
            if (from_client) {
                ++requests;
                const bool turn = c->server_spoke.exchange(false);
                if (turn)
                    ++turns;
                if (trace != nullptr) {
                    // A turn that is only a frame header is traced with the message after it.
                    const std::string commands = smb2_commands(chunk.bytes);
                    const bool traced_turn = turn || std::exchange(c->turn_untraced, false);
                    if (traced_turn && commands.empty()) {
                        c->turn_untraced = true;
                    } else {
                        const auto ms =
                            std::chrono::duration<double, std::milli>(chunk.arrived - started);
                        std::scoped_lock lock{trace_mutex};
                        std::fprintf(trace, "%.1f %ld %s%s\n", ms.count(), c->id,
                                     traced_turn ? "turn" : "more", commands.c_str());
                    }
                }
            } else {
                ++answers;
                c->server_spoke = true;
            }
        }
        {
            std::scoped_lock lock{d.mutex};
            d.chunks.push_back(std::move(chunk));
        }
        d.ready.notify_one();
        if (n <= 0)
            return;
    }
}

void write_side(std::shared_ptr<Connection> c, bool to_server, std::chrono::milliseconds delay) {
    Direction& d = to_server ? c->up : c->down;
    const int fd = to_server ? c->server : c->client;
    int late = to_server ? 0 : late_answers;
    for (;;) {
        Chunk chunk;
        {
            std::unique_lock lock{d.mutex};
            d.ready.wait(lock, [&] { return !d.chunks.empty(); });
            chunk = std::move(d.chunks.front());
            d.chunks.pop_front();
        }
        std::this_thread::sleep_until(
            chunk.arrived + delay +
            (late-- > 0 ? first_answer_delay : std::chrono::milliseconds{}));
        bool ok = !chunk.bytes.empty();
        for (std::size_t sent = 0; ok && sent < chunk.bytes.size();) {
            const ssize_t n =
                ::send(fd, chunk.bytes.data() + sent, chunk.bytes.size() - sent, MSG_NOSIGNAL);
            ok = n > 0;
            sent += ok ? static_cast<std::size_t>(n) : 0;
        }
        if (!ok) {
            // The other side learns of the end as it would without the proxy.
            ::shutdown(fd, SHUT_WR);
            ::shutdown(to_server ? c->client : c->server, SHUT_RD);
            return;
        }
    }
}

int listen_on(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd, 256) != 0) {
        std::perror("delay_proxy: cannot listen");
        std::exit(1);
    }
    return fd;
}

int connect_to(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Signals are taken by this thread only: counts on SIGUSR1, the end on SIGTERM or SIGINT.
void on_signals(const sigset_t& set, std::string counts_file) {
    for (;;) {
        int signal = 0;
        ::sigwait(&set, &signal);
        if (signal != SIGUSR1)
            std::_Exit(0);
        if (std::FILE* f = std::fopen(counts_file.c_str(), "a")) {
            std::fprintf(f, "%ld %ld %ld %ld\n", connections.exchange(0), requests.exchange(0),
                         answers.exchange(0), turns.exchange(0));
            std::fclose(f);
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: delay_proxy LISTEN_PORT TARGET_PORT DELAY_MS COUNTS_FILE\n");
        return 2;
    }
    const int target = std::atoi(argv[2]);
    const std::chrono::milliseconds delay{std::atoi(argv[3])};
    sigset_t set;
    sigemptyset(&set);
    for (const int signal : {SIGUSR1, SIGTERM, SIGINT})
        sigaddset(&set, signal);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread{on_signals, set, std::string{argv[4]}}.detach();
    if (const char* path = std::getenv("DELAY_PROXY_TRACE"); path != nullptr && *path != '\0')
        if ((trace = std::fopen(path, "a")) != nullptr) // emptied between runs by the caller
            std::setvbuf(trace, nullptr, _IOLBF, 0);    // SIGTERM ends it without a flush
    if (const char* seconds = std::getenv("DELAY_PROXY_HOLD"); seconds != nullptr)
        hold_limit = std::chrono::seconds{std::atoi(seconds)};
    if (const char* ms = std::getenv("DELAY_PROXY_FIRST_ANSWER"); ms != nullptr)
        first_answer_delay = std::chrono::milliseconds{std::atoi(ms)};
    if (const char* n = std::getenv("DELAY_PROXY_LATE_ANSWERS"); n != nullptr)
        late_answers = std::atoi(n);
    long next_id = 0;

    const int listener = listen_on(std::atoi(argv[1]));
    sockaddr_in bound{};
    socklen_t length = sizeof bound;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &length);
    std::printf("%d\n", ntohs(bound.sin_port));
    std::fflush(stdout);
    for (;;) {
        const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0)
            continue;
        const int server = connect_to(target);
        if (server < 0) {
            ::close(client);
            continue;
        }
        const int one = 1;
        ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ++connections;
        auto c = std::make_shared<Connection>(client, server);
        c->id = ++next_id;
        std::thread{read_side, c, true}.detach();
        std::thread{read_side, c, false}.detach();
        std::thread{write_side, c, true, delay}.detach();
        std::thread{write_side, c, false, delay}.detach();
    }
}
