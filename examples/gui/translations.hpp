// The window in the user's language: its own strings from the translations built into it
// (translations/*.ts, German so far) and Qt's dialogs' from Qt's own, where there are any;
// English otherwise. The language is the locale's (LANGUAGE, LC_ALL, LC_MESSAGES, LANG).
#pragma once

#include <QLocale>
#include <QTranslator>

namespace kitovu::gui {

class Translations {
  public:
    // Installed in the application while this lives.
    explicit Translations(const QLocale& locale = QLocale{});
    ~Translations();
    Translations(const Translations&) = delete;
    Translations& operator=(const Translations&) = delete;

    // Whether the window's own strings are translated (false: English).
    bool translated() const { return window_loaded_; }

  private:
    QTranslator window_;
    QTranslator qt_;
    bool window_loaded_ = false;
    bool qt_loaded_ = false;
};

} // namespace kitovu::gui
