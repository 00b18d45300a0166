// Optional C++17 helper for DNS plugins: strict reading of a provider's
// answer, and the re-read-and-compare of providers without a conditional
// write. Not part of the ABI; header-only, so each plugin stays a
// self-contained .so.
//
// Strict reading (the rule of plugin.h's adf_dns_ops.read): a read is
// complete or an error, never a shorter or empty set. A reader checks every
// element of the answer with relation() and address_value(), and turns each
// problem into a failed read that quotes what was wrong, bounded
// (adf::json::shown, adf::excerpt):
//   - a record type is spelt as DNS spells it: "a" is a malformed answer,
//     not another type;
//   - the element of the asked name and type has every field a set needs,
//     each of its type; a missing one is an error, never "no records";
//   - where the answer should hold only the asked name and type (a filtered
//     listing, a DNS answer section), anything else is an error (foreign());
//     where it legitimately holds more (a whole zone, other types at the
//     name), the rest is left out once relation() has found it well-formed.
//
//   const adf::Result<Relation> r = adf::record_sets::relation(name, type, fqdn, family);
//   if (!r) return failure("rrsets[3]: " + r.reason());
//   if (*r == Relation::kOtherName) continue;   // a whole-zone listing
//
// Providers without a conditional write (Cloudflare, PowerDNS, Zerigo...):
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
#include <string_view>
#include <vector>

#include "plugin.hpp"
#include "result.hpp"

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

// Whether `type` is a record type as DNS spells it: an upper-case mnemonic
// or TYPEnnn ("A", "AAAA", "NS", "TYPE65280"), never "a" or "".
inline bool is_record_type(std::string_view type) {
    if (type.empty() || type.size() > 16 || !std::isupper(static_cast<unsigned char>(type[0])))
        return false;
    return std::all_of(type.begin(), type.end(), [](unsigned char c) {
        return std::isupper(c) || std::isdigit(c) || c == '-';
    });
}

// How a record (or record set) of an answer relates to those asked for.
enum class Relation {
    kOurs,       // the name and type asked for
    kOtherType,  // the name asked for, another type
    kOtherName,  // another name
};

// The relation of a record named `name` with type `type`, as the provider
// spelt them, to the records of `fqdn` and `family` asked for; a failure
// quoting them when the type is not a record type or the name is empty.
inline Result<Relation> relation(const std::string &name, const std::string &type,
                                 const std::string &fqdn, int family) {
    if (!is_record_type(type))
        return Result<Relation>::failure("the record type " + excerpt(type, 20) +
                                         " is not a DNS record type as DNS spells it (upper "
                                         "case, e.g. \"A\")");
    if (comparable_name(name).empty())
        return Result<Relation>::failure("a " + type + " record without a name");
    if (comparable_name(name) != comparable_name(fqdn)) return Relation::kOtherName;
    return type == record_type(family) ? Relation::kOurs : Relation::kOtherType;
}

// The reason a read fails on a record of `name` and `type` in an answer that
// should hold only the records of `fqdn` and `family`.
inline std::string foreign(const std::string &name, const std::string &type,
                           const std::string &fqdn, int family) {
    return "the answer holds a record of " + excerpt(name, 80) + " type " + excerpt(type, 20) +
           ", where only " + fqdn + " " + record_type(family) + " records belong";
}

// The canonical address of `value`, the value of a record of `family`; a
// failure quoting it when it is not such an address.
inline Result<std::string> address_value(const std::string &value, int family) {
    if (std::optional<std::string> address = canonical_address(value, family)) return *address;
    return Result<std::string>::failure("the value " + excerpt(value, 80) + " of a " +
                                        record_type(family) + " record is not an IPv" +
                                        std::to_string(family) + " address");
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

// ADF_FAILED when removing `removed` would leave the name without records.
// The host never asks for that; a direct caller (probe) might, and an empty
// pool answers nobody.
inline void refuse_emptying(const std::string &fqdn, int family,
                            const std::vector<std::string> &removed,
                            const std::set<std::string> &current) {
    for (const std::string &address : current)
        if (std::find(removed.begin(), removed.end(), address) == removed.end()) return;
    if (current.empty()) return;
    std::string listed;
    for (const std::string &address : current) listed += (listed.empty() ? "" : ", ") + address;
    throw Error(ADF_FAILED,
                "refusing to remove " + describe(fqdn, family, listed) +
                    (current.size() == 1 ? ": it is the last record of the name"
                                         : ": they are the last records of the name") +
                    ", and a pool is never emptied");
}
inline void refuse_emptying(const std::string &fqdn, int family, const std::string &address,
                            const std::set<std::string> &current) {
    refuse_emptying(fqdn, family, std::vector<std::string>{address}, current);
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
