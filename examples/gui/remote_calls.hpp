// What the window asks a server while setting up, before any sync: whether a connection logs
// in, and what a remote folder holds. The set-up dialogs take these as functions, run them off
// the GUI thread, and are given the library's (library_remote_calls) by the window.
#pragma once

#include "folder_browser.hpp"

#ifndef Q_MOC_RUN // moc reads only the Qt parts (it cannot parse all of C++23)
#include <kitovu/config/settings_model.hpp>
#include <kitovu/plugin/credentials.hpp>
#endif

#include <atomic>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace kitovu::gui {

// `secret`: a password or token just typed (used instead of asking); empty: found as a sync
// finds it (command, environment, keyring). `keep`: a typed secret the server accepts is kept in
// the keyring (replacing what it held).
struct RemoteCalls {
    std::function<expected<void, UsageError>(const Settings&, const std::string& connection,
                                             const std::string& secret, std::stop_token)>
        test;
    std::function<expected<std::vector<BrowseEntry>, UsageError>(
        const Settings&, const std::string& connection, const std::string& secret, bool keep,
        const std::string& dir, std::stop_token)>
        list;

    explicit operator bool() const { return test && list; }
    // A lister for the browser over one connection; a secret to keep is kept by its first
    // listing the server answers.
    RemoteLister lister(Settings settings, std::string connection, std::string secret,
                        bool keep = false) const {
        return [list = list, settings = std::move(settings), connection = std::move(connection),
                secret = std::move(secret), keep = std::make_shared<std::atomic<bool>>(keep)](
                   const std::string& dir, std::stop_token stop) {
            auto listed = list(settings, connection, secret, keep->load(), dir, stop);
            if (listed)
                keep->store(false);
            return listed;
        };
    }
};

// The library's calls (kitovu::test_connection, kitovu::browse), the keyring asked as a sync
// asks it; empty where the library has none.
RemoteCalls library_remote_calls(Keyring* keyring);

} // namespace kitovu::gui
