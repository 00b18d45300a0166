// Route 53's XML answers (plugins/route53/route53_xml) and the instance
// role's credentials document (credentials.cpp). Invariants: a record set is
// refused, or every value canonicalises to an address of the family asked
// for; hosted zone ids have the form of one; credentials hold nothing that
// could break out of a request header.
#include <string>
#include <string_view>

#include "addresses.h"
#include "credentials.hpp"
#include "route53_xml.hpp"

namespace {

void require_header_safe(const std::string &value) {
    for (const unsigned char c : value)
        FUZZ_REQUIRE(c > 0x20 && c < 0x7f, "a credential with a character a header cannot hold");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const int family = family_of_first_byte(data, size);
    const std::string_view xml(reinterpret_cast<const char *>(data) + (size ? 1 : 0),
                               size ? size - 1 : 0);
    const auto set = route53::record_set_of_answer(xml, "www.example.test", family);
    if (set && set->has_value()) {
        FUZZ_REQUIRE(!(*set)->values.empty(), "a record set without values");
        for (const std::string &value : (*set)->values)
            FUZZ_REQUIRE(adf::canonical_address(value, family).has_value(),
                         "value \"" + value + "\" is not an address of the family");
    } else if (!set) {
        FUZZ_REQUIRE(!set.reason().empty(), "a failure without a reason");
    }
    if (const auto zones = route53::hosted_zones(xml))
        for (const auto &zone : *zones)
            FUZZ_REQUIRE(route53::is_zone_id(zone.id), "hosted zone id \"" + zone.id + "\"");
    (void)route53::change_id(xml);
    (void)route53::aws_error(std::string(xml));
    if (const auto role = route53::role_credentials(xml)) {
        FUZZ_REQUIRE(!role->credentials.access_key_id.empty(), "no access key id");
        require_header_safe(role->credentials.access_key_id);
        require_header_safe(role->credentials.secret_access_key);
        require_header_safe(role->credentials.session_token);
    }
    return 0;
}
