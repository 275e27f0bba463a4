// Plugin `smb`: a share on a Windows file server, Samba or a NAS, read through libsmbclient.
// Options as in the contract (hostname, port, share, username, domain, signing, encrypt, timeout).
//
// libsmbclient (Debian 12: Samba 4.17) allows one call at a time per process, so parallel work
// needs processes. This process never loads it: every session runs in a helper process
// (kitovu-smb-helper, installed in libexec beside the kitovu command) started by exec, never by
// fork() of the host:
//
//   SmbPlugin (this front)          Crew: its helpers        helper process (src/smb_helper.cpp)
//     connect: the login's turn      own, extra        <-->    Session: one libsmbclient context
//     list:    Lister (fan-out)      HelperPool per login       login, list folder, read file
//     retrieve: download.hpp         stop: closing/killing      ends when its socket closes
//
// Measured for the choice of a program over re-executing the host (2 cores, load 5): exec of the
// helper with libsmbclient's 90 libraries and a context takes 80-110 ms, as the host's dlopen of
// libsmbclient did; a re-exec of a host such as kitovu-gui would load Qt besides. A program found
// through a path the library knows works for any embedder, also one that only uses
// find_package(kitovu).
#pragma once

#include "kitovu/plugin/registry.hpp"
#include "kitovu/plugins/smb/browse_folder.hpp"
#include "kitovu/plugins/smb/crew.hpp"
#include "kitovu/plugins/smb/download.hpp"
#include "kitovu/plugins/smb/lister.hpp"
#include "kitovu/plugins/smb/paths.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace kitovu {

class SmbPlugin final : public SyncPlugin {
  public:
    static constexpr std::array<std::string_view, 3> signing_values{"off", "if-required",
                                                                    "required"};
    static constexpr auto hostname = string_option({.name = "hostname",
                                                    .required = true,
                                                    .help = "server name or address",
                                                    .example = "files.example.edu"});
    static constexpr std::int64_t usual_port = 445;
    static constexpr auto port = integer_option(
        {.name = "port", .default_value = usual_port, .help = "TCP port", .min = 1, .max = 65535});
    static constexpr auto share = string_option({.name = "share",
                                                 .required = true,
                                                 .help = "share name, without the server",
                                                 .example = "skripte"});
    static constexpr auto username = string_option({.name = "username",
                                                    .required = true,
                                                    .help = "user name to log in with",
                                                    .example = "alice"});
    static constexpr auto domain = string_option({.name = "domain",
                                                  .default_value = std::string_view{"WORKGROUP"},
                                                  .help = "domain or workgroup"});
    static constexpr auto password_command =
        string_option({.name = "password-command",
                       .help = "shell command whose first output line is the password",
                       .example = "secret-tool lookup service kitovu user alice"});
    static constexpr auto signing = string_option({.name = "signing",
                                                   .default_value = std::string_view{"if-required"},
                                                   .allowed = signing_values,
                                                   .help = "SMB signing"});
    static constexpr auto encrypt = boolean_option(
        {.name = "encrypt", .default_value = false, .help = "require SMB3 encryption"});
    static constexpr auto timeout = integer_option({.name = "timeout",
                                                    .default_value = std::int64_t{30},
                                                    .help = "connect and read timeout in seconds",
                                                    .min = 1,
                                                    .max = 3600});

    static std::span<const OptionSpec> schema() noexcept {
        static constexpr std::array specs{hostname.spec, port.spec,    share.spec,
                                          username.spec, domain.spec,  password_command.spec,
                                          signing.spec,  encrypt.spec, timeout.spec};
        return specs;
    }

    static SecretSpec secret() noexcept {
        // A server that maps unknown users to guest lets "guest" in with an empty password.
        return {.what = "password",
                .command_option = &password_command,
                .environment_prefix = "KITOVU_PASSWORD_",
                .hint = "",
                .guest_user = "guest",
                .server_option = &hostname,
                .port_option = &port,
                .usual_port = usual_port,
                .user_option = &username,
                .place_option = &share};
    }

    SmbPlugin() = default;

