// The peer protocol over real UDP sockets on loopback: a Server on its own
// thread (as the daemon's service thread will run it), an Asker on the
// test's thread (as the loop will).
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "peer/transport.h"
#include "peer_test_support.h"
#include "util/clock.h"

using namespace adf::peer;
using adf::Address;
using peer_test::address;
using peer_test::test_key;
using peer_test::test_keys;

namespace {

bool everyone(const Address &) { return true; }

Answer dead_answer() {
    return Answer{Address{}, Verdict::Dead, 120, address("127.0.0.1"), "connection refused"};
}

// Runs a Server's poll loop on a thread of its own until destroyed.
class ServerThread {
   public:
    ServerThread(Server &server, Lookup lookup, IsMember is_member = everyone)
        : server_(server), lookup_(std::move(lookup)), is_member_(std::move(is_member)) {
        REQUIRE(pipe(stop_) == 0);
        thread_ = std::thread([this] { run(); });
    }
    ~ServerThread() {
        const char byte = 0;
        CHECK(write(stop_[1], &byte, 1) == 1);
        thread_.join();
        close(stop_[0]);
        close(stop_[1]);
    }
    // Runs `work` on the server's thread, between two datagrams.
    void on_server(std::function<void()> work) {
        std::lock_guard<std::mutex> lock(mutex_);
        work_.push_back(std::move(work));
    }
    std::vector<Served> served() {
        std::lock_guard<std::mutex> lock(mutex_);
        return served_;
    }

   private:
    void run() {
        for (;;) {
            std::vector<pollfd> fds;
            for (int fd : server_.descriptors()) fds.push_back(pollfd{fd, POLLIN, 0});
            fds.push_back(pollfd{stop_[0], POLLIN, 0});
            poll(fds.data(), fds.size(), 10);
            if (fds.back().revents != 0) return;
            std::vector<std::function<void()>> work;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                work.swap(work_);
            }
            for (auto &w : work) w();
            for (size_t i = 0; i + 1 < fds.size(); ++i) {
                if (!(fds[i].revents & POLLIN)) continue;
                while (auto s =
                           server_.serve_one(fds[i].fd, is_member_, lookup_, wall_clock_ms())) {
                    std::lock_guard<std::mutex> lock(mutex_);
                    served_.push_back(*s);
                }
            }
        }
    }

    Server &server_;
    Lookup lookup_;
    IsMember is_member_;
    int stop_[2] = {-1, -1};
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::function<void()>> work_;
    std::vector<Served> served_;
};

Question question_about(const char *subject) {
    return Question{address(subject), "www.example.com", 1000, 2000};
}

double in_seconds(double seconds) { return adf::monotonic_now() + seconds; }

// A plain UDP socket on 127.0.0.1 (for raw datagrams to a server).
struct RawSocket {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ~RawSocket() { close(fd); }
    void send_to(const std::string &bytes, const char *host, uint16_t port) const {
        const auto to = *adf::socket_address(host, port);
        REQUIRE(sendto(fd, bytes.data(), bytes.size(), 0, to.get(), to.length) ==
                static_cast<ssize_t>(bytes.size()));
    }
    // The next datagram within `seconds`, and where it came from; "" if none.
    std::string receive(double seconds, adf::SocketAddress *from = nullptr) const {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(seconds * 1000)) != 1) return "";
        char buffer[2048];
        adf::SocketAddress source;
        const ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0, source.get(), &source.length);
        if (from) *from = source;
        return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
    }
};

std::string signed_question(const char *subject, uint64_t sent_at_ms, const Key &key) {
    Message m;
    m.sent_at_ms = sent_at_ms;
    m.nonce = random_nonce();
    m.body = question_about(subject);
    return encode(m, key);
}

}  // namespace

TEST_CASE("peer transport: a question to a listening peer comes back answered") {
    Server server(address("127.0.0.1"), 0, ServerSettings{test_keys()});
    std::atomic<int> asked{0};
    ServerThread thread(server, [&](const Inquiry &inquiry) -> std::optional<Answer> {
        ++asked;
        CHECK(inquiry.from == address("127.0.0.1"));
        CHECK(inquiry.question.subject == address("192.0.2.9"));
        CHECK(inquiry.question.fqdn == "www.example.com");
        CHECK(inquiry.question.max_age_ms == 1000);
        return dead_answer();
    });
    Asker asker(test_keys(), server.port());
    const auto replies =
        asker.ask({Target{address("127.0.0.1"), question_about("192.0.2.9")}}, in_seconds(5));
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].heard == Heard::Answer);
    CHECK(replies[0].peer == address("127.0.0.1"));
    CHECK(replies[0].answer.verdict == Verdict::Dead);
    CHECK(replies[0].answer.age_ms == 120);
    CHECK(replies[0].answer.subject == address("192.0.2.9"));  // filled in by the server
    CHECK(replies[0].answer.observer == address("127.0.0.1"));
    CHECK(replies[0].answer.reason == "connection refused");
    CHECK(asked == 1);
    CHECK(server.answers_sent() == 1);
    CHECK(asker.refusals().total() == 0);
}

