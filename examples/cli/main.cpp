// kitovu: the command-line tool. Commands and exit codes follow the contract: 0 in step,
// 1 something failed (the rest synced), 2 usage or config error (nothing synced).
#include "browse.hpp"
#include "complete.hpp"
#include "files.hpp"
#include "login.hpp"
#include "report_json.hpp"
#include "terminal.hpp"
#include "unattended.hpp"

#include <kitovu/config/selection.hpp>
#include <kitovu/engine/engine.hpp>
#include <kitovu/plugins/local.hpp>
#include <kitovu/plugins/smb.hpp>
#if KITOVU_WITH_MOODLE
#include <kitovu/plugins/moodle.hpp>
#endif
#if KITOVU_WITH_WEBDAV
#include <kitovu/plugins/webdav.hpp>
#endif
#include <kitovu/config/settings.hpp>
#include <kitovu/config/template.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <thread>

#ifndef KITOVU_VERSION
#define KITOVU_VERSION "unknown"
#endif

namespace {

using namespace kitovu;
namespace fs = std::filesystem;

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

int exit_code_for(const UsageError& error) {
    return error.kind == ErrorKind::config || error.kind == ErrorKind::usage ? exit_usage
                                                                             : exit_failed;
}

// Loads and validates; on failure prints every problem, one a line, and hands them to
// `problems` (for --json).
std::optional<Settings> load(const fs::path& config, const cli::Messages& say,
                             std::vector<UsageError>* problems = nullptr) {
    if (auto problem = cli::special_file_problem(config, "--config")) {
        say.error(*problem);
        if (problems != nullptr)
            problems->push_back(UsageError{ErrorKind::usage, *problem, {}, {}, {}});
        return std::nullopt;
    }
    auto settings = load_settings(config);
    if (settings)
        return std::move(*settings);
    for (const UsageError& error : settings.error())
        fmt::print(stderr, "{}\n", error.to_string());
    if (problems != nullptr)
        *problems = settings.error();
    std::error_code ec;
    if (!fs::exists(config, ec))
        say.note(fmt::format("create it with: kitovu edit --config {}", config.string()));
    else
        say.note(fmt::format("{} problem{} in {}", settings.error().size(),
                             settings.error().size() == 1 ? "" : "s", config.string()));
    return std::nullopt;
}

// Ctrl-C, SIGTERM or SIGHUP (a closed terminal, a service manager) stops the run cleanly
// within about a second: every plugin instance is told (SyncPlugin::stop), temporaries are
// removed, the cache is saved, exit 1. A second signal quits at once.
class StopOnSignal {
  public:
    StopOnSignal() {
        sigemptyset(&signals_);
        sigaddset(&signals_, SIGINT);
        sigaddset(&signals_, SIGTERM);
        sigaddset(&signals_, SIGHUP);
        sigaddset(&signals_, SIGUSR1);
        // Blocked here, before any other thread starts, so only the watcher receives them.
        pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
        watcher_ = std::thread{[this] {
            int signal = 0;
            bool asked = false;
            while (sigwait(&signals_, &signal) == 0 && signal != SIGUSR1) {
                if (asked) {
                    cli::restore_terminal();
                    std::_Exit(130);
                }
                asked = true;
                fmt::print(stderr, "\nstopping (Ctrl-C again to quit at once)\n");
                source_.request_stop();
            }
        }};
    }
    ~StopOnSignal() {
        pthread_kill(watcher_.native_handle(), SIGUSR1);
        watcher_.join();
    }
    std::stop_token token() const { return source_.get_token(); }

