#include "main_window.hpp"

#include "browse_login.hpp"
#include "first_run.hpp"
#include "option_words.hpp"
#include "secret_dialog.hpp"
#include "subject_dialog.hpp"

#include <kitovu/config/selection.hpp>
#if KITOVU_WITH_KEYRING
#include <kitovu/plugin/keyring.hpp>
#endif

#include <kitovu/cache/lock.hpp>
#include <kitovu/disk/folder_lock.hpp>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QTabWidget>

#include <utility>

namespace kitovu::gui {

MainWindow::MainWindow(std::filesystem::path config, std::filesystem::path cache_file,
                       QWidget* parent)
    : QMainWindow(parent), config_(std::move(config)), cache_file_(std::move(cache_file)),
      tabs_(new QTabWidget), subjects_(new SubjectsView(model_)), sync_view_(new SyncView(run_)),
      conflicts_(new ConflictsView), editor_(new ConfigEditor), background_(new BackgroundView),
      notifier_(tray_.icon()) {
    setWindowTitle(tr("kitovu"));
    setWindowIcon(QIcon::fromTheme(QStringLiteral("kitovu-gui")));
    tabs_->addTab(subjects_, tr("S&ubjects"));
    tabs_->addTab(sync_view_, tr("Sy&nc"));
    tabs_->addTab(conflicts_, tr("Confl&icts"));
    tabs_->addTab(editor_, tr("Confi&guration"));
    tabs_->addTab(background_, tr("&Background"));
    setCentralWidget(tabs_);

    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Set up a new configuration…"), this, &MainWindow::run_assistant);
    file->addSeparator();
    // Per connection, what the keyring keeps for it (the menu lists the config's connections).
    forget_menu_ = file->addMenu(tr("&Forget password"));
    connect(forget_menu_, &QMenu::aboutToShow, this, &MainWindow::fill_forget_menu);
    fill_forget_menu();
    file->addSeparator();
    auto* quit = file->addAction(tr("&Quit"), this, &MainWindow::quit);
    quit->setShortcut(QKeySequence::Quit);

    // The tray, where the desktop has one: the window can close and kitovu goes on.
    connect(tray_.sync_now(), &QAction::triggered, this, [this] { background_sync(); });
    connect(tray_.pause(), &QAction::toggled, this, [this] { show_tray_state(); });
    connect(tray_.open_window(), &QAction::triggered, this, [this] {
        showNormal();
        raise();
        activateWindow();
    });
    connect(&tray_, &Tray::activated, tray_.open_window(), &QAction::trigger);
    connect(tray_.quit(), &QAction::triggered, this, &MainWindow::quit);
    if (QSystemTrayIcon::isSystemTrayAvailable())
        tray_.icon()->show();
    connect(&interval_, &QTimer::timeout, this, [this] { background_sync(); });
    connect(background_, &BackgroundView::interval_changed, this,
            [this](int minutes) { set_interval(std::chrono::minutes{minutes}); });
    set_interval(std::chrono::minutes{stored_interval_minutes()});

#if KITOVU_WITH_KEYRING
    set_keyring(std::make_unique<SecretServiceKeyring>(
        SecretServiceKeyring::time_limit_from_environment()));
#else
    calls_ = library_remote_calls(nullptr);
#endif
    run_.ask_secret = [this](const QString& question) { return ask_secret(question); };
    run_.ask_yes = [this](const QString& question) {
        // A password typed again to replace the refused one: kept, that is why it was typed.
        if (retyped_ && question.contains(QString::fromStdString(retyped_->connection)))
            return true;
        return QMessageBox::question(this, tr("kitovu"), question) == QMessageBox::Yes;
    };

    connect(subjects_, &SubjectsView::sync_requested, this,
            [this](const QStringList& names, bool dry_run) { sync(names, dry_run); });
    connect(subjects_, &SubjectsView::add_requested, this, &MainWindow::add_subject);
    connect(subjects_, &SubjectsView::edit_requested, this, &MainWindow::edit_subject);
    connect(subjects_, &SubjectsView::remove_requested, this, &MainWindow::remove_subject);
    // Leaving the Configuration tab with unsaved edits asks first (save, drop, or stay).
    connect(tabs_, &QTabWidget::currentChanged, this, [this](int now) {
        const int before = std::exchange(last_tab_, now);
        if (before == tabs_->indexOf(editor_) && now != before && !editor_->may_leave(this)) {
            last_tab_ = before;
            const QSignalBlocker quiet{tabs_};
            tabs_->setCurrentIndex(before);
        }
    });
    connect(&run_, &SyncRun::decided, this, [this](const QString&, const QString& path, int state) {
        const auto file_state = static_cast<FileState>(state);
        model_.file_decided(path, file_state, running_dry_);
        const int row = model_.subject_of(path.toStdString());
        if (!running_dry_ && row >= 0 && static_cast<std::size_t>(row) < arrivals_.size() &&
            (file_state == FileState::new_file || file_state == FileState::remote_changed))
            ++arrivals_[static_cast<std::size_t>(row)];
    });
    connect(&run_, &SyncRun::finished, this, [this](const QString& path, const QString& error) {
        if (!error.isEmpty())
            model_.file_failed(path);
    });
    connect(&run_, &SyncRun::ended, this, &MainWindow::run_ended);
    connect(conflicts_, &ConflictsView::resolved, this, [this] { model_.count_conflicts(); });
    connect(editor_, &ConfigEditor::saved, this, &MainWindow::use);

    editor_->open(config_);
    QSettings stored;
    if (!restoreGeometry(stored.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(900, 560); // the first start: room for the subjects' table and the sync list
    restoreState(stored.value(QStringLiteral("window/state")).toByteArray());
    tabs_->setCurrentIndex(
        stored.value(QStringLiteral("window/tab"), tabs_->currentIndex()).toInt());
    last_tab_ = tabs_->currentIndex();
    std::error_code ec;
    if (auto settings = load_settings(config_))
        use(*settings);
    else if (std::filesystem::exists(config_, ec)) // a broken config: shown, whatever tab was last
        show_config_problems();
}

void MainWindow::run_ended(const SyncOutcome& outcome) {
    model_.run_ended(running_subjects_, outcome, running_dry_);
    conflicts_->refresh();
    subjects_->sync_all_button()->setEnabled(true);
    if (outcome.started && outcome.report.count(FileState::conflict) > 0)
        statusBar()->showMessage(tr("Conflicts: see the Conflicts tab"));
    show_tray_state();
    if (!running_background_ && isVisible())
        ask_again_if_refused(outcome);
    else
        retyped_.reset();
    // A run the student did not watch (the timer's, or with the window away) is told.
    if (running_dry_ || !(running_background_ || !isVisible() || isMinimized()))
        return;
    std::vector<SubjectArrivals> arrivals;
    for (std::size_t row = 0; row < arrivals_.size(); ++row)
        arrivals.push_back(
            {QString::fromStdString(model_.settings().subjects[row].name), arrivals_[row]});
    QString failure;
    if (!outcome.started)
        failure = outcome.error;
    else if (!outcome.report.errors.empty())
        failure = QString::fromStdString(outcome.report.errors.front().to_string());
    const std::size_t conflicts =
        outcome.started ? outcome.report.count(FileState::conflict) : std::size_t{0};
    for (const Notice& notice : notices_for(arrivals, conflicts, failure))
        notifier_.send(notice);
}

void MainWindow::show_tray_state() {
    std::size_t conflicts = 0;
    std::size_t failed = 0;
    for (int row = 0; row < model_.rowCount(); ++row) {
        conflicts += model_.state(row).conflicts;
        failed += model_.state(row).failed;
    }
    tray_.show_state(tray_state(run_.running(), tray_.pause()->isChecked(), conflicts, failed));
}

void MainWindow::set_interval(std::chrono::milliseconds interval) {
    interval_.stop();
    if (interval.count() > 0) {
        interval_.setInterval(interval);
        interval_.start();
    }
}

bool MainWindow::background_sync() {
    // As `kitovu sync --skip-if-running`: a run going on anywhere (this window, another, the
    // kitovu command or its timer) has the cache's lock, or one with another config or cache
    // the lock of a folder of this config; this turn is skipped, not failed.
    if (run_.running() || tray_.pause()->isChecked() || !config_valid_ ||
        CacheLock::held_elsewhere(cache_file()) ||
        FolderLocks::held_elsewhere(target_folders(model_.settings())))
        return false;
    running_background_ = true;
    return sync({}, false);
}

bool MainWindow::may_stop_run() {
    return !run_.running() ||
           QMessageBox::question(this, tr("kitovu"),
                                 tr("A sync is going on. Stop it and quit? Files being downloaded "
                                    "are fetched by the next sync.")) == QMessageBox::Yes;
}

void MainWindow::quit() {
    if (!editor_->may_leave(this) || !may_stop_run())
        return;
    quitting_ = true;
    close();
    QApplication::quit();
}

void MainWindow::show_config_problems() {
    tabs_->setCurrentWidget(editor_);
    statusBar()->showMessage(tr("The configuration has problems: see the Configuration tab"));
}

void MainWindow::use(const Settings& settings) {
    config_valid_ = true;
    statusBar()->clearMessage();
    model_.set_settings(settings);
    sync_view_->set_root(settings.root_dir);
    conflicts_->set_place(settings, cache_file());
    fill_forget_menu();
}

std::filesystem::path MainWindow::cache_file() const {
    if (!cache_file_.empty())
        return cache_file_;
    auto path = default_cache_path(config_);
    return path ? *path : std::filesystem::path{};
}

bool MainWindow::sync(const QStringList& names, bool dry_run) {
    const bool background = std::exchange(running_background_, false);
    if (run_.running())
        return false;
    running_background_ = background;
    if (!config_valid_) {
        sync_view_->status()->setText(
            tr("Nothing synced: the configuration has problems (see the Configuration tab)."));
        show_config_problems();
        return false;
    }
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
    if (retyped_ && keyring_) { // the old item is looked past; the new one replaces it
        looking_past_ = std::make_unique<KeyringLookingPast>(*keyring_, retyped_->item);
        options.keyring = looking_past_.get();
    }
    model_.run_started(running_subjects_, dry_run);
    arrivals_.assign(model_.settings().subjects.size(), 0);
    sync_view_->begin();
    if (!dry_run && !running_background_)
        tabs_->setCurrentWidget(sync_view_);
    subjects_->sync_all_button()->setEnabled(false);
    const bool started = run_.start(std::move(settings), std::move(options));
    show_tray_state();
    return started;
}

std::optional<QString> MainWindow::ask_secret(const QString& question) {
    if (retyped_ && question.contains(QStringLiteral(" for %1").arg(
                        QString::fromStdString(retyped_->connection))))
        return retyped_->secret;
    return SecretDialog::ask(this, question);
}

void MainWindow::ask_again_if_refused(const SyncOutcome& outcome) {
    retyped_.reset();
    if (!outcome.started || running_dry_ || !keyring_)
        return;
    const auto connection = refused_keyring_secret(outcome.report);
    if (!connection)
        return;
    auto item = secret_item(model_.settings(), *connection);
    if (!item)
        return;
    const QString name = QString::fromStdString(*connection);
    auto typed =
        SecretDialog::ask(this, tr("The password for %1 was refused; type the new one:").arg(name));
    if (!typed)
        return;
    retyped_ = Retyped{*connection, std::move(*item), std::move(*typed)};
    const QStringList subjects = running_subjects_;
    QMetaObject::invokeMethod(
        this, [this, subjects] { sync(subjects, false); }, Qt::QueuedConnection);
}

void MainWindow::fill_forget_menu() {
    forget_menu_->clear();
    for (const Connection& connection : model_.settings().connections) {
        if (!secret_item(model_.settings(), connection.name))
            continue;
        const QString name = QString::fromStdString(connection.name);
        forget_menu_->addAction(name, this, [this, connection = connection.name, name] {
            const auto item = secret_item(model_.settings(), connection);
            if (!item || !keyring_)
                return;
            const KeyringAnswer answer = keyring_->forget(*item);
            statusBar()->showMessage(answer.status == KeyringAnswer::Status::done
                                         ? tr("The password for %1 is forgotten.").arg(name)
                                     : answer.status == KeyringAnswer::Status::absent
                                         ? tr("No password was kept for %1.").arg(name)
                                         : tr("The keyring cannot be asked: %1")
                                               .arg(QString::fromStdString(answer.why)));
        });
    }
    forget_menu_->setEnabled(keyring_ != nullptr && !forget_menu_->isEmpty());
}

void MainWindow::run_assistant() {
    if (!editor_->may_leave(this))
        return;
    std::error_code ec;
    if (std::filesystem::exists(config_, ec) &&
        QMessageBox::question(this, tr("kitovu"),
                              tr("Replace the configuration %1 with a new one?")
                                  .arg(QString::fromStdString(config_.string()))) !=
            QMessageBox::Yes)
        return;
    FirstRunAssistant assistant{this, config_, keyring_.get(), calls_};
    if (assistant.exec() != QDialog::Accepted)
        return;
    // The assistant saved the config (it offers only what the library accepts): used at once.
    editor_->open(config_);
    if (auto settings = load_settings(config_)) {
        use(*settings);
        tabs_->setCurrentWidget(subjects_);
        statusBar()->showMessage(tr("The configuration is saved. %1").arg(assistant.saved_note()));
    } else {
        show_config_problems();
    }
}

std::optional<std::string> MainWindow::config_text_to_change() {
    if (!editor_->may_leave(this))
        return std::nullopt;
    if (!config_valid_ || !editor_->errors().empty()) {
        QMessageBox::information(this, tr("kitovu"),
                                 tr("The configuration has problems; fix them in the "
                                    "Configuration tab first."));
        show_config_problems();
        return std::nullopt;
    }
    return editor_->text()->toPlainText().toStdString();
}

QStringList MainWindow::problems_with(const std::string& text) const {
    QStringList found;
    if (auto settings = parse_settings(text, config_); !settings)
        for (const UsageError& error : settings.error())
            found << OptionWords::problem(error.message);
    return found;
}

bool MainWindow::save_config_text(const std::string& text) {
    editor_->set_text(QString::fromStdString(text));
    if (editor_->save())
        return true;
    tabs_->setCurrentWidget(editor_);
    return false;
}

QStringList MainWindow::connection_names() const {
    QStringList names;
    for (const Connection& connection : model_.settings().connections)
        names << QString::fromStdString(connection.name);
    return names;
}

// The folder browser's way into a connection of the config: its secret found as a sync finds it,
// else asked as a sync asks; none (no Browse button) without the library's calls.
std::function<RemoteFolders(const std::string&)> MainWindow::remote_folders() {
    if (!calls_)
        return {};
    return [this](const std::string& connection) {
        return RemoteFolders{
            calls_.lister(model_.settings(), connection, {}),
            BrowseLogin::relogin(this, model_.settings(), connection, calls_, keyring_ != nullptr)};
    };
}

void MainWindow::add_subject() {
    const auto text = config_text_to_change();
    if (!text)
        return;
    SubjectDialog dialog{connection_names(), SubjectAnswer{},
                         [this, &text](const SubjectAnswer& answer) {
                             return problems_with(with_subject_added(*text, answer));
                         },
                         remote_folders(), this};
    if (dialog.exec() == QDialog::Accepted)
        save_config_text(with_subject_added(*text, dialog.answer()));
}

void MainWindow::edit_subject(int row) {
    if (row < 0 || static_cast<std::size_t>(row) >= model_.settings().subjects.size())
        return;
    const auto text = config_text_to_change();
    if (!text)
        return;
    const Subject subject = model_.settings().subjects[static_cast<std::size_t>(row)];
    const QString name = QString::fromStdString(subject.name);
    if (!fits_subject_dialog(subject) || !with_subject_changed(*text, subject.location.line, {})) {
        QMessageBox::information(this, tr("kitovu"),
                                 tr("%1 has more than the dialog shows (several sources or ignore "
                                    "patterns); change it in the Configuration tab.")
                                     .arg(name));
        tabs_->setCurrentWidget(editor_);
        return;
    }
    const Source& source = subject.sources.front();
    SubjectAnswer start{subject.name, source.connection, source.remote_dir,
                        source.written.contains("local-dir") ? source.local_dir.string() : ""};
    const std::uint32_t line = subject.location.line;
    SubjectDialog dialog{connection_names(), start,
                         [this, &text, line](const SubjectAnswer& answer) {
                             return problems_with(
                                 with_subject_changed(*text, line, answer).value_or(""));
                         },
                         remote_folders(), this};
    if (dialog.exec() == QDialog::Accepted)
        if (auto changed = with_subject_changed(*text, line, dialog.answer()))
            save_config_text(*changed);
}

void MainWindow::remove_subject(int row) {
    if (row < 0 || static_cast<std::size_t>(row) >= model_.settings().subjects.size())
        return;
    const auto text = config_text_to_change();
    if (!text)
        return;
    const Subject& subject = model_.settings().subjects[static_cast<std::size_t>(row)];
    const auto changed = with_subject_changed(*text, subject.location.line, std::nullopt);
    if (!changed) {
        tabs_->setCurrentWidget(editor_);
        return;
    }
    if (QMessageBox::question(this, tr("kitovu"),
                              tr("Remove %1 from the configuration? Its folder and files stay "
                                 "where they are.")
                                  .arg(QString::fromStdString(subject.name))) == QMessageBox::Yes)
        save_config_text(*changed);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings stored;
    // With a tray, closing the window keeps kitovu (and its timer) going; said once.
    if (!quitting_ && tray_.icon()->isVisible()) {
        hide();
        event->ignore();
        if (!stored.value(QStringLiteral("background/told-tray"), false).toBool()) {
            stored.setValue(QStringLiteral("background/told-tray"), true);
            notifier_.send({tr("kitovu keeps running in the tray"),
                            tr("It syncs on its interval; Quit from its menu ends it.")});
        }
        return;
    }
    if (!quitting_ && (!editor_->may_leave(this) || !may_stop_run())) {
        event->ignore();
        return;
    }
    if (run_.running())
        run_.cancel(); // the run ends cleanly (temporaries removed, cache saved) before exit
    stored.setValue(QStringLiteral("window/geometry"), saveGeometry());
    stored.setValue(QStringLiteral("window/state"), saveState());
    stored.setValue(QStringLiteral("window/tab"), tabs_->currentIndex());
    event->accept();
}

} // namespace kitovu::gui
