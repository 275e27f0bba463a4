// Starting with the desktop session: an XDG autostart entry ($XDG_CONFIG_HOME/autostart, by
// default ~/.config/autostart) that starts the window in the tray. Switched from the window;
// present means on (a desktop's own "Hidden=true" switch is honoured as off).
#pragma once

#include <QString>

#include <filesystem>

namespace kitovu::gui {

std::filesystem::path autostart_file();
// The entry's text: `program` started with --background.
QString autostart_entry(const QString& program);
bool autostart_enabled();
// False, with the reason, when the entry cannot be written or removed.
bool set_autostart(bool on, QString* why = nullptr);

} // namespace kitovu::gui
