"""Scenarios, impairment events and the chaos soak for the multi-host test
bed (testbed.py), with what each must show (testbed_invariants.py).

A Run is one scenario on a bed that was reset first: it applies events,
records what each host should be from then on (present, absent, free: see
testbed_invariants), and when finished holds the monitor's reads, every
invariant violation and per-host figures (removals and re-adds from BIND's
journal, time absent and the share of reads listing the host).

SCENARIOS maps a name to (function, what must hold); test_testbed.py
asserts each (the agreement scenarios held 20 s there), and they can be
run by hand with their full 60 s:

    python3 tests/integration/testbed_scenarios.py measure broken-route cut-from-peers
    python3 tests/integration/testbed_scenarios.py soak --seconds 300 --events all

(as root, ADF_BUILD_DIR naming the build; `make soak` runs the second, see
SOAK_SECONDS and SOAK_EVENTS there). The soak's events: "handled" and "all"
are the same set since the daemons decide together (service stop, link
down, cut off, DNS outages, flapping, SIGKILL, and the broken route,
one-way loss and cut-from-peers events); `make test` runs it for 60 s."""
import abc
import argparse
import math
import random
import signal
import sys
import tempfile
import time

import testbed_invariants as inv
from testbed import TestBed

EDGE = "h5"          # the host the single-host scenarios impair
OBSERVER = "h1"      # the one observer with a broken route / one-way loss


class Run:
    """One scenario or soak on `bed` (reset first); see the module doc."""

    def __init__(self, bed, name):
        self.bed = bed
        self.name = name
        self.timing = bed.timing
        self.start = bed.reset()
        self.journal_mark = len(bed.committed_states())
        self.expectations = [inv.Expectation(h, self.start, "present",
                                             self.timing.healthy_absence_bound, "healthy")
                             for h in self._addresses()]
        self.down = set()           # hosts expected to leave DNS now
        self.events = []            # [(time, text)]
        self.measured = {}          # figures a scenario adds (name: value)
        self.violations = None

    def _addresses(self):
        return [self.bed.hosts[n].address for n in self.bed.hosts]

    def address(self, name):
        return self.bed.hosts[name].address

    def note(self, text):
        self.events.append((time.monotonic(), text))

    # --- what each host should be from now on ------------------------------

    def expect(self, name, kind, bound=0.0, why="", since=None):
        since = time.monotonic() if since is None else since
        self.expectations.append(inv.Expectation(self.address(name), since, kind, bound, why))
        (self.down.add if kind == "absent" else self.down.discard)(name)

    def host_died(self, name, why):
        """`name` must leave DNS; each host dead at the same time may cost
        the observers one more round (max_removals_per_round 1)."""
        self.down.add(name)
        self.expect(name, "absent", self.timing.removal_bound(rounds=len(self.down)), why)

    def host_back(self, name, bound, why):
        self.expect(name, "present", bound, why)

    def host_free(self, name, why):
        self.expect(name, "free", why=why)

    # --- driving ------------------------------------------------------------

    def apply(self, event):
        self.note(f"apply {event}")
        event.apply(self)

    def heal(self, event):
        self.note(f"heal {event}")
        event.heal(self)

    def hold(self, seconds):
        """Lets the scenario run for `seconds` (the impairment's duration)."""
        time.sleep(seconds)

    def wait_listed(self, name, listed, timeout):
        """Until a read shows `name` listed (or not); returns the time, or
        None after `timeout` (the invariants then say what went wrong)."""
        address = self.address(name)
        try:
            return self.bed.wait_for(lambda members: (address in members) == listed, timeout,
                                     what=f"{name} {'listed' if listed else 'gone'}")
        except AssertionError:
            return None

    def finish(self, tail=None):
        """Ends the run after `tail` seconds (default: two intervals, so the
        last change is seen to hold) and checks every invariant."""
        self.hold(2 * self.timing.interval if tail is None else tail)
        self.end = time.monotonic()
        self.timeline = self.bed.timeline(self.start, self.end)
        self.committed = self.bed.committed_states()[self.journal_mark - 1:]
        self.violations = inv.check(self.timeline, self.expectations, self.start, self.end)
        return self

    # --- figures --------------------------------------------------------------

    def figures(self, name, start=None, end=None):
        start = self.start if start is None else start
        end = self.end if end is None else end
        whole = start == self.start and end == self.end
        return inv.host_figures(self.timeline, self.address(name), start, end,
                                committed=self.committed if whole else None)

    def changes_per_minute(self):
        return inv.per_minute(inv.set_changes(self.committed), self.end - self.start)

    def report(self):
        """A few lines: the events, each host's figures, the violations."""
        lines = [f"scenario {self.name}: {self.end - self.start:.1f} s, "
                 f"{inv.set_changes(self.committed)} DNS change(s) "
                 f"({self.changes_per_minute():.1f}/min), "
                 f"{len(self.violations)} invariant violation(s)"]
        lines += [f"  t+{t - self.start:5.1f}s {text}" for t, text in self.events]
        lines += [f"  {name}: {self.figures(name)}" for name in self.bed.hosts]
        lines += [f"  {key}: {value:.2f}" if isinstance(value, float) else f"  {key}: {value}"
                  for key, value in self.measured.items()]
        lines += [f"  VIOLATION {v}" for v in self.violations[:20]]
        if len(self.violations) > 20:
            lines.append(f"  ... and {len(self.violations) - 20} more")
        lines.append(f"  logs: {self.bed.workdir}")
        return "\n".join(lines)

    def relative(self, t):
        return None if t is None else t - self.start


