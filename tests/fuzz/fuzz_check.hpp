// What the fuzz harnesses share: a property check that aborts, so both the fuzzer and the
// regression replay report a violated property as a crash, with the reason on stderr.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace kitovu::fuzz {

inline void check(bool holds, std::string_view property) {
    if (holds)
        return;
    std::fprintf(stderr, "fuzz property violated: %.*s\n", static_cast<int>(property.size()),
                 property.data());
    std::abort();
}

} // namespace kitovu::fuzz
