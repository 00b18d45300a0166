// Reads over plain DNS: server specs, and the reader (and the SDK's DNS
// transport under it) against a small authoritative server in this process
// whose answers each test chooses (messages built with libldns, like the
// reader's). Real servers (Knot, BIND) are driven by
// tests/integration/test_dns_reads.py.
#include <doctest/doctest.h>

#include <autodnsfailover/dns_transport.hpp>
#include <autodnsfailover/posix.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <ldns/ldns.h>

#include "dnsread/direct_reader.h"
#include "dnsread/server.h"

using adf::dnsread::DirectReader;
using adf::dnsread::parse_server;
using adf::dnsread::Server;

namespace {

std::string spec_error(const std::string &spec) {
    std::string why;
    CHECK_FALSE(parse_server(spec, &why));
    return why;
}

// The wire form of `packet`.
std::vector<uint8_t> wire_of(const ldns_pkt *packet) {
    uint8_t *wire = nullptr;
    size_t size = 0;
    REQUIRE(ldns_pkt2wire(&wire, packet, &size) == LDNS_STATUS_OK);
    std::vector<uint8_t> bytes(wire, wire + size);
    std::free(wire);
    return bytes;
}

// What the fake server answers to every query.
struct Behaviour {
    ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR;
    bool authoritative = true;
    std::vector<std::string> answers;  // zone-file lines for the answer section
    bool truncate_udp = false;         // UDP answers carry TC and no records
    bool silent = false;               // never answers
    bool stray_first = false;          // sends a datagram with another ID first
    int drop_udp = 0;                  // leaves the first N UDP queries unanswered
};

// An authoritative server on loopback (UDP and TCP on one port) that
// answers as its Behaviour says, in a thread of its own.
class FakeServer {
   public:
    explicit FakeServer(Behaviour behaviour, int family = 4)
        : behaviour_(std::move(behaviour)), family_(family) {
        // A free TCP port, then UDP on the same number (taken by someone
        // else now and then: try again).
        for (int attempt = 0; attempt < 50 && udp_ < 0; ++attempt) {
            if (tcp_ >= 0) ::close(tcp_);
            tcp_ = open_socket(SOCK_STREAM, 0);
            REQUIRE(tcp_ >= 0);
            udp_ = open_socket(SOCK_DGRAM, port_);
        }
        REQUIRE(udp_ >= 0);
        REQUIRE(::listen(tcp_, 8) == 0);
        REQUIRE(::pipe(stop_) == 0);
        thread_ = std::thread([this] { serve(); });
    }

    ~FakeServer() {
        (void)!::write(stop_[1], "x", 1);
        thread_.join();
        for (int fd : {udp_, tcp_, stop_[0], stop_[1]}) ::close(fd);
    }

    Server server() const {
        return *parse_server(family_ == 6 ? "[::1]:" + std::to_string(port_)
                                          : "127.0.0.1:" + std::to_string(port_));
    }

    std::atomic<int> udp_queries{0};
    std::atomic<int> tcp_queries{0};
    std::atomic<bool> saw_recursion_desired{false};

   private:
    // A socket bound to `port` (0: any) on loopback, or -1 when the port is taken.
    int open_socket(int type, uint16_t port) {
        const int fd = ::socket(family_ == 6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        // TCP only: our own closed connections leave the port in TIME_WAIT.
        const int on = 1;
        if (type == SOCK_STREAM)
            REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0);
        adf::SocketAddress address = *adf::socket_address(family_ == 6 ? "::1" : "127.0.0.1", port);
        if (::bind(fd, address.get(), address.length) != 0) {
            ::close(fd);
            return -1;
        }
        REQUIRE(::getsockname(fd, address.get(), &address.length) == 0);
        port_ = address.port();
        return fd;
    }

    void serve() {
        for (;;) {
            pollfd fds[3] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
            if (::poll(fds, 3, -1) < 0) continue;
            if (fds[2].revents) return;
            if (fds[0].revents) serve_udp();
            if (fds[1].revents) serve_tcp();
        }
    }

