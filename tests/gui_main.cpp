// The GUI tests' main: a QApplication (offscreen unless told otherwise) around Catch2's session.
// Settings go to a folder of this process's own, so parallel tests and the user's own
// kitovu-gui settings never mix.
#define CATCH_CONFIG_RUNNER
#include "gui_app.hpp"

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
