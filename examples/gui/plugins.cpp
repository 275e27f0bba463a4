// The plugins the window offers: each registers itself (PluginRegistry) where its header is
// included, so including them here, in the library the window and its tests link, is enough.
#include <kitovu/plugins/local.hpp>
#if KITOVU_WITH_SMB
#include <kitovu/plugins/smb.hpp>
#endif
#if KITOVU_WITH_MOODLE
#include <kitovu/plugins/moodle.hpp>
#endif
#if KITOVU_WITH_WEBDAV
#include <kitovu/plugins/webdav.hpp>
#endif
