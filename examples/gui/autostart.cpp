#include "autostart.hpp"

#include <QCoreApplication>
#include <QFile>
#include <QSaveFile>
#include <QStandardPaths>

namespace kitovu::gui {

std::filesystem::path autostart_file() {
    const QString config = QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation);
    return std::filesystem::path{config.toStdString()} / "autostart" / "kitovu-gui.desktop";
}

QString autostart_entry(const QString& program) {
    return QStringLiteral("[Desktop Entry]\nType=Application\nName=kitovu\n"
                          "Comment=Keeps your course material in step, from the tray\n"
                          "Exec=%1 --background\nIcon=kitovu-gui\nTerminal=false\n"
                          "X-GNOME-Autostart-enabled=true\n")
        .arg(program);
}

bool autostart_enabled() {
    QFile entry{QString::fromStdString(autostart_file().string())};
    if (!entry.open(QIODevice::ReadOnly))
        return false;
    return !entry.readAll().contains("\nHidden=true");
}

bool set_autostart(bool on, QString* why) {
    const auto file = autostart_file();
    std::error_code ec;
    if (!on) {
        std::filesystem::remove(file, ec);
        if (ec && why != nullptr)
            *why = QString::fromStdString(ec.message());
        return !ec;
    }
    std::filesystem::create_directories(file.parent_path(), ec);
    // The installed program by name when it is on PATH, else this very binary.
    const QString program = QStandardPaths::findExecutable(QStringLiteral("kitovu-gui")).isEmpty()
                                ? QCoreApplication::applicationFilePath()
                                : QStringLiteral("kitovu-gui");
    QSaveFile out{QString::fromStdString(file.string())};
    const QByteArray bytes = autostart_entry(program).toUtf8();
    if (!out.open(QIODevice::WriteOnly) || out.write(bytes) != bytes.size() || !out.commit()) {
        if (why != nullptr)
            *why = out.errorString();
        return false;
    }
    return true;
}

} // namespace kitovu::gui