    void serve_udp() {
        std::vector<uint8_t> buffer(65535);
        sockaddr_storage from{};
        socklen_t length = sizeof from;
        const ssize_t n = ::recvfrom(udp_, buffer.data(), buffer.size(), 0,
                                     reinterpret_cast<sockaddr *>(&from), &length);
        if (n <= 0) return;
        ++udp_queries;
        buffer.resize(size_t(n));
        if (behaviour_.silent || udp_queries <= behaviour_.drop_udp) return;
        if (behaviour_.stray_first) {
            const auto stray = answer_to(buffer, /*over_udp=*/true, /*id_offset=*/1);
            ::sendto(udp_, stray.data(), stray.size(), 0, reinterpret_cast<sockaddr *>(&from),
                     length);
        }
        const auto answer = answer_to(buffer, /*over_udp=*/true);
        ::sendto(udp_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr *>(&from),
                 length);
    }

    void serve_tcp() {
        const int client = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) return;
        uint8_t length[2];
        if (read_all(client, length, 2)) {
            std::vector<uint8_t> query(size_t(length[0]) << 8 | length[1]);
            if (read_all(client, query.data(), query.size())) {
                ++tcp_queries;
                if (!behaviour_.silent) {
                    const auto answer = answer_to(query, /*over_udp=*/false);
                    const uint8_t prefix[2] = {uint8_t(answer.size() >> 8),
                                               uint8_t(answer.size() & 0xff)};
                    (void)!::write(client, prefix, 2);
                    (void)!::write(client, answer.data(), answer.size());
                }
            }
        }
        ::close(client);
    }

    static bool read_all(int fd, uint8_t *data, size_t size) {
        size_t done = 0;
        while (done < size) {
            const ssize_t n = ::read(fd, data + done, size - done);
            if (n <= 0) return false;
            done += size_t(n);
        }
        return true;
    }

    std::vector<uint8_t> answer_to(const std::vector<uint8_t> &wire, bool over_udp,
                                   uint16_t id_offset = 0) {
        ldns_pkt *query = nullptr;
        REQUIRE(ldns_wire2pkt(&query, wire.data(), wire.size()) == LDNS_STATUS_OK);
        if (ldns_pkt_rd(query)) saw_recursion_desired = true;
        ldns_pkt *answer = ldns_pkt_new();
        ldns_pkt_set_id(answer, uint16_t(ldns_pkt_id(query) + id_offset));
        ldns_pkt_set_qr(answer, true);
        ldns_pkt_set_aa(answer, behaviour_.authoritative);
        ldns_pkt_set_rcode(answer, uint8_t(behaviour_.rcode));
        ldns_pkt_push_rr(answer, LDNS_SECTION_QUESTION,
                         ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(query), 0)));
        if (over_udp && behaviour_.truncate_udp) {
            ldns_pkt_set_tc(answer, true);
        } else {
            for (const auto &line : behaviour_.answers) {
                ldns_rr *rr = nullptr;
                REQUIRE(ldns_rr_new_frm_str(&rr, line.c_str(), 0, nullptr, nullptr) ==
                        LDNS_STATUS_OK);
                ldns_pkt_push_rr(answer, LDNS_SECTION_ANSWER, rr);
            }
        }
        std::vector<uint8_t> bytes = wire_of(answer);
        ldns_pkt_free(answer);
        ldns_pkt_free(query);
        return bytes;
    }

    Behaviour behaviour_;
    int family_;
    uint16_t port_ = 0;
    int udp_ = -1;
    int tcp_ = -1;
    int stop_[2] = {-1, -1};
    std::thread thread_;
};

adf::config::ReadFrom read_from(std::vector<Server> servers, double timeout = 2,
                                bool tcp = false) {
    adf::config::ReadFrom options;
    options.servers = std::move(servers);
    options.timeout = timeout;
    options.tcp = tcp;
    return options;
}

