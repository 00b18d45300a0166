// static: the own address is written in the config, for servers whose
// address never changes. "address" is one address or a list with at most
// one per family: ["192.0.2.1", "2001:db8::1"].
#include <autodnsfailover/plugin.hpp>

#include <optional>
#include <string>

namespace {

constexpr const char *kAddressKey = "/address";

class Static {
   public:
    explicit Static(adf::Host &host) {
        if (!host.has(kAddressKey)) {
            host.config_error(kAddressKey,
                              "required: this server's address, one per family, e.g. "
                              "\"192.0.2.1\" or [\"192.0.2.1\", \"2001:db8::1\"]");
            return;
        }
        const bool is_list = host.json(kAddressKey).value_or("").rfind('[', 0) == 0;
        const std::vector<std::string> texts = host.strings(kAddressKey);
        if (is_list && texts.empty() && !host.config_failed())
            host.config_error(kAddressKey, "the list is empty: give at least one address");
        for (size_t i = 0; i < texts.size(); ++i) {
            const std::string path =
                is_list ? std::string(kAddressKey) + "/" + std::to_string(i) : kAddressKey;
            add(host, path, texts[i]);
        }
    }

    std::optional<std::string> own_address(int family) const {
        const std::optional<std::string> &address = family == ADF_FAMILY_IPV6 ? ipv6_ : ipv4_;
        if (!address)
            throw adf::Error(ADF_ABSENT, "no IPv" + std::to_string(family) +
                                             " address is configured (address)");
        return address;
    }

   private:
    void add(adf::Host &host, const std::string &path, const std::string &text) {
        for (int family : {ADF_FAMILY_IPV4, ADF_FAMILY_IPV6}) {
            const std::optional<std::string> canonical = adf::canonical_address(text, family);
            if (!canonical) continue;
            std::optional<std::string> &slot = family == ADF_FAMILY_IPV6 ? ipv6_ : ipv4_;
            if (adf::is_unspecified(*canonical))
                host.config_error(path.c_str(), "\"" + text +
                                                    "\" is the unspecified address, never a "
                                                    "server's own: give the address to publish");
            else if (slot)
                host.config_error(path.c_str(), std::string("a second IPv") +
                                                    std::to_string(family) + " address (" +
                                                    *canonical + " after " + *slot +
                                                    "): give at most one per family");
            else
                slot = canonical;
            return;
        }
        host.config_error(path.c_str(), "\"" + text + "\" is not an IPv4 or IPv6 address");
    }

    std::optional<std::string> ipv4_;
    std::optional<std::string> ipv6_;
};

}  // namespace

ADF_IPADDR_PLUGIN(Static, "static", "1.0.0",
                  "The own address as written in the config (one per family)");
