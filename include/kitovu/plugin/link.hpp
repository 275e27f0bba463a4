// How much parallel work a link needs, from its round trip. Over loopback or a campus network a
// request costs microseconds and the CPU of client and server is the limit, so a few connections
// do. Through a VPN from home each request waits 10-50 ms, and a client that makes one request
// at a time per connection (libsmbclient) gets faster only with more connections in flight. The
// number stays within what is polite to a server that many students share.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace kitovu {

// At most this many connections of one run work at once on a slow link (rclone's tuned users
// run 16 checkers and 16 transfers).
inline constexpr unsigned polite_connections = 16;

// A round trip below this is a fast link, where CPU is the limit for listing. Loopback on a busy
// machine can look like a millisecond or so; a VPN is 10 ms and more.
inline constexpr std::chrono::microseconds fast_link_round_trip{3000};

// Parallel downloads when the user chose none: 4 on a fast link, else 4 per millisecond of round
// trip, at most polite_connections. A small file costs three round trips, so connections in
// flight are what a slow link needs; 4 keep two cores busy on a fast one. An unknown round trip
// (zero) counts as fast.
constexpr unsigned jobs_for_link(std::chrono::microseconds round_trip) {
    const auto micros = std::max<std::chrono::microseconds::rep>(round_trip.count(), 0);
    return static_cast<unsigned>(
        std::clamp<std::chrono::microseconds::rep>(4 * micros / 1000, 4, polite_connections));
}

// Processes listing folders at once when `waiting` folders wait: on a fast link three (listing is
// CPU in libsmbclient, and two cores are busy with three), on a slow one as many as the tree
// allows and then some, since a listing process takes a login (several round trips) to start and
// the next level of the tree is usually wider: four per waiting folder, at most
// polite_connections.
constexpr std::size_t listers_for_link(std::size_t waiting, std::chrono::microseconds round_trip) {
    if (round_trip < fast_link_round_trip)
        return std::min<std::size_t>(waiting, 3);
    return std::min<std::size_t>(waiting * 4, polite_connections);
}

} // namespace kitovu