adf::plugin::DnsBackend::Read read_www(const std::vector<Server> &servers, int family = 4,
                                       double timeout = 2, bool tcp = false) {
    return DirectReader(read_from(servers, timeout, tcp)).read("www.example.test", family);
}

std::vector<std::string> addresses(const adf::plugin::DnsBackend::Read &read) {
    std::vector<std::string> out;
    for (const auto &r : read.records) out.push_back(r.address.text());
    return out;
}

// A UDP and TCP port on 127.0.0.1 where nothing listens (right now).
Server closed_port() {
    const adf::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    adf::SocketAddress address = *adf::socket_address("127.0.0.1");
    REQUIRE(::bind(fd.get(), address.get(), address.length) == 0);
    REQUIRE(::getsockname(fd.get(), address.get(), &address.length) == 0);
    return *parse_server("127.0.0.1:" + std::to_string(address.port()));
}

// An A query for www.example.test with ID `id`, on the wire.
std::vector<uint8_t> query_wire(uint16_t id) {
    ldns_pkt *query = ldns_pkt_query_new(ldns_dname_new_frm_str("www.example.test."),
                                         LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_id(query, id);
    std::vector<uint8_t> bytes = wire_of(query);
    ldns_pkt_free(query);
    return bytes;
}

adf::SocketAddress address_of(const Server &server) {
    return *adf::socket_address(server.address.text(), server.port);
}

adf::dns::Clock::time_point seconds_from_now(double seconds) {
    return adf::dns::Clock::now() + std::chrono::duration_cast<adf::dns::Clock::duration>(
                                        std::chrono::duration<double>(seconds));
}

const std::vector<std::string> kPool = {
    "www.example.test. 60 IN A 192.0.2.10",
    "www.example.test. 60 IN A 192.0.2.9",
    "www.example.test. 60 IN A 192.0.2.100",
};

}  // namespace

TEST_CASE("dnsread: server specs take IPv4 and IPv6 addresses with an optional port") {
    CHECK(parse_server("192.0.2.1")->text() == "192.0.2.1:53");
    CHECK(parse_server("127.0.0.1:53053")->text() == "127.0.0.1:53053");
    CHECK(parse_server("::1")->text() == "[::1]:53");
    CHECK(parse_server("2001:DB8::1")->text() == "[2001:db8::1]:53");
    CHECK(parse_server("[::1]")->text() == "[::1]:53");
    CHECK(parse_server("[::1]:5353")->text() == "[::1]:5353");
    CHECK(parse_server("[2001:db8::1]:65535")->port == 65535);
    CHECK(parse_server("192.0.2.1:1")->port == 1);
    CHECK(parse_server("192.0.2.1") == parse_server("192.0.2.1:53"));
}

TEST_CASE("dnsread: bad server specs say what is wrong") {
    CHECK(spec_error("") == "not an IP address (host names are not resolved)");
    CHECK(spec_error("ns1.example.test") == "not an IP address (host names are not resolved)");
    CHECK(spec_error("ns1.example.test:53") == "not an IP address (host names are not resolved)");
    CHECK(spec_error("192.0.2.1:0") == "port \"0\" is not a number from 1 to 65535");
    CHECK(spec_error("192.0.2.1:65536") == "port \"65536\" is not a number from 1 to 65535");
    CHECK(spec_error("192.0.2.1:x") == "port \"x\" is not a number from 1 to 65535");
    CHECK(spec_error("192.0.2.1:-53") == "port \"-53\" is not a number from 1 to 65535");
    CHECK(spec_error("192.0.2.1:") == "the port after ':' is missing");
    CHECK(spec_error("[::1]:") == "the port after ':' is missing");
    CHECK(spec_error("[::1") == "the '[' of an IPv6 address has no closing ']'");
    CHECK(spec_error("[::1]53") == "only \":PORT\" may follow the ']' of an IPv6 address");
    CHECK(spec_error("[192.0.2.1]:53") == "the part in brackets is not an IPv6 address");
    CHECK(spec_error(" 192.0.2.1") == "not an IP address (host names are not resolved)");
    CHECK(spec_error("2001:db8::1:99999") == "not an IP address (host names are not resolved)");
}

