// Optional C++17 helper for plugins (and the core) that use libldns: owning
// handles, so that every early return and exception frees what libldns
// built. Header-only and outside the ABI; link libldns yourself.
#ifndef AUTODNSFAILOVER_LDNS_HPP
#define AUTODNSFAILOVER_LDNS_HPP

// The standard headers first: libldns's headers, included before them,
// break libstdc++ 12 under clang (its type traits clash with clang builtins).
#include <cstdlib>
#include <memory>

#include <ldns/ldns.h>

namespace adf::ldns {

struct PktFree {
    void operator()(ldns_pkt *p) const { ldns_pkt_free(p); }
};
struct RrFree {
    void operator()(ldns_rr *r) const { ldns_rr_free(r); }
};
struct RrListFree {
    void operator()(ldns_rr_list *l) const { ldns_rr_list_deep_free(l); }
};
struct RdfFree {
    void operator()(ldns_rdf *r) const { ldns_rdf_deep_free(r); }
};
// Wire buffers and strings that libldns allocates with malloc().
struct MallocFree {
    void operator()(void *p) const { std::free(p); }
};

using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;
using RrListPtr = std::unique_ptr<ldns_rr_list, RrListFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
using CharPtr = std::unique_ptr<char, MallocFree>;

}  // namespace adf::ldns

#endif  // AUTODNSFAILOVER_LDNS_HPP
