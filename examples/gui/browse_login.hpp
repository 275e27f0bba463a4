// The folder browser's second try at a connection that wants a password or token (none kept,
// or the server refused it): asked as a sync asks, in the secret dialog with why the last try
// failed in words, then whether to keep it in the keyring (once per browser).
#pragma once

#include "remote_calls.hpp"

#include <QCoreApplication>

class QWidget;

namespace kitovu::gui {

class BrowseLogin {
    Q_DECLARE_TR_FUNCTIONS(kitovu::gui::BrowseLogin)
  public:
    // `can_keep`: there is a keyring to keep the typed secret in.
    static Relogin relogin(QWidget* parent, const Settings& settings, const std::string& connection,
                           const RemoteCalls& calls, bool can_keep);
};

} // namespace kitovu::gui