TEST_CASE("dnsread: an authoritative answer is the set, sorted numerically, with TTLs") {
    FakeServer server({LDNS_RCODE_NOERROR, true, kPool});
    const auto read = read_www({server.server()});
    REQUIRE(read.status == ADF_OK);
    CHECK(read.error.empty());
    CHECK(addresses(read) == std::vector<std::string>{"192.0.2.9", "192.0.2.10", "192.0.2.100"});
    for (const auto &record : read.records) {
        CHECK(record.ttl == 60);
        CHECK(record.note.empty());
    }
    CHECK_FALSE(server.saw_recursion_desired);
    CHECK(server.udp_queries == 1);
    CHECK(server.tcp_queries == 0);
}

TEST_CASE("dnsread: AAAA records, names compared without case") {
    FakeServer server({LDNS_RCODE_NOERROR, true,
                       {"WWW.Example.TEST. 30 IN AAAA 2001:db8::2",
                        "www.example.test. 30 IN AAAA 2001:db8::1"}},
                      /*family=*/6);
    const auto read = read_www({server.server()}, 6);
    REQUIRE(read.status == ADF_OK);
    CHECK(addresses(read) == std::vector<std::string>{"2001:db8::1", "2001:db8::2"});
    CHECK(read.records.front().ttl == 30);
}

TEST_CASE("dnsread: an answer holding anything but the set asked for is refused, never shortened") {
    struct Case {
        std::vector<std::string> answers;
        std::string named;
    };
    const std::vector<Case> cases = {
        {{"other.example.test. 60 IN A 192.0.2.3"}, "a record of other.example.test IN A"},
        {{"www.example.test. 60 IN A 192.0.2.1", "other.example.test. 60 IN A 192.0.2.3"},
         "a record of other.example.test IN A"},
        {{"www.example.test. 60 IN AAAA 2001:db8::1"}, "a record of www.example.test IN AAAA"},
        {{"www.example.test. 60 IN TXT \"x\""}, "a record of www.example.test IN TXT"},
        {{"www.example.test. 60 CH A 192.0.2.1"}, "a record of www.example.test CH A"},
    };
    for (const Case &c : cases) {
        INFO(c.answers.front());
        FakeServer odd({LDNS_RCODE_NOERROR, true, c.answers});
        const auto alone = read_www({odd.server()});
        CHECK(alone.status == ADF_FAILED);
        CHECK(alone.records.empty());
        CHECK(alone.error.find("failed: a malformed answer, nothing is trusted: the answer holds " +
                               c.named + ", where only www.example.test A IN records belong") !=
              std::string::npos);
        // The next server's sound answer is taken instead.
        FakeServer next({LDNS_RCODE_NOERROR, true, kPool});
        const auto read = read_www({odd.server(), next.server()});
        CHECK(read.status == ADF_OK);
        CHECK(addresses(read) == std::vector<std::string>{"192.0.2.9", "192.0.2.10", "192.0.2.100"});
    }
}

TEST_CASE("dnsread: DNSSEC signatures over the set do not spoil the read") {
    FakeServer signed_zone(
        {LDNS_RCODE_NOERROR, true,
         {"www.example.test. 60 IN A 192.0.2.1",
          "www.example.test. 60 IN RRSIG A 13 3 60 20300101000000 20200101000000 12345 "
          "example.test. dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgcGFyc2Vz"}});
    const auto read = read_www({signed_zone.server()});
    REQUIRE(read.status == ADF_OK);
    CHECK(addresses(read) == std::vector<std::string>{"192.0.2.1"});
}

TEST_CASE("dnsread: no data and no such name are empty sets") {
    FakeServer nodata({LDNS_RCODE_NOERROR, true, {}});
    auto read = read_www({nodata.server()});
    CHECK(read.status == ADF_OK);
    CHECK(read.records.empty());
    FakeServer nxdomain({LDNS_RCODE_NXDOMAIN, true, {}});
    read = read_www({nxdomain.server()});
    CHECK(read.status == ADF_OK);
    CHECK(read.records.empty());
}

