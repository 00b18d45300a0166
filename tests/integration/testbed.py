"""A multi-host test bed: a pool of hosts, each a network namespace with a
service and an `autodnsfailover run` daemon under a supervisor, on one
bridge, keeping www.example.test on a real BIND through the rfc2136 plugin
with TSIG; a monitor reads the record set every 100 ms. Every address lives
inside the bed's own namespaces (198.18.0.0/24, the RFC 2544 benchmarking
range): the bridge sits in a namespace of its own, and nothing is added to
the machine's root namespace.

    with TestBed(workdir, hosts=5) as bed:     # built, every daemon running, pool complete
        bed.stop_service("h5")
        bed.timeline(start)                    # [Sample(time, frozenset(addresses) | None)]

Layout (namespaces are named <bed id>-<role>, the bed id adftb-<pid>-<hex>):
    sw    bridge br0, one veth end per host
    dns   eth0 198.18.0.53: named on port 53, and the monitor
    h1..  eth0 198.18.0.11..: adf-test-service on port 8080, the daemon

Impairments are methods (stop_service, link_down, route_unreachable,
one_way_loss, cut_from_peers, cut_off, stop_dns, flap_service, kill_daemon);
heal_all() undoes every one of them. Firewall rules are nftables tables in
the impaired host's own namespace, one table per impairment. close() (also
on an exception or Ctrl-C, through `with`) stops every process, kills and
counts whatever is left in the namespaces (`leaked`), deletes them, and
removes the work directory unless keep_workdir is set. A bed left behind by a
process that died is swept when the next one starts.

The daemons' logs are <workdir>/<host>.log (the supervisor's starts and
exits interleaved), BIND's <workdir>/bind-*/bind.log, the monitor's reads
<workdir>/monitor.txt."""
import atexit
import base64
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import BINARY, PLUGIN_DIR, TOOLS_DIR, in_netns, ip, stop_process, write_config
from dns_servers import DnsServer, generate_key, write_bind_files
from testbed_invariants import Sample, Timing

SUBNET = "198.18.0"
PREFIX_LENGTH = 24
DNS_ADDRESS = f"{SUBNET}.53"
ZONE = "example.test"
FQDN = f"www.{ZONE}"
SERVICE_PORT = 8080
NAMESPACE_PREFIX = "adftb-"
MONITOR = Path(__file__).with_name("testbed_monitor.py")
MONITOR_PERIOD = 0.1


def stamp():
    """Wall clock as the daemons log it, and the monotonic time of the
    monitor's reads, for lining up the logs with the timeline."""
    now = time.time()
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) +
            f".{int(now % 1 * 1000):03d}Z t={time.monotonic():.3f}")


def run_in(netns, *command, stdin=None, check=True):
    """Runs `command` inside `netns`; a failure raises with its stderr."""
    result = subprocess.run(in_netns(netns, *map(str, command)), input=stdin, text=True,
                            capture_output=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} in {netns} failed: "
                           f"{result.stderr.strip()}")
    return result


def namespace_pids(netns):
    result = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True,
                            timeout=10)
    return [int(p) for p in result.stdout.split()]


