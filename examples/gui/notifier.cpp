#include "notifier.hpp"

#include <QDBusConnection>
#include <QDBusConnectionInterface>
#include <QDBusMessage>
#include <QSystemTrayIcon>

namespace kitovu::gui {

std::vector<Notice> notices_for(const std::vector<SubjectArrivals>& arrivals, std::size_t conflicts,
                                const QString& failure) {
    std::vector<Notice> notices;
    if (!failure.isEmpty())
        notices.push_back({Notifier::tr("The sync failed"), failure});
    if (conflicts > 0)
        notices.push_back(
            {conflicts == 1 ? Notifier::tr("1 conflict: both versions kept")
                            : Notifier::tr("%1 conflicts: both versions kept").arg(conflicts),
             Notifier::tr("Your edit and the new version are side by side; see the Conflicts "
                          "tab.")});
    for (const SubjectArrivals& arrival : arrivals)
        if (arrival.files > 0)
            notices.push_back(
                {arrival.files == 1
                     ? Notifier::tr("1 new file in %1").arg(arrival.subject)
                     : Notifier::tr("%1 new files in %2").arg(arrival.files).arg(arrival.subject),
                 {}});
    return notices;
}

Notifier::Notifier(QSystemTrayIcon* tray, QObject* parent) : QObject(parent), tray_(tray) {}

void Notifier::send(const Notice& notice) {
    static const QString service = QStringLiteral("org.freedesktop.Notifications");
    QDBusConnection bus = QDBusConnection::sessionBus();
    if (bus.isConnected() && bus.interface() != nullptr &&
        bus.interface()->isServiceRegistered(service).value()) {
        QDBusMessage notify = QDBusMessage::createMethodCall(
            service, QStringLiteral("/org/freedesktop/Notifications"), service,
            QStringLiteral("Notify"));
        notify << QStringLiteral("kitovu") << 0U << QStringLiteral("kitovu-gui") << notice.title
               << notice.body << QStringList{} << QVariantMap{} << -1;
        bus.send(notify); // no waiting for the answer: the window never blocks on the desktop
        return;
    }
    if (tray_ != nullptr && tray_->isVisible())
        tray_->showMessage(notice.title, notice.body);
}

} // namespace kitovu::gui