TEST_CASE("dnsread: a CNAME at the name fails the read, naming it, and is not followed") {
    FakeServer alias({LDNS_RCODE_NOERROR, true,
                      {"www.example.test. 60 IN CNAME pool.example.test.",
                       "pool.example.test. 60 IN A 192.0.2.1"}});
    FakeServer next({LDNS_RCODE_NOERROR, true, kPool});
    const auto read = read_www({alias.server(), next.server()});
    CHECK(read.status == ADF_FAILED);
    CHECK(read.records.empty());
    CHECK(read.error == "read over DNS from " + alias.server().text() +
                            " failed: www.example.test. is an alias (CNAME) of pool.example.test.: "
                            "the pool's records must be at the name itself, no CNAME is followed");
    CHECK(next.udp_queries == 0);
}

TEST_CASE("dnsread: a non-authoritative answer is refused, never taken as the set") {
    FakeServer cache({LDNS_RCODE_NOERROR, false, kPool});
    const auto read = read_www({cache.server()});
    CHECK(read.status == ADF_FAILED);
    CHECK(read.records.empty());
    CHECK(read.error == "read over DNS from " + cache.server().text() +
                            " failed: the answer is not authoritative (AA bit clear): the server "
                            "does not serve this zone itself");
}

TEST_CASE("dnsread: SERVFAIL, REFUSED and non-authoritative servers are skipped for the next") {
    FakeServer servfail({LDNS_RCODE_SERVFAIL, false, {}});
    FakeServer refused({LDNS_RCODE_REFUSED, false, {}});
    FakeServer cache({LDNS_RCODE_NOERROR, false, {"www.example.test. 60 IN A 192.0.2.66"}});
    FakeServer good({LDNS_RCODE_NOERROR, true, kPool});
    const auto read =
        read_www({servfail.server(), refused.server(), cache.server(), good.server()});
    REQUIRE(read.status == ADF_OK);
    CHECK(addresses(read) == std::vector<std::string>{"192.0.2.9", "192.0.2.10", "192.0.2.100"});
}

TEST_CASE("dnsread: when no server answers, the read fails with every server's reason") {
    FakeServer refused({LDNS_RCODE_REFUSED, false, {}});
    FakeServer notauth({LDNS_RCODE_NOTAUTH, false, {}});
    auto read = read_www({refused.server(), notauth.server()});
    CHECK(read.status == ADF_FAILED);  // both will say the same next time
    CHECK(read.records.empty());
    CHECK(read.error == "read over DNS from " + refused.server().text() +
                            " failed: REFUSED (the server does not serve this zone to us); "
                            "read over DNS from " + notauth.server().text() +
                            " failed: answered NOTAUTH");

    FakeServer servfail({LDNS_RCODE_SERVFAIL, true, {}});
    read = read_www({refused.server(), servfail.server()});
    CHECK(read.status == ADF_TRANSIENT);  // SERVFAIL may pass
    CHECK(read.error.find("failed: SERVFAIL (the server cannot answer for the zone right now)") !=
          std::string::npos);
}

TEST_CASE("dnsread: a silent server times out and a closed port is refused at once") {
    FakeServer silent({LDNS_RCODE_NOERROR, true, kPool, false, /*silent=*/true});
    const Server closed = closed_port();
    const auto read = read_www({silent.server(), closed}, 4, /*timeout=*/0.2);
    CHECK(read.status == ADF_TRANSIENT);
    CHECK(read.records.empty());
    CHECK(read.error == "read over DNS from " + silent.server().text() +
                            " failed: no answer within 0.2 s; read over DNS from " +
                            closed.text() + " failed: nothing listens on UDP port " +
                            std::to_string(closed.port) + " (connection refused)");
    const auto over_tcp = read_www({closed}, 4, 0.2, /*tcp=*/true);
    CHECK(over_tcp.status == ADF_TRANSIENT);
    CHECK(over_tcp.error == "read over DNS from " + closed.text() +
                                " failed: cannot connect over TCP: Connection refused");
}

