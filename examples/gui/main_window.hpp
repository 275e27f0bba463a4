// The window: subjects, sync, conflicts, the config editor and the background settings as tabs,
// one sync run at a time, the window's size and layout remembered (QSettings, under XDG on
// Linux). It lives on in the tray when closed (where there is a tray), syncs on an interval while
// it runs, and notifies what a student acts on after a run they did not watch.
#pragma once

#include "background_view.hpp"
#include "config_editor.hpp"
#include "conflicts_view.hpp"
#include "notifier.hpp"
#include "one_at_a_time_keyring.hpp"
#include "password_retry.hpp"
#include "remote_calls.hpp"
#include "subjects_view.hpp"
#include "sync_view.hpp"
#include "tray.hpp"

#include <QMainWindow>
#include <QTimer>

#include <chrono>

class QTabWidget;

namespace kitovu::gui {

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    // `cache_file` empty: the default beside the config (default_cache_path).
    MainWindow(std::filesystem::path config, std::filesystem::path cache_file,
               QWidget* parent = nullptr);

    SubjectsModel& subjects_model() { return model_; }
    SubjectsView* subjects() const { return subjects_; }
    SyncView* sync_view() const { return sync_view_; }
    ConflictsView* conflicts() const { return conflicts_; }
    ConfigEditor* editor() const { return editor_; }
    QTabWidget* tabs() const { return tabs_; }
    BackgroundView* background() const { return background_; }
    Tray& tray() { return tray_; }
    SyncRun& run() { return run_; }
    QMenu* forget_menu() const { return forget_menu_; }

    // Syncs the named subjects (empty: all); a dry run only counts what is waiting.
    bool sync(const QStringList& subjects, bool dry_run);
    void run_assistant();
    // Where secrets are kept between runs; the desktop keyring by default (when built with it),
    // none: null. Asked one call at a time, whichever thread asks (a sync's, a browser's).
    void set_keyring(std::unique_ptr<Keyring> keyring) {
        keyring_ = keyring ? std::make_unique<OneAtATimeKeyring>(std::move(keyring)) : nullptr;
        calls_ = library_remote_calls(keyring_.get());
    }
    Keyring* keyring() const { return keyring_.get(); }
    // What the set-up dialogs ask servers through (the library's by default).
    void set_remote_calls(RemoteCalls calls) { calls_ = std::move(calls); }

    // The subject dialogs: each change is saved to the config at once.
    void add_subject();
    void edit_subject(int row);
    void remove_subject(int row);

    // The interval of syncs by themselves (0: none); the Background tab sets it in minutes.
    void set_interval(std::chrono::milliseconds interval);
    // A sync the timer or the tray starts: all subjects, the window left as it is; skipped when
    // a run (this window's, another window's or the kitovu command's) holds the cache's lock,
    // as `kitovu sync --skip-if-running` does. False when skipped.
    bool background_sync();
    // Quit asked (tray or menu): during a run, asks whether to stop it first.
    void quit();

  protected:
    void closeEvent(QCloseEvent* event) override;

  private:
    void use(const Settings& settings);
    void run_ended(const SyncOutcome& outcome);
    void show_tray_state();
    void ask_again_if_refused(const SyncOutcome& outcome);
    void fill_forget_menu();
    bool may_stop_run(); // no run, or the student agrees to stop it
    void show_config_problems();
    std::filesystem::path cache_file() const;
    std::optional<QString> ask_secret(const QString& question);
    // The config's text changed by a subject dialog, saved and used; false if it was not.
    bool save_config_text(const std::string& text);
    // The config as the dialogs change it: saved edits only (asks about unsaved ones) and valid.
    std::optional<std::string> config_text_to_change();
    QStringList problems_with(const std::string& text) const;
    QStringList connection_names() const;
    std::function<RemoteFolders(const std::string&)> remote_folders();

    std::filesystem::path config_;
    std::filesystem::path cache_file_;
    SubjectsModel model_;
    SyncRun run_;
    QTabWidget* tabs_;
    SubjectsView* subjects_;
    SyncView* sync_view_;
    ConflictsView* conflicts_;
    ConfigEditor* editor_;
    BackgroundView* background_;
    Tray tray_;
    Notifier notifier_;
    QTimer interval_;
    QStringList running_subjects_;
    std::vector<std::size_t> arrivals_; // per subject row: files new or updated in this run
    bool running_background_ = false;
    QMenu* forget_menu_ = nullptr;
    // A refused password typed again: the next run uses it and keeps it.
    struct Retyped {
        std::string connection;
        KeyringItem item;
        QString secret;
    };
    std::optional<Retyped> retyped_;
    std::unique_ptr<KeyringLookingPast> looking_past_;
    bool quitting_ = false;
    bool running_dry_ = false;
    bool config_valid_ = false; // the config on disk loaded; until then no run starts
    std::unique_ptr<Keyring> keyring_;
    RemoteCalls calls_;
    int last_tab_ = 0;
};

} // namespace kitovu::gui