    expected<void, UsageError> configure(std::string_view connection,
                                         const Options& options) override {
        detail::smb::Login& l = crew_.login;
        crew_.connection = connection;
        l.host = options.get(hostname);
        l.share = std::string{detail::smb::trim_slashes(options.get(share))};
        l.user = options.get(username);
        l.domain = options.get(domain);
        ::explicit_bzero(l.password.data(), l.password.size());
        l.password = options.secret();
        const auto bad = [&](std::string message) {
            return fail(crew_.named(detail::smb::error(ErrorKind::config, std::move(message))));
        };
        if (l.host.empty() || l.host.find_first_of("/\\@:?# \t") != std::string::npos)
            return bad("option 'hostname' must be a host name or an IPv4 address, not '" + l.host +
                       "'");
        if (l.share.empty() || l.share.find_first_of("/\\") != std::string::npos)
            return bad("option 'share' must name one share, not '" + l.share + "'");
        if (l.user.empty())
            return bad("option 'username' is empty");
        l.port = static_cast<std::uint16_t>(options.get(port));
        l.timeout_seconds = static_cast<int>(options.get(timeout));
        const std::string signing_value = options.get(signing); // in smb.conf's words
        l.signing = signing_value == "off"        ? "disabled"
                    : signing_value == "required" ? "required"
                                                  : "if_required";
        l.encrypt = options.get(encrypt);
        return {};
    }

    // Logs in, so that a wrong host, port, password or share is reported here in words a student
    // can act on. Once a login of the same settings succeeded in this process (another worker's),
    // the helper logs in on its own meanwhile; while one is tried, the others wait for it.
    expected<void, UsageError> connect() override {
        if (stopping())
            return fail(crew_.stopped());
        if (!crew_.pool)
            crew_.pool = detail::smb::HelperPool::of(crew_.login);
        auto turn = crew_.pool->turn([this] { return stopping(); });
        if (!turn)
            return fail(crew_.named(turn.error()));
        round_trip_ = crew_.pool->round_trip;
        if (!*turn)
            return crew_.ensure_own();
        auto logged_in = crew_.log_in();
        round_trip_ = crew_.pool->round_trip;
        crew_.pool->tried(logged_in);
        return logged_in;
    }

    void disconnect() noexcept override { crew_.end_all(); }

    expected<void, UsageError> list(std::string_view remote_dir, ListFilter keep, WarningSink warn,
                                    ListSink out) override {
        if (auto ok = usable(); !ok)
            return ok;
        if (auto own = crew_.ensure_own(); !own)
            return own;
        return detail::smb::Lister{crew_, round_trip_, remote_dir,      keep,
                                   warn,  out,         synced_folders()}
            .run();
    }

    expected<Retrieved, UsageError> retrieve(const RemoteEntry& entry, ChunkWriter out) override {
        if (auto ok = usable(); !ok)
            return fail(crew_.named(ok.error(), entry.path));
        auto got = detail::smb::download(crew_, entry, out);
        if (!got && stopping())
            return fail(crew_.stopped(entry.path));
        return got;
    }

    // One folder for a folder browser (plugin/browse.hpp), in the own helper only.
    expected<std::vector<BrowseEntry>, UsageError> browse(std::string_view dir) {
        if (auto ok = usable(); !ok)
            return fail(ok.error());
        return detail::smb::browse_folder(crew_, dir);
    }

    // Measured by the first login's probe, else by the first listing (link.hpp).
    std::chrono::microseconds round_trip() const override { return round_trip_; }

  protected:
    // Wakes every wait of this instance; its helpers are then ended by the waiting thread.
    void interrupt() noexcept override {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto ignored = ::write(crew_.stop_fd, &one, sizeof one);
    }

  private:
    expected<void, UsageError> usable() {
        if (stopping())
            return fail(crew_.stopped());
        if (!crew_.pool)
            return fail(crew_.named(detail::smb::error(ErrorKind::internal, "not connected")));
        if (auto lost = crew_.pool->lost())
            return fail(*lost);
        return {};
    }

    detail::smb::Crew crew_;
    std::chrono::microseconds round_trip_{};
};

inline const PluginRegistry::Add<SmbPlugin> smb_plugin{
    "smb", "a share on a Windows file server, Samba or a NAS (SMB2/3)"};

} // namespace kitovu
