// Lists a WebDAV folder with the webdav plugin (several folders at once, as a sync does) and,
// for comparison, folder by folder over one connection, and prints both times. bench/webdav.sh
// runs it against Apache behind bench/delay_proxy (a VPN's round trip).
//   webdav_bench URL USER PASSWORD REMOTE_DIR [ROUNDS]
// The two take turns, ROUNDS times each (default 5), and the speed-up is taken from each one's
// fastest round: on a machine shared with other work, one round of each measured the load as
// much as the link (Apache takes 2-17 ms of CPU per 50-entry folder there, which no number of
// connections shortens below what two cores give), and the ratio swung from 1.3x to 9.7x.
#include <kitovu/plugins/webdav.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace kitovu;
namespace dav = kitovu::detail::webdav;

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

// Folder by folder, one PROPFIND at a time on one connection: what a simple client does.
std::size_t list_one_by_one(const SyncPlugin& owner, const std::string& root,
                            const std::string& user, const std::string& password) {
    dav::Transfers http{user, password, std::chrono::seconds{30}};
    std::vector<std::string> folders{root};
    std::size_t entries = 0;
    while (!folders.empty()) {
        dav::Request request{.method = "PROPFIND", .url = folders.back(), .depth = 1};
        folders.pop_back();
        http.start(request);
        if (http.next_done(owner) == nullptr || request.status != 207)
            return entries;
        for (const dav::DavEntry& e :
             dav::read_multistatus(request.text).value_or(std::vector<dav::DavEntry>{})) {
            const auto name = dav::below(request.url, e.href);
            if (!name || name->empty())
                continue;
            ++entries;
            if (e.is_folder)
                folders.push_back(request.url + dav::encode_path(*name) + '/');
        }
    }
    return entries;
}

double median(std::vector<double> values) {
    std::ranges::sort(values);
    return values[values.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 5 && argc != 6) {
        std::fprintf(stderr, "usage: webdav_bench URL USER PASSWORD REMOTE_DIR [ROUNDS]\n");
        return 2;
    }
    const int rounds = argc == 6 ? std::max(1, std::atoi(argv[5])) : 5;
    Options options;
    options.set("url", std::string{argv[1]});
    options.set("username", std::string{argv[2]});
    options.set("timeout", std::int64_t{30});
    options.set_secret(argv[3]);
    WebdavPlugin plugin;
    if (auto configured = plugin.configure("bench", options); !configured)
        return std::fprintf(stderr, "%s\n", configured.error().to_string().c_str()), 1;
    if (auto connected = plugin.connect(); !connected)
        return std::fprintf(stderr, "%s\n", connected.error().to_string().c_str()), 1;

    std::vector<double> parallel, serial;
    std::size_t listed_entries = 0, one_by_one = 0;
    for (int round = 0; round < rounds; ++round) {
        auto start = std::chrono::steady_clock::now();
        auto listed = plugin.list_all(
            argv[4], [](std::string_view, bool) { return true; }, no_warnings);
        parallel.push_back(ms_since(start));
        if (!listed)
            return std::fprintf(stderr, "%s\n", listed.error().to_string().c_str()), 1;
        listed_entries = listed->size();

        start = std::chrono::steady_clock::now();
        one_by_one = list_one_by_one(plugin, dav::folder_url(argv[1], argv[4]), argv[2], argv[3]);
        serial.push_back(ms_since(start));
        std::printf("round %d: %.0f ms at once, %.0f ms folder by folder\n", round + 1,
                    parallel.back(), serial.back());
    }
    const double fastest_parallel = std::ranges::min(parallel);
    const double fastest_serial = std::ranges::min(serial);
    std::printf("webdav plugin (%zu at once): %zu entries in %.0f ms (fastest of %d)\n",
                WebdavPlugin::parallel_listings, listed_entries, fastest_parallel, rounds);
    std::printf("folder by folder, one connection: %zu entries in %.0f ms (fastest of %d)\n",
                one_by_one, fastest_serial, rounds);
    std::printf("speed-up: %.1fx (of the medians: %.1fx)\n", fastest_serial / fastest_parallel,
                median(serial) / median(parallel));
    return listed_entries == one_by_one ? 0 : 1;
}
