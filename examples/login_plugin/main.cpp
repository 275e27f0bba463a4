// A plugin for a remote with a login: vault serves a folder tree to the users listed in the
// folder's .vault-users ("user:password" lines), standing in for a server. It runs kitovu's
// conformance suite on itself (the suite writes the remote through a RemoteWriter) and then
// syncs with the password taken from the environment, as a user's run would.
#include <kitovu/kitovu.hpp>
#include <kitovu/testing.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

using namespace kitovu;
namespace fs = std::filesystem;

class VaultPlugin final : public SyncPlugin {
  public:
    static constexpr auto path = string_option(
        {.name = "path", .required = true, .help = "the vault's folder", .example = "/srv/vault"});
    static constexpr auto user = string_option({.name = "user", .required = true});
    static constexpr auto password_command =
        string_option({.name = "password-command", .help = "prints the password"});
    static constexpr auto block_kib = integer_option(
        {.name = "block-kib", .default_value = std::int64_t{64}, .min = 1, .max = 1024});
    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{path.spec, user.spec, password_command.spec,
                                          block_kib.spec};
        return specs;
    }
    // The password: from password-command, else KITOVU_PASSWORD_<CONNECTION>, else the keyring
    // (the item keyed by path and user), else a prompt. configure() gets it as options.secret().
    static SecretSpec secret() noexcept {
        return {.what = "password",
                .command_option = &password_command,
                .environment_prefix = "KITOVU_PASSWORD_",
                .hint = "the one in .vault-users",
                .server_option = &path,
                .user_option = &user};
    }

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        connection_ = connection;
        root_ = options.get(path);
        user_ = options.get(user);
        password_ = options.secret();
        block_ = static_cast<std::size_t>(options.get(block_kib)) * 1024; // in range: 1..1024
        if (!root_.is_absolute()) // what the schema cannot say: a config error, before connecting
            return fail({.kind = ErrorKind::config,
                         .message = "path must be absolute",
                         .connection = connection_});
        return {};
    }
    expected<void, UsageError> connect() override {
        if (stopping())
            return error(ErrorKind::cancelled, "stopped");
        std::ifstream users{root_ / ".vault-users"};
        for (std::string line; std::getline(users, line);)
            if (line == user_ + ':' + password_)
                return {};
        // Never the password in a message: the suite fails a plugin that shows it.
        return error(ErrorKind::authentication, "the vault refuses user " + user_);
    }
    // The whole tree below remote_dir ("/a/", "a" and "a/" are one folder), one batch per folder.
    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override {
        const std::string dir{
            remote_dir.substr(std::min(remote_dir.find_first_not_of('/'), remote_dir.size()))};
        std::vector<std::string> folders{""}; // to list, relative to remote_dir
        while (!folders.empty()) {
            if (stopping())
                return error(ErrorKind::cancelled, "stopped");
            const std::string folder = folders.back();
            folders.pop_back();
            std::error_code ec;
            fs::directory_iterator it{root_ / dir / folder, ec};
            if (ec && folder.empty())
                return error(ec == std::errc::permission_denied ? ErrorKind::permission
                                                                : ErrorKind::not_found,
                             "cannot list: " + ec.message(), std::string{remote_dir});
            if (ec) { // a subfolder: a warning with its path relative to remote_dir
                warn(Warning{WarningKind::unlisted, "cannot be read", connection_, folder});
                continue;
            }
            std::vector<RemoteEntry> batch;
            for (const fs::directory_entry& e : it) {
                const std::string name = e.path().filename().string();
                const std::string relative = folder.empty() ? name : folder + '/' + name;
                struct ::stat info {};
                if (name == ".vault-users" || ::lstat(e.path().c_str(), &info) != 0)
                    continue;
                const bool is_folder = S_ISDIR(info.st_mode);
                if (!keep(relative, is_folder)) // optional: spares what the user ignores
                    continue;
                if (is_folder)
                    folders.push_back(relative);
                batch.push_back({.path = relative,
                                 .is_folder = is_folder,
                                 .size = is_folder ? 0 : static_cast<std::uint64_t>(info.st_size),
                                 .mtime = info.st_mtim.tv_sec,
                                 .mtime_nsec = static_cast<std::uint32_t>(info.st_mtim.tv_nsec),
                                 .locator = e.path().string(),
                                 .id = std::to_string(info.st_ino)}); // follows renames
            }
            out(batch);
        }
        return {};
    }
    expected<Retrieved, UsageError> retrieve(const RemoteEntry& entry, ChunkWriter out) override {
        const int fd = ::open(entry.locator.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::permission,
                         "cannot open", entry.path);
        std::vector<std::byte> block(block_);
        expected<Retrieved, UsageError> result = Retrieved{};
        for (ssize_t n = 1; n > 0 && result;) {
            if (stopping())
                result = error(ErrorKind::cancelled, "stopped", entry.path);
            else if ((n = ::read(fd, block.data(), block.size())) < 0)
                result = error(ErrorKind::io, "cannot read", entry.path);
            else if (auto written = out(std::span{block}.first(static_cast<std::size_t>(n)));
                     !written)
                result = unexpected{written.error()}; // the writer's error, as it is
        }
        // What it saw of the file once read: free here (fstat). Over HTTP, report what the
        // answer's headers said (Content-Length, Last-Modified), or nothing.
        struct ::stat info {};
        if (result && ::fstat(fd, &info) == 0)
            result = Retrieved{.size = static_cast<std::uint64_t>(info.st_size),
                               .mtime = info.st_mtim.tv_sec,
                               .mtime_nsec = static_cast<std::uint32_t>(info.st_mtim.tv_nsec)};
        ::close(fd);
        return result;
    }

  private:
    unexpected<UsageError> error(ErrorKind kind, std::string message, std::string at = {}) const {
        return fail({.kind = kind, .message = message, .connection = connection_, .path = at});
    }
    std::string connection_, user_, password_;
    fs::path root_;
    std::size_t block_ = 0;
};
inline const PluginRegistry::Add<VaultPlugin> vault{"vault", "a folder behind a password"};

