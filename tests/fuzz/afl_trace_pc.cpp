// Coverage for AFL++ from g++ alone: AFL++'s GCC plugin cannot be used with Debian 12's g++ 12
// (the packaged plugin refuses the compiler's version string), so the harnesses are compiled with
// g++'s own `-fsanitize-coverage=trace-pc` and this callback records edges into AFL++'s shared
// map, the way classic AFL does (hash of the current block xor the previous one). AFL++'s
// afl-compiler-rt.o provides the map and the fork server, libAFLDriver.a the main loop.
// This file itself must be compiled without instrumentation.
#include <cstdint>

extern "C" {
extern std::uint8_t* __afl_area_ptr; // AFL++'s coverage map, 64 KiB by default

// Stable for the program's life (addresses are fixed once loaded); one per thread, as in AFL.
thread_local std::uintptr_t kitovu_fuzz_previous = 0;

void __sanitizer_cov_trace_pc() {
    const auto pc = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
    const std::uintptr_t current = ((pc ^ (pc >> 16)) * 0x9E3779B1u >> 8) & 0xFFFF;
    ++__afl_area_ptr[current ^ kitovu_fuzz_previous];
    kitovu_fuzz_previous = current >> 1;
}
}
