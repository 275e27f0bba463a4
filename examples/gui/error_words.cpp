#include "error_words.hpp"

namespace kitovu::gui {

QString ErrorWords::of(const UsageError& error) {
    const QString connection = QString::fromStdString(error.connection);
    const std::string& message = error.message;
    switch (error.kind) {
    case ErrorKind::connection:
        return tr("%1: the server cannot be reached. Are you on the university network or VPN?")
            .arg(connection);
    case ErrorKind::authentication:
        // The engine's two other authentication errors: a refused keyring item (the window asks
        // for the new password) and no password at all (says where one can come from).
        if (message.find("kept in the keyring") != std::string::npos)
            return tr("%1: the password kept in the keyring was refused").arg(connection);
        if (message.starts_with("no "))
            break;
        return tr("%1: wrong user name or password").arg(connection);
    case ErrorKind::cancelled: return tr("stopped");
    case ErrorKind::usage:
        if (message.starts_with("another kitovu sync")) // cache_lock.hpp
            return tr("Another sync with this configuration is running; this one did not start.");
        break;
    default: break;
    }
    return QString::fromStdString(error.to_string());
}

} // namespace kitovu::gui
