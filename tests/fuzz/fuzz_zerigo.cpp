// Zerigo's XML answers (plugins/zerigo/zerigo_xml): hosts of a name, and a
// zone. Invariants: a read fails, or yields hosts whose address is the
// canonical form of their data, of the family asked for.
#include <string_view>

#include "addresses.h"
#include "zerigo_xml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const int family = family_of_first_byte(data, size);
    const std::string_view xml(reinterpret_cast<const char *>(data) + (size ? 1 : 0),
                               size ? size - 1 : 0);
    const auto hosts = zerigo::hosts_of_answer(xml, "www.example.test", "example.test", family);
    if (hosts) {
        for (const auto &host : *hosts) {
            require_canonical(host.address, family);
            FUZZ_REQUIRE(adf::canonical_address(host.data, family) == host.address,
                         "address not taken from data " + host.data);
        }
    } else {
        FUZZ_REQUIRE(!hosts.reason().empty(), "a failure without a reason");
    }
    const auto zone = zerigo::zone_of_answer(xml);
    FUZZ_REQUIRE(zone || !zone.reason().empty(), "a failure without a reason");
    return 0;
}