def command_line(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


def parent_pid(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def kill_namespace(netns):
    """Kills whatever still runs in `netns` and deletes it; returns
    [(pid, command line)] of what had to be killed."""
    killed = []
    for pid in namespace_pids(netns):
        killed.append((pid, command_line(pid)))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    subprocess.run(["ip", "netns", "del", netns], capture_output=True, timeout=10)
    return killed


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def our_namespaces():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                         timeout=10).stdout
    return [line.split()[0] for line in out.splitlines()
            if line.startswith(NAMESPACE_PREFIX)]


def sweep_orphans():
    """Deletes the namespaces (and what runs in them) of beds whose process
    is gone: a test run killed with SIGKILL cannot clean up after itself."""
    for netns in our_namespaces():
        owner = netns[len(NAMESPACE_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not alive(int(owner)):
            kill_namespace(netns)


class Supervisor:
    """Keeps one daemon running as systemd's Restart=on-failure with
    RestartPreventExitStatus=2 would (etc/autodnsfailover.service): after an
    exit 1 (failed self-check) or a death by a signal it starts it again
    `delay` seconds later; after 0 or 2 it gives up. Each start and exit is
    appended to the daemon's log and kept in `starts` / `exits`."""

    def __init__(self, argv, log_path, delay):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.delay = delay
        self.starts = []
        self.exits = []          # [(time, returncode)]; a signal is -N
        self._process = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, daemon=True,
                                        name=f"supervisor {self.log_path.stem}")

    def start(self):
        self._thread.start()

    def _launch(self, log):
        with self._lock:
            if self._stopping.is_set():
                return None
            log.write(f"--- supervisor {stamp()}: starting the daemon\n")
            log.flush()
            self._process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
            self.starts.append(time.monotonic())
            return self._process

    def _supervise(self):
        with open(self.log_path, "a") as log:
            while True:
                process = self._launch(log)
                if process is None:
                    return
                code = process.wait()
                self.exits.append((time.monotonic(), code))
                log.write(f"--- supervisor {stamp()}: the daemon exited with {code}\n")
                log.flush()
                if self._stopping.is_set() or code in (0, 2):
                    return
                self._stopping.wait(self.delay)

    @property
    def pid(self):
        with self._lock:
            return self._process.pid if self._process and self._process.poll() is None else None

    def send_signal(self, sig):
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                return False
            self._process.send_signal(sig)
            return True

    def gave_up(self):
        return not self._thread.is_alive() and not self._stopping.is_set()

    def stop(self):
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None:
            stop_process(process)
        self._thread.join(timeout=20)


class Host:
    def __init__(self, bed, index):
        self.name = f"h{index}"
        self.address = f"{SUBNET}.{10 + index}"
        self.netns = f"{bed.id}-{self.name}"
        self.config_path = bed.workdir / f"{self.name}.json"
        self.log_path = bed.workdir / f"{self.name}.log"
        self.service = None
        self.supervisor = None

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Flapper:
    """Stops and starts one host's service every `period` seconds until stop()."""

    def __init__(self, bed, host, period):
        self._bed, self._host, self._period = bed, host, period
        self._stopping = threading.Event()
        self.toggles = 0
        self._thread = threading.Thread(target=self._flap, daemon=True)
        self._thread.start()

    def _flap(self):
        while not self._stopping.wait(self._period):
            if self._bed.service_running(self._host):
                self._bed.stop_service(self._host)
            else:
                self._bed.start_service(self._host)
            self.toggles += 1

    def stop(self):
        """Stops flapping and leaves the service running."""
        self._stopping.set()
        self._thread.join(timeout=20)
        self._bed.start_service(self._host)


class TestBed:
    """See the module doc. `timing` is the daemons' timer and safety config
    and the supervisor's delay; `log_level` the daemons' logging.level."""
    __test__ = False  # not a pytest test class

    def __init__(self, workdir, hosts=5, timing=Timing(), log_level="info",
                 keep_workdir=True):
        self.id = f"{NAMESPACE_PREFIX}{os.getpid()}-{secrets.token_hex(2)}"
        self.workdir = Path(workdir)
        self.timing = timing
        self.log_level = log_level
        self.keep_workdir = keep_workdir
        self.hosts = {h.name: h for h in (Host(self, i) for i in range(1, hosts + 1))}
        self.switch_netns = f"{self.id}-sw"
        self.dns_netns = f"{self.id}-dns"
        self.dns = None
        self.monitor = None
        self.monitor_path = self.workdir / "monitor.txt"
        self.pool_key_path = self.workdir / "pool.key"
        self.leaked = []           # [(netns, pid, command line)] found by close()
        self._routes = set()       # (host, peer, kind) added by route_unreachable
        self._links_down = set()
        self._flappers = {}
        self._service_lock = threading.Lock()
        self._timeline = []
        self._timeline_offset = 0
        self._closed = False

    # --- building and tearing down -----------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise PermissionError("the test bed needs root and iproute2")
        for program in ("named", "nft", "dig"):
            if shutil.which(program) is None:
                raise FileNotFoundError(f"the test bed needs {program} (make deps-test)")
        sweep_orphans()
        self.workdir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.close)
        self._write_pool_key()
        self._build_network()
        self._start_dns()
        self._start_monitor()
        for host in self.hosts.values():
            self.start_service(host.name)
        for host in self.hosts.values():
            self._start_daemon(host)
        self.wait_converged(timeout=30)

    def _namespaces(self):
        return [self.switch_netns, self.dns_netns] + [h.netns for h in self.hosts.values()]

    def _build_network(self):
        ip("netns", "add", self.switch_netns)
        ip("-n", self.switch_netns, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch_netns, "link", "set", "br0", "up")
        self._attach(self.dns_netns, "dns", DNS_ADDRESS)
        for host in self.hosts.values():
            self._attach(host.netns, host.name, host.address)

    def _attach(self, netns, port_name, address):
        """A namespace with eth0 at `address`, cabled to the bridge's `port_name`."""
        ip("netns", "add", netns)
        ip("-n", self.switch_netns, "link", "add", port_name, "type", "veth", "peer", "name",
           "eth0", "netns", netns)
        ip("-n", self.switch_netns, "link", "set", port_name, "master", "br0", "up")
        ip("-n", netns, "addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", "eth0")
        ip("-n", netns, "link", "set", "eth0", "up")
        ip("-n", netns, "link", "set", "lo", "up")

    def _start_dns(self):
        directory = self.workdir / "bind"
        directory.mkdir(exist_ok=True)
        self.dns = DnsServer("bind", directory, ZONE, generate_key(), address=DNS_ADDRESS)
        self.dns.port = 53
        self._named_command = in_netns(self.dns_netns, *write_bind_files(self.dns))
        # The journal is the exact record of every committed state (the
        # figures count removals from it): BIND must never trim it, however
        # long a soak runs.
        conf = directory / "named.conf"
        conf.write_text(conf.read_text().replace("options {",
                                                 "options { max-journal-size unlimited;", 1))
        self.start_dns()

    def _start_monitor(self):
        self._monitor_log = open(self.workdir / "monitor.log", "a")
        self.monitor = subprocess.Popen(
            in_netns(self.dns_netns, sys.executable, MONITOR, "--server", DNS_ADDRESS,
                     "--port", "53", "--name", FQDN, "--out", self.monitor_path,
                     "--period", str(MONITOR_PERIOD)),
            stdout=self._monitor_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def daemon_config(self, host):
        t = self.timing
        return {
            "fqdn": FQDN,
            "plugin_dirs": [str(PLUGIN_DIR)],
            "ipaddr": {"plugin": "static", "address": host.address},
            "dns": self.dns.plugin_config(timeout=t.dns_timeout),
            "check": {"plugin": "tcp-check", "port": SERVICE_PORT},
            "timer": {"plugin": "fixed-interval", "interval": t.interval, "timeout": t.timeout,
                      "retry": t.retry},
            "safety": {"self_check_failure_delay": t.self_check_failure_delay},
            "families": [4],
            "logging": {"level": self.log_level},
            "peers": {"key": {"file": str(self.pool_key_path)}, "rise": t.rise,
                      "damping": {"half_life": t.half_life, "max_suppress": t.max_suppress}},
        }

    def _write_pool_key(self):
        """The pool's shared key, as `openssl rand -base64 32` makes one."""
        self.pool_key_path.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
        self.pool_key_path.chmod(0o600)

    def _start_daemon(self, host):
        write_config(host.config_path, self.daemon_config(host))
        host.supervisor = Supervisor(in_netns(host.netns, BINARY, "run", "-c", host.config_path),
                                     host.log_path, self.timing.restart_delay)
        host.supervisor.start()

    def close(self):
        """Stops everything, counts and kills leftovers, deletes the
        namespaces. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        for flapper in self._flappers.values():
            flapper._stopping.set()
        for host in self.hosts.values():
            if host.supervisor:
                host.supervisor.stop()
        for host in self.hosts.values():
            if host.service:
                stop_process(host.service)
        if self.monitor:
            stop_process(self.monitor)
            self._monitor_log.close()
        if self.dns:
            self.dns.stop()
        self.leaked = self._leftovers()
        for netns in self._namespaces():
            kill_namespace(netns)
        if not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _leftovers(self, grace=3.0):
        """Processes still in the bed's namespaces after every orderly stop,
        given `grace` seconds to finish (a check child of a killed daemon
        ends at its own timeout)."""
        deadline = time.monotonic() + grace
        while True:
            left = [(netns, pid, command_line(pid)) for netns in self._namespaces()
                    for pid in namespace_pids(netns)]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def _known_pids(self):
        """The processes the bed started itself and is running now."""
        processes = [self.monitor, self.dns.process] + [h.service for h in self.hosts.values()]
        pids = {p.pid for p in processes if p is not None and p.poll() is None}
        return pids | {h.supervisor.pid for h in self.hosts.values() if h.supervisor.pid}

    def stray_processes(self, grace=None):
        """Processes in the bed's namespaces that are neither one the bed
        started nor a daemon's check child, still there after `grace`
        seconds (default: one check's retry x timeout, plus one second); a
        SIGKILLed daemon's children must end at their own timeout."""
        grace = self.timing.retry * self.timing.timeout + 1.0 if grace is None else grace
        deadline = time.monotonic() + grace
        while True:
            known = self._known_pids()
            strays = [(netns, pid, command_line(pid)) for netns in self._namespaces()
                      for pid in namespace_pids(netns)
                      if pid not in known and parent_pid(pid) not in known]
            if not strays or time.monotonic() > deadline:
                return strays
            time.sleep(0.1)

    def namespaces_left(self):
        """The bed's namespaces that still exist (after close(): none)."""
        mine = set(self._namespaces())
        return [n for n in our_namespaces() if n in mine]

    # --- observing ----------------------------------------------------------

    def timeline(self, start=None, end=None):
        """The monitor's reads so far, within [start, end) when given."""
        if self.monitor_path.exists():
            with open(self.monitor_path) as f:
                f.seek(self._timeline_offset)
                chunk = f.read()
            complete = chunk[:chunk.rfind("\n") + 1]
            self._timeline_offset += len(complete.encode())
            for line in complete.splitlines():
                stamp, status, *rest = line.split(" ", 2)
                members = frozenset(a for a in (rest[0] if rest else "").split(",") if a) \
                    if status == "ok" else None
                self._timeline.append(Sample(float(stamp), members))
        return [s for s in self._timeline
                if (start is None or s.time >= start) and (end is None or s.time < end)]

    def addresses(self, *names):
        return frozenset(self.hosts[n].address for n in names)

    @property
    def everyone(self):
        return self.addresses(*self.hosts)

    def name_of(self, address):
        return next(h.name for h in self.hosts.values() if h.address == address)

    def wait_for(self, predicate, timeout, stable=0.0, what="condition"):
        """Waits until the monitor's reads satisfy predicate(members) without
        a break for `stable` seconds; returns the time it first held."""
        deadline = time.monotonic() + timeout
        held_since = None
        seen = time.monotonic() - MONITOR_PERIOD
        while time.monotonic() < deadline:
            for sample in self.timeline(start=seen):
                seen = sample.time + 1e-6
                if sample.members is not None and predicate(sample.members):
                    held_since = held_since or sample.time
                    if sample.time - held_since >= stable:
                        return held_since
                else:
                    held_since = None
            time.sleep(MONITOR_PERIOD)
        last = self.timeline()[-1:] or ["no read at all"]
        raise AssertionError(f"{what} not reached within {timeout} s; last read: {last[0]}; "
                             f"logs in {self.workdir}")

    def wait_converged(self, timeout=20.0):
        """Until every host is listed, steadily for two intervals, and every
        daemon runs."""
        def settled(members):
            return members == self.everyone and all(h.supervisor.pid for h in self.hosts.values())
        for host in self.hosts.values():
            if host.supervisor.gave_up():
                raise AssertionError(f"the daemon of {host.name} exited with "
                                     f"{host.supervisor.exits[-1][1]}:\n{host.log()[-3000:]}")
        return self.wait_for(settled, timeout, stable=2 * self.timing.interval,
                             what="every host listed")

    def committed_states(self):
        """Every state of the set BIND committed, from its journal."""
        return self.dns.journal_sets(FQDN)

    # --- impairments --------------------------------------------------------

    def service_running(self, name):
        host = self.hosts[name]
        return host.service is not None and host.service.poll() is None

    def start_service(self, name):
        with self._service_lock:
            host = self.hosts[name]
            if self.service_running(name):
                return
            host.service = subprocess.Popen(
                in_netns(host.netns, TOOLS_DIR / "adf-test-service", "--listen",
                         f"{host.address}:{SERVICE_PORT}"),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while not self._listening(host):
                if time.monotonic() > deadline or host.service.poll() is not None:
                    raise RuntimeError(f"the service of {name} does not listen")
                time.sleep(0.02)

    @staticmethod
    def _listening(host):
        out = subprocess.run(["ss", "-N", host.netns, "-Hltn", f"sport = :{SERVICE_PORT}"],
                             capture_output=True, text=True, timeout=10).stdout
        return bool(out.strip())

    def stop_service(self, name):
        with self._service_lock:
            host = self.hosts[name]
            if host.service is not None:
                stop_process(host.service)

    def flap_service(self, name, period):
        """Stops and starts the service every `period` s until stop_flapping()."""
        self._flappers[name] = Flapper(self, name, period)

    def stop_flapping(self, name):
        self._flappers.pop(name).stop()

    def _netns_of(self, name):
        return self.dns_netns if name == "dns" else self.hosts[name].netns

    def link_down(self, name):
        """Takes eth0 down inside host `name` ("dns" for the DNS server): the
        host goes silent and cannot reach anyone, yet still reaches itself."""
        ip("-n", self._netns_of(name), "link", "set", "eth0", "down")
        self._links_down.add(name)

    def link_up(self, name):
        ip("-n", self._netns_of(name), "link", "set", "eth0", "up")
        self._links_down.discard(name)

    def route_unreachable(self, observer, peer, kind="unreachable"):
        """A broken route on `observer` only: its packets to `peer` fail
        (`kind`: unreachable, blackhole or prohibit); everyone else reaches it."""
        ip("-n", self.hosts[observer].netns, "route", "add", kind,
           f"{self.hosts[peer].address}/32")
        self._routes.add((observer, peer, kind))

    def route_restore(self, observer, peer, kind="unreachable"):
        ip("-n", self.hosts[observer].netns, "route", "del", kind,
           f"{self.hosts[peer].address}/32")
        self._routes.discard((observer, peer, kind))

    def _firewall(self, name, table, rules):
        """Adds nftables table `table` with `rules` (chain bodies by hook) in
        host `name`."""
        chains = "".join(
            f"  chain {hook} {{ type filter hook {hook} priority 0; policy accept;\n"
            f"    {body}\n  }}\n" for hook, body in rules.items())
        run_in(self.hosts[name].netns, "nft", "-f", "-",
               stdin=f"table inet {table} {{\n{chains}}}\n")

    def firewall_heal(self, name, table):
        run_in(self.hosts[name].netns, "nft", "delete", "table", "inet", table)

    def one_way_loss(self, observer, peer, percent=100):
        """Drops `percent` % of the packets `peer` sends to `observer`, on the
        observer only (its probes arrive; the answers are lost). Table
        name: loss_<peer>."""
        address = self.hosts[peer].address
        sample = "" if percent >= 100 else f"numgen random mod 100 < {int(percent)} "
        self._firewall(observer, f"loss_{peer}", {"input": f"ip saddr {address} {sample}drop"})

    def cut_from_peers(self, name):
        """Host `name` can no longer talk to the other hosts, but still to
        itself and to the DNS server. Table name: cut_peers."""
        peers = ", ".join(h.address for h in self.hosts.values() if h.name != name)
        self._firewall(name, "cut_peers", {"input": f"ip saddr {{ {peers} }} drop",
                                           "output": f"ip daddr {{ {peers} }} drop"})

    def cut_off(self, name):
        """Host `name` can talk to nobody but itself (a firewall, not a link
        down: its packets are dropped, not refused). Table name: cut_off."""
        self._firewall(name, "cut_off", {"input": 'iifname != "lo" drop',
                                         "output": 'oifname != "lo" drop'})

    def stop_dns(self):
        """Stops named; start_dns() brings it back with its zone and journal."""
        self.dns.stop()

    def start_dns(self):
        if self.dns.process is not None and self.dns.process.poll() is None:
            return
        self.dns.start(self._named_command)
        deadline = time.monotonic() + 20
        while not self._dns_ready():
            if time.monotonic() > deadline or self.dns.process.poll() is not None:
                raise RuntimeError(f"named did not start:\n{self.dns.log()[-3000:]}")
            time.sleep(0.1)

    def _dns_ready(self):
        out = run_in(self.dns_netns, "dig", f"@{DNS_ADDRESS}", ZONE, "SOA", "+norecurse",
                     "+short", "+time=1", "+tries=1", check=False).stdout
        return bool(out.strip())

    def kill_daemon(self, name, sig=signal.SIGKILL):
        """Sends `sig` to host `name`'s daemon (the supervisor restarts it)."""
        if not self.hosts[name].supervisor.send_signal(sig):
            raise RuntimeError(f"the daemon of {name} is not running")

    def heal_all(self):
        """Undoes every impairment: flapping stopped, services and named
        running, links up, routes and firewall tables removed."""
        for name in list(self._flappers):
            self.stop_flapping(name)
        self.start_dns()
        for name in list(self._links_down):
            self.link_up(name)
        for route in list(self._routes):
            self.route_restore(*route)
        for host in self.hosts.values():
            run_in(host.netns, "nft", "flush", "ruleset")
            self.start_service(host.name)

    def reset(self, timeout=30.0):
        """heal_all(), then wait until the pool is complete and steady;
        returns the time from which a scenario's reads count."""
        self.heal_all()
        self.wait_converged(timeout)
        return time.monotonic()