# --- events: an impairment, what it means for DNS, and its heal --------------

class Event(abc.ABC):
    """One impairment. `hosts`: the hosts it involves; `impaired` those
    counted against the soak's limit of two (by default the first)."""
    kind = ""
    exclusive = False      # nothing else may happen while it lasts
    instant = False        # no heal

    def __init__(self, *hosts):
        self.hosts = hosts

    @property
    def impaired(self):
        return set(self.hosts[:1])

    @abc.abstractmethod
    def apply(self, run):
        """Impairs the bed and records, in `run`, what DNS must show now."""

    def heal(self, run):
        """Undoes apply() (an instant event has nothing to undo)."""

    def __str__(self):
        return " ".join((self.kind,) + self.hosts)


class HostOutage(Event):
    """A host that must leave DNS while impaired, and come back within
    `readd_bound` of the heal."""
    dies = back = ""

    def apply(self, run):
        self.impair(run.bed, self.hosts[0])
        run.host_died(self.hosts[0], self.dies)

    def heal(self, run):
        self.restore(run.bed, self.hosts[0])
        run.host_back(self.hosts[0], self.readd_bound(run.timing), self.back)

    @staticmethod
    def readd_bound(timing):
        return timing.readd_after_network_bound


class ServiceStop(HostOutage):
    kind, dies, back = "service-stop", "service stopped", "service restarted"
    impair = staticmethod(lambda bed, host: bed.stop_service(host))
    restore = staticmethod(lambda bed, host: bed.start_service(host))

    @staticmethod
    def readd_bound(timing):
        return timing.readd_after_service_bound


class LinkDown(HostOutage):
    kind, dies, back = "link-down", "link down", "link up again"
    impair = staticmethod(lambda bed, host: bed.link_down(host))
    restore = staticmethod(lambda bed, host: bed.link_up(host))


class CutOff(HostOutage):
    kind, dies, back = "cut-off", "cut off from everything", "reconnected"
    impair = staticmethod(lambda bed, host: bed.cut_off(host))
    restore = staticmethod(lambda bed, host: bed.firewall_heal(host, "cut_off"))


class DnsLinkDown(Event):
    """The DNS server unreachable (its link down); the monitor, beside it,
    still reads it. Nothing may change meanwhile."""
    kind = "dns-link-down"
    exclusive = True

    @property
    def impaired(self):
        return set()

    def apply(self, run):
        run.bed.link_down("dns")

    def heal(self, run):
        run.bed.link_up("dns")


class DnsStop(DnsLinkDown):
    """named stopped, then started again with its zone and journal."""
    kind = "dns-stop"

    def apply(self, run):
        run.bed.stop_dns()

    def heal(self, run):
        run.bed.start_dns()


class Flap(Event):
    kind = "flap"

    def __init__(self, host, period=3.0):
        super().__init__(host)
        self.period = period

    def apply(self, run):
        run.bed.flap_service(self.hosts[0], self.period)
        run.host_free(self.hosts[0], f"service flapping every {self.period:g} s")

    def heal(self, run):
        run.bed.stop_flapping(self.hosts[0])
        run.host_back(self.hosts[0], run.timing.readd_after_flapping_bound,
                      "flapping stopped (held out by damping at most max_suppress)")


class Kill(Event):
    """SIGKILL to a daemon; the supervisor restarts it. Its host stays healthy."""
    kind = "sigkill"
    instant = True

    @property
    def impaired(self):
        return set()

    def apply(self, run):
        run.bed.kill_daemon(self.hosts[0])


