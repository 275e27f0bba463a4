// A TCP proxy on 127.0.0.1 that a conformance fixture puts between a plugin and its server, and
// can hold still: while frozen it passes nothing either way, as a server that stopped answering
// (a dead VPN, a hung NAS). The suite then checks that `timeout` ends a wait and that stop()
// ends one at once. Connections made before the freeze are held too. Its switches work from a
// child process as well (the suite runs the plugin in one): they live in shared memory.
//
//     kitovu::testing::HoldStill proxy{server_port};  // the plugin is given proxy.port()
//     fixture.hold_still = proxy.hook(std::chrono::seconds{2}); // the options' timeout
#pragma once

#include "kitovu/testing/fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace kitovu::testing {

class HoldStill {
  public:
    explicit HoldStill(std::uint16_t server_port) : target_(address(server_port)) {
        void* shared = ::mmap(nullptr, sizeof(Switches), PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in local = address(0);
        socklen_t size = sizeof local;
        if (shared == MAP_FAILED || listener_ < 0 ||
            ::bind(listener_, reinterpret_cast<sockaddr*>(&local), size) != 0 ||
            ::listen(listener_, 64) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&local), &size) != 0 ||
            ::pipe2(wake_.data(), O_CLOEXEC | O_NONBLOCK) != 0 ||
            ::pipe2(held_pipe_.data(), O_CLOEXEC | O_NONBLOCK) != 0)
            throw std::runtime_error("HoldStill: cannot listen on 127.0.0.1");
        switches_ = new (shared) Switches{};
        port_ = ntohs(local.sin_port);
        thread_ = std::thread{[this] { pump(); }};
    }
    ~HoldStill() {
        switches_->ending = true;
        poke();
        thread_.join();
        for (const Pair& p : pairs_) {
            ::close(p.client);
            ::close(p.server);
        }
        for (int fd : {listener_, wake_[0], wake_[1], held_pipe_[0], held_pipe_[1]})
            ::close(fd);
        ::munmap(switches_, sizeof(Switches));
    }
    HoldStill(const HoldStill&) = delete;
    HoldStill& operator=(const HoldStill&) = delete;

    // Where the plugin connects instead of the server.
    std::uint16_t port() const noexcept { return port_; }

    void freeze() const {
        switches_->held = false;
        switches_->frozen = true;
        poke();
    }
    void thaw() const {
        switches_->frozen = false;
        poke();
    }
    // Waits until, frozen, something came that was not passed on (a request, a connection, an
    // answer): from then on the plugin waits for the server.
    bool wait_until_held(std::chrono::milliseconds limit) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!switches_->held && std::chrono::steady_clock::now() < deadline) {
            pollfd told{held_pipe_[0], POLLIN, 0};
            ::poll(&told, 1, 100);
            char byte = 0;
            while (::read(held_pipe_[0], &byte, 1) > 0) {
            }
        }
        return switches_->held;
    }

    // For Fixture::hold_still; `timeout` is the one the fixture's options give the plugin.
    HoldStillHook hook(std::chrono::seconds timeout) const {
        return {.freeze = [this] { freeze(); },
                .thaw = [this] { thaw(); },
                .wait_until_held = [this](auto limit) { return wait_until_held(limit); },
                .timeout = timeout};
    }

  private:
    struct Switches {
        std::atomic<bool> frozen{false}, held{false}, ending{false};
    };

    static sockaddr_in address(std::uint16_t port) {
        sockaddr_in out{};
        out.sin_family = AF_INET;
        out.sin_port = htons(port);
        out.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return out;
    }

    void poke() const {
        const char byte = 1;
        (void)!::write(wake_[1], &byte, 1);
    }

    // One client's connection and the proxy's to the server, with what is read from one side
    // and not yet written to the other (writes never block: a plugin that stopped reading
    // must not stall the proxy for everyone).
    struct Pair {
        int client = -1, server = -1;
        std::string to_server{}, to_client{};
    };

    // Moves what `from` has to `pending`, and what `pending` holds to `to`; false when the
    // connection ended.
    static bool pass(int from, short from_events, std::string& pending, int to,
                     std::array<char, 64 * 1024>& buffer) {
        if (pending.empty() && (from_events & (POLLIN | POLLHUP | POLLERR)) != 0) {
            const auto n = ::read(from, buffer.data(), buffer.size());
            if (n <= 0)
                return false;
            pending.assign(buffer.data(), static_cast<std::size_t>(n));
        }
        if (!pending.empty()) { // never blocks; what does not fit waits for POLLOUT
            const auto n = ::send(to, pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN)
                return false;
            if (n > 0)
                pending.erase(0, static_cast<std::size_t>(n));
        }
        return true;
    }

    void pump() {
        std::array<char, 64 * 1024> buffer{};
        while (!switches_->ending) {
            const bool frozen = switches_->frozen, held = switches_->held;
            std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
            for (const Pair& p : pairs_) {
                // Frozen: only whether something waits (once; then nothing, or poll would wake
                // at once, over and over). Else: read a side when its pending data is passed
                // on, write a side when data waits for it.
                const short client_in = p.to_server.empty() ? POLLIN : 0;
                const short server_in = p.to_client.empty() ? POLLIN : 0;
                fds.push_back(
                    {p.client,
                     static_cast<short>(frozen ? (held ? 0 : POLLIN)
                                               : client_in | (p.to_client.empty() ? 0 : POLLOUT)),
                     0});
                fds.push_back(
                    {p.server,
                     static_cast<short>(frozen ? (held ? 0 : POLLIN)
                                               : server_in | (p.to_server.empty() ? 0 : POLLOUT)),
                     0});
            }
            if (::poll(fds.data(), fds.size(), -1) < 0)
                continue;
            if ((fds[0].revents & POLLIN) != 0)
                while (::read(wake_[0], buffer.data(), buffer.size()) > 0) {
                }
            bool waiting = false;
            if ((fds[1].revents & POLLIN) != 0) {
                const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
                const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (client >= 0 && server >= 0 &&
                    ::connect(server, reinterpret_cast<const sockaddr*>(&target_),
                              sizeof target_) == 0) {
                    pairs_.push_back(Pair{client, server});
                    waiting = frozen;
                } else {
                    ::close(client);
                    ::close(server);
                }
            }
            std::vector<Pair> open;
            const std::size_t known = fds.size() / 2 - 1; // pairs polled (not the one just made)
            for (std::size_t i = 0; i < pairs_.size(); ++i) {
                Pair& p = pairs_[i];
                bool alive = true;
                if (i < known) {
                    const short client = fds[2 + 2 * i].revents, server = fds[3 + 2 * i].revents;
                    if (frozen) {
                        // What waits is held; a side that hung up (a plugin giving up) ends it.
                        waiting = waiting || ((client | server) & POLLIN) != 0;
                        alive = ((client | server) & (POLLHUP | POLLERR)) == 0;
                    } else {
                        alive = pass(p.client, client, p.to_server, p.server, buffer) &&
                                pass(p.server, server, p.to_client, p.client, buffer);
                    }
                }
                if (alive) {
                    open.push_back(std::move(p));
                } else {
                    ::close(p.client);
                    ::close(p.server);
                }
            }
            pairs_ = std::move(open);
            if (waiting && !switches_->held) {
                switches_->held = true;
                const char byte = 1;
                (void)!::write(held_pipe_[1], &byte, 1);
            }
        }
    }

    sockaddr_in target_;
    Switches* switches_ = nullptr;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::array<int, 2> wake_{-1, -1}, held_pipe_{-1, -1};
    std::thread thread_;
    std::vector<Pair> pairs_;
};

} // namespace kitovu::testing
