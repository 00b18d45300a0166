// Optional C++17 helper for DNS plugins whose provider has no conditional
// write (no compare-and-swap): Cloudflare, PowerDNS, Zerigo... Not part of
// the ABI; header-only, so each plugin stays a self-contained .so.
//
// Such a plugin re-reads the name's records just before writing and refuses
// (ADF_CONFLICT, changing nothing) when they differ from the set the host
// read; the host then reads again and decides anew. The window between that
// re-read and the write stays open, which is why such providers do not
// advertise ADF_DNS_ATOMIC_CAS.
//
//   void remove(const std::string &fqdn, int family,
//               const std::vector<adf::Record> &expected, const std::string &address) {
//       const std::vector<Entry> entries = fetch(fqdn, family);   // the provider's now
//       if (!adf::record_sets::should_remove(host_, fqdn, family, expected,
//                                            adf::record_sets::addresses_of(entries), address))
//           return;
//       ...delete the entries of `address`...
//   }
#ifndef AUTODNSFAILOVER_RECORD_SETS_HPP
#define AUTODNSFAILOVER_RECORD_SETS_HPP

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "plugin.hpp"

namespace adf::record_sets {

// A DNS name as DNS compares names: lower case, without the trailing dot.
inline std::string comparable_name(std::string name) {
    while (!name.empty() && name.back() == '.') name.pop_back();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return name;
}

// comparable_name(fqdn), provided it is `zone` (a comparable_name()) or a
// name below it; else ADF_BAD_CONFIG naming both and the zone's config key.
inline std::string name_in_zone(const std::string &fqdn, const std::string &zone,
                                const char *zone_key = "zone") {
    const std::string name = comparable_name(fqdn);
    const std::string suffix = "." + zone;
    const bool inside = name == zone || (name.size() > suffix.size() &&
                                         name.compare(name.size() - suffix.size(),
                                                      suffix.size(), suffix) == 0);
    if (!inside)
        throw Error(ADF_BAD_CONFIG, "\"" + fqdn + "\" is not inside the zone \"" + zone +
                                        "\" (key \"" + zone_key + "\")");
    return name;
}

// "www.example.com A 192.0.2.1", for messages.
inline std::string describe(const std::string &fqdn, int family, const std::string &address) {
    return fqdn + " " + record_type(family) + " " + address;
}

// The addresses of `records`: adf::Record values, or a plugin's own type
// with an `address` member (in canonical form).
template <class Records>
std::set<std::string> addresses_of(const Records &records) {
    std::set<std::string> out;
    for (const auto &record : records) out.insert(record.address);
    return out;
}

// "[192.0.2.1, 192.0.2.2]"
inline std::string set_text(const std::set<std::string> &addresses) {
    std::string out;
    for (const std::string &address : addresses) out += (out.empty() ? "" : ", ") + address;
    return "[" + out + "]";
}

// The provider cannot refuse a write whose premise is stale, so the plugin
// re-reads just before writing: ADF_CONFLICT, naming both sets, when the
// addresses it found (`current`) are not those the host read (`expected`).
inline void require_unchanged(const std::string &fqdn, int family,
                              const std::vector<Record> &expected,
                              const std::set<std::string> &current) {
    const std::set<std::string> read = addresses_of(expected);
    if (read != current)
        throw Error(ADF_CONFLICT, std::string("the ") + record_type(family) + " records of " +
                                      fqdn + " changed since they were read: expected " +
                                      set_text(read) + ", found " + set_text(current) +
                                      "; nothing was changed");
}

// ADF_FAILED when removing `address` would leave the name without records.
// The host never asks for that; a direct caller (probe) might, and an empty
// pool answers nobody.
inline void refuse_emptying(const std::string &fqdn, int family, const std::string &address,
                            const std::set<std::string> &current) {
    if (current.size() == 1 && current.count(address) == 1)
        throw Error(ADF_FAILED, "refusing to remove " + describe(fqdn, family, address) +
                                    ": it is the last record of the name, and a pool is never "
                                    "emptied");
}

// The checks before adding `address`, given the addresses the provider has
// now: ADF_CONFLICT when they are not the set the host read; false (logged)
// when `address` is among them already, so there is nothing to add.
inline bool should_add(const Host &host, const std::string &fqdn, int family,
                       const std::vector<Record> &expected, const std::set<std::string> &current,
                       const std::string &address) {
    require_unchanged(fqdn, family, expected, current);
    if (current.count(address) == 0) return true;
    host.info(describe(fqdn, family, address) + " is already a record: nothing to add");
    return false;
}

// The checks before removing `address`: ADF_CONFLICT as above; false
// (logged) when it is not there, so there is nothing to remove; ADF_FAILED
// when it is the last record.
inline bool should_remove(const Host &host, const std::string &fqdn, int family,
                          const std::vector<Record> &expected,
                          const std::set<std::string> &current, const std::string &address) {
    require_unchanged(fqdn, family, expected, current);
    if (current.count(address) == 0) {
        host.info(describe(fqdn, family, address) + " is not a record: nothing to remove");
        return false;
    }
    refuse_emptying(fqdn, family, address, current);
    return true;
}

}  // namespace adf::record_sets

#endif  // AUTODNSFAILOVER_RECORD_SETS_HPP
