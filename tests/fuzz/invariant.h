// What a harness asserts beyond "no crash": a broken invariant aborts with
// the harness's own words, which libFuzzer (and the replay driver) report as
// a crash and keep the input of.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

// What every harness defines (libFuzzer's entry point).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_REQUIRE(condition, what)                                                       \
    do {                                                                                    \
        if (!(condition)) {                                                                 \
            std::fprintf(stderr, "invariant broken at %s:%d: %s (%s)\n", __FILE__, __LINE__, \
                         #condition, std::string(what).c_str());                            \
            std::abort();                                                                   \
        }                                                                                   \
    } while (0)
