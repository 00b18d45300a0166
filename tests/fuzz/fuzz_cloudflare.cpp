// One page of Cloudflare's record listing (plugins/cloudflare/
// cloudflare_answer): any JSON, or none. Invariants: a page fails, or lists
// records with an id and a canonical address of the family asked for, and a
// page count the pager can trust.
#include <string_view>

#include "addresses.h"
#include "cloudflare_answer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const int family = family_of_first_byte(data, size);
    const std::string_view body(reinterpret_cast<const char *>(data) + (size ? 1 : 0),
                                size ? size - 1 : 0);
    const auto page = cloudflare::page_of_answer(body, "www.example.test", family);
    if (!page) {
        FUZZ_REQUIRE(!page.reason().empty(), "a failure without a reason");
        return 0;
    }
    FUZZ_REQUIRE(page->total_pages >= 0, "a negative page count");
    for (const auto &entry : page->entries) {
        FUZZ_REQUIRE(!entry.id.empty(), "a record without an id");
        require_canonical(entry.address, family);
    }
    return 0;
}
