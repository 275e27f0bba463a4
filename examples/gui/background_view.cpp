#include "background_view.hpp"

#include "autostart.hpp"

#include <QCheckBox>
#include <QFormLayout>
#include <QLabel>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

namespace kitovu::gui {

namespace {
const QString interval_key = QStringLiteral("background/interval-minutes");
}

int stored_interval_minutes() {
    return QSettings{}.value(interval_key, 60).toInt();
}

BackgroundView::BackgroundView(QWidget* parent)
    : QWidget(parent), autostart_(new QCheckBox(tr("S&tart with my session, in the tray"))),
      interval_(new QSpinBox), note_(new QLabel) {
    auto* layout = new QVBoxLayout(this);
    auto* form = new QFormLayout;
    autostart_->setChecked(autostart_enabled());
    form->addRow(autostart_);
    interval_->setRange(0, 24 * 60);
    interval_->setSuffix(tr(" min"));
    interval_->setSpecialValueText(tr("only when I ask"));
    interval_->setValue(stored_interval_minutes());
    auto* every = new QLabel(tr("Sync &every:"));
    every->setBuddy(interval_);
    form->addRow(every, interval_);
    layout->addLayout(form);
    note_->setWordWrap(true);
    note_->setText(tr("While kitovu runs (in the window or the tray) it syncs all subjects at "
                      "this interval. A sync already going on, from the window or from the "
                      "kitovu command, is never doubled: the timer waits for the next turn."));
    layout->addWidget(note_);
    layout->addStretch();

    connect(autostart_, &QCheckBox::toggled, this, [this](bool on) {
        QString why;
        if (!set_autostart(on, &why)) {
            note_->setText(tr("Cannot change the autostart entry: %1").arg(why));
            const QSignalBlocker quiet{autostart_};
            autostart_->setChecked(!on);
        }
    });
    connect(interval_, &QSpinBox::valueChanged, this, [this](int minutes) {
        QSettings{}.setValue(interval_key, minutes);
        Q_EMIT interval_changed(minutes);
    });
}

} // namespace kitovu::gui
