// The SDK's owning libldns handles, under the names the rfc2136 code uses.
#ifndef RFC2136_LDNS_HANDLES_H
#define RFC2136_LDNS_HANDLES_H

#include <autodnsfailover/ldns.hpp>

namespace rfc2136 {
using adf::ldns::CharPtr;
using adf::ldns::MallocFree;
using adf::ldns::PktPtr;
using adf::ldns::RdfPtr;
using adf::ldns::RrListPtr;
using adf::ldns::RrPtr;
}  // namespace rfc2136

#endif  // RFC2136_LDNS_HANDLES_H
