// adf::Backoff and Retry-After parsing (sdk/include/autodnsfailover/backoff.hpp).
#include <autodnsfailover/backoff.hpp>
#include <doctest/doctest.h>

#include <ctime>
#include <random>

TEST_CASE("Retry-After: delta-seconds, an HTTP-date, or nothing") {
    CHECK(adf::retry_after_seconds("0") == 0.0);
    CHECK(adf::retry_after_seconds("120") == 120.0);
    CHECK(adf::retry_after_seconds("99999999999") == 1e9);  // longer than a life: never
    CHECK_FALSE(adf::retry_after_seconds(""));
    CHECK_FALSE(adf::retry_after_seconds("soon"));

    char date[64];
    const std::time_t in_a_minute = std::time(nullptr) + 60;
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&in_a_minute));
    const auto seconds = adf::retry_after_seconds(date);
    REQUIRE(seconds);
    CHECK(*seconds == doctest::Approx(60.0).epsilon(0.05));
    CHECK(adf::retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0);  // past: now
}

TEST_CASE("waits read in tenths below 10 s, in whole seconds above") {
    CHECK(adf::wait_text(0.4321) == "0.4 s");
    CHECK(adf::wait_text(2.0) == "2.0 s");
    CHECK(adf::wait_text(300.0) == "300 s");
}

TEST_CASE("delays grow from the first bound to the largest, within [floor, 1] of the bound") {
    std::mt19937 random(42);
    adf::Backoff backoff(1e6, random, {0.2, 5.0, 0.5});
    const double bounds[] = {0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0};
    for (const double bound : bounds) {
        const auto delay = backoff.next_delay();
        REQUIRE(delay);
        CHECK(*delay >= bound * 0.5);
        CHECK(*delay <= bound);
    }
    CHECK(backoff.retries() == 8);
}

TEST_CASE("a Retry-After is waited in full, with at most a quarter second of jitter") {
    std::mt19937 random(7);
    adf::Backoff backoff(60.0, random);
    const auto delay = backoff.next_delay(3.0);
    REQUIRE(delay);
    CHECK(*delay >= 3.0);
    CHECK(*delay <= 3.25);
}

TEST_CASE("no delay that would end past the budget; a retry's timeout is what is left") {
    std::mt19937 random(1);
    adf::Backoff backoff(2.0, random);
    CHECK_FALSE(backoff.next_delay(300.0));
    CHECK(backoff.retries() == 0);
    CHECK(backoff.retry_timeout(10.0) <= 2.0);
    CHECK(backoff.retry_timeout(1.0) == doctest::Approx(1.0));
    adf::Backoff spent(0.0, random);
    CHECK(spent.retry_timeout(10.0) == doctest::Approx(0.1));  // never below 0.1 s
}

namespace {
std::string g_logged;
void remember(adf_host *, int, const char *message) { g_logged = message; }
}  // namespace

TEST_CASE("giving up is transient and says how many attempts took how long") {
    adf_host_services services{};
    services.log = remember;
    const adf::Host host(&services, nullptr);
    std::mt19937 random(3);
    adf::Backoff backoff(0.5, random, {0.1, 0.1, 0.0, "retry_budget"});
    backoff.wait_or_give_up(host, "GET x answered HTTP 503");
    CHECK(g_logged.rfind("GET x answered HTTP 503; retrying in 0.", 0) == 0);
    try {
        backoff.wait_or_give_up(host, "GET x answered HTTP 429", 30.0);
        FAIL("no exception");
    } catch (const adf::Error &e) {
        CHECK(e.status() == ADF_TRANSIENT);
        const std::string text = e.what();
        CHECK(text.rfind("GET x answered HTTP 429, retry-after 30 s; gave up after 2 attempts "
                         "in 0.",
                         0) == 0);
        CHECK(text.find("(retry_budget 0.5 s)") != std::string::npos);
    }
}
