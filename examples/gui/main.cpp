// kitovu-gui: a desktop window embedding the kitovu library (no wrapper around the kitovu
// binary): subjects at a glance, sync with progress and Cancel, conflicts, config editor.
#include "main_window.hpp"
#include "translations.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QSystemTrayIcon>

int main(int argc, char** argv) {
    QApplication app{argc, argv};
    QApplication::setOrganizationName(QStringLiteral("kitovu"));
    QApplication::setApplicationName(QStringLiteral("kitovu-gui"));
    QApplication::setApplicationDisplayName(QStringLiteral("kitovu"));
    QApplication::setDesktopFileName(QStringLiteral("kitovu-gui"));
    QApplication::setApplicationVersion(QStringLiteral(KITOVU_VERSION));
    const kitovu::gui::Translations translations; // before any text is made, --help's too

    QCommandLineParser options;
    options.setApplicationDescription(
        QApplication::translate("main", "Keeps course material in step with your folders."));
    options.addHelpOption();
    options.addVersionOption();
    const QCommandLineOption config{{QStringLiteral("c"), QStringLiteral("config")},
                                    QApplication::translate("main", "The config file."),
                                    QApplication::translate("main", "FILE")};
    const QCommandLineOption cache{QStringLiteral("cache"),
                                   QApplication::translate("main", "The file cache."),
                                   QApplication::translate("main", "FILE")};
    const QCommandLineOption background{
        QStringLiteral("background"),
        QApplication::translate("main", "Start in the tray, without the window (autostart).")};
    options.addOption(config);
    options.addOption(cache);
    options.addOption(background);
    options.process(app);

    std::filesystem::path config_file = options.value(config).toStdString();
    if (config_file.empty()) {
        auto fallback = kitovu::default_config_path();
        config_file = fallback;
    }
    kitovu::gui::MainWindow window{config_file, options.value(cache).toStdString()};
    // With a tray, closing the window leaves kitovu running there; Quit (menu, tray) ends it.
    const bool tray = QSystemTrayIcon::isSystemTrayAvailable();
    QApplication::setQuitOnLastWindowClosed(!tray);
    if (!tray || !options.isSet(background))
        window.show();
    std::error_code ec;
    if (!std::filesystem::exists(config_file, ec))
        window.run_assistant(); // first run: no config yet
    return QApplication::exec();
}
