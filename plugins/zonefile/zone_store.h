// ZoneStore: the A and AAAA records of one zone, kept in an RFC 1035 master
// file that libldns reads and writes.
//
// Reads parse the file without a lock: writers replace it with rename(), so
// a reader sees either the old or the new file, never half of one. Changes
// take an exclusive flock() on a separate lock file, re-read the file under
// it, compare the record set with what the caller expects (a true
// compare-and-swap among every process sharing the file), bump the SOA
// serial and replace the file atomically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zonefile {

struct StoreOptions {
    std::string path;             // the zone file
    std::string zone;             // its origin, e.g. "example.test" (trailing dot optional)
    std::string lock_path;        // empty: path + ".lock"
    uint32_t default_ttl = 60;    // the TTL of a record set that does not exist yet
    double lock_timeout = 10.0;   // seconds to wait for another writer
};

struct AddressRecord {
    std::string address;  // canonical text
    uint32_t ttl = 0;
};

// What a change did, for the log.
struct ChangeResult {
    uint32_t old_serial = 0;
    uint32_t new_serial = 0;
    uint32_t ttl = 0;                   // the TTL of the record set after the change
    std::vector<std::string> warnings;  // done anyway, but worth saying
};

// RFC 1982 serial arithmetic: the next serial after `serial` (wraps to 0).
uint32_t next_serial(uint32_t serial);

class ZoneStore {
   public:
    // Throws adf::Error(ADF_BAD_CONFIG) when the zone is not a domain name.
    explicit ZoneStore(StoreOptions options);

    const StoreOptions &options() const { return options_; }

    // Why `fqdn` cannot be managed in this zone (not a domain name, or
    // outside it), or nothing when it can.
    std::optional<std::string> name_problem(const std::string &fqdn) const;

    // The records of `fqdn` (exact owner, any case) and `family` (4: A,
    // 6: AAAA), in file order. Throws adf::Error(ADF_FAILED) when the file is
    // missing or does not parse, or when the fqdn is outside the zone.
    std::vector<AddressRecord> read(const std::string &fqdn, int family) const;

    // Adds `address` when the current set equals `expected` (as sets of
    // addresses), else throws adf::Error(ADF_CONFLICT) naming both. An
    // existing set keeps its TTL; a new one gets `ttl_if_new`, or the
    // default TTL when that is 0.
    ChangeResult add(const std::string &fqdn, int family, const std::vector<std::string> &expected,
                     const std::string &address, uint32_t ttl_if_new = 0) const;

    // Removes `addresses`, all in one rewrite, under the same condition.
    // Removing an address that is not there is a conflict; leaving the set
    // empty is refused.
    ChangeResult remove(const std::string &fqdn, int family,
                        const std::vector<std::string> &expected,
                        const std::vector<std::string> &addresses) const;

    // The SOA serial in the file now.
    uint32_t serial() const;

   private:
    StoreOptions options_;
};

}  // namespace zonefile
