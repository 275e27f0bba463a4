// The window: subjects, sync, conflicts and the config editor as tabs, one sync run at a time,
// the window's size and layout remembered (QSettings, under XDG on Linux).
#pragma once

#include "config_editor.hpp"
#include "conflicts_view.hpp"
#include "subjects_view.hpp"
#include "sync_view.hpp"

#include <QMainWindow>

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
    SyncRun& run() { return run_; }

    // Syncs the named subjects (empty: all); a dry run only counts what is waiting.
    bool sync(const QStringList& subjects, bool dry_run);
    void run_assistant();
    // Where secrets are kept between runs; the desktop keyring by default (when built with it),
    // none: null.
    void set_keyring(std::unique_ptr<Keyring> keyring) { keyring_ = std::move(keyring); }

  protected:
    void closeEvent(QCloseEvent* event) override;

  private:
    void use(const Settings& settings);
    void show_config_problems();
    std::filesystem::path cache_file() const;
    std::optional<QString> ask_secret(const QString& question);

    std::filesystem::path config_;
    std::filesystem::path cache_file_;
    SubjectsModel model_;
    SyncRun run_;
    QTabWidget* tabs_;
    SubjectsView* subjects_;
    SyncView* sync_view_;
    ConflictsView* conflicts_;
    ConfigEditor* editor_;
    QStringList running_subjects_;
    bool running_dry_ = false;
    bool config_valid_ = false; // the config on disk loaded; until then no run starts
    std::unique_ptr<Keyring> keyring_;
};

} // namespace kitovu::gui
