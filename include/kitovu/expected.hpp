// kitovu::expected and kitovu::unexpected: the result type of every fallible call.
// tl::expected or C++23 std::expected, chosen once for the whole program (see below).
#pragma once

// The choice is made by the build (CMake sets KITOVU_USE_TL_EXPECTED on the kitovu target),
// never per file: two translation units seeing different types would break the
// one-definition rule. Inside kitovu only the subset both share is used: has_value(),
// operator bool, *, ->, value() (not on expected<void, E>), error(), value_or() and
// unexpected{e} by deduction. GCC 12's std::expected has no and_then/transform.
#if defined(KITOVU_USE_TL_EXPECTED) && KITOVU_USE_TL_EXPECTED
#include <tl/expected.hpp>
namespace kitovu {
using tl::expected;
using tl::unexpected;
} // namespace kitovu
#else
#include <expected>
namespace kitovu {
using std::expected;
using std::unexpected;
} // namespace kitovu
#endif
