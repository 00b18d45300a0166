// The invariant every reader of records shares: what it yields are
// canonical addresses of the family asked for.
#pragma once

#include <autodnsfailover/plugin.hpp>

#include <string>

#include "invariant.h"

inline void require_canonical(const std::string &address, int family) {
    const auto canonical = adf::canonical_address(address, family);
    FUZZ_REQUIRE(canonical && *canonical == address,
                 "\"" + address + "\" is not a canonical IPv" + std::to_string(family) +
                     " address");
}

// The family a harness asks for: the first byte of the input decides, the
// rest is the answer.
inline int family_of_first_byte(const uint8_t *data, size_t size) {
    return size > 0 && (data[0] & 1) ? ADF_FAMILY_IPV6 : ADF_FAMILY_IPV4;
}
