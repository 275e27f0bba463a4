#include "main_window.hpp"

#include "first_run.hpp"
#include "secret_dialog.hpp"

#include <kitovu/selection.hpp>
#if KITOVU_WITH_KEYRING
#include <kitovu/keyring.hpp>
#endif

#include <QAction>
#include <QCloseEvent>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

namespace kitovu::gui {

MainWindow::MainWindow(std::filesystem::path config, std::filesystem::path cache_file,
                       QWidget* parent)
    : QMainWindow(parent), config_(std::move(config)), cache_file_(std::move(cache_file)),
      tabs_(new QTabWidget), subjects_(new SubjectsView(model_)), sync_view_(new SyncView(run_)),
      conflicts_(new ConflictsView), editor_(new ConfigEditor) {
    setWindowTitle(tr("kitovu"));
    setWindowIcon(QIcon::fromTheme(QStringLiteral("kitovu-gui")));
    tabs_->addTab(subjects_, tr("S&ubjects"));
    tabs_->addTab(sync_view_, tr("Sy&nc"));
    tabs_->addTab(conflicts_, tr("Con&flicts"));
    tabs_->addTab(editor_, tr("Confi&guration"));
    setCentralWidget(tabs_);

    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Set up a new configuration…"), this, &MainWindow::run_assistant);
    file->addSeparator();
    auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

#if KITOVU_WITH_KEYRING
    keyring_ =
        std::make_unique<SecretServiceKeyring>(SecretServiceKeyring::time_limit_from_environment());
#endif
    run_.ask_secret = [this](const QString& question) { return ask_secret(question); };
    run_.ask_yes = [this](const QString& question) {
        return QMessageBox::question(this, tr("kitovu"), question) == QMessageBox::Yes;
    };

    connect(subjects_, &SubjectsView::sync_requested, this,
            [this](const QStringList& names, bool dry_run) { sync(names, dry_run); });
    connect(&run_, &SyncRun::decided, this, [this](const QString&, const QString& path, int state) {
        model_.file_decided(path, static_cast<FileState>(state), running_dry_);
    });
    connect(&run_, &SyncRun::finished, this, [this](const QString& path, const QString& error) {
        if (!error.isEmpty())
            model_.file_failed(path);
    });
    connect(&run_, &SyncRun::ended, this, [this](const SyncOutcome& outcome) {
        model_.run_ended(running_subjects_, outcome, running_dry_);
        conflicts_->refresh();
        subjects_->sync_all_button()->setEnabled(true);
        if (outcome.started && outcome.report.count(FileState::conflict) > 0)
            statusBar()->showMessage(tr("Conflicts: see the Conflicts tab"));
    });
    connect(conflicts_, &ConflictsView::resolved, this, [this] { model_.count_conflicts(); });
    connect(editor_, &ConfigEditor::saved, this, &MainWindow::use);

    editor_->open(config_);
    if (auto settings = load_settings(config_))
        use(*settings);
    else
        tabs_->setCurrentWidget(editor_);

    QSettings stored;
    restoreGeometry(stored.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(stored.value(QStringLiteral("window/state")).toByteArray());
    tabs_->setCurrentIndex(
        stored.value(QStringLiteral("window/tab"), tabs_->currentIndex()).toInt());
}

void MainWindow::use(const Settings& settings) {
    model_.set_settings(settings);
    sync_view_->set_root(settings.root_dir);
    conflicts_->set_place(settings, cache_file());
}

std::filesystem::path MainWindow::cache_file() const {
    if (!cache_file_.empty())
        return cache_file_;
    auto path = default_cache_path(config_);
    return path ? *path : std::filesystem::path{};
}

bool MainWindow::sync(const QStringList& names, bool dry_run) {
    if (run_.running())
        return false;
    // The library's choice, as `kitovu sync SUBJECT…` makes it: a subject nested in a chosen
    // one's folder is synced with it, so its records are not taken for gone.
    Selection selection;
    for (const QString& name : names)
        selection.subjects.push_back(name.toStdString());
    auto chosen = select_subjects(model_.settings(), selection);
    if (!chosen) {
        statusBar()->showMessage(QString::fromStdString(chosen.error().to_string()));
        return false;
    }
    if (!chosen->notes.empty()) // the library's words, English as its other messages
        statusBar()->showMessage(QString::fromStdString(detail::join(chosen->notes, "; ")));
    Settings settings = std::move(chosen->settings);
    running_subjects_.clear();
    for (const Subject& subject : settings.subjects)
        running_subjects_ << QString::fromStdString(subject.name);
    running_dry_ = dry_run;
    SyncOptions options;
    options.cache_file = cache_file();
    options.dry_run = dry_run;
    options.keyring = keyring_.get();
    model_.run_started(running_subjects_, dry_run);
    sync_view_->begin();
    if (!dry_run)
        tabs_->setCurrentWidget(sync_view_);
    subjects_->sync_all_button()->setEnabled(false);
    return run_.start(std::move(settings), std::move(options));
}

std::optional<QString> MainWindow::ask_secret(const QString& question) {
    return SecretDialog::ask(this, question);
}

void MainWindow::run_assistant() {
    FirstRunAssistant assistant{this};
    if (assistant.exec() != QDialog::Accepted)
        return;
    editor_->set_text(assistant.config());
    tabs_->setCurrentWidget(editor_);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (run_.running())
        run_.cancel(); // the run ends cleanly (temporaries removed, cache saved) before exit
    QSettings stored;
    stored.setValue(QStringLiteral("window/geometry"), saveGeometry());
    stored.setValue(QStringLiteral("window/state"), saveState());
    stored.setValue(QStringLiteral("window/tab"), tabs_->currentIndex());
    event->accept();
}

} // namespace kitovu::gui
