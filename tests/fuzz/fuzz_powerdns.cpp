// PowerDNS's zone document (plugins/powerdns/powerdns_answer): any JSON, or
// none. Invariants: a read fails, or yields the RRset whose every entry is a
// canonical address of the family asked for, taken from its content.
#include <string_view>

#include "addresses.h"
#include "powerdns_answer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const int family = family_of_first_byte(data, size);
    const std::string_view body(reinterpret_cast<const char *>(data) + (size ? 1 : 0),
                                size ? size - 1 : 0);
    const auto rrset = powerdns::rrset_of_zone(body, "www.example.test", family);
    if (!rrset) {
        FUZZ_REQUIRE(!rrset.reason().empty(), "a failure without a reason");
        return 0;
    }
    FUZZ_REQUIRE(rrset->exists || rrset->entries.empty(), "entries of an RRset that is not there");
    for (const auto &entry : rrset->entries) {
        require_canonical(entry.address, family);
        FUZZ_REQUIRE(adf::canonical_address(entry.content, family) == entry.address,
                     "address not taken from content " + entry.content);
    }
    (void)rrset->note();
    return 0;
}
