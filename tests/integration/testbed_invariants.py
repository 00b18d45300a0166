"""What the multi-host test bed asserts, separate from the namespaces and
processes that produce it, so that it runs in memory (test_testbed_invariants.py).

A Timeline is the record set as a monitor read it every 100 ms: Samples of
(monotonic time, frozenset of addresses), or None where the read failed (the
DNS server was down). Failed reads carry no information: they are skipped,
never taken for an empty set.

Expectations say what each host should be over a span of time:
  present(host, since, bound): from `since` on, the host is never absent
      from DNS for longer than `bound` at a stretch (absence counted from
      `since` at the earliest, so a host that has just come back has `bound`
      to re-add itself);
  absent(host, since, bound): from `since + bound` on, every read lacks it;
  free(host, since): no constraint (a host whose fate is the subject of a
      measurement, or a flapping service).
Each expectation holds until the host's next one. check() returns every
violation with its time and the rule it broke."""
import dataclasses
import math
from typing import FrozenSet, List, Optional, Sequence, Tuple


@dataclasses.dataclass(frozen=True)
class Sample:
    time: float
    members: Optional[FrozenSet[str]]  # None: the read failed


Timeline = Sequence[Sample]


@dataclasses.dataclass(frozen=True)
class Timing:
    """The daemons' timing (their config) and the supervisor's, and the
    bounds derived from them.

    `slack` covers what the config does not: the monitor's 0.1 s sampling, a
    check child's fork and exit, the DNS update's round trip, a daemon's
    start-up, and scheduling delay on a loaded 2-core machine (the test bed
    shares it with compilers). Measured at a load average of 10-11 on two
    cores: removals within 1.8 s (the config's part: 2.0 s), re-adds after a
    service restart within 1.3 s (config: 1.5 s), so 1.5 s of slack leaves
    room for a check child or a daemon start that the scheduler delays by
    as much again, without hiding a missed round (1 s)."""
    interval: float = 1.0
    timeout: float = 0.5
    retry: int = 2
    dns_timeout: float = 2.0           # the rfc2136 plugin's timeout per exchange
    self_check_failure_delay: float = 1.0
    restart_delay: float = 0.5         # the supervisor's RestartSec
    slack: float = 1.5
    # Removal by agreement (the daemons' "peers" section): rise, and a
    # damping shorter than the defaults so that a scenario's flapping
    # service is held out, and back, within a test's time. half_life 8 s:
    # a flap every 6 s (a service up 3 s, down 3 s) passes suppress at its
    # fourth flap (penalties 1000, 1595, 1948, 2158); outages 9 s apart or
    # more never do (their penalty settles below 1850), so one scenario
    # after another on the same host is not damped.
    rise: int = 2
    half_life: float = 8.0
    max_suppress: float = 20.0

    @property
    def detection(self):
        """A round that starts at most `interval` after the failure, whose
        `retry` attempts all fail after `timeout` each."""
        return self.interval + self.retry * self.timeout

    @property
    def confirmation(self):
        """The other observers' answers: ask_timeout "auto" (retry x timeout
        + 0.25 s) at most."""
        return self.retry * self.timeout + 0.25

    def removal_bound(self, rounds=1):
        """A dead host is gone from DNS within this long: the last observer
        to find it dead finds the others agreeing (their verdicts are
        stored), within the confirmation deadline. With
        max_removals_per_round 1, a second host dead at the same time may
        need a second round (which starts at once: the first ran late)."""
        return rounds * self.detection + self.confirmation + self.slack

    def removal_bound_after_dns_outage(self, rounds=1):
        """As removal_bound, counted from the DNS server's return, plus one
        read still waiting out its timeout when the server came back."""
        return self.dns_timeout + self.removal_bound(rounds)

    @property
    def agreed_back(self):
        """From a host's return until its peers see it alive (`rise` good
        checks in a row, a round apart) and its next round asks them."""
        return (self.rise + 1) * self.interval

    @property
    def readd_after_service_bound(self):
        """A host whose service comes back: its daemon may have just failed
        its self-check, so it waits self_check_failure_delay, exits 1, the
        supervisor waits restart_delay and starts it; meanwhile its peers
        see the service pass `rise` times, and its next round re-adds it."""
        return self.self_check_failure_delay + self.restart_delay + self.agreed_back + \
            self.slack

    @property
    def readd_after_network_bound(self):
        """A host whose network comes back: its daemon kept running; its
        peers see it pass `rise` times, and its next round (after a read
        still waiting out its timeout) asks them and adds it."""
        return self.agreed_back + self.dns_timeout + self.slack

    @property
    def readd_after_flapping_bound(self):
        """A flapping service, held out by damping: back once its penalty
        decays (at most max_suppress after the last flap), then as after a
        restart."""
        return self.max_suppress + self.readd_after_service_bound

    @property
    def healthy_absence_bound(self):
        """How long a healthy host may be missing: a daemon that finds its
        own record gone puts it back in its next round, its peers agreeing."""
        return self.interval + self.confirmation + self.slack


@dataclasses.dataclass(frozen=True)
class Expectation:
    host: str
    since: float
    kind: str            # "present", "absent" or "free"
    bound: float = 0.0
    why: str = ""


@dataclasses.dataclass(frozen=True)
class Violation:
    time: float
    host: Optional[str]
    rule: str
    detail: str
    cause: str = ""      # the broken expectation's why

    def __str__(self):
        who = f" {self.host}" if self.host else ""
        return f"t={self.time:.1f}{who}: {self.rule}: {self.detail}"