TEST_CASE("peer transport: several peers at once: answered, nothing listening, and silent") {
    // 127.0.0.1 answers; nothing listens on 127.0.0.2 (the kernel says so:
    // ICMP port unreachable); 127.0.0.3's server defers and never answers.
    Server first(address("127.0.0.1"), 0, ServerSettings{test_keys()});
    Server third(address("127.0.0.3"), first.port(), ServerSettings{test_keys()});
    ServerThread answering(first,
                           [](const Inquiry &) { return std::optional<Answer>(dead_answer()); });
    ServerThread deferring(third, [](const Inquiry &) { return std::optional<Answer>(); });
    Asker asker(test_keys(), first.port());
    const auto replies = asker.ask({Target{address("127.0.0.1"), question_about("192.0.2.9")},
                                    Target{address("127.0.0.2"), question_about("192.0.2.9")},
                                    Target{address("127.0.0.3"), question_about("192.0.2.9")}},
                                   in_seconds(0.5));
    REQUIRE(replies.size() == 3);
    CHECK(replies[0].heard == Heard::Answer);
    CHECK(replies[1].heard == Heard::NoListener);
    CHECK(replies[1].error == std::strerror(ECONNREFUSED));
    CHECK(replies[2].heard == Heard::Silent);
    CHECK(third.deferred() == 1);
    CHECK(std::string(heard_name(Heard::NoListener)) == "no listener");
}

TEST_CASE("peer transport: a deferred question is answered later, once the check is made") {
    Server server(address("127.0.0.1"), 0, ServerSettings{test_keys()});
    ServerThread *self = nullptr;
    ServerThread thread(server, [&](const Inquiry &inquiry) -> std::optional<Answer> {
        CHECK(inquiry.may_defer);
        const uint64_t ticket = inquiry.ticket;
        // "Check now": the verdict comes a moment later, on the same thread.
        self->on_server([&server, ticket] {
            Answer a{Address{}, Verdict::Alive, 0, address("127.0.0.1"), ""};
            CHECK(server.answer_later(ticket, a, wall_clock_ms()));
            CHECK_FALSE(server.answer_later(ticket, a, wall_clock_ms()));  // once only
        });
        return std::nullopt;
    });
    self = &thread;
    Asker asker(test_keys(), server.port());
    const auto replies =
        asker.ask({Target{address("127.0.0.1"), question_about("192.0.2.9")}}, in_seconds(5));
    CHECK(replies[0].heard == Heard::Answer);
    CHECK(replies[0].answer.verdict == Verdict::Alive);
    CHECK(server.deferred() == 0);
}

TEST_CASE("peer transport: a deferred question is dropped once its asker stopped waiting") {
    Server server(address("127.0.0.1"), 0, ServerSettings{test_keys()});
    RawSocket raw;
    raw.send_to(signed_question("192.0.2.9", wall_clock_ms(), test_key()), "127.0.0.1",
                server.port());
    std::optional<Served> served;
    for (int i = 0; i < 100 && !served; ++i) {
        pollfd p{server.descriptors()[0], POLLIN, 0};
        poll(&p, 1, 50);
        served = server.serve_one(
            server.descriptors()[0], everyone,
            [](const Inquiry &) { return std::optional<Answer>(); }, wall_clock_ms());
    }
    REQUIRE(served);
    CHECK(served->deferred);
    CHECK(server.deferred() == 1);
    // The question said it waits 2000 ms.
    CHECK(server.expire_deferred(wall_clock_ms() + 1000) == 0);
    CHECK(server.answer_later(1, dead_answer(), wall_clock_ms() + 2500) == false);
    CHECK(server.deferred() == 0);
    CHECK(raw.receive(0.05).empty());
}

TEST_CASE("peer transport: with no room to defer, the server answers unknown at once") {
    ServerSettings settings{test_keys()};
    settings.max_deferred = 0;
    Server server(address("127.0.0.1"), 0, settings);
    ServerThread thread(server, [](const Inquiry &inquiry) {
        CHECK_FALSE(inquiry.may_defer);
        return std::optional<Answer>();
    });
    Asker asker(test_keys(), server.port());
    const auto replies =
        asker.ask({Target{address("127.0.0.1"), question_about("192.0.2.9")}}, in_seconds(5));
    CHECK(replies[0].heard == Heard::Answer);
    CHECK(replies[0].answer.verdict == Verdict::Unknown);
    CHECK(replies[0].answer.reason == "too many questions are waiting for a check");
}

