"""The test bed's monitor: reads one name's A records from an authoritative
server every PERIOD seconds and appends one line per read to OUT:

    MONOTONIC_TIME ok ADDRESS,ADDRESS,...     (nothing after "ok": no records)
    MONOTONIC_TIME err REASON

CLOCK_MONOTONIC is the machine's, so the test process can line these times
up with its own events. Run inside the DNS server's network namespace (so
that it still sees the server while the server's link is down) by
testbed.py; stops on SIGTERM or SIGINT.

    testbed_monitor.py --server ADDRESS --port N --name FQDN --out FILE [--period S]"""
import argparse
import signal
import sys
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

stopping = False


def stop(*_):
    global stopping
    stopping = True


def read_once(name, server, port, timeout):
    """'ok a,b,c' or 'err REASON' for one non-recursive query."""
    request = dns.message.make_query(name, "A")
    request.flags &= ~dns.flags.RD
    try:
        answer = dns.query.udp(request, server, port=port, timeout=timeout)
    except (OSError, dns.exception.DNSException) as error:
        return f"err {type(error).__name__}: {error}".replace("\n", " ")
    if answer.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return f"err rcode {dns.rcode.to_text(answer.rcode())}"
    if not answer.flags & dns.flags.AA:
        return "err answer not authoritative"
    addresses = sorted(rdata.address for rrset in answer.answer
                       if rrset.rdtype == dns.rdatatype.A for rdata in rrset)
    return "ok " + ",".join(addresses)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--port", type=int, default=53)
    parser.add_argument("--name", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--period", type=float, default=0.1)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(args.out, "a", buffering=1) as out:
        tick = time.monotonic()
        while not stopping:
            line = read_once(args.name, args.server, args.port, timeout=args.period * 2)
            # Stamped when the answer came: a change is never seen earlier
            # than it was.
            out.write(f"{time.monotonic():.3f} {line}\n")
            # Stay on the 100 ms grid; a late read (a loaded machine) is
            # followed at once by the next, not by a burst.
            tick = max(tick + args.period, time.monotonic())
            time.sleep(max(0.0, tick - time.monotonic()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
