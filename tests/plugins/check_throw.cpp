// A C++ check written against plugin.h alone, without plugin.hpp's glue: a
// C++ exception runs into its extern "C" entry point. A C caller cannot
// unwind, so the entry point is noexcept, which is what every C host sees:
// std::terminate(), then SIGABRT.
#include <stdexcept>
#include <string>

#include "minimal_check.h"

namespace {

[[noreturn]] void refuse(const char *address) {
    throw std::runtime_error(std::string("check-throw: an exception for ") + address);
}

extern "C" int check_throw(void *, const char *address, int, double) noexcept {
    refuse(address);
}

}  // namespace

MINIMAL_CHECK_PLUGIN("check-throw", "lets a C++ exception escape every check", check_throw);