class BrokenRoute(Event):
    """`observer` cannot reach `peer` (an unreachable route on the observer
    only); everyone else can. TCP needs both ways, so the peer cannot reach
    the observer either: two healthy hosts that each see the other dead.
    With removal by agreement neither is ever removed (the other three see
    both alive)."""
    kind = "broken-route"

    @property
    def impaired(self):
        return set(self.hosts)   # their fate is under test: no other event touches them

    def apply(self, run):
        run.bed.route_unreachable(*self.hosts)
        self.strictly_present(run, "healthy; only its path to one peer is broken")

    def heal(self, run):
        run.bed.route_restore(*self.hosts)
        self.healthy_again(run)

    def strictly_present(self, run, why):
        for host in self.hosts:
            run.host_back(host, 0.0, why)

    def healthy_again(self, run):
        for host in self.hosts:
            run.host_back(host, run.timing.healthy_absence_bound, "healthy")


class OneWayLoss(BrokenRoute):
    """`percent` % of the packets `peer` sends to `observer` are lost (a
    firewall rule on the observer): the observer's probes go unanswered, and
    so do the peer's (their SYNs are lost)."""
    kind = "one-way-loss"

    def __init__(self, observer, peer, percent=100):
        super().__init__(observer, peer)
        self.percent = percent

    def apply(self, run):
        run.bed.one_way_loss(*self.hosts, percent=self.percent)
        self.strictly_present(run, f"healthy; {self.percent}% loss one way between it and "
                                   f"one peer")

    def heal(self, run):
        run.bed.firewall_heal(self.hosts[0], f"loss_{self.hosts[1]}")
        self.healthy_again(run)

    def __str__(self):
        return f"{super().__str__()} {self.percent}%"


class CutFromPeers(HostOutage):
    """`host` reaches DNS and itself, none of its peers. With removal by
    agreement it stays out (its peers see it dead) until healed."""
    kind, dies, back = ("cut-from-peers", "cut off from its peers (they all see it dead)",
                        "reconnected")
    impair = staticmethod(lambda bed, host: bed.cut_from_peers(host))
    restore = staticmethod(lambda bed, host: bed.firewall_heal(host, "cut_peers"))


# --- scenarios ---------------------------------------------------------------

def single_impairment(bed, name, event, hold=None):
    """`event` on a complete pool: wait until the impaired host is gone,
    keep it impaired for `hold` seconds more (default two intervals), heal,
    wait until it is back."""
    run = Run(bed, name)
    host = event.hosts[0]
    t = run.timing
    applied = time.monotonic()
    run.apply(event)
    gone = run.wait_listed(host, False, t.removal_bound() + 5)
    run.measured["removed after s"] = run.relative(gone) - run.relative(applied) \
        if gone else math.nan
    run.hold(2 * t.interval if hold is None else hold)
    healed = time.monotonic()
    run.heal(event)
    back = run.wait_listed(host, True, 15)
    run.measured["back after s"] = back - healed if back else math.nan
    return run.finish()


def service_stop(bed):
    return single_impairment(bed, "service stop", ServiceStop(EDGE))


def host_silent(bed):
    return single_impairment(bed, "host silent (link down)", LinkDown(EDGE))


def cut_off(bed):
    return single_impairment(bed, "host cut off from everything", CutOff(EDGE))


def two_silent(bed):
    """h4 and h5 go silent at once: both leave, never fewer than 3 listed."""
    run = Run(bed, "two hosts silent at once")
    events = [LinkDown("h4"), LinkDown(EDGE)]
    applied = time.monotonic()
    for event in events:
        run.apply(event)
    gone = [run.wait_listed(e.hosts[0], False, run.timing.removal_bound(2) + 5) for e in events]
    run.measured["both removed after s"] = max(gone) - applied if all(gone) else math.nan
    run.hold(2 * run.timing.interval)
    healed = time.monotonic()
    for event in events:
        run.heal(event)
    back = [run.wait_listed(e.hosts[0], True, 15) for e in events]
    run.measured["both back after s"] = max(back) - healed if all(back) else math.nan
    run.finish()
    run.violations += inv.check_minimum(run.timeline, len(bed.hosts) - 2)
    return run