TEST_CASE(
    "peer transport: questions from strangers and under another key are refused, counted, "
    "and not answered") {
    Server server(address("127.0.0.1"), 0, ServerSettings{test_keys()});
    std::atomic<int> asked{0};
    SUBCASE("a sender that is no member") {
        ServerThread thread(
            server,
            [&](const Inquiry &) {
                ++asked;
                return std::optional<Answer>(dead_answer());
            },
            [](const Address &a) { return a == address("192.0.2.1"); });
        Asker asker(test_keys(), server.port());
        const auto replies =
            asker.ask({Target{address("127.0.0.1"), question_about("192.0.2.9")}}, in_seconds(0.3));
        CHECK(replies[0].heard == Heard::Silent);
        CHECK(thread.served().at(0).refusal == Refusal::UnknownSender);
    }
    SUBCASE("another pool's key") {
        ServerThread thread(server, [&](const Inquiry &) {
            ++asked;
            return std::optional<Answer>(dead_answer());
        });
        Key other = test_key();
        other.bytes[0] = 'o';
        Asker asker(Keys{other, std::nullopt}, server.port());
        const auto replies =
            asker.ask({Target{address("127.0.0.1"), question_about("192.0.2.9")}}, in_seconds(0.3));
        CHECK(replies[0].heard == Heard::Silent);
        CHECK(thread.served().at(0).refusal == Refusal::BadMac);
        CHECK(server.refusals().of(Refusal::BadMac) == 1);
    }
    CHECK(asked == 0);
    CHECK(server.answers_sent() == 0);
}

