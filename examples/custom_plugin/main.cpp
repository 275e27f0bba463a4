// An out-of-tree plugin: `notes` serves generated text files, registers itself under its name,
// and is then found in the registry like any built-in plugin.
#include <kitovu/kitovu.hpp>

#include <array>
#include <cstdio>
#include <string>

class NotesPlugin final : public kitovu::SyncPlugin {
  public:
    static constexpr auto text =
        kitovu::string_option({.name = "text", .required = true, .help = "what each note says"});
    static constexpr auto count = kitovu::integer_option(
        {.name = "count", .default_value = std::int64_t{2}, .help = "how many notes"});
    static std::span<const kitovu::OptionSpec> schema() noexcept {
        static constexpr std::array specs{text.spec, count.spec};
        return specs;
    }

    kitovu::expected<void, kitovu::UsageError> configure(std::string_view,
                                                         const kitovu::Options& options) override {
        text_ = options.get(text);
        count_ = options.get(count);
        return {};
    }

    kitovu::expected<void, kitovu::UsageError> connect() override { return {}; }

    // All notes are in one folder, so they go out in one batch.
    kitovu::expected<void, kitovu::UsageError> list(std::string_view, kitovu::ListFilter keep,
                                                    kitovu::WarningSink,
                                                    kitovu::ListSink out) override {
        std::vector<kitovu::RemoteEntry> entries;
        for (std::int64_t i = 1; i <= count_; ++i) {
            std::string name = "note-" + std::to_string(i) + ".txt";
            if (keep(name, false))
                entries.push_back({.path = name, .size = text_.size(), .mtime = 1'700'000'000});
        }
        out(entries);
        return {};
    }

    kitovu::expected<kitovu::Retrieved, kitovu::UsageError>
    retrieve(const kitovu::RemoteEntry& /*entry*/, kitovu::ChunkWriter out) override {
        if (auto written = out(std::as_bytes(std::span{text_})); !written)
            return kitovu::fail(written.error());
        return kitovu::Retrieved{}; // generated text: nothing more to tell
    }

  private:
    std::string text_;
    std::int64_t count_ = 0;
};

inline const kitovu::PluginRegistry::Add<NotesPlugin> notes_plugin{"notes", "generated notes"};

int main() {
    auto plugin = kitovu::PluginRegistry::create("notes");
    if (!plugin) {
        std::fprintf(stderr, "%s\n", plugin.error().to_string().c_str());
        return 1;
    }
    kitovu::Options options;
    options.set("text", std::string{"hello"});
    options.set("count", std::int64_t{3});
    (*plugin)->configure("example", options);
    auto entries = (*plugin)->list_all(
        "/", [](std::string_view, bool) { return true; }, kitovu::no_warnings);
    for (const auto& entry : *entries) {
        std::string content;
        (*plugin)->retrieve(
            entry,
            [&](std::span<const std::byte> bytes) -> kitovu::expected<void, kitovu::UsageError> {
                content.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
                return {};
            });
        std::printf("%s: %s\n", entry.path.c_str(), content.c_str());
    }
    std::printf("plugins: %s\n", kitovu::PluginRegistry::known_names().c_str());
}
