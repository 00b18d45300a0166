#include <doctest/doctest.h>

#include "loop/safety.h"

using adf::safety::may_remove;
using adf::safety::Removal;

TEST_CASE("the partition guard fires only when most of several peers fail at once") {
    using adf::safety::looks_partitioned;
    CHECK_FALSE(looks_partitioned(1, 1, 0.5));  // one peer: nothing to compare
    CHECK_FALSE(looks_partitioned(2, 1, 0.5));  // exactly the fraction is not more
    CHECK(looks_partitioned(2, 2, 0.5));
    CHECK(looks_partitioned(10, 6, 0.5));
    CHECK_FALSE(looks_partitioned(10, 0, 0.0));
    CHECK(looks_partitioned(3, 1, 0.0));
    CHECK_FALSE(looks_partitioned(10, 10, 1.0));
}

TEST_CASE("the last record is never removed") {
    adf::config::Safety s;
    CHECK(may_remove(1, 0, s) == Removal::LastRecord);
    CHECK(may_remove(2, 0, s) == Removal::Allowed);
}

TEST_CASE("min_records is a floor") {
    adf::config::Safety s;
    s.min_records = 3;
    s.max_removals_per_round = 10;
    CHECK(may_remove(3, 0, s) == Removal::BelowMinimum);
    CHECK(may_remove(4, 0, s) == Removal::Allowed);
    CHECK(adf::safety::explain(Removal::BelowMinimum, s).find("min_records (3)") !=
          std::string::npos);
}

TEST_CASE("max_removals_per_round caps removals, and 0 means report only") {
    adf::config::Safety s;
    s.max_removals_per_round = 2;
    CHECK(may_remove(10, 1, s) == Removal::Allowed);
    CHECK(may_remove(10, 2, s) == Removal::RoundLimit);
    s.max_removals_per_round = 0;
    CHECK(may_remove(10, 0, s) == Removal::RoundLimit);
    CHECK(adf::safety::explain(Removal::RoundLimit, s).find("report only") != std::string::npos);
}

TEST_CASE("a removal by hand keeps the floor: never the last record, min_records unless forced") {
    using adf::safety::may_remove_by_hand;
    adf::config::Safety s;
    s.min_records = 3;
    s.max_removals_per_round = 0;  // report only: the round limit is the daemon's, not the probe's
    CHECK(may_remove_by_hand(4, s, false) == Removal::Allowed);
    CHECK(may_remove_by_hand(3, s, false) == Removal::BelowMinimum);
    CHECK(may_remove_by_hand(3, s, true) == Removal::Forced);
    CHECK(may_remove_by_hand(2, s, true) == Removal::Forced);
    // Even forced, a pool is never emptied.
    CHECK(may_remove_by_hand(1, s, true) == Removal::LastRecord);
    CHECK(may_remove_by_hand(0, s, true) == Removal::LastRecord);
    s.min_records = 1;
    CHECK(may_remove_by_hand(1, s, false) == Removal::LastRecord);
    CHECK(may_remove_by_hand(2, s, false) == Removal::Allowed);
    CHECK(adf::safety::explain(Removal::LastRecord, s) ==
          "it is the last record, and a pool is never emptied");
    s.min_records = 3;
    CHECK(adf::safety::explain(Removal::Forced, s) ==
          "forced (--force) below safety.min_records (3)");
}
