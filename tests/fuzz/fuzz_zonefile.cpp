// A zone file as the zonefile plugin reads it (plugins/zonefile/zone_store,
// libldns): any text, written to a file in /dev/shm and read back.
// Invariants: a read fails with adf::Error, or yields canonical addresses of
// the family asked for.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "addresses.h"
#include "zone_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const int family = family_of_first_byte(data, size);
    static const std::string path = "/dev/shm/adf-fuzz-zone-" + std::to_string(getpid());
    {
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        file.write(reinterpret_cast<const char *>(data) + (size ? 1 : 0),
                   static_cast<std::streamsize>(size ? size - 1 : 0));
    }
    zonefile::StoreOptions options;
    options.path = path;
    options.zone = "example.test";
    options.lock_path = path + ".lock";
    const zonefile::ZoneStore store(options);
    try {
        for (const auto &record : store.read("www.example.test", family))
            require_canonical(record.address, family);
    } catch (const adf::Error &e) {
        FUZZ_REQUIRE(e.what()[0] != '\0', "a failure without a reason");
    }
    return 0;
}