  private:
    sigset_t signals_{};
    std::stop_source source_;
    std::thread watcher_;
};

std::string summary(const SyncReport& report) {
    std::string text;
    const auto add = [&](std::size_t n, std::string_view what) {
        if (n == 0)
            return;
        text += fmt::format("{}{} {}", text.empty() ? "" : ", ", n, what);
    };
    add(report.count(FileState::new_file), "new");
    add(report.count(FileState::remote_changed), "updated");
    add(report.count(FileState::unchanged), "unchanged");
    add(report.count(FileState::local_changed), "kept local edits");
    add(report.count(FileState::conflict), report.count(FileState::conflict) == 1
                                               ? "conflict (remote copy saved beside)"
                                               : "conflicts (remote copies saved beside)");
    add(report.count(FileState::remote_deleted), "gone remotely (kept)");
    add(report.count(FileState::adopted), "already here");
    add(report.count(FileState::moved), "moved with the remote");
    add(report.failed, "failed");
    if (text.empty())
        text = "no files";
    return fmt::format("{}{}; {} downloaded in {:.1f} s", report.dry_run ? "dry run: " : "", text,
                       cli::human_bytes(report.bytes_downloaded),
                       static_cast<double>(report.duration.count()) / 1000.0);
}

int run_sync(const fs::path& config, const fs::path& cache, bool dry_run, unsigned jobs, bool json,
             cli::Verbosity verbosity, const Selection& selection,
             const cli::Unattended& unattended) {
    const cli::Messages say;
    // With --json stdout carries one document whatever the end: a run that does not start
    // says why there too.
    const auto refused = [&](std::vector<UsageError> errors, int code) {
        if (json)
            fmt::print(stdout, "{}", cli::to_json(std::move(errors), code));
        return code;
    };
    if (auto problem = cli::special_file_problem(cache, "--cache")) {
        say.error(*problem);
        return refused({UsageError{ErrorKind::usage, *problem, {}, {}, {}}}, exit_usage);
    }
    const auto tell_desktop = [&](const SyncReport* report, const std::string& problem) {
        if (!unattended.notify)
            return;
        if (auto notification = cli::notification_for(report, problem))
            cli::notify_desktop(*notification);
    };
    std::vector<UsageError> problems;
    auto loaded = load(config, say, &problems);
    if (!loaded) {
        tell_desktop(nullptr, fmt::format("{} has problems: kitovu validate --config {} lists them",
                                          config.string(), config.string()));
        return refused(std::move(problems), exit_usage);
    }
    auto chosen = select_subjects(std::move(*loaded), selection);
    if (!chosen) {
        say.error(chosen.error().to_string());
        tell_desktop(nullptr, chosen.error().to_string());
        return refused({chosen.error()}, exit_usage);
    }
    if (verbosity != cli::Verbosity::quiet)
        for (const std::string& note : chosen->notes)
            say.note(note);
    const Settings& settings = chosen->settings;

    StopOnSignal stop;
    cli::Progress progress{verbosity, dry_run, json ? stderr : stdout};
    SyncOptions options;
    auto cache_file = cache.empty() ? default_cache_path(config) : cache;
    if (!cache_file) {
        say.error(cache_file.error().to_string());
        return refused({cache_file.error()}, exit_usage);
    }
    options.cache_file = *cache_file;
    options.jobs = jobs;
    options.dry_run = dry_run;
    options.stop = stop.token();
    options.observer = &progress;
    options.prompt = [&](std::string_view question) {
        progress.clear();
        return cli::ask_secret(question);
    };
    const auto keyring = cli::desktop_keyring();
    options.keyring = keyring.get();
    options.offer_to_keep = cli::ask_yes;
    const auto warn = [&](const Warning& warning) {
        if (verbosity == cli::Verbosity::quiet ||
            (warning.kind == WarningKind::unavailable && verbosity != cli::Verbosity::verbose))
            return;
        progress.clear();
        say.warning(warning.to_string());
    };
    auto report = sync(settings, options, warn);
    progress.clear();
    if (!report) {
        // Asked after the refusal, not before: asking takes the lock for an instant itself.
        if (unattended.skip_if_running && CacheLock::held_elsewhere(options.cache_file)) {
            if (verbosity != cli::Verbosity::quiet)
                say.note("another kitovu sync with this config is running; this run is skipped");
            return refused({}, exit_ok);
        }
        if (unattended.skip_if_running && FolderLocks::held_elsewhere(target_folders(settings))) {
            if (verbosity != cli::Verbosity::quiet)
                say.note("another kitovu sync is placing files into a folder of this config; "
                         "this run is skipped");
            return exit_ok;
        }
        say.error(report.error().to_string());
        tell_desktop(nullptr, report.error().to_string());
        return refused({report.error()}, exit_code_for(report.error()));
    }
    for (const UsageError& error : report->errors)
        say.error(error.to_string());
    if (json)
        fmt::print(stdout, "{}", cli::to_json(*report));
    if (report->cancelled)
        say.note("stopped: temporaries removed, what was synced is recorded; run again to finish");
    if (verbosity != cli::Verbosity::quiet && !json)
        fmt::print(stdout, "{}\n", summary(*report));
    tell_desktop(&*report, {});
    return report->exit_code();
}

int run_validate(const fs::path& config) {
    const cli::Messages say;
    auto settings = load(config, say);
    if (!settings)
        return exit_usage;
    fmt::print("{}: ok ({} connection{}, {} subject{})\n", config.string(),
               settings->connections.size(), settings->connections.size() == 1 ? "" : "s",
               settings->subjects.size(), settings->subjects.size() == 1 ? "" : "s");
    return exit_ok;
}

int run_fileinfo(const fs::path& config, const fs::path& cache) {
    auto cache_file = cache.empty() ? default_cache_path(config) : cache;
    if (!cache_file) {
        cli::Messages{}.error(cache_file.error().to_string());
        return exit_usage;
    }
    std::error_code ec;
    fmt::print("config: {} ({})\n", config.string(), fs::exists(config, ec) ? "exists" : "missing");
    fmt::print("cache:  {} ({})\n", cache_file->string(),
               fs::exists(*cache_file, ec) ? "exists" : "missing");
    if (auto settings = load_settings(config))
        cli::print_secret_sources(*settings);
    return exit_ok;
}

// The editor: --editor, else $VISUAL, else $EDITOR, else the first common one installed.
std::string pick_editor(const std::string& requested) {
    if (!requested.empty())
        return requested;
    for (const char* variable : {"VISUAL", "EDITOR"})
        if (const char* value = std::getenv(variable); value != nullptr && *value != '\0')
            return value;
    for (const char* candidate : {"sensible-editor", "editor", "nano", "vim", "vi"})
        for (const auto& dir : {"/usr/bin/", "/bin/", "/usr/local/bin/"})
            if (::access((std::string{dir} + candidate).c_str(), X_OK) == 0)
                return candidate;
    return {};
}

int run_edit(const fs::path& config, const std::string& requested_editor) {
    const cli::Messages say;
    const std::string editor = pick_editor(requested_editor);
    if (editor.empty()) {
        say.error("no editor found: set $EDITOR or pass --editor");
        return exit_usage;
    }
    std::error_code ec;
    if (!fs::exists(config, ec)) {
        fs::create_directories(config.parent_path(), ec);
        std::ofstream out{config, std::ios::binary};
        out << config_template();
        if (!out) {
            say.error(fmt::format("{}: cannot create the config file", config.string()));
            return exit_failed;
        }
        say.note(fmt::format("created {} from the commented template", config.string()));
    }
    for (;;) {
        // The file name goes in as "$1", so no quoting problem whatever the path; the editor
        // command may carry its own arguments ("code --wait").
        const pid_t child = ::fork();
        if (child == 0) {
            const std::string script = editor + " \"$1\"";
            ::execl("/bin/sh", "sh", "-c", script.c_str(), "kitovu-edit", config.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        int status = 0;
        while (child > 0 && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        if (child < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            say.error(fmt::format(
                "the editor '{}' failed{}", editor,
                WIFEXITED(status) ? fmt::format(" (exit code {})", WEXITSTATUS(status)) : ""));
            return exit_failed;
        }
        auto settings = load(config, say);
        if (settings) {
            fmt::print("{}: ok\n", config.string());
            return exit_ok;
        }
        if (::isatty(STDIN_FILENO) != 1)
            return exit_usage;
        fmt::print(stderr, "Edit again? [Y/n] ");
        std::string answer;
        if (!std::getline(std::cin, answer) ||
            (!answer.empty() && (answer[0] == 'n' || answer[0] == 'N')))
            return exit_usage;
    }
}

int run_plugins() {
    for (const auto* entry : PluginRegistry::entries()) {
        fmt::print("{} - {}\n", entry->name, entry->description);
        for (const OptionSpec& spec : entry->options) {
            std::string details{to_string(spec.type)};
            if (spec.required)
                details += ", required";
            else if (auto value = default_value(spec))
                details += ", default " + display(*value);
            if (!spec.allowed.empty()) {
                details += ", one of";
                for (std::size_t i = 0; i < spec.allowed.size(); ++i)
                    details += fmt::format("{} \"{}\"", i == 0 ? "" : ",", spec.allowed[i]);
            }
            fmt::print("    {:<18} {}\n", spec.name, spec.help);
            fmt::print("    {:<18} ({})\n", "", details);
        }
        if (entry->secret)
            fmt::print("    {} from: {}, else ${}<CONNECTION>, {}else asked on the terminal\n",
                       entry->secret->what, entry->secret->command_name(),
                       entry->secret->environment_prefix,
                       entry->secret->server_option ? "else the keyring, " : "");
    }
    for (const UsageError& error : PluginRegistry::duplicates())
        fmt::print(stderr, "error: {}\n", error.to_string());
    return PluginRegistry::duplicates().empty() ? exit_ok : exit_failed;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "kitovu keeps local folders in step with course-material shares (SMB, local folders).\n"
        "Files you edited locally are never overwritten.",
        "kitovu"};
    app.set_version_flag("--version", "kitovu " KITOVU_VERSION);
    // Wide enough for "--jobs UINT:INT in [1 - 64]" and the like to keep two spaces before
    // their description, which is how help2man (the man page) tells them apart.
    app.get_formatter()->column_width(34);
    app.require_subcommand(1);
    app.footer(
        "Examples:\n  kitovu edit               create or edit the config\n"
        "  kitovu sync               sync every subject\n"
        "  kitovu sync EPJ           sync one subject\n"
        "  kitovu sync --dry-run -v  show what would happen\n\n"
        "Exit codes: 0 in step, 1 something failed (the rest synced), 2 usage or config error.");

    const std::string default_config = default_config_path().string();
    std::string config, cache, editor;
    bool dry_run = false, json = false, verbose = false, quiet = false;
    unsigned jobs = 0; // from the link
    Selection selection;
    cli::Unattended unattended;
    const auto add_config = [&](CLI::App* command) {
        command->add_option("--config", config, "config file (default: " + default_config + ")");
    };

    CLI::App* sync = app.add_subcommand("sync", "download what changed; keep local edits");
    add_config(sync);
    sync->add_option("subjects", selection.subjects,
                     "sync only these subjects (names as in the config; default: all)");
    sync->add_option("--connection", selection.connection,
                     "sync only the sources on this connection");
    sync->add_option("--cache", cache,
                     "file cache (default: one per config under $XDG_DATA_HOME/kitovu)");
    sync->add_flag("--dry-run", dry_run, "show what would happen, change nothing");
    sync->add_option("--jobs", jobs, "parallel downloads (default: 4, up to 16 over a slow link)")
        ->check(CLI::Range(1, 64));
    sync->add_flag("--json", json, "print the report as one JSON object on stdout");
    auto* verbose_flag =
        sync->add_flag("-v,--verbose", verbose, "print each file and what happens to it");
    sync->add_flag("-q,--quiet", quiet, "print errors only")->excludes(verbose_flag);
    sync->add_flag("--skip-if-running", unattended.skip_if_running,
                   "exit 0 when another sync with this config is running (for timers)");
    sync->add_flag("--notify", unattended.notify,
                   "on conflicts or errors, show a desktop notification (with notify-send)");
    sync->footer("Examples:\n  kitovu sync\n  kitovu sync EPJ Mathe\n  kitovu sync --connection "
                 "moodle\n  kitovu sync --dry-run -v\n  kitovu sync --config ~/uni.toml --jobs 8\n"
                 "  KITOVU_PASSWORD_SKRIPTE=... kitovu sync --json -q");

    CLI::App* validate =
        app.add_subcommand("validate", "check the config and report every problem");
    add_config(validate);
    validate->footer("Examples:\n  kitovu validate\n  kitovu validate --config ./kitovu.toml");

    CLI::App* fileinfo = app.add_subcommand(
        "fileinfo", "print where the config, the file cache and the passwords are");
    add_config(fileinfo);
    fileinfo->add_option("--cache", cache,
                         "file cache (default: one per config under $XDG_DATA_HOME/kitovu)");
    fileinfo->footer("Example:\n  kitovu fileinfo");

    CLI::App* edit =
        app.add_subcommand("edit", "edit the config (created from a commented template if absent)");
    add_config(edit);
    edit->add_option("--editor", editor,
                     "editor command (default: $VISUAL, $EDITOR, then nano or vi)");
    edit->footer("Examples:\n  kitovu edit\n  kitovu edit --editor 'code --wait'");

    std::string connection;
    CLI::App* login = app.add_subcommand(
        "login", "check a connection's password or token and keep it in the desktop keyring");
    CLI::App* logout =
        app.add_subcommand("logout", "remove a connection's password or token from the keyring");
    for (CLI::App* command : {login, logout}) {
        add_config(command);
        command->add_option("CONNECTION", connection, "the connection's name in the config")
            ->required();
    }
    login->footer("Example:\n  kitovu login skripte");
    logout->footer("Example:\n  kitovu logout skripte");

    std::string browse_dir;
    CLI::App* ls = app.add_subcommand(
        "ls", "list one folder of a connection (a share's folders, a Moodle user's courses)");
    add_config(ls);
    ls->add_option("CONNECTION", connection, "the connection's name in the config")->required();
    ls->add_option("DIR", browse_dir, "the folder below the connection's top (default: the top)");
    ls->add_flag("--json", json, "print the entries as one JSON object on stdout");
    ls->footer("Examples:\n  kitovu ls skripte\n  kitovu ls skripte Informatik/Fachbereich\n"
               "  kitovu ls moodle --json");

    std::vector<std::string> tested;
    CLI::App* test = app.add_subcommand(
        "test", "log in to connections and say what is wrong (wrong password, server unreachable)");
    add_config(test);
    test->add_option("CONNECTION", tested, "the connections' names (default: every connection)");
    test->footer("Examples:\n  kitovu test\n  kitovu test skripte moodle");

    CLI::App* plugins = app.add_subcommand("plugins", "list the plugins and their options");
    plugins->footer("Example:\n  kitovu plugins");

    // Hidden (group ""): the shell completions' helper.
    std::string completion_kind, completion_command;
    CLI::App* complete = app.add_subcommand("complete", "print completion candidates");
    complete->group("");
    complete->add_option("what", completion_kind, "what to list")
        ->required()
        ->check(CLI::IsMember(cli::completion_kinds));
    complete->add_option("command", completion_command, "the command whose options to list");
    add_config(complete);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int code = app.exit(error);
        // `kitovu sync --json` with a bad option still answers with its one document.
        const std::vector<std::string_view> args(argv + 1, argv + argc);
        if (code != 0 && !args.empty() && args.front() == "sync" &&
            std::ranges::find(args, "--json") != args.end())
            fmt::print(
                stdout, "{}",
                cli::to_json({UsageError{ErrorKind::usage, error.what(), {}, {}, {}}}, exit_usage));
        return code == 0 ? exit_ok : exit_usage;
    }

    const fs::path config_file = config.empty() ? fs::path{default_config} : fs::absolute(config);
    try {
        if (*sync) {
            const auto verbosity = quiet     ? cli::Verbosity::quiet
                                   : verbose ? cli::Verbosity::verbose
                                             : cli::Verbosity::normal;
            return run_sync(config_file, cache.empty() ? fs::path{} : fs::absolute(cache), dry_run,
                            jobs, json, verbosity, selection, unattended);
        }
        if (*validate)
            return run_validate(config_file);
        if (*fileinfo)
            return run_fileinfo(config_file, cache.empty() ? fs::path{} : fs::absolute(cache));
        if (*edit)
            return run_edit(config_file, editor);
        if (*plugins)
            return run_plugins();
        if (*complete)
            return cli::complete(app, completion_kind, completion_command, config_file);
        if (*ls || *test) {
            std::vector<UsageError> problems;
            const auto settings = load(config_file, cli::Messages{}, &problems);
            if (!settings) {
                if (*ls && json)
                    fmt::print("{}",
                               cli::browse_json(connection, browse_dir, {}, problems, exit_usage));
                return exit_usage;
            }
            StopOnSignal stop;
            return *ls ? cli::run_ls(*settings, connection, browse_dir, json, stop.token())
                       : cli::run_test(*settings, tested, stop.token());
        }
        if (*login || *logout) {
            const auto settings = load(config_file, cli::Messages{});
            if (!settings)
                return exit_usage;
            return *login ? cli::run_login(*settings, connection)
                          : cli::run_logout(*settings, connection);
        }
    } catch (const std::exception& error) {
        cli::Messages{}.error(error.what());
        return exit_failed;
    }
    return exit_usage;
}