def known(timeline, start=-math.inf, end=math.inf):
    """The successful reads within [start, end)."""
    return [s for s in timeline if s.members is not None and start <= s.time < end]


def absences(timeline, host, start=-math.inf, end=math.inf):
    """[(from, to)]: stretches of successful reads in [start, end) that lack
    `host`, each from the first such read to the next read that has it (or
    to the last read of the span, when it never came back)."""
    out = []
    began = None
    reads = known(timeline, start, end)
    for sample in reads:
        if host in sample.members:
            if began is not None:
                out.append((began, sample.time))
                began = None
        elif began is None:
            began = sample.time
    if began is not None:
        out.append((began, reads[-1].time))
    return out


def presence_changes(states, host):
    """(removals, re-adds) of `host` in a sequence of sets (reads or the
    server's committed states): each change of its membership, not counting
    its first appearance."""
    removals = readds = 0
    previous = None
    for members in states:
        if members is None:
            continue
        now = host in members
        if previous is not None and now != previous:
            if now:
                readds += 1
            else:
                removals += 1
        previous = now
    return removals, readds


def set_changes(states):
    """How many times the set changed in a sequence of sets."""
    sets = [s for s in states if s is not None]
    return sum(1 for a, b in zip(sets, sets[1:]) if a != b)


def listed_fraction(timeline, host, start=-math.inf, end=math.inf):
    reads = known(timeline, start, end)
    return sum(host in s.members for s in reads) / len(reads) if reads else math.nan


def time_absent(timeline, host, start=-math.inf, end=math.inf):
    return sum(b - a for a, b in absences(timeline, host, start, end))


def first_change(timeline, host, since, present):
    """Seconds from `since` to the first successful read where the host's
    presence is `present` (None when no read after `since` shows it)."""
    for sample in known(timeline, since):
        if (host in sample.members) == present:
            return sample.time - since
    return None


def spans(expectations, end):
    """Each expectation with the time it ends: the host's next one, or `end`."""
    ordered = sorted(expectations, key=lambda e: e.since)
    out = []
    for i, e in enumerate(ordered):
        following = [n.since for n in ordered[i + 1:] if n.host == e.host]
        out.append((e, min(following) if following else end))
    return out


def check_never_empty(timeline, start=-math.inf, end=math.inf):
    return [Violation(s.time, None, "never empty", "the record set was empty")
            for s in known(timeline, start, end) if not s.members]


def check_minimum(timeline, minimum, start=-math.inf, end=math.inf):
    return [Violation(s.time, None, f"at least {minimum} listed",
                      f"only {len(s.members)}: {sorted(s.members)}")
            for s in known(timeline, start, end) if len(s.members) < minimum]


def check_present(timeline, e, until):
    out = []
    for a, b in absences(timeline, e.host, end=until):
        if b <= e.since:
            continue
        counted_from = max(a, e.since)
        if b - counted_from > e.bound:
            out.append(Violation(counted_from, e.host, "healthy host listed",
                                 f"absent {b - counted_from:.1f} s (bound {e.bound:.1f} s"
                                 f"{', ' + e.why if e.why else ''})", e.why))
    return out


def check_absent(timeline, e, until):
    late = [s for s in known(timeline, e.since + e.bound, until) if e.host in s.members]
    if not late:
        return []
    return [Violation(late[0].time, e.host, "dead host gone",
                      f"still listed {late[0].time - e.since:.1f} s after it died, in "
                      f"{len(late)} read(s) up to t={late[-1].time:.1f} (bound {e.bound:.1f} s"
                      f"{', ' + e.why if e.why else ''})", e.why)]


def check(timeline, expectations, start=-math.inf, end=math.inf):
    """Every violation of "never empty" and of `expectations` in [start, end)."""
    window = [s for s in timeline if start <= s.time < end]
    out = check_never_empty(window)
    last = window[-1].time + 1e-9 if window else end
    for e, until in spans(expectations, min(end, last)):
        if e.kind == "present":
            out += check_present(window, e, until)
        elif e.kind == "absent":
            out += check_absent(window, e, until)
    return sorted(out, key=lambda v: v.time)


@dataclasses.dataclass
class HostFigures:
    """What happened to one host in a span: the figures a scenario reports."""
    removals: int
    readds: int
    seconds_absent: float
    listed: float          # fraction of successful reads that listed it

    def __str__(self):
        return (f"{self.removals} removal(s), {self.readds} re-add(s), absent "
                f"{self.seconds_absent:.1f} s, listed in {self.listed:.0%} of reads")


def host_figures(timeline, host, start=-math.inf, end=math.inf, committed=None) -> HostFigures:
    """Figures for `host` over [start, end). Removals and re-adds come from
    `committed` (every state the server committed in the span) when given, which
    sees changes shorter than the sampling period; else from the reads."""
    states = committed if committed is not None else \
        [s.members for s in known(timeline, start, end)]
    removals, readds = presence_changes(states, host)
    return HostFigures(removals, readds, time_absent(timeline, host, start, end),
                       listed_fraction(timeline, host, start, end))


def per_minute(count, seconds):
    return count * 60.0 / seconds if seconds > 0 else math.nan


def summarize(violations: List[Violation]) -> List[Tuple[str, int]]:
    """[("rule (cause)", count)] in first-seen order."""
    counts = {}
    for v in violations:
        key = f"{v.rule} ({v.cause})" if v.cause else v.rule
        counts[key] = counts.get(key, 0) + 1
    return list(counts.items())
