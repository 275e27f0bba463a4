#include "tray.hpp"

#include <QAction>
#include <QApplication>
#include <QMenu>
#include <QPainter>
#include <QSystemTrayIcon>

namespace kitovu::gui {

TrayState tray_state(bool running, bool paused, std::size_t conflicts, std::size_t failed) {
    if (running)
        return TrayState::syncing;
    if (paused)
        return TrayState::paused;
    if (failed > 0)
        return TrayState::failed;
    if (conflicts > 0)
        return TrayState::conflicts;
    return TrayState::in_step;
}

QString tray_words(TrayState state) {
    switch (state) {
    case TrayState::in_step: return Tray::tr("kitovu: in step");
    case TrayState::syncing: return Tray::tr("kitovu: syncing…");
    case TrayState::conflicts: return Tray::tr("kitovu: conflicts to look at");
    case TrayState::failed: return Tray::tr("kitovu: the last sync failed");
    case TrayState::paused: return Tray::tr("kitovu: paused");
    }
    return {};
}

namespace {

// The application's icon with a dot in the state's colour, so it reads at a glance.
QIcon state_icon(TrayState state) {
    QIcon base = QIcon::fromTheme(QStringLiteral("kitovu-gui"));
    QPixmap pixmap{64, 64};
    pixmap.fill(Qt::transparent);
    QPainter painter{&pixmap};
    painter.setRenderHint(QPainter::Antialiasing);
    if (!base.isNull())
        base.paint(&painter, pixmap.rect());
    else { // no icon theme (a bare session): a plain disc
        painter.setBrush(QColor{0x3b, 0x6e, 0xa8});
        painter.setPen(Qt::NoPen);
        painter.drawEllipse(pixmap.rect().adjusted(4, 4, -4, -4));
    }
    const QColor dot = state == TrayState::in_step     ? QColor{0x2e, 0xa0, 0x43}
                       : state == TrayState::syncing   ? QColor{0x1f, 0x6f, 0xeb}
                       : state == TrayState::conflicts ? QColor{0xd2, 0x99, 0x22}
                       : state == TrayState::failed    ? QColor{0xcf, 0x22, 0x2e}
                                                       : QColor{0x8c, 0x95, 0x9f};
    painter.setBrush(dot);
    painter.setPen(QPen{Qt::white, 3});
    painter.drawEllipse(QRect{36, 36, 26, 26});
    painter.end();
    return QIcon{pixmap};
}

} // namespace

Tray::Tray(QObject* parent)
    : QObject(parent), menu_(new QMenu), icon_(new QSystemTrayIcon(this)),
      sync_now_(menu_->addAction(tr("&Sync now"))), pause_(menu_->addAction(tr("&Pause"))),
      open_(menu_->addAction(tr("&Open window"))), quit_(nullptr) {
    pause_->setCheckable(true);
    menu_->addSeparator();
    quit_ = menu_->addAction(tr("&Quit"));
    icon_->setContextMenu(menu_);
    connect(icon_, &QSystemTrayIcon::activated, this,
            [this](QSystemTrayIcon::ActivationReason why) {
                if (why == QSystemTrayIcon::Trigger || why == QSystemTrayIcon::DoubleClick)
                    Q_EMIT activated();
            });
    state_ = TrayState::syncing; // differs, so the first show_state paints
    show_state(TrayState::in_step);
}

Tray::~Tray() {
    delete menu_; // a context menu has no parent
}

void Tray::show_state(TrayState state) {
    if (state == state_)
        return;
    state_ = state;
    icon_->setIcon(state_icon(state));
    icon_->setToolTip(tray_words(state));
}

} // namespace kitovu::gui
