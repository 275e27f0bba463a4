// Desktop notifications for what a student acts on after a sync they did not watch: new files
// in a subject, conflicts kept, a failure that needs them. Sent to the desktop's notification
// service (org.freedesktop.Notifications on the session bus); without one, through the tray.
#pragma once

#include <QObject>
#include <QString>

#include <vector>

class QSystemTrayIcon;

namespace kitovu::gui {

struct Notice {
    QString title;
    QString body;
    friend bool operator==(const Notice&, const Notice&) = default;
};

struct SubjectArrivals {
    QString subject;
    std::size_t files = 0; // new or updated in this run
};

// What a finished run tells the student; pure, so its table is tested. `failure` is the first
// problem in words, empty when none.
std::vector<Notice> notices_for(const std::vector<SubjectArrivals>& arrivals, std::size_t conflicts,
                                const QString& failure);

class Notifier : public QObject {
    Q_OBJECT
  public:
    // `tray`: the fallback where no notification service answers; may be null.
    explicit Notifier(QSystemTrayIcon* tray, QObject* parent = nullptr);
    void send(const Notice& notice);

  private:
    QSystemTrayIcon* tray_;
};

} // namespace kitovu::gui
