// A fake desktop notification service: org.freedesktop.Notifications on the session bus (a
// private one the test starts, or the one the test runs in), on a connection of its own, keeping
// every notification it is sent. Nothing is shown; the window talks to it as to a desktop's.
#pragma once

#include <QDBusConnection>
#include <QDBusConnectionInterface>
#include <QObject>
#include <QStringList>
#include <QVariantMap>

namespace kitovu::test {

class FakeNotifications : public QObject {
    Q_OBJECT
    Q_CLASSINFO("D-Bus Interface", "org.freedesktop.Notifications")
  public:
    FakeNotifications()
        : bus_(QDBusConnection::connectToBus(QDBusConnection::SessionBus,
                                             QStringLiteral("kitovu-test-notifications"))) {
        registered_ = bus_.isConnected() &&
                      bus_.registerObject(QStringLiteral("/org/freedesktop/Notifications"), this,
                                          QDBusConnection::ExportAllSlots) &&
                      bus_.registerService(QStringLiteral("org.freedesktop.Notifications"));
    }
    ~FakeNotifications() override {
        bus_.unregisterService(QStringLiteral("org.freedesktop.Notifications"));
        bus_.unregisterObject(QStringLiteral("/org/freedesktop/Notifications"));
        QDBusConnection::disconnectFromBus(QStringLiteral("kitovu-test-notifications"));
    }
    FakeNotifications(const FakeNotifications&) = delete;
    FakeNotifications& operator=(const FakeNotifications&) = delete;

    bool registered() const { return registered_; }
    QStringList titles; // summary, in the order they came
    QStringList bodies;
    QStringList apps;

  public Q_SLOTS:
    uint Notify(const QString& app, uint /*replaces*/, const QString& /*icon*/,
                const QString& summary, const QString& body, const QStringList& /*actions*/,
                const QVariantMap& /*hints*/, int /*timeout*/) {
        apps << app;
        titles << summary;
        bodies << body;
        return static_cast<uint>(titles.size());
    }
    QStringList GetCapabilities() { return {QStringLiteral("body")}; }
    void CloseNotification(uint) {}

  private:
    QDBusConnection bus_;
    bool registered_ = false;
};

} // namespace kitovu::test
