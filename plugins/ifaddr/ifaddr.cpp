// ifaddr: the own address read from a network interface (getifaddrs()),
// asked afresh every round so that a changed address is noticed.
//   "interface":        a name ("eth0"); default: the first interface, in
//                       getifaddrs() order, that is up, not loopback, and has
//                       an address of the family asked for
//   "allow_loopback":   accept loopback interfaces and addresses (tests)
//   "allow_link_local": accept fe80::/10 and 169.254.0.0/16
#include <autodnsfailover/plugin.hpp>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace {

// getifaddrs() as an owned list.
using InterfaceList = std::unique_ptr<ifaddrs, decltype(&freeifaddrs)>;

InterfaceList list_interfaces() {
    ifaddrs *head = nullptr;
    if (getifaddrs(&head) != 0)
        throw adf::Error(ADF_TRANSIENT,
                         std::string("cannot list network interfaces: ") + std::strerror(errno));
    return InterfaceList(head, &freeifaddrs);
}

int family_of(const sockaddr *address) {
    if (address == nullptr) return 0;
    if (address->sa_family == AF_INET) return ADF_FAMILY_IPV4;
    if (address->sa_family == AF_INET6) return ADF_FAMILY_IPV6;
    return 0;
}

bool is_link_local(const sockaddr *address) {
    if (address->sa_family == AF_INET) {
        const uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in *>(address)->sin_addr.s_addr);
        return (ip & 0xffff0000u) == 0xa9fe0000u;  // 169.254.0.0/16
    }
    const auto *bytes = reinterpret_cast<const sockaddr_in6 *>(address)->sin6_addr.s6_addr;
    return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80;  // fe80::/10
}

bool is_loopback_address(const sockaddr *address) {
    if (address->sa_family == AF_INET) {
        const uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in *>(address)->sin_addr.s_addr);
        return (ip >> 24) == 127;  // 127.0.0.0/8
    }
    return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6 *>(address)->sin6_addr);
}

std::string text_of(const sockaddr *address) {
    char buffer[INET6_ADDRSTRLEN] = "";
    const void *bytes =
        address->sa_family == AF_INET
            ? static_cast<const void *>(&reinterpret_cast<const sockaddr_in *>(address)->sin_addr)
            : static_cast<const void *>(&reinterpret_cast<const sockaddr_in6 *>(address)->sin6_addr);
    if (inet_ntop(address->sa_family, bytes, buffer, sizeof buffer) == nullptr)
        throw adf::Error(ADF_FAILED, std::string("inet_ntop: ") + std::strerror(errno));
    return buffer;
}

const char *family_name(int family) { return family == ADF_FAMILY_IPV6 ? "IPv6" : "IPv4"; }

class Ifaddr {
   public:
    explicit Ifaddr(adf::Host &host)
        : interface_(host.string("/interface")),
          allow_loopback_(host.boolean("/allow_loopback", false)),
          allow_link_local_(host.boolean("/allow_link_local", false)) {
        if (interface_ && (interface_->empty() || interface_->size() >= IFNAMSIZ ||
                           interface_->find_first_of("/ \t\n") != std::string::npos))
            host.config_error("/interface", "\"" + *interface_ +
                                                "\" is not an interface name (1 to " +
                                                std::to_string(IFNAMSIZ - 1) +
                                                " characters, no '/' or white space)");
    }

    std::optional<std::string> own_address(int family) const {
        const InterfaceList list = list_interfaces();
        return interface_ ? address_of_named(list.get(), family)
                          : address_of_first_usable(list.get(), family);
    }

   private:
    // The first acceptable address of `family` on the configured interface.
    std::string address_of_named(const ifaddrs *list, int family) const {
        const std::string &name = *interface_;
        bool exists = false;
        for (const ifaddrs *entry = list; entry != nullptr; entry = entry->ifa_next) {
            if (name != entry->ifa_name) continue;
            exists = true;
            if ((entry->ifa_flags & IFF_LOOPBACK) && !allow_loopback_)
                throw adf::Error(ADF_FAILED, "interface " + name +
                                                 " is a loopback interface (set allow_loopback "
                                                 "to use it)");
            if (!(entry->ifa_flags & IFF_UP))
                throw adf::Error(ADF_TRANSIENT, "interface " + name + " is down");
            if (acceptable(entry->ifa_addr, family)) return text_of(entry->ifa_addr);
        }
        if (!exists && if_nametoindex(name.c_str()) == 0)
            throw adf::Error(ADF_FAILED, "interface " + name + " does not exist");
        throw adf::Error(ADF_ABSENT, "interface " + name + " has no " + family_name(family) +
                                         " address" + filtered_note());
    }

    // The first acceptable address of `family` on any up interface.
    std::string address_of_first_usable(const ifaddrs *list, int family) const {
        for (const ifaddrs *entry = list; entry != nullptr; entry = entry->ifa_next) {
            if (!(entry->ifa_flags & IFF_UP)) continue;
            if ((entry->ifa_flags & IFF_LOOPBACK) && !allow_loopback_) continue;
            if (acceptable(entry->ifa_addr, family)) return text_of(entry->ifa_addr);
        }
        throw adf::Error(ADF_ABSENT, std::string("no interface that is up") +
                                         (allow_loopback_ ? "" : " and not loopback") +
                                         " has an " + family_name(family) + " address" +
                                         filtered_note());
    }

    bool acceptable(const sockaddr *address, int family) const {
        if (family_of(address) != family) return false;
        if (is_link_local(address) && !allow_link_local_) return false;
        if (is_loopback_address(address) && !allow_loopback_) return false;
        return true;
    }

    // Says which addresses were skipped on purpose, so "none" is not a mystery.
    std::string filtered_note() const {
        if (!allow_link_local_ && !allow_loopback_)
            return " (link-local and loopback addresses are skipped: see allow_link_local and "
                   "allow_loopback)";
        if (!allow_link_local_) return " (link-local addresses are skipped: see allow_link_local)";
        if (!allow_loopback_) return " (loopback addresses are skipped: see allow_loopback)";
        return "";
    }

    std::optional<std::string> interface_;
    bool allow_loopback_;
    bool allow_link_local_;
};

}  // namespace

ADF_IPADDR_PLUGIN(Ifaddr, "ifaddr", "1.0.0",
                  "The own address of a network interface (getifaddrs)");
