// adf-dns-call -c CONFIG remove FQDN ADDRESS
// Reads FQDN's set through the config's dns plugin, then asks the plugin to
// remove ADDRESS from it, with none of the host's safeguards: the way a
// careless caller would. The tests use it to show that each dns plugin
// refuses by itself to remove the last record (defence in depth), which
// neither the daemon nor `probe` ever let reach a plugin.
// Exit status: the adf_status of the read or the remove (0 ok, 1 failed,
// 2 transient, 3 conflict, 4 bad config), 64 for a usage or config error;
// the plugin's error on stderr.
#include <cstdio>
#include <exception>
#include <string>

#include "net/address.h"
#include "plugin/kinds.h"

constexpr int kUsage = 64;

int main(int argc, char **argv) {
    if (argc != 6 || std::string(argv[1]) != "-c" || std::string(argv[3]) != "remove") {
        std::fprintf(stderr, "usage: adf-dns-call -c CONFIG remove FQDN ADDRESS\n");
        return kUsage;
    }
    const std::string fqdn = argv[4];
    const auto address = adf::parse_address(argv[5]);
    if (!address) {
        std::fprintf(stderr, "\"%s\" is not an IP address\n", argv[5]);
        return kUsage;
    }
    try {
        adf::plugin::Setup setup = adf::plugin::load_setup(argv[2], adf::plugin::kDns);
        adf::plugin::DnsBackend &dns = *setup.plugins.dns;
        const auto read = dns.read(fqdn, address->family);
        if (!read.ok()) {
            std::fprintf(stderr, "read: %s\n", read.error.c_str());
            return read.status;
        }
        const adf::plugin::Outcome removed = dns.remove(fqdn, address->family, read.records, *address);
        if (!removed.ok()) std::fprintf(stderr, "remove: %s\n", removed.error.c_str());
        return removed.status;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kUsage;
    }
}
