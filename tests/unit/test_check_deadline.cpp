// adf::CheckDeadline (sdk/include/autodnsfailover/check_deadline.hpp): the
// one policy for when a check stops before the host kills it.
#include <autodnsfailover/check_deadline.hpp>
#include <doctest/doctest.h>

#include <chrono>

using adf::CheckDeadline;

TEST_CASE("the margin is 10% of the timeout, at least 10 ms and at most 250 ms") {
    CHECK(CheckDeadline::margin(0.0) == doctest::Approx(0.01));
    CHECK(CheckDeadline::margin(0.05) == doctest::Approx(0.01));
    CHECK(CheckDeadline::margin(0.5) == doctest::Approx(0.05));
    CHECK(CheckDeadline::margin(1.0) == doctest::Approx(0.1));
    CHECK(CheckDeadline::margin(2.5) == doctest::Approx(0.25));
    CHECK(CheckDeadline::margin(60.0) == doctest::Approx(0.25));
}

TEST_CASE("the check ends a margin before the host's kill, cleanup ends in between") {
    const CheckDeadline deadline(10.0);
    CHECK(deadline.budget() == doctest::Approx(9.75));
    const auto host_kill = deadline.after(10.0);
    CHECK(deadline.start() < deadline.end());
    CHECK(deadline.end() < deadline.cleanup_end());
    CHECK(deadline.cleanup_end() < host_kill);
    using Seconds = std::chrono::duration<double>;
    CHECK(Seconds(deadline.cleanup_end() - deadline.end()).count() == doctest::Approx(0.125));
}

TEST_CASE("after() counts from the start") {
    const CheckDeadline deadline(1.0);
    CHECK(deadline.after(0.0) == deadline.start());
    CHECK(deadline.after(0.9) == deadline.end());
}

TEST_CASE("poll_ms() rounds up, is capped at the end and is 0 for what has passed") {
    const CheckDeadline deadline(10.0);
    const int to_end = deadline.poll_ms();
    CHECK(to_end > 0);
    CHECK(to_end <= 9750);
    CHECK(deadline.poll_ms(deadline.after(3600.0)) <= to_end);
    CHECK(deadline.poll_ms(deadline.start()) == 0);
    CHECK_FALSE(deadline.passed());
    CHECK(deadline.remaining() > 0.0);
    CHECK(deadline.remaining() <= deadline.budget());
}

TEST_CASE("a zero timeout has passed at once") {
    const CheckDeadline deadline(0.0);
    CHECK(deadline.budget() == 0.0);
    CHECK(deadline.passed());
    CHECK(deadline.poll_ms() == 0);
    CHECK(deadline.remaining() == 0.0);
}

TEST_CASE("seconds_text() writes seconds as reasons show them") {
    CHECK(adf::seconds_text(0.5) == "0.5 s");
    CHECK(adf::seconds_text(2.0) == "2 s");
    CHECK(adf::seconds_text(1.25) == "1.25 s");
    CHECK(adf::seconds_text(0.9000000001) == "0.9 s");
}
