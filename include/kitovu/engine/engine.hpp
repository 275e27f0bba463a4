// The sync engine's entry point: sync() checks the settings and hands them to a Run (run.hpp),
// which lists every source, decides per file what to do (decide/decide.hpp), downloads in
// parallel into temporaries that are moved into place (disk/placement.hpp), and records the
// result in the file cache. A local edit is never overwritten.
#pragma once

#include "kitovu/config/settings_model.hpp"
#include "kitovu/config/validate.hpp"
#include "kitovu/engine/run.hpp"
#include "kitovu/engine/sync_options.hpp"

#include <exception>
#include <new>
#include <string>

namespace kitovu {

// Syncs every source of `settings`. Problems with one connection, source or file are reported
// in the SyncReport and the rest goes on; only problems that stop the whole run (another run
// holds the cache, the cache cannot be read) are returned as an error.
inline expected<SyncReport, UsageError> sync(const Settings& settings, const SyncOptions& options,
                                             WarningSink warn) {
    try {
        // Settings a program built itself get the checks a config file gets.
        if (auto problems = validate(settings); !problems.empty())
            return fail(std::move(problems.front()));
        auto cache_file = detail::Run::cache_file(settings, options);
        if (!cache_file)
            return fail(cache_file.error());
        return detail::Run{settings, options, warn, std::move(*cache_file)}.run();
    } catch (const std::bad_alloc&) {
        return fail(ErrorKind::internal, "out of memory");
    } catch (const std::exception& e) {
        return fail(ErrorKind::internal, std::string{"unexpected failure: "} + e.what());
    }
}

} // namespace kitovu
