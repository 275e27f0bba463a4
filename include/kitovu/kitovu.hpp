// kitovu: keeps local folders in step with remote course-material sources, never destroying a
// local edit. This umbrella header includes the whole core library in the order data flows:
// config -> registry -> plugin -> engine -> cache -> disk. The smb and moodle plugins are
// components of their own (kitovu/plugins/smb.hpp, kitovu/plugins/moodle.hpp): they need
// libsmbclient and libcurl.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/expected.hpp"
#include "kitovu/warning.hpp"

#include "kitovu/config/options.hpp"
#include "kitovu/config/selection.hpp"
#include "kitovu/config/settings.hpp"
#include "kitovu/config/settings_model.hpp"
#include "kitovu/config/template.hpp"
#include "kitovu/config/validate.hpp"
#include "kitovu/decide/ignore.hpp"

#include "kitovu/plugin/browse.hpp"
#include "kitovu/plugin/credentials.hpp"
#include "kitovu/plugin/plugin.hpp"
#include "kitovu/plugin/registry.hpp"
#include "kitovu/plugins/local.hpp"

#include "kitovu/decide/decide.hpp"
#include "kitovu/decide/moves.hpp"
#include "kitovu/engine/engine.hpp"
#include "kitovu/engine/sync_options.hpp"
#include "kitovu/plugin/link.hpp"

#include "kitovu/cache/filecache.hpp"
#include "kitovu/cache/journal.hpp"
#include "kitovu/cache/lock.hpp"
#include "kitovu/disk/local_identity.hpp"

#include "kitovu/disk/names.hpp"
#include "kitovu/disk/placement.hpp"
