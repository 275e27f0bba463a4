// kitovu: keeps local folders in step with remote course-material sources, never destroying a
// local edit. This umbrella header includes the whole core library in the order data flows:
// config -> registry -> plugin -> engine -> cache -> disk. The smb and moodle plugins are
// components of their own (kitovu/plugins/smb.hpp, kitovu/plugins/moodle.hpp): they need
// libsmbclient and libcurl.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/expected.hpp"
#include "kitovu/warning.hpp"

#include "kitovu/config_template.hpp"
#include "kitovu/ignore.hpp"
#include "kitovu/options.hpp"
#include "kitovu/selection.hpp"
#include "kitovu/settings.hpp"
#include "kitovu/settings_model.hpp"
#include "kitovu/validate.hpp"

#include "kitovu/credentials.hpp"
#include "kitovu/plugin.hpp"
#include "kitovu/plugins/local.hpp"
#include "kitovu/registry.hpp"

#include "kitovu/decide.hpp"
#include "kitovu/engine.hpp"
#include "kitovu/link.hpp"
#include "kitovu/moves.hpp"
#include "kitovu/sync_options.hpp"

#include "kitovu/cache_journal.hpp"
#include "kitovu/cache_lock.hpp"
#include "kitovu/filecache.hpp"
#include "kitovu/local_identity.hpp"

#include "kitovu/names.hpp"
#include "kitovu/placement.hpp"
