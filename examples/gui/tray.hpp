// The tray icon: the state at a glance (in step, syncing, conflicts, failed, paused) in its icon
// and tooltip, and a menu with Sync now, Pause, Open window and Quit. Where the desktop has no
// tray (QSystemTrayIcon::isSystemTrayAvailable()), the window stays the only way in.
#pragma once

#include <QIcon>
#include <QObject>
#include <QString>

#include <cstddef>

class QAction;
class QMenu;
class QSystemTrayIcon;

namespace kitovu::gui {

enum class TrayState { in_step, syncing, conflicts, failed, paused };

// What the tray shows, from what is known; pure, so its table is tested. A run going on wins,
// then a pause, then what needs the student (failures before conflicts).
TrayState tray_state(bool running, bool paused, std::size_t conflicts, std::size_t failed);
QString tray_words(TrayState state);

class Tray : public QObject {
    Q_OBJECT
  public:
    explicit Tray(QObject* parent = nullptr);
    ~Tray() override;

    void show_state(TrayState state);
    TrayState state() const { return state_; }
    QSystemTrayIcon* icon() const { return icon_; }
    QMenu* menu() const { return menu_; }
    QAction* sync_now() const { return sync_now_; }
    QAction* pause() const { return pause_; }
    QAction* open_window() const { return open_; }
    QAction* quit() const { return quit_; }

  Q_SIGNALS:
    void activated(); // a click on the icon: the window comes up

  private:
    QMenu* menu_;
    QSystemTrayIcon* icon_;
    QAction* sync_now_;
    QAction* pause_;
    QAction* open_;
    QAction* quit_;
    TrayState state_ = TrayState::in_step;
};

} // namespace kitovu::gui