def dns_down(bed, outage=20.0):
    """The DNS server unreachable for `outage` s. The set must not change
    meanwhile (the monitor reads it beside the server); h5's service stops
    5 s into the outage, and once the server is back h5 is removed within
    its bound, counted from the server's return."""
    run = Run(bed, f"DNS server down {outage:g} s")
    before = inv.known(bed.timeline())[-1].members
    outage_event, stop = DnsLinkDown(), ServiceStop(EDGE)
    down_at = time.monotonic()
    run.apply(outage_event)
    run.hold(5.0)
    run.note(f"apply {stop} (while DNS is down)")
    bed.stop_service(EDGE)
    run.host_free(EDGE, "died while DNS was down")
    run.hold(outage - 5.0)
    up_at = time.monotonic()
    run.heal(outage_event)
    run.expect(EDGE, "absent", run.timing.removal_bound_after_dns_outage(),
               "service stopped while DNS was down; counted from its return")
    gone = run.wait_listed(EDGE, False, run.timing.removal_bound_after_dns_outage() + 5)
    run.measured["removed after DNS back s"] = gone - up_at if gone else math.nan
    healed = time.monotonic()
    run.heal(stop)
    back = run.wait_listed(EDGE, True, 15)
    run.measured["back after s"] = back - healed if back else math.nan
    run.finish()
    during = inv.known(run.timeline, down_at, up_at)
    run.measured["reads during the outage"] = len(during)
    run.violations += [inv.Violation(s.time, None, "no change while DNS is down",
                                     f"the set became {sorted(s.members)}")
                       for s in during if s.members != before][:1]
    return run


def sigkill(bed):
    """SIGKILL to h2's daemon: the supervisor restarts it and nothing
    changes in DNS (h2 is healthy, its record stays)."""
    run = Run(bed, "daemon SIGKILLed and restarted")
    supervisor = bed.hosts["h2"].supervisor
    starts = len(supervisor.starts)
    killed = time.monotonic()
    run.apply(Kill("h2"))
    deadline = killed + run.timing.restart_delay + 10
    while len(supervisor.starts) == starts and time.monotonic() < deadline:
        time.sleep(0.05)
    run.measured["restarted after s"] = supervisor.starts[-1] - killed \
        if len(supervisor.starts) > starts else math.nan
    run.measured["exit status seen by the supervisor"] = supervisor.exits[-1][1]
    run.hold(3 * run.timing.interval)
    return run.finish()


def flapping(bed, duration=30.0, period=3.0):
    """h5's service stops and starts every `period` s for `duration` s; the
    others stay listed. Reports the DNS changes per minute."""
    run = Run(bed, f"flapping service (every {period:g} s)")
    event = Flap(EDGE, period)
    run.apply(event)
    began = time.monotonic()
    run.hold(duration)
    ended = time.monotonic()
    run.heal(event)
    back = run.wait_listed(EDGE, True, 15)
    run.measured["back after flapping stopped s"] = back - ended if back else math.nan
    run.finish()
    seen = [s for s in inv.known(run.timeline, began, ended)]
    run.measured["DNS changes per minute while flapping (reads)"] = \
        inv.per_minute(inv.set_changes([s.members for s in seen]), ended - began)
    changed = [b.time for a, b in zip(seen, seen[1:]) if a.members != b.members]
    run.measured["no change in the last s of flapping"] = \
        ended - (changed[-1] if changed else began)
    return run


def sustained(bed, name, event, duration=60.0):
    """`event` held for `duration` s, then healed: the agreement scenarios."""
    run = Run(bed, name)
    run.apply(event)
    run.hold(duration)
    healed = time.monotonic()
    run.heal(event)
    for host in event.hosts:
        back = run.wait_listed(host, True, 15)
        run.measured[f"{host} listed after heal s"] = back - healed if back else math.nan
    run.finish()
    for host in event.hosts:
        run.measured[f"{host} during the impairment"] = \
            inv.host_figures(run.timeline, run.address(host), run.start, healed)
    return run


def broken_route(bed, duration=60.0):
    return sustained(bed, f"broken route on one observer ({duration:g} s)",
                     BrokenRoute(OBSERVER, EDGE), duration)


def one_way_loss(bed, duration=60.0, percent=100):
    return sustained(bed, f"one-way loss ({percent}%) on one observer ({duration:g} s)",
                     OneWayLoss(OBSERVER, EDGE, percent), duration)


def cut_from_peers(bed, duration=60.0):
    return sustained(bed, f"host cut off from its peers, not from DNS ({duration:g} s)",
                     CutFromPeers(EDGE), duration)


