"""Outages as an SRE sees them, on the multi-host test bed (testbed.py):
five hosts in network namespaces on one bridge, each with a service and a
supervised daemon (rfc2136 to a real BIND with TSIG; tcp-check; 1 s interval,
0.5 s timeout, 2 attempts), a monitor reading the set every 100 ms. One bed
serves the whole module; each scenario resets it (every impairment healed,
the pool complete and steady) and asserts the invariants over its whole
timeline (testbed_invariants.py): never empty, no healthy host absent past
its bound, every dead host gone within its bound.

The daemons decide together (a pool key in their "peers" section): a broken
route or one-way loss on one observer removes nobody, and a host cut off
from its peers stays out until they see it again. The agreement scenarios
hold their impairment 20 s here to keep the module's time down (the
README gives 60 s figures from `testbed_scenarios.py measure`). Each run's
figures are printed (pytest -s) and appended to report.txt in the bed's
directory."""
import os
import shutil

import pytest

import testbed_invariants as inv
import testbed_scenarios as scenarios
from conftest import BINARY
from testbed import TestBed

SOAK_SECONDS = float(os.environ.get("ADF_TESTBED_SOAK_SECONDS", "60"))
SOAK_SEED = os.environ.get("ADF_TESTBED_SOAK_SEED")


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the test bed needs root (network namespaces)")
    missing = [p for p in ("ip", "named", "nft", "dig", "ss") if shutil.which(p) is None]
    if missing:
        pytest.skip(f"the test bed needs {', '.join(missing)} (make deps-test)")
    assert BINARY.exists(), f"build first: {BINARY} is missing"
    with TestBed(tmp_path_factory.mktemp("testbed")) as running:
        yield running


def reported(run):
    text = run.report()
    print(text)
    with open(run.bed.workdir / "report.txt", "a") as report:
        report.write(text + "\n")
    return run


def assert_invariants_hold(run):
    assert not run.violations, run.report()


def assert_only_changed(run, name, removals, readds):
    """`name` was removed and re-added that many times; no other host moved."""
    for host in run.bed.hosts:
        figures = run.figures(host)
        expected = (removals, readds) if host == name else (0, 0)
        assert (figures.removals, figures.readds) == expected, f"{host}: {figures}\n" + \
            run.report()


def assert_removed_and_back_in_time(run, readd_bound):
    """One host impaired then healed: gone within one round's bound, back
    within `readd_bound`, and nothing else moved."""
    assert_invariants_hold(run)
    assert run.measured["removed after s"] <= run.timing.removal_bound(), run.report()
    assert run.measured["back after s"] <= readd_bound, run.report()
    assert_only_changed(run, "h5", 1, 1)


def test_stopped_service_is_removed_within_its_bound_and_back_after_the_restart(bed):
    run = reported(scenarios.service_stop(bed))
    assert_removed_and_back_in_time(run, bed.timing.readd_after_service_bound)


def test_silent_host_is_removed_within_its_bound_and_back_after_link_up(bed):
    run = reported(scenarios.host_silent(bed))
    assert_removed_and_back_in_time(run, bed.timing.readd_after_network_bound)


def test_two_silent_hosts_are_both_removed_and_never_fewer_than_three_are_listed(bed):
    run = reported(scenarios.two_silent(bed))
    assert_invariants_hold(run)  # includes "at least 3 listed" on every read
    assert run.measured["both removed after s"] <= bed.timing.removal_bound(rounds=2), \
        run.report()
    for host in ("h1", "h2", "h3"):
        assert run.figures(host).removals == 0, run.report()


def test_dns_server_down_20s_changes_nothing_and_the_pool_converges_after(bed):
    run = reported(scenarios.dns_down(bed, outage=20.0))
    # The monitor, beside the server, read it all along: nothing changed.
    assert run.measured["reads during the outage"] >= 20.0 / 0.1 / 2, run.report()
    assert_invariants_hold(run)
    # The host that died during the outage went as soon as the server was back.
    assert run.measured["removed after DNS back s"] <= \
        bed.timing.removal_bound_after_dns_outage(), run.report()
    assert_only_changed(run, "h5", 1, 1)


