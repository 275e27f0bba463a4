#include "option_words.hpp"

#include <QRegularExpression>

namespace kitovu::gui {

namespace {

QString qt(std::string_view text) {
    return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size()));
}

} // namespace

QString OptionWords::plugin(std::string_view name, std::string_view description) {
    if (name == "smb")
        return tr("A Windows share (SMB), as most universities have");
    if (name == "moodle")
        return tr("Moodle courses");
    if (name == "webdav")
        return tr("A WebDAV folder (Nextcloud, ownCloud)");
    if (name == "local")
        return tr("A folder on this computer or a mounted drive");
    return QStringLiteral("%1 (%2)").arg(qt(name), qt(description));
}

QString OptionWords::option(std::string_view name) {
    if (name == "hostname")
        return tr("Server");
    if (name == "share")
        return tr("Share");
    if (name == "username")
        return tr("User name");
    if (name == "domain")
        return tr("Domain");
    if (name == "port")
        return tr("Port");
    if (name == "password-command")
        return tr("Command that prints the password");
    if (name == "token-command")
        return tr("Command that prints the token");
    if (name == "signing")
        return tr("Signing");
    if (name == "encrypt")
        return tr("Encrypt the connection");
    if (name == "timeout")
        return tr("Time-out (seconds)");
    if (name == "url")
        return tr("Address of the site");
    if (name == "path")
        return tr("Folder");
    return qt(name);
}

QString OptionWords::secret(std::string_view what) {
    if (what == "password")
        return tr("Password");
    if (what == "token")
        return tr("Token");
    return qt(what);
}

// The plugins' hints (SecretSpec::hint) in the window's words.
QString OptionWords::secret_hint(std::string_view plugin) {
    if (plugin == "moodle")
        return tr("Your key is in Moodle under Preferences → Security keys, in the row “Moodle "
                  "mobile web service” (copy it from there). Without that row, the university "
                  "has switched the Moodle app off; its IT can tell.");
    if (plugin == "webdav")
        return tr("Nextcloud: make an app password under Settings → Security.");
    return {};
}

QString OptionWords::problem(std::string_view message) {
    QString text = qt(message);
    // 'hostname' → “Server”; other quoted words (values, plugin names) stay as they are.
    static const QRegularExpression key{QStringLiteral("(?:option )?'([a-z][a-z0-9-]*)'")};
    QString out;
    qsizetype last = 0;
    for (auto it = key.globalMatch(text); it.hasNext();) {
        const auto match = it.next();
        const QString name = match.captured(1);
        const QString words = option(name.toStdString());
        out += text.mid(last, match.capturedStart() - last);
        out += words != name ? QStringLiteral("“%1”").arg(words) : match.captured(0);
        last = match.capturedEnd();
    }
    out += text.mid(last);
    if (!out.isEmpty())
        out[0] = out[0].toUpper();
    return out;
}

bool OptionWords::first_shown(std::string_view name, bool required) {
    return required || name == "url";
}

} // namespace kitovu::gui
