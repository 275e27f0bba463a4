// The library's errors a student meets most, in the window's language: chosen by the error's
// kind (stable across versions) with its connection as the argument, never by parsing its
// English words where the kind says enough. Any other error is shown in the library's words.
#pragma once

#ifndef Q_MOC_RUN
#include <kitovu/error.hpp>
#endif

#include <QCoreApplication>
#include <QString>

namespace kitovu::gui {

class ErrorWords {
    Q_DECLARE_TR_FUNCTIONS(kitovu::gui::ErrorWords)
  public:
    static QString of(const UsageError& error);
};

inline QString error_words(const UsageError& error) {
    return ErrorWords::of(error);
}

} // namespace kitovu::gui