SCENARIOS = {
    # name: (function, what must hold)
    "service-stop": (service_stop, "removed within interval + retry x timeout + the "
                                   "confirmation deadline; back after the restart"),
    "host-silent": (host_silent, "removed within its bound; back after link up"),
    "two-silent": (two_silent, "both removed within two rounds; never below 3 of 5"),
    "dns-down": (dns_down, "no change while DNS is down; convergence after"),
    "cut-off": (cut_off, "removed within its bound; back after the heal"),
    "sigkill": (sigkill, "restarted by the supervisor; no DNS change"),
    "flapping": (flapping, "never empty, the others stay; held out by damping after a "
                           "bounded number of changes"),
    "broken-route": (broken_route, "the healthy peer is never removed (0 removals in 60 s)"),
    "one-way-loss": (one_way_loss, "the healthy peer is never removed (0 removals in 60 s)"),
    "one-way-loss-50": (lambda bed: one_way_loss(bed, percent=50),
                        "the healthy peer is never removed (0 removals in 60 s)"),
    "cut-from-peers": (cut_from_peers, "it stays out after the bound (0 re-adds); back after "
                                       "the heal"),
}


# --- the chaos soak -------------------------------------------------------------

SINGLE_OBSERVER_EVENTS = ("service-stop", "link-down", "cut-off", "dns-link-down", "dns-stop",
                          "flap", "sigkill")
AGREEMENT_EVENTS = ("broken-route", "one-way-loss", "cut-from-peers")
HANDLED_EVENTS = SINGLE_OBSERVER_EVENTS + AGREEMENT_EVENTS
EVENT_SETS = {"handled": HANDLED_EVENTS, "all": HANDLED_EVENTS}
MAX_IMPAIRED = 2


SINGLE_HOST_EVENTS = {e.kind: e for e in (ServiceStop, LinkDown, CutOff, Kill, CutFromPeers)}


def make_event(kind, rng, free_hosts):
    """An event of `kind` on hosts drawn from `free_hosts` (None when there
    are too few)."""
    free = sorted(free_hosts)
    if kind == DnsLinkDown.kind:
        return DnsLinkDown()
    if kind == DnsStop.kind:
        return DnsStop()
    needed = 2 if kind in (BrokenRoute.kind, OneWayLoss.kind) else 1
    if len(free) < needed:
        return None
    hosts = rng.sample(free, needed)
    if kind == BrokenRoute.kind:
        return BrokenRoute(*hosts)
    if kind == OneWayLoss.kind:
        return OneWayLoss(*hosts, percent=rng.choice((50, 100)))
    if kind == Flap.kind:
        return Flap(hosts[0], rng.choice((2.0, 3.0, 4.0)))
    return SINGLE_HOST_EVENTS[kind](hosts[0])


