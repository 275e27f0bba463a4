#include "error_words.hpp"

namespace kitovu::gui {

QString ErrorWords::of(const UsageError& error) {
    const QString connection = QString::fromStdString(error.connection);
    switch (error.cause) {
    case ErrorCause::sync_running:
        if (!error.path.empty()) // a target folder's lock (disk/folder_lock.hpp)
            return tr("Another sync is placing files into %1; this one did not start.")
                .arg(QString::fromStdString(error.path));
        return tr("Another sync with this configuration is running; this one did not start.");
    case ErrorCause::kept_secret_refused:
        return tr("%1: the password kept in the keyring was refused").arg(connection);
    case ErrorCause::no_secret: return tr("%1: no password or token was given").arg(connection);
    case ErrorCause::token_refused:
        return tr("%1: the site does not accept this token. Moodle shows yours under "
                  "Preferences → Security keys → “Moodle mobile web service”.")
            .arg(connection);
    case ErrorCause::none: break;
    }
    switch (error.kind) {
    case ErrorKind::connection:
        return tr("%1: the server cannot be reached. Are you on the university network or VPN?")
            .arg(connection);
    case ErrorKind::authentication: return tr("%1: wrong user name or password").arg(connection);
    case ErrorKind::cancelled: return tr("stopped");
    default: break;
    }
    return QString::fromStdString(error.to_string());
}

} // namespace kitovu::gui
