#include "translations.hpp"

#include <QCoreApplication>
#include <QLibraryInfo>

namespace kitovu::gui {

Translations::Translations(const QLocale& locale) {
    // Built in as resources under :/i18n (examples/gui/CMakeLists.txt).
    window_loaded_ = window_.load(locale, QStringLiteral("kitovu-gui"), QStringLiteral("_"),
                                  QStringLiteral(":/i18n"));
    if (window_loaded_)
        QCoreApplication::installTranslator(&window_);
    // Qt's own (buttons of its dialogs: "Cancel", "Yes"), where the system has them installed.
    qt_loaded_ = window_loaded_ && qt_.load(locale, QStringLiteral("qtbase"), QStringLiteral("_"),
                                            QLibraryInfo::path(QLibraryInfo::TranslationsPath));
    if (qt_loaded_)
        QCoreApplication::installTranslator(&qt_);
}

Translations::~Translations() {
    if (qt_loaded_)
        QCoreApplication::removeTranslator(&qt_);
    if (window_loaded_)
        QCoreApplication::removeTranslator(&window_);
}

} // namespace kitovu::gui
