// Times parse_settings on a large generated config (200 connections, 2,000 subjects) and prints
// the median of several runs. Usage: config_bench [RUNS]; build it in Release to mean anything.
#include <kitovu/config/settings.hpp>
#include <kitovu/plugins/local.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

constexpr int connection_count = 200;
constexpr int subject_count = 2000;

// Every subject has a source with its own ignores; every other one a second source into its
// own local-dir, so the duplicate and path checks have work to do.
std::string generate_config() {
    std::string text = "root-dir = \"~/kitovu\"\n"
                       "global-ignore = [\"Thumbs.db\", \".DS_Store\", \"*.tmp\", \"~$*\"]\n\n";
    for (int i = 0; i < connection_count; ++i)
        text += fmt::format("[[connections]]\n"
                            "name = \"share-{}\"\n"
                            "plugin = \"local\"\n"
                            "path = \"/mnt/courses/share-{}\"\n\n",
                            i, i);
    for (int i = 0; i < subject_count; ++i) {
        text += fmt::format("[[subjects]]\n"
                            "name = \"Subject {:04}\"\n"
                            "  [[subjects.sources]]\n"
                            "  connection = \"share-{}\"\n"
                            "  remote-dir = \"Informatik/Fachbereich/S{}\"\n"
                            "  ignore = [\"*.bak\", \"old/\", \"Archiv/20[0-1][0-9]/\"]\n",
                            i, i % connection_count, i);
        if (i % 2 == 0)
            text += fmt::format("  [[subjects.sources]]\n"
                                "  connection = \"share-{}\"\n"
                                "  remote-dir = \"Übungen/S{}\"\n"
                                "  local-dir = \"exercises/S{}\"\n",
                                (i + 1) % connection_count, i, i);
        text += '\n';
    }
    return text;
}

} // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 21;
    const std::string text = generate_config();
    const std::filesystem::path file = "/bench/kitovu.toml";

    const auto checked = kitovu::parse_settings(text, file);
    if (!checked) {
        for (const auto& error : checked.error())
            fmt::print(stderr, "{}\n", error.to_string());
        return 1;
    }
    std::size_t sources = 0;
    for (const auto& subject : checked->subjects)
        sources += subject.sources.size();

    std::vector<double> milliseconds;
    for (int run = 0; run < runs; ++run) {
        const auto start = std::chrono::steady_clock::now();
        const auto settings = kitovu::parse_settings(text, file);
        const auto stop = std::chrono::steady_clock::now();
        if (!settings)
            return 1;
        milliseconds.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    }
    std::ranges::sort(milliseconds);
    fmt::print("parse_settings: {} connections, {} subjects, {} sources, {} KiB: "
               "median {:.2f} ms over {} runs (fastest {:.2f} ms, slowest {:.2f} ms)\n",
               checked->connections.size(), checked->subjects.size(), sources, text.size() / 1024,
               milliseconds[milliseconds.size() / 2], runs, milliseconds.front(),
               milliseconds.back());
}
