#include "tsig.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <autodnsfailover/plugin.hpp>

#include "ldns_handles.h"

namespace rfc2136 {

namespace {

// TSIG record data fields (RFC 8945 4.2), in the order libldns keeps them.
enum TsigField : size_t {
    kAlgorithm = 0,
    kTimeSigned = 1,
    kFudge = 2,
    kMac = 3,
    kError = 5,
    kFieldCount = 7
};

// The HMAC algorithms of RFC 8945. libldns 1.8 signs with four of them: its
// table lacks hmac-sha224 and misspells hmac-sha384 ("hmac-shac384."). A
// trial signature would tell too, but libldns leaks memory when signing
// fails, so the table says it.
struct Algorithm {
    const char *name;
    const char *dname;  // on the wire
    bool ldns_signs;
};
constexpr Algorithm kAlgorithms[] = {
    {"hmac-sha256", "hmac-sha256.", true},  {"hmac-sha512", "hmac-sha512.", true},
    {"hmac-sha1", "hmac-sha1.", true},      {"hmac-md5", "hmac-md5.sig-alg.reg.int.", true},
    {"hmac-sha384", "hmac-sha384.", false}, {"hmac-sha224", "hmac-sha224.", false},
};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string without_final_dot(const std::string &name) {
    return !name.empty() && name.back() == '.' ? name.substr(0, name.size() - 1) : name;
}

// The algorithm named `configured` ("hmac-sha256", "HMAC-SHA256.",
// "hmac-md5.sig-alg.reg.int"), or null.
const Algorithm *find_algorithm(const std::string &configured) {
    const std::string name = without_final_dot(lower(configured));
    for (const Algorithm &algorithm : kAlgorithms)
        if (name == algorithm.name || name + "." == algorithm.dname) return &algorithm;
    return nullptr;
}

bool same_name(const ldns_rdf *a, const std::string &b) {
    RdfPtr other(ldns_dname_new_frm_str(b.c_str()));
    return other && ldns_dname_compare(a, other.get()) == 0;
}

std::string name_text(const ldns_rdf *name) {
    CharPtr text(ldns_rdf2str(name));
    return text ? without_final_dot(text.get()) : std::string("?");
}

bool valid_base64(const std::string &text) {
    if (text.empty()) return false;
    RdfPtr decoded(ldns_rdf_new_frm_str(LDNS_RDF_TYPE_B64, text.c_str()));
    return decoded && ldns_rdf_size(decoded.get()) > 0;
}

// A 48-bit TSIG time field as Unix seconds.
std::time_t time_of(const ldns_rdf *field) {
    if (ldns_rdf_size(field) != 6) return 0;
    const uint8_t *bytes = ldns_rdf_data(field);
    uint64_t seconds = 0;
    for (size_t i = 0; i < 6; ++i) seconds = (seconds << 8) | bytes[i];
    return static_cast<std::time_t>(seconds);
}

}  // namespace

const char *tsig_algorithm_list() { return "hmac-sha256, hmac-sha512, hmac-sha1, hmac-md5"; }

std::optional<std::string> tsig_algorithm_dname(const std::string &algorithm) {
    if (const Algorithm *known = find_algorithm(algorithm)) return std::string(known->dname);
    return std::nullopt;
}

std::optional<TsigKeyProblem> tsig_key_problem(const TsigKey &key) {
    const Algorithm *algorithm = find_algorithm(key.algorithm);
    if (algorithm == nullptr)
        return TsigKeyProblem{TsigKeyProblem::kAlgorithm,
                              "\"" + key.algorithm + "\" is not a TSIG algorithm; use one of " +
                                  tsig_algorithm_list()};
    if (!algorithm->ldns_signs)
        return TsigKeyProblem{TsigKeyProblem::kAlgorithm,
                              "libldns " LDNS_VERSION " cannot sign with " + key.algorithm +
                                  "; use " + tsig_algorithm_list() +
                                  " (and the same algorithm on the server)"};
    if (RdfPtr(ldns_dname_new_frm_str(key.name.c_str())) == nullptr)
        return TsigKeyProblem{TsigKeyProblem::kName,
                              "\"" + key.name + "\" is not a valid domain name (the key's name "
                              "as the server knows it, e.g. \"ddns-key\")"};
    if (!valid_base64(key.secret))
        return TsigKeyProblem{TsigKeyProblem::kSecret,
                              key.secret.empty()
                                  ? std::string("is empty: give the key's base64 secret")
                                  : std::string("is not valid base64 (the \"secret\" of the key as "
                                                "tsig-keygen or keymgr -t print it)")};
    return std::nullopt;
}

void tsig_sign(ldns_pkt *pkt, const TsigKey &key) {
    const std::string algorithm = tsig_algorithm_dname(key.algorithm).value_or(key.algorithm);
    const ldns_status status = ldns_pkt_tsig_sign(pkt, key.name.c_str(), key.secret.c_str(),
                                                  kTsigFudge, algorithm.c_str(), nullptr);
    if (status != LDNS_STATUS_OK)
        throw adf::Error(ADF_FAILED, "cannot sign the request with TSIG key " + key.name + ": " +
                                         ldns_get_errorstr_by_id(status));
}

const ldns_rdf *tsig_request_mac(const ldns_pkt *signed_request) {
    const ldns_rr *tsig = ldns_pkt_tsig(signed_request);
    return tsig != nullptr && ldns_rr_rd_count(tsig) >= kFieldCount ? ldns_rr_rdf(tsig, kMac)
                                                                    : nullptr;
}

uint16_t tsig_error(const ldns_pkt *answer) {
    const ldns_rr *tsig = ldns_pkt_tsig(answer);
    if (tsig == nullptr || ldns_rr_rd_count(tsig) < kFieldCount) return 0;
    return ldns_rdf2native_int16(ldns_rr_rdf(tsig, kError));
}

std::string tsig_error_name(uint16_t error) {
    switch (error) {
        case 16: return "BADSIG";
        case 17: return "BADKEY";
        case 18: return "BADTIME";
        case 19: return "BADMODE";
        case 20: return "BADNAME";
        case 21: return "BADALG";
        case 22: return "BADTRUNC";
        default: return "TSIG error " + std::to_string(error);
    }
}

std::optional<std::string> tsig_answer_problem(ldns_pkt *answer, const std::vector<uint8_t> &wire,
                                               const TsigKey &key, const ldns_rdf *request_mac,
                                               std::time_t now) {
    const ldns_rr *tsig = ldns_pkt_tsig(answer);
    if (tsig == nullptr) return "the answer is not signed although the request was";
    if (ldns_rr_rd_count(tsig) < kFieldCount) return "the answer's TSIG record is incomplete";
    if (!same_name(ldns_rr_owner(tsig), key.name))
        return "the answer is signed with key " + name_text(ldns_rr_owner(tsig)) + ", not " +
               without_final_dot(key.name);
    const std::string algorithm = tsig_algorithm_dname(key.algorithm).value_or(key.algorithm);
    if (!same_name(ldns_rr_rdf(tsig, kAlgorithm), algorithm))
        return "the answer is signed with " + name_text(ldns_rr_rdf(tsig, kAlgorithm)) +
               ", not " + key.algorithm;
    const bool verified = ldns_pkt_tsig_verify(answer, wire.data(), wire.size(), key.name.c_str(),
                                               key.secret.c_str(), request_mac);
    // libldns 1.8 detaches the TSIG record while it computes the MAC and, when
    // that fails (a malformed answer), returns without putting it back: the
    // record would leak with every such answer. Give it back to the packet,
    // which frees it.
    if (ldns_pkt_tsig(answer) == nullptr) ldns_pkt_set_tsig(answer, const_cast<ldns_rr *>(tsig));
    if (!verified)
        return "the answer's TSIG signature does not verify with key " +
               without_final_dot(key.name) + " (a key_secret that differs from the server's, "
               "or an answer that does not come from the server)";
    const std::time_t signed_at = time_of(ldns_rr_rdf(tsig, kTimeSigned));
    const long fudge = ldns_rdf2native_int16(ldns_rr_rdf(tsig, kFudge));
    const long long skew = static_cast<long long>(now) - static_cast<long long>(signed_at);
    if (std::llabs(skew) > fudge)
        return "the answer was signed " + std::to_string(std::llabs(skew)) + " s " +
               (skew > 0 ? "behind" : "ahead of") + " this host's clock, more than the " +
               std::to_string(fudge) + " s TSIG allows: check the clocks of both hosts";
    return std::nullopt;
}

}  // namespace rfc2136
