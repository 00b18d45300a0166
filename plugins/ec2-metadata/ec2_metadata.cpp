// ec2-metadata: the instance's own address from the EC2 instance metadata
// service (IMDSv2), asked every round because an elastic IP can move.
// "address" picks which one: public-ipv4 (default), local-ipv4 or ipv6. The
// plugin answers only for that address's family (ADF_ABSENT for the other),
// and every body is validated as an address: EC2 answers 404 with an HTML
// page, which must never become a DNS record.
#include <autodnsfailover/http.hpp>
#include <autodnsfailover/plugin.hpp>

#include <optional>
#include <string>

#include "../aws-common/imds.hpp"

namespace {

struct AddressKind {
    const char *name;  // the value of "address"
    const char *path;  // under the metadata endpoint
    int family;
};

constexpr AddressKind kAddressKinds[] = {
    {"public-ipv4", "/latest/meta-data/public-ipv4", ADF_FAMILY_IPV4},
    {"local-ipv4", "/latest/meta-data/local-ipv4", ADF_FAMILY_IPV4},
    {"ipv6", "/latest/meta-data/ipv6", ADF_FAMILY_IPV6},
};

const AddressKind *address_kind(const std::string &name) {
    for (const AddressKind &kind : kAddressKinds)
        if (name == kind.name) return &kind;
    return nullptr;
}

adf_aws::ImdsSettings imds_settings(adf::Host &host) {
    adf_aws::ImdsSettings settings;
    settings.endpoint = adf::http::url_setting(host, "/endpoint", settings.endpoint);
    settings.timeout = host.number("/request_timeout", settings.timeout, 0.05, 60.0);
    settings.token_ttl = host.integer("/token_ttl", settings.token_ttl, 1, 21600);
    settings.allow_imdsv1 = host.boolean("/allow_imdsv1", settings.allow_imdsv1);
    return settings;
}

const AddressKind &configured_kind(adf::Host &host) {
    const std::string name = host.string("/address", kAddressKinds[0].name);
    if (const AddressKind *kind = address_kind(name)) return *kind;
    host.config_error("/address",
                      "\"" + name + "\" is not one of public-ipv4, local-ipv4, ipv6");
    return kAddressKinds[0];
}

class Ec2Metadata {
   public:
    explicit Ec2Metadata(adf::Host &host)
        : host_(host), kind_(configured_kind(host)), imds_(imds_settings(host)) {}

    std::optional<std::string> own_address(int family) {
        if (family != kind_.family) return std::nullopt;
        const std::string url = imds_.endpoint() + kind_.path;
        const std::optional<std::string> body = imds_.get(kind_.path);
        if (!body) {
            host_.debug(url + " answered 404: the instance has no " + kind_.name + " address");
            return std::nullopt;
        }
        std::optional<std::string> address = adf::canonical_address(*body, family);
        if (!address)
            throw adf::Error(ADF_FAILED, "instance metadata " + url + " returned " +
                                             adf::http::excerpt(*body, 120) + ", which is not an IPv" +
                                             std::to_string(family) + " address");
        if (adf::is_unspecified(*address))
            throw adf::Error(ADF_FAILED, "instance metadata " + url + " returned " + *address +
                                             ", the unspecified address, which is never this "
                                             "instance's own");
        return address;
    }

   private:
    adf::Host &host_;
    const AddressKind &kind_;
    adf_aws::ImdsClient imds_;
};

}  // namespace

ADF_IPADDR_PLUGIN(Ec2Metadata, "ec2-metadata", "1.0.0",
                  "The instance's address from EC2 instance metadata (IMDSv2)");
