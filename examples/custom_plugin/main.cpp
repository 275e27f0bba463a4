// A program of its own with its own kitovu plugin: notes serves two notes saying TEXT. It
// registers itself in one line, runs kitovu's conformance suite on itself and syncs for real
// into a temporary folder. The plugin is 35 lines without comments and blank lines (the install
// test counts them, from class to the registration).
#include <kitovu/kitovu.hpp>
#include <kitovu/testing.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

using namespace kitovu;

class NotesPlugin final : public SyncPlugin {
  public:
    // Declared once: checked, documented and put in the config template from here.
    static constexpr auto text = string_option(
        {.name = "text", .required = true, .help = "what a note says", .example = "hello"});
    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{text.spec};
        return specs;
    }
    expected<void, UsageError> configure(std::string_view, const Options& options) override {
        text_ = options.get(text); // already validated: given, a string, not empty
        return {};
    }
    // connect() has nothing to do here; a remote with a login overrides it.
    expected<void, UsageError> list(std::string_view dir, ListFilter, WarningSink,
                                    ListSink out) override {
        if (dir.find_first_not_of('/') != std::string_view::npos)
            return fail(ErrorKind::not_found, "no such folder", std::string{dir});
        if (stopping()) // stop(): Ctrl-C, from another thread
            return fail(ErrorKind::cancelled, "stopped");
        std::vector<RemoteEntry> notes; // one folder: one batch
        for (const char* name : {"note-1.txt", "note-2.txt"})
            notes.push_back({.path = name, .size = text_.size(), .mtime = 1'700'000'000});
        out(notes);
        return {};
    }
    expected<Retrieved, UsageError> retrieve(const RemoteEntry&, ChunkWriter out) override {
        if (stopping())
            return fail(ErrorKind::cancelled, "stopped");
        if (auto written = out(std::as_bytes(std::span{text_})); !written)
            return fail(written.error());
        return Retrieved{}; // what it saw of the file after reading: nothing more here
    }

  private:
    std::string text_;
};
inline const PluginRegistry::Add<NotesPlugin> notes{"notes", "generated notes"};

int main() {
    // The conformance suite: every promise of the plugin interface, on what the plugin serves.
    Options hello;
    hello.set("text", std::string{"hello"});
    const auto note = [](std::string name) {
        return testing::TreeEntry{
            .path = name, .size = 5, .mtime = 1'700'000'000, .bytes = "hello"};
    };
    const auto report = testing::check_plugin(
        testing::registered("notes"),
        {.options = hello, .remote_dir = "/", .tree = {note("note-1.txt"), note("note-2.txt")}});
    std::printf("conformance: %s", report.to_string().c_str());
    if (!report.passed())
        return 1;

    // A real sync, through a config as a user writes it, into a temporary folder.
    char made[] = "/tmp/kitovu-notes-XXXXXX";
    if (::mkdtemp(made) == nullptr)
        return 1;
    const std::filesystem::path dir = made;
    std::ofstream{dir / "kitovu.toml"} << "root-dir = \"" << dir.string() << "/home\"\n"
                                       << "[[connections]]\nname = \"gen\"\nplugin = \"notes\"\n"
                                       << "text = \"hello\"\n"
                                       << "[[subjects]]\nname = \"Notes\"\n"
                                       << "[[subjects.sources]]\nconnection = \"gen\"\n"
                                       << "remote-dir = \"/\"\n";
    auto settings = load_settings(dir / "kitovu.toml");
    if (!settings) {
        for (const auto& e : settings.error())
            std::fprintf(stderr, "%s\n", e.to_string().c_str());
        return 2;
    }
    SyncOptions options;
    options.cache_file = dir / "kitovu.cache";
    auto synced = sync(*settings, options, PrintingSink{});
    const int exit_code = synced ? synced->exit_code() : 2;
    for (const char* name : {"note-1.txt", "note-2.txt"}) {
        std::ifstream in{dir / "home/Notes" / name};
        std::string text;
        std::getline(in, text);
        std::printf("%s: %s\n", name, text.c_str());
    }
    std::printf("plugins: %s\n", PluginRegistry::known_names().c_str());
    std::filesystem::remove_all(dir);
    return exit_code;
}