TEST_CASE("dnsread: a truncated UDP answer is asked again over TCP") {
    FakeServer server({LDNS_RCODE_NOERROR, true, kPool, /*truncate_udp=*/true});
    const auto read = read_www({server.server()});
    REQUIRE(read.status == ADF_OK);
    CHECK(read.records.size() == 3);
    CHECK(server.udp_queries == 1);
    CHECK(server.tcp_queries == 1);
}

TEST_CASE("dnsread: tcp asks over TCP only") {
    FakeServer server({LDNS_RCODE_NOERROR, true, kPool});
    const auto read = read_www({server.server()}, 4, 2, /*tcp=*/true);
    REQUIRE(read.status == ADF_OK);
    CHECK(read.records.size() == 3);
    CHECK(server.udp_queries == 0);
    CHECK(server.tcp_queries == 1);
}

TEST_CASE("dnsread: a datagram with another query ID is not taken as the answer") {
    FakeServer server({LDNS_RCODE_NOERROR, true, kPool, false, false, /*stray_first=*/true});
    const auto read = read_www({server.server()});
    REQUIRE(read.status == ADF_OK);
    CHECK(read.records.size() == 3);
}

TEST_CASE("dnsread: check-config describes the servers") {
    const auto options = read_from({*parse_server("127.0.0.1:53053"), *parse_server("::1")}, 1.5);
    CHECK(adf::dnsread::describe(options) ==
          "127.0.0.1:53053, [::1]:53 (UDP, TCP when truncated; timeout 1.5 s per query)");
    CHECK(adf::dnsread::describe(read_from({*parse_server("192.0.2.1")}, 2, true)) ==
          "192.0.2.1:53 (TCP; timeout 2 s per query)");
}

TEST_CASE("dns transport: a lost UDP query is sent again every resend_every seconds") {
    FakeServer server({LDNS_RCODE_NOERROR, true, kPool, false, false, false, /*drop_udp=*/2});
    const auto query = query_wire(4711);
    const adf::dns::Exchange reply = adf::dns::udp_exchange(
        address_of(server.server()), query, seconds_from_now(2), /*resend_every=*/0.05);
    REQUIRE(reply.ok());
    CHECK(adf::dns::carries_id_of(query, reply.answer));
    CHECK(server.udp_queries == 3);
}

TEST_CASE("dns transport: without resending, a lost UDP query times out, saying where") {
    FakeServer server({LDNS_RCODE_NOERROR, true, kPool, false, false, false, /*drop_udp=*/1});
    const adf::SocketAddress address = address_of(server.server());
    const adf::dns::Exchange reply =
        adf::dns::udp_exchange(address, query_wire(4711), seconds_from_now(0.2));
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.failure->kind == adf::dns::Failure::kTimeout);
    const std::string reason = reply.failure->describe(address.text());
    CHECK(reason.rfind("no answer from " + address.text() + " over UDP within 0.", 0) == 0);
    CHECK(reason.find(" s (the timeout)") != std::string::npos);
    CHECK(reply.failure->elapsed >= 0.2);
    CHECK(server.udp_queries == 1);
}

TEST_CASE("dns transport: a refused TCP connection and a message too large for TCP") {
    const adf::SocketAddress closed = address_of(closed_port());
    const auto deadline = seconds_from_now(1);
    adf::dns::Exchange reply = adf::dns::tcp_exchange(closed, query_wire(1), deadline);
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.failure->kind == adf::dns::Failure::kRefused);
    CHECK(reply.failure->describe(closed.text()) ==
          closed.text() + " refused the TCP connection: no DNS server listens there (check "
                          "server and port)");
    reply = adf::dns::tcp_exchange(closed, std::vector<uint8_t>(70000), deadline);
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.failure->describe(closed.text()) ==
          "the message is too large for DNS over TCP (70000 bytes)");
}
