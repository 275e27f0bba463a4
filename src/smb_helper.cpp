// kitovu-smb-helper: the process in which the smb plugin runs libsmbclient (see
// include/kitovu/plugins/smb/helper_main.hpp), installed in libexec beside the kitovu command.
// Started by the plugin with its socket on descriptor 3; not meant to be run by hand.
#include <kitovu/plugins/smb/helper_main.hpp>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

// libsmbclient (4.17) prints some failures with Samba's d_printf, which writes to stdout. This
// definition takes its place in this program (exported: the dynamic linker binds the library's
// calls to it), keeps the text with the log, and notes the one failure that must not pass
// silently: "Encryption required and server doesn't support SMB3 encryption - failing connect",
// after which libsmbclient goes on unencrypted.
extern "C" __attribute__((format(printf, 1, 2))) int d_printf(const char* format, ...) {
    va_list arguments;
    va_start(arguments, format);
    char text[1024];
    const int length = std::vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    if (length < 0)
        return length;
    auto& log = kitovu::detail::smb::SessionLog::get();
    if (std::string_view{text}.starts_with("Encryption required"))
        log.unencrypted = true;
    kitovu::detail::smb::SessionLog::keep(nullptr, 0, text);
    return length;
}

int main(int argc, char** argv) {
    if (argc != 2 || std::string_view{argv[1]} != "--serve") {
        std::fputs("kitovu-smb-helper is started by kitovu's smb plugin, not by hand\n", stderr);
        return 2;
    }
    // Ends without exit handlers: nothing here needs flushing, and a sanitizer's leak check at exit
    // would only report libsmbclient's process-global state.
    std::_Exit(kitovu::detail::smb::helper_main());
}