TEST_CASE("peer transport: replayed, stale, future, oversized and garbage questions are refused") {
    Server server(address("127.0.0.1"), 0, ServerSettings{test_keys()});
    ServerThread thread(server,
                        [](const Inquiry &) { return std::optional<Answer>(dead_answer()); });
    RawSocket raw;
    const std::string question = signed_question("192.0.2.9", wall_clock_ms(), test_key());
    raw.send_to(question, "127.0.0.1", server.port());
    CHECK_FALSE(raw.receive(5).empty());
    raw.send_to(question, "127.0.0.1", server.port());  // the same bytes again
    raw.send_to(signed_question("192.0.2.9", wall_clock_ms() - 45000, test_key()), "127.0.0.1",
                server.port());
    raw.send_to(signed_question("192.0.2.9", wall_clock_ms() + 45000, test_key()), "127.0.0.1",
                server.port());
    raw.send_to(std::string(2000, 'A'), "127.0.0.1", server.port());
    raw.send_to("GET / HTTP/1.0\r\n\r\n", "127.0.0.1", server.port());
    CHECK(raw.receive(0.3).empty());  // none of them is answered
    for (int i = 0; i < 100 && thread.served().size() < 6; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto served = thread.served();
    REQUIRE(served.size() == 6);
    CHECK(served[0].answered);
    CHECK(served[1].refusal == Refusal::Replayed);
    CHECK(served[2].refusal == Refusal::Stale);
    CHECK(served[2].clock_offset_ms < -40000);
    CHECK(served[3].refusal == Refusal::Future);
    CHECK(served[3].clock_offset_ms > 40000);
    CHECK(served[4].refusal == Refusal::Oversized);
    CHECK(served[5].refusal == Refusal::BadMagic);
    CHECK(server.refusals().total() == 5);
    CHECK(server.answers_sent() == 1);
}

TEST_CASE("peer transport: the asker takes one answer per question, about what it asked") {
    // A responder that misbehaves: it answers twice, about another address,
    // and with an answer to a question never asked.
    RawSocket responder;
    const auto here = *adf::socket_address("127.0.0.1", 0);
    REQUIRE(bind(responder.fd, here.get(), here.length) == 0);
    adf::SocketAddress bound;
    REQUIRE(getsockname(responder.fd, bound.get(), &bound.length) == 0);
    std::thread misbehaving([&] {
        adf::SocketAddress asker_address;
        const std::string question = responder.receive(5, &asker_address);
        Message m;
        REQUIRE(parse(question, m) == Refusal::None);
        Message answer;
        answer.sent_at_ms = wall_clock_ms();
        answer.nonce = m.nonce;
        answer.body = Answer{address("198.51.100.1"), Verdict::Dead, 1, address("127.0.0.1"), ""};
        const auto send = [&](const Message &message) {
            const std::string bytes = encode(message, test_key());
            sendto(responder.fd, bytes.data(), bytes.size(), 0, asker_address.get(),
                   asker_address.length);
        };
        send(answer);  // about another address: refused
        Message stray = answer;
        stray.nonce = random_nonce();
        std::get<Answer>(stray.body).subject = address("192.0.2.9");
        send(stray);  // to no question: refused
        std::get<Answer>(answer.body).subject = address("192.0.2.9");
        send(answer);  // the right one
        send(answer);  // a copy
    });
    Asker asker(test_keys(), bound.port());
    auto replies =
        asker.ask({Target{address("127.0.0.1"), question_about("192.0.2.9")}}, in_seconds(5));
    misbehaving.join();
    CHECK(replies[0].heard == Heard::Answer);
    CHECK(replies[0].answer.subject == address("192.0.2.9"));
    // The copy arrives after the question is answered: the next ask refuses it.
    replies = asker.ask({}, in_seconds(0.1));
    CHECK(asker.refusals().of(Refusal::Mismatch) == 1);
    CHECK(asker.refusals().of(Refusal::Unsolicited) >= 1);
}

TEST_CASE("peer transport: a wildcard server answers from the address it was asked on") {
    Server server(std::nullopt, 0, ServerSettings{test_keys()});
    CHECK(server.descriptors().size() >= 1);
    ServerThread thread(server,
                        [](const Inquiry &) { return std::optional<Answer>(dead_answer()); });
    RawSocket raw;
    raw.send_to(signed_question("192.0.2.9", wall_clock_ms(), test_key()), "127.0.0.7",
                server.port());
    adf::SocketAddress from;
    const std::string answer = raw.receive(5, &from);
    REQUIRE_FALSE(answer.empty());
    CHECK(from.host() == "127.0.0.7");
    CHECK(from.port() == server.port());
    Opened opened;
    CHECK(open_answer(answer, test_keys(), opened) == Refusal::None);
}

TEST_CASE("peer transport: over IPv6 too") {
    const int probe = socket(AF_INET6, SOCK_DGRAM, 0);
    const bool have_ipv6 = probe >= 0;
    if (probe >= 0) close(probe);
    if (!have_ipv6) return;  // a host without IPv6 has nothing to test here
    Server server(address("::1"), 0, ServerSettings{test_keys()});
    ServerThread thread(server, [](const Inquiry &inquiry) {
        CHECK(inquiry.from == address("::1"));
        return std::optional<Answer>(dead_answer());
    });
    Asker asker(test_keys(), server.port());
    const auto replies =
        asker.ask({Target{address("::1"), question_about("2001:db8::9")}}, in_seconds(5));
    CHECK(replies[0].heard == Heard::Answer);
    CHECK(replies[0].answer.subject == address("2001:db8::9"));
}

TEST_CASE("peer transport: during a key rotation an answer goes back under the asker's key") {
    Key next = test_key();
    next.bytes[5] = 'n';
    Server server(address("127.0.0.1"), 0, ServerSettings{Keys{next, test_key()}});
    ServerThread thread(server,
                        [](const Inquiry &) { return std::optional<Answer>(dead_answer()); });
    Asker old_asker(test_keys(), server.port());  // not rotated yet
    auto replies =
        old_asker.ask({Target{address("127.0.0.1"), question_about("192.0.2.9")}}, in_seconds(5));
    CHECK(replies[0].heard == Heard::Answer);
    Asker new_asker(Keys{next, std::nullopt}, server.port());
    replies =
        new_asker.ask({Target{address("127.0.0.1"), question_about("192.0.2.9")}}, in_seconds(5));
    CHECK(replies[0].heard == Heard::Answer);
}

TEST_CASE("peer transport: an interrupt ends the wait for answers") {
    Server server(address("127.0.0.1"), 0, ServerSettings{test_keys()});
    ServerThread thread(server, [](const Inquiry &) { return std::optional<Answer>(); });
    int wake[2];
    REQUIRE(pipe(wake) == 0);
    REQUIRE(write(wake[1], "x", 1) == 1);
    bool asked_to_stop = false;
    adf::isolation::Interrupt interrupt{wake[0], [&] {
                                            char byte;
                                            CHECK(read(wake[0], &byte, 1) == 1);
                                            asked_to_stop = true;
                                            return true;
                                        },
                                        {}};
    Asker asker(test_keys(), server.port());
    const auto replies = asker.ask({Target{address("127.0.0.1"), question_about("192.0.2.9")}},
                                   in_seconds(600), interrupt);
    CHECK(asked_to_stop);
    CHECK(replies[0].heard == Heard::Silent);
    close(wake[0]);
    close(wake[1]);
}

TEST_CASE("peer transport: a port taken is an error naming the address and port") {
    Server server(address("127.0.0.1"), 0, ServerSettings{test_keys()});
    try {
        Server second(address("127.0.0.1"), server.port(), ServerSettings{test_keys()});
        FAIL("a second server bound the same port");
    } catch (const std::runtime_error &e) {
        CHECK(std::string(e.what()) ==
              "cannot listen on UDP 127.0.0.1:" + std::to_string(server.port()) +
                  ": Address already in use");
    }
}
