// The conformance suite's report in a Catch2 test: fails the test with every failed check
// shown, and says what the fixture could not check.
//     kitovu::testing::require_passed(kitovu::testing::check_plugin(factory, fixture));
#pragma once

#include "kitovu/testing.hpp"

#if __has_include(<catch2/catch_test_macros.hpp>) // Catch2 v3
#include <catch2/catch_message.hpp>
#include <catch2/catch_test_macros.hpp>
#else // Catch2 v2
#include <catch2/catch.hpp>
#endif

namespace kitovu::testing {

inline void require_passed(const Report& report) {
    INFO(report.to_string());
    for (const auto& skipped : report.not_checked)
        WARN("not checked: " << skipped);
    REQUIRE(report.passed());
}

} // namespace kitovu::testing
