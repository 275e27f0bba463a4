// kitovu: keeps local folders in step with remote course-material sources, never destroying a
// local edit. This umbrella header includes the whole library in the order data flows.
#pragma once

#include "kitovu/error.hpp"
#include "kitovu/expected.hpp"
#include "kitovu/names.hpp"
#include "kitovu/options.hpp"
#include "kitovu/plugin.hpp"
#include "kitovu/plugins/local.hpp"
#include "kitovu/registry.hpp"
#include "kitovu/warning.hpp"
