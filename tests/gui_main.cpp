// The GUI tests' main: a QApplication (offscreen unless told otherwise) around Catch2's session.
// Settings go to a folder of this process's own, so parallel tests and the user's own
// kitovu-gui settings never mix; so does the session bus, shared by all cases of the process.
#define CATCH_CONFIG_RUNNER
#include "gui_app.hpp"

#if KITOVU_WITH_KEYRING
#include "keyring_fixture.hpp"
#endif

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    char settings[] = "/tmp/kitovu-gui-test-XXXXXX";
    if (::mkdtemp(settings) == nullptr)
        return 2;
    qputenv("XDG_CONFIG_HOME", settings);
    qputenv("XDG_DATA_HOME", QByteArray{settings} + "/data"); // the trash "keep mine" uses
#if KITOVU_WITH_KEYRING
    // One private session bus for every case, before Qt or GLib first connect to one (unless
    // the process runs in a session of its own, as under gui_tray_test.sh).
    if (qEnvironmentVariableIsEmpty("DBUS_SESSION_BUS_ADDRESS"))
        kitovu::test::process_session();
#endif
    int result = 0;
    {
        kitovu::test::TimedApplication app{argc, argv};
        QApplication::setOrganizationName(QStringLiteral("kitovu"));
        QApplication::setApplicationName(QStringLiteral("kitovu-gui-test"));
        result = Catch::Session().run(argc, argv);
    }
    std::error_code ec;
    std::filesystem::remove_all(settings, ec);
    return result;
}