int main() {
    char made[] = "/tmp/kitovu-vault-XXXXXX";
    if (::mkdtemp(made) == nullptr)
        return 1;
    const fs::path dir = made, remote = dir / "remote";
    fs::create_directories(remote / "course");
    std::ofstream{remote / ".vault-users"} << "alice:s3cret\n";

    // The suite builds its tree in remote_dir through the writer, as the test's own access.
    const fs::path course = remote / "course";
    testing::RemoteWriter writer{
        .make_file =
            [&](const std::string& file, const std::string& bytes, std::int64_t mtime) {
                fs::create_directories((course / file).parent_path());
                std::ofstream{course / file, std::ios::binary} << bytes;
                const ::timespec times[2] = {{mtime, 0}, {mtime, 0}};
                ::utimensat(AT_FDCWD, (course / file).c_str(), times, 0);
            },
        .make_folder = [&](const std::string& folder) { fs::create_directories(course / folder); },
        .remove = [&](const std::string& file) { fs::remove(course / file); },
        .rename =
            [&](const std::string& from, const std::string& to) {
                fs::rename(course / from, course / to); // the inode, the entry's id, stays
            }};
    if (::geteuid() != 0) // root reads everything: no unreadable folder or file then
        writer.make_unreadable_folder = writer.make_unreadable_file = [&](const std::string& p) {
            fs::permissions(course / p, fs::perms::none);
        };
    // Options as a config gives them: defaults filled in (block-kib), the secret set.
    Options options;
    options.set("path", remote.string());
    options.set("user", std::string{"alice"});
    options = testing::with_defaults("vault", options);
    options.set_secret("s3cret");
    Options relative = options; // refused by configure(): without one, "not checked"
    relative.set("path", std::string{"vault"});
    const auto report =
        testing::check_plugin(testing::registered("vault"), {.options = options,
                                                             .refused_options = {relative},
                                                             .remote_dir = "course",
                                                             .writer = writer});
    std::printf("conformance: %s", report.to_string().c_str());
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(
             course, fs::directory_options::skip_permission_denied, ec))
        fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::permissions(course / "locked", fs::perms::owner_all, fs::perm_options::add, ec);
    if (!report.passed())
        return 1;

    // A real sync: the password comes from the environment, never from the config.
    fs::remove_all(course);
    fs::create_directories(course);
    std::ofstream{course / "skript.txt"} << "lecture notes";
    std::ofstream{dir / "kitovu.toml"}
        << "root-dir = \"" << dir.string() << "/home\"\n[[connections]]\nname = \"vault\"\n"
        << "plugin = \"vault\"\npath = \"" << remote.string() << "\"\nuser = \"alice\"\n"
        << "[[subjects]]\nname = \"Course\"\n[[subjects.sources]]\nconnection = \"vault\"\n"
        << "remote-dir = \"/course/\"\n";
    ::setenv("KITOVU_PASSWORD_VAULT", "s3cret", 1);
    auto settings = load_settings(dir / "kitovu.toml");
    if (!settings)
        return 2;
    SyncOptions sync_options;
    sync_options.cache_file = dir / "kitovu.cache";
    auto synced = sync(*settings, sync_options, PrintingSink{});
    const bool arrived = fs::exists(dir / "home/Course/skript.txt");
    std::printf("skript.txt %s\n", arrived ? "synced" : "missing");
    fs::remove_all(dir);
    return synced && arrived ? synced->exit_code() : 1;
}
