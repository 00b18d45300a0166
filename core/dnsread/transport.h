// One DNS exchange with one server over UDP or TCP, bounded by a timeout:
// the SDK's adf::dns transport (dns_transport.hpp, shared with the rfc2136
// plugin), with failures worded for reads over DNS. Only bytes travel here:
// the caller builds and parses the messages with libldns.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dnsread/server.h"

namespace adf::dnsread {

struct Exchange {
    std::vector<uint8_t> answer;
    std::string error;  // empty when an answer arrived: why there is none
    bool ok() const { return error.empty(); }
};

// Tells the answer to our query from stray datagrams (another query ID).
using AnswerMatcher = std::function<bool(const std::vector<uint8_t> &)>;

// Sends `query` in one datagram and waits up to `timeout` seconds for a
// datagram `is_answer` accepts; others are ignored.
Exchange exchange_udp(const Server &server, const std::vector<uint8_t> &query,
                      const AnswerMatcher &is_answer, double timeout);

// Connects, sends `query` with its length prefix and reads one answer, all
// within `timeout` seconds.
Exchange exchange_tcp(const Server &server, const std::vector<uint8_t> &query, double timeout);

}  // namespace adf::dnsread