def test_host_cut_off_from_everything_is_removed_and_back_after_the_heal(bed):
    run = reported(scenarios.cut_off(bed))
    assert_removed_and_back_in_time(run, bed.timing.readd_after_network_bound)


def test_sigkilled_daemon_is_restarted_by_its_supervisor_and_dns_does_not_change(bed):
    run = reported(scenarios.sigkill(bed))
    assert run.measured["exit status seen by the supervisor"] == -9, run.report()
    assert run.measured["restarted after s"] <= bed.timing.restart_delay + bed.timing.slack, \
        run.report()
    assert_invariants_hold(run)
    assert inv.set_changes(run.committed) == 0, run.report()
    assert "starting:" in bed.hosts["h2"].log().rsplit("exited with -9", 1)[1]


def test_flapping_service_is_held_out_by_damping_after_a_bounded_number_of_changes(bed):
    """Each flap costs a removal and a re-add until the observers' damping
    holds the service out (the bed's half-life of 8 s: by its fourth flap,
    README "Deciding together"); then DNS stays still while it flaps, and
    the host is back within max_suppress after it stops."""
    run = reported(scenarios.flapping(bed, duration=30.0, period=3.0))
    assert_invariants_hold(run)
    h5 = run.figures("h5")
    assert 1 <= h5.removals <= 4 and h5.readds <= 4, run.report()
    assert run.measured["no change in the last s of flapping"] >= 6.0, run.report()
    for host in ("h1", "h2", "h3", "h4"):
        assert run.figures(host).removals == 0, run.report()


def assert_healthy_pair_never_removed(run, observer, peer):
    assert_invariants_hold(run)   # both strictly present while impaired
    for host in run.bed.hosts:
        figures = run.figures(host)
        assert (figures.removals, figures.readds) == (0, 0), f"{host}: {figures}\n" + \
            run.report()
    assert inv.set_changes(run.committed) == 0, run.report()


def test_broken_route_on_one_observer_never_removes_the_healthy_peer(bed):
    run = reported(scenarios.broken_route(bed, duration=20.0))
    assert_healthy_pair_never_removed(run, scenarios.OBSERVER, scenarios.EDGE)


def test_one_way_loss_on_one_observer_never_removes_the_healthy_peer(bed):
    run = reported(scenarios.one_way_loss(bed, duration=20.0, percent=100))
    assert_healthy_pair_never_removed(run, scenarios.OBSERVER, scenarios.EDGE)


def test_host_cut_off_from_its_peers_stays_out_and_is_back_after_the_heal(bed):
    """Its peers remove it; it still reaches DNS and passes its self-check,
    but a majority of them cannot reach it, so it does not re-add itself
    (0 re-adds while cut off) and says why; after the heal it is back
    within its bound."""
    run = reported(scenarios.cut_from_peers(bed, duration=20.0))
    assert_invariants_hold(run)
    during = run.measured["h5 during the impairment"]
    assert (during.removals, during.readds) == (1, 0), run.report()
    assert run.measured["h5 listed after heal s"] <= bed.timing.readd_after_network_bound, \
        run.report()
    assert_only_changed(run, "h5", 1, 1)
    assert "peers cannot reach me: not re-adding myself" in bed.hosts["h5"].log() or \
        "none of my 4 peers answered" in bed.hosts["h5"].log()


def test_soak_of_events_the_daemon_handles_keeps_every_invariant(bed):
    soak = scenarios.Soak(bed, SOAK_SECONDS, scenarios.HANDLED_EVENTS,
                          seed=None if SOAK_SEED is None else int(SOAK_SEED))
    run = soak.run()
    summary = soak.summary(run)
    print(summary)
    with open(bed.workdir / "report.txt", "a") as report:
        report.write(summary + "\n" + run.report() + "\n")
    assert sum(soak.counts.values()) >= SOAK_SECONDS / 15, summary
    assert not run.violations, summary + "\n" + run.report()
    assert not soak.strays, f"{summary}\n{soak.strays}"


def test_closing_the_bed_leaves_no_process_and_no_namespace(bed):
    bed.close()
    assert bed.leaked == [], bed.leaked
    assert bed.namespaces_left() == []
