// The Background tab: whether kitovu starts with the session (in the tray) and how often it
// syncs by itself while it runs. Kept in QSettings; the window's timer follows it.
#pragma once

#include <QWidget>

class QCheckBox;
class QLabel;
class QSpinBox;

namespace kitovu::gui {

// Minutes between syncs while the window runs; 0: only when asked. Default hourly.
int stored_interval_minutes();

class BackgroundView : public QWidget {
    Q_OBJECT
  public:
    explicit BackgroundView(QWidget* parent = nullptr);

    QCheckBox* autostart() const { return autostart_; }
    QSpinBox* interval() const { return interval_; }

  Q_SIGNALS:
    void interval_changed(int minutes);

  private:
    QCheckBox* autostart_;
    QSpinBox* interval_;
    QLabel* note_;
};

} // namespace kitovu::gui
