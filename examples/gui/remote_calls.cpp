#include "remote_calls.hpp"

#include <kitovu/plugin/browse.hpp>

namespace kitovu::gui {

RemoteCalls library_remote_calls(Keyring* keyring) {
    // The typed secret, else the sources a sync asks (never a prompt: there is no terminal, and
    // the assistant has its own password field).
    const auto options = [keyring](const std::string& secret, bool keep, std::stop_token stop) {
        BrowseOptions options;
        options.keyring = keyring;
        options.secret = secret;
        if (keep) // asked before the login, as a sync asks (MainWindow::relogin_for)
            options.offer_to_keep = [](std::string_view) { return true; };
        options.stop = std::move(stop);
        return options;
    };
    RemoteCalls calls;
    calls.test = [options](const Settings& settings, const std::string& connection,
                           const std::string& secret, std::stop_token stop) {
        return test_connection(settings, connection, options(secret, false, std::move(stop)));
    };
    calls.list = [options](const Settings& settings, const std::string& connection,
                           const std::string& secret, bool keep, const std::string& dir,
                           std::stop_token stop) {
        return browse(settings, connection, dir, options(secret, keep, std::move(stop)));
    };
    return calls;
}

} // namespace kitovu::gui
