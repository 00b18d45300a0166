"""The test bed's invariant checker on made-up timelines, in memory: each
rule must catch what it names and let pass what it allows."""
import math

import testbed_invariants as inv

A, B, C = "198.18.0.11", "198.18.0.12", "198.18.0.13"


def timeline(*spans, period=0.1):
    """Samples every `period` s: spans of (seconds, members or None)."""
    out, t = [], 0.0
    for seconds, members in spans:
        for _ in range(round(seconds / period)):
            out.append(inv.Sample(round(t, 3), None if members is None else frozenset(members)))
            t += period
    return out


def rules(violations):
    return [v.rule for v in violations]


def test_an_empty_set_is_a_violation_and_a_failed_read_is_not():
    reads = timeline((1, {A}), (0.5, None), (1, {A}), (0.2, set()), (1, {A}))
    assert rules(inv.check(reads, [])) == ["never empty", "never empty"]
    assert inv.check(timeline((1, {A}), (5, None), (1, {A})), []) == []


def test_a_healthy_host_absent_longer_than_its_bound_is_a_violation():
    healthy = [inv.Expectation(B, 0.0, "present", 1.0)]
    short_gap = timeline((2, {A, B}), (0.8, {A}), (2, {A, B}))
    long_gap = timeline((2, {A, B}), (1.5, {A}), (2, {A, B}))
    assert inv.check(short_gap, healthy) == []
    [violation] = inv.check(long_gap, healthy)
    assert violation.host == B and violation.rule == "healthy host listed"
    assert "absent 1.5 s" in violation.detail


def test_a_host_that_never_comes_back_is_caught_at_the_end_of_the_timeline():
    reads = timeline((2, {A, B}), (3, {A}))
    assert rules(inv.check(reads, [inv.Expectation(B, 0.0, "present", 1.0)])) == \
        ["healthy host listed"]


def test_absence_before_a_host_is_expected_back_does_not_count():
    # B is dead until t=3, then must be back within 1 s: it is back at t=3.5.
    expectations = [inv.Expectation(B, 0.0, "absent", 1.0),
                    inv.Expectation(B, 3.0, "present", 1.0)]
    reads = timeline((0.5, {A, B}), (3.0, {A}), (2, {A, B}))
    assert inv.check(reads, expectations) == []
    late = timeline((0.5, {A, B}), (4.5, {A}), (2, {A, B}))
    assert rules(inv.check(late, expectations)) == ["healthy host listed"]


def test_a_dead_host_still_listed_after_its_bound_is_a_violation():
    dead = [inv.Expectation(C, 1.0, "absent", 2.0)]
    in_time = timeline((2.5, {A, B, C}), (3, {A, B}))
    too_late = timeline((3.5, {A, B, C}), (3, {A, B}))
    back_again = timeline((2.5, {A, B, C}), (1, {A, B}), (0.3, {A, B, C}), (1, {A, B}))
    assert inv.check(in_time, dead) == []
    assert rules(inv.check(too_late, dead)) == ["dead host gone"]
    assert rules(inv.check(back_again, dead)) == ["dead host gone"]


def test_a_free_host_may_come_and_go_and_the_next_expectation_ends_it():
    expectations = [inv.Expectation(C, 0.0, "free"), inv.Expectation(C, 5.0, "present", 1.0)]
    reads = timeline((1, {A, C}), (1, {A}), (1, {A, C}), (1.5, {A}), (3, {A, C}))
    assert inv.check(reads, expectations) == []


def test_minimum_counts_every_read_below_it():
    reads = timeline((1, {A, B, C}), (0.3, {A}), (1, {A, B}))
    assert len(inv.check_minimum(reads, 2)) == 3


def test_figures_count_removals_readds_and_time_absent():
    reads = timeline((1, {A, B}), (0.5, {A}), (1, {A, B}), (1.5, {A}), (1, {A, B}))
    figures = inv.host_figures(reads, B)
    assert (figures.removals, figures.readds) == (2, 2)
    assert math.isclose(figures.seconds_absent, 2.0, abs_tol=1e-6)
    assert math.isclose(figures.listed, 3 / 5)
    assert inv.set_changes([s.members for s in reads]) == 4


def test_committed_states_see_a_flap_the_reads_missed():
    reads = timeline((2, {A, B}))
    committed = [frozenset({A, B}), frozenset({A}), frozenset({A, B})]
    figures = inv.host_figures(reads, B, committed=committed)
    assert (figures.removals, figures.readds, figures.seconds_absent) == (1, 1, 0.0)


def test_bounds_follow_the_timing():
    t = inv.Timing(interval=1.0, timeout=0.5, retry=2, dns_timeout=2.0,
                   self_check_failure_delay=1.0, restart_delay=0.5, slack=1.5)
    assert t.removal_bound() == 4.75
    assert t.removal_bound(rounds=2) == 6.75
    assert t.removal_bound_after_dns_outage() == 6.75
    assert t.readd_after_service_bound == 6.0
    assert t.readd_after_network_bound == 6.5
    assert t.healthy_absence_bound == 3.75


def test_summary_counts_violations_by_rule_and_cause():
    reads = timeline((1, {A, B}), (2, {A}), (1, {A, B}), (2, {A}))
    violations = inv.check(reads, [inv.Expectation(B, 0.0, "present", 1.0, "link up again")])
    violations += inv.check_never_empty(timeline((0.1, set())))
    assert inv.summarize(violations) == [("healthy host listed (link up again)", 2),
                                         ("never empty", 1)]
