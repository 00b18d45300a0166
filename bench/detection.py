#!/usr/bin/python3
"""Detection time on the multi-host test bed (tests/integration/testbed.py):
five hosts in network namespaces, real BIND through rfc2136, the daemons
deciding together (1 s interval, 0.5 s timeout, 2 attempts, ask_timeout
"auto" = 1.25 s). A service is stopped, or a host's link taken down, on a
complete pool, `--runs` times each (the impaired host taken in turn among
h2..h5, so that no host flaps often enough to be damped), and the time from
the impairment to the first read of the set without the host is reported
as p50 / p95 / max next to the bound the config gives (interval + retry x
timeout + the confirmation deadline), with the time back after the heal.

    ADF_BUILD_DIR=build bench/detection.py [--runs 10]      (as root; make bench)
"""
import argparse
import math
import os
import signal
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

import testbed_scenarios as scenarios  # noqa: E402
from testbed import TestBed  # noqa: E402

KINDS = {
    "service stop": scenarios.ServiceStop,
    "silent host (link down)": scenarios.LinkDown,
}
HOSTS = ("h2", "h3", "h4", "h5")


def percentile(values, fraction):
    """The nearest-rank percentile of `values` (sorted inside)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def line(name, values):
    if not values:
        return f"  {name:<28} no run finished"
    return (f"  {name:<28} p50 {statistics.median(values):5.2f} s   "
            f"p95 {percentile(values, 0.95):5.2f} s   max {max(values):5.2f} s   "
            f"({len(values)} runs)")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each kind (default 10)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/detection.py: the test bed needs root (network namespaces); skipped")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    workdir = tempfile.mkdtemp(prefix="adf-detection-")
    failed = False
    with TestBed(workdir, keep_workdir=False) as bed:
        t = bed.timing
        print(f"detection on the test bed: interval {t.interval:g} s, timeout {t.timeout:g} s, "
              f"retry {t.retry}, confirmation deadline {t.confirmation:g} s; bound "
              f"{t.detection + t.confirmation:g} s (+ {t.slack:g} s slack in the tests)")
        for kind, event in KINDS.items():
            removed, back = [], []
            for i in range(args.runs):
                run = scenarios.single_impairment(bed, kind, event(HOSTS[i % len(HOSTS)]))
                failed |= bool(run.violations)
                for values, key in ((removed, "removed after s"), (back, "back after s")):
                    if not math.isnan(run.measured[key]):
                        values.append(run.measured[key])
            print(kind)
            print(line("removed after", removed))
            print(line("back after the heal", back))
        bed.keep_workdir = failed
    if failed:
        print(f"invariant violations seen; logs kept in {workdir}")
    return 1 if failed or bed.leaked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
