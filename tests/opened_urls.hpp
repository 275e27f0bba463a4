// What the window asks the desktop to open, caught instead of opened: the test installs this as
// QDesktopServices' handler for file: URLs, so no file manager or viewer starts.
#pragma once

#include <QDesktopServices>
#include <QList>
#include <QObject>
#include <QUrl>

namespace kitovu::test {

class OpenedUrls : public QObject {
    Q_OBJECT
  public:
    OpenedUrls() { QDesktopServices::setUrlHandler(QStringLiteral("file"), this, "open"); }
    ~OpenedUrls() override { QDesktopServices::unsetUrlHandler(QStringLiteral("file")); }
    OpenedUrls(const OpenedUrls&) = delete;
    OpenedUrls& operator=(const OpenedUrls&) = delete;

    QList<QUrl> urls;

  public Q_SLOTS:
    void open(const QUrl& url) { urls << url; }
};

} // namespace kitovu::test
