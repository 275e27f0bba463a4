#include "browse_login.hpp"

#include "error_words.hpp"
#include "password_retry.hpp"
#include "secret_dialog.hpp"
#include "sync_run.hpp"

#include <QApplication>
#include <QMessageBox>

#include <memory>

namespace kitovu::gui {

Relogin BrowseLogin::relogin(QWidget* parent, const Settings& settings,
                             const std::string& connection, const RemoteCalls& calls,
                             bool can_keep) {
    const auto item = secret_item(settings, connection);
    const bool token = secret_what(settings, connection) == "token";
    auto keep = std::make_shared<std::optional<bool>>(); // asked once, with the first secret
    return [=](const UsageError& why) -> std::optional<RemoteLister> {
        const QString name = QString::fromStdString(connection);
        QString question =
            token ? tr("The token for %1:").arg(name) : tr("The password for %1:").arg(name);
        if (why.cause != ErrorCause::no_secret)
            question = error_words(why) + QLatin1Char('\n') + question;
        // Over the browser that asked (the window's dialogs are modal).
        QWidget* over =
            QApplication::activeModalWidget() ? QApplication::activeModalWidget() : parent;
        const auto typed = SecretDialog::ask(over, question);
        if (!typed || typed->isEmpty())
            return std::nullopt;
        if (!keep->has_value())
            *keep = can_keep && item &&
                    QMessageBox::question(over, tr("kitovu"),
                                          question_without_terminal_hint(
                                              "remember the " +
                                              std::string{token ? "token" : "password"} + " for " +
                                              connection + " in the keyring?")) == QMessageBox::Yes;
        return calls.lister(settings, connection, typed->toStdString(), **keep);
    };
}

} // namespace kitovu::gui