class Soak:
    """Random events from `kinds` for `seconds`: each lasts 3-12 s, at most
    two hosts impaired at once, a DNS outage alone, a healed host left to
    settle (see _settle). Counts events, removals, re-adds, invariant
    violations and stray processes."""

    def __init__(self, bed, seconds, kinds=HANDLED_EVENTS, seed=None):
        unknown = set(kinds) - set(EVENT_SETS["all"])
        if unknown:
            raise ValueError(f"unknown soak event(s): {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(EVENT_SETS['all'])}")
        self.bed = bed
        self.seconds = seconds
        self.kinds = tuple(kinds)
        self.seed = random.randrange(1 << 30) if seed is None else seed
        self.rng = random.Random(self.seed)
        self.counts = {}
        self.settling = {}       # host: time until which no new event touches it

    def run(self):
        run = Run(self.bed, f"soak {self.seconds:g} s, seed {self.seed}")
        active = []      # [(event, heal at)]
        end = run.start + self.seconds
        while time.monotonic() < end:
            now = time.monotonic()
            for event, due in [a for a in active if a[1] <= now]:
                run.heal(event)
                active.remove((event, due))
                self._settle(run, event)
            self._maybe_start(run, active, end)
            time.sleep(self.rng.uniform(0.5, 2.0))
        for event, _ in active:
            run.heal(event)
        # Long enough for the slowest bound to be seen holding.
        t = run.timing
        slowest = max(t.readd_after_network_bound, t.readd_after_service_bound)
        if self.counts.get(Flap.kind):
            slowest = max(slowest, t.readd_after_flapping_bound)
        run.finish(tail=slowest + 1)
        self.strays = self.bed.stray_processes()
        return run

    def _settle(self, run, event):
        """A healed host is left alone until its re-add bound has passed, and
        after a DNS outage every host is, for one interval and one read
        timeout (a read may still be waiting for the server): a new event
        then would be judged against a bound the config does not give."""
        t = run.timing
        if event.exclusive:
            until = time.monotonic() + t.interval + t.dns_timeout
            hosts = self.bed.hosts
        else:
            until = time.monotonic() + (
                t.readd_after_flapping_bound if isinstance(event, Flap) else
                max(t.readd_after_network_bound, t.readd_after_service_bound))
            hosts = event.hosts
        for host in hosts:
            self.settling[host] = max(self.settling.get(host, 0.0), until)

    def _maybe_start(self, run, active, end):
        if any(e.exclusive for e, _ in active) or self.rng.random() < 0.3:
            return
        kind = self.rng.choice(self.kinds)
        impaired = set().union(*(e.impaired for e, _ in active)) if active else set()
        now = time.monotonic()
        settling = {h for h, until in self.settling.items() if until > now}
        if kind in (DnsLinkDown.kind, DnsStop.kind) and (active or settling):
            return  # a DNS outage comes alone, on a settled pool
        needed = 2 if kind in (BrokenRoute.kind, OneWayLoss.kind) else 1
        if kind != Kill.kind and len(impaired) + needed > MAX_IMPAIRED:
            return
        free = [h for h in self.bed.hosts
                if h not in impaired and h not in run.down and h not in settling and
                (kind != Kill.kind or self.bed.hosts[h].supervisor.pid)]
        event = make_event(kind, self.rng, free)
        if event is None:
            return
        run.apply(event)
        self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
        if not event.instant:
            active.append((event, min(end, time.monotonic() + self.rng.uniform(3.0, 12.0))))

    def summary(self, run):
        removals = sum(run.figures(h).removals for h in self.bed.hosts)
        readds = sum(run.figures(h).readds for h in self.bed.hosts)
        events = sum(self.counts.values())
        by_kind = ", ".join(f"{k} {n}" for k, n in sorted(self.counts.items()))
        by_rule = ", ".join(f"{rule}: {n}" for rule, n in inv.summarize(run.violations))
        return "\n".join([
            f"soak: {self.seconds:g} s, seed {self.seed}, events from {', '.join(self.kinds)}",
            f"events: {events} ({by_kind or 'none'})",
            f"removals: {removals}",
            f"re-adds: {readds}",
            f"DNS changes: {inv.set_changes(run.committed)} "
            f"({run.changes_per_minute():.1f}/min)",
            f"invariant violations: {len(run.violations)}" + (f" ({by_rule})" if by_rule else ""),
            f"stray processes: {len(self.strays)}",
        ])


# --- command line: measure scenarios, run the soak ------------------------------

def main(argv):
    parser = argparse.ArgumentParser(description="The multi-host test bed, by hand.")
    sub = parser.add_subparsers(dest="command", required=True)
    measure = sub.add_parser("measure", help="run scenarios and print their figures")
    measure.add_argument("names", nargs="*", help=f"default: all of {', '.join(SCENARIOS)}")
    soak = sub.add_parser("soak", help="random events; prints the counts")
    soak.add_argument("--seconds", type=float, default=300)
    soak.add_argument("--events", default="handled",
                      help="handled, all, or a comma-separated list of "
                           f"{', '.join(EVENT_SETS['all'])}")
    soak.add_argument("--seed", type=int)
    for p in (measure, soak):
        p.add_argument("--hosts", type=int, default=5)
        p.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, through TestBed's cleanup.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    workdir = tempfile.mkdtemp(prefix="adf-testbed-")
    failed = False
    with TestBed(workdir, hosts=args.hosts, keep_workdir=args.keep) as bed:
        if args.command == "measure":
            for name in args.names or SCENARIOS:
                function, must = SCENARIOS[name]
                run = function(bed)
                print(run.report())
                print(f"  must hold: {must}")
                failed |= bool(run.violations)
        else:
            kinds = EVENT_SETS.get(args.events) or tuple(args.events.split(","))
            soaker = Soak(bed, args.seconds, kinds, args.seed)
            run = soaker.run()
            print(soaker.summary(run))
            if run.violations:
                print(run.report())
            failed = bool(run.violations or soaker.strays)
        bed.keep_workdir = args.keep or failed
    print(f"leaked processes: {len(bed.leaked)}; namespaces left: {len(bed.namespaces_left())}")
    if bed.keep_workdir:
        print(f"logs: {workdir}")
    return 1 if failed or bed.leaked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
