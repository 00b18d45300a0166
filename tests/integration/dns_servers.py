"""Real authoritative DNS servers for the integration tests: BIND 9 (`named`)
and Knot DNS (`knotd`) on 127.0.0.1 (or `address`, e.g. "::1") and a free
high port, each in a directory of its own, serving one zone that takes RFC 2136 dynamic updates
(signed with a TSIG key, or by client address). Always stopped on exit.

    from dns_servers import bind_server, knot_server

    with bind_server(tmp_path, "example.test", ["www 60 IN A 192.0.2.1"]) as server:
        server.port, server.key_name, server.secret, server.key_algorithm
        server.dig("www.example.test", "A")          # {"192.0.2.1"}
        server.nsupdate("update add www.example.test 60 A 192.0.2.2")
        config = base_config(dns=server.plugin_config())   # the rfc2136 plugin's section

`records` are zone-file lines relative to the zone (after a generated SOA,
NS and ns1 A 127.0.0.1). `key`: True (a new hmac-sha256 key "ddns-key"), a
key name (a new hmac-sha256 key of that name), a TsigKey, or None (no key).
`allow_update`: "key" (updates signed with the key; the default), "address"
(unsigned updates from loopback) or "none" (no updates at all).

knot_server(tmp_path, zone_file=PATH, key=None, allow_update="none") serves
a zone file that something else writes (the zonefile plugin) as it is, and
server.reload_command is the knotc command that makes Knot read it again."""
import contextlib
import dataclasses
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import free_port, stop_process

STARTUP_TIMEOUT = 15.0


@dataclasses.dataclass(frozen=True)
class TsigKey:
    name: str
    secret: str
    algorithm: str = "hmac-sha256"


def generate_key(name="ddns-key", algorithm="hmac-sha256"):
    """A fresh TSIG key from BIND's tsig-keygen."""
    out = subprocess.run(["tsig-keygen", "-a", algorithm, name], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return TsigKey(name, re.search(r'secret "([^"]+)"', out).group(1), algorithm)


def generate_knot_key(name="ddns-key", algorithm="hmac-sha256"):
    """A fresh TSIG key from Knot's keymgr -t (the same format as tsig-keygen's)."""
    out = subprocess.run(["keymgr", "-t", name, algorithm], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return TsigKey(name, re.search(r"secret:\s*(\S+)", out).group(1), algorithm)


def _resolve_key(key, generate):
    if key is None or key is False:
        return None
    if key is True:
        return generate()
    if isinstance(key, str):
        return generate(key)
    return key


def zone_text(zone, records):
    lines = ["$TTL 300", f"$ORIGIN {zone}.",
             f"@ IN SOA ns1.{zone}. hostmaster.{zone}. ( 1 3600 600 86400 60 )",
             f"  IN NS ns1.{zone}.",
             "ns1 IN A 127.0.0.1"]
    return "\n".join(lines + list(records)) + "\n"


class DnsServer:
    """One running server. Attributes: kind ("bind" or "knot"), address,
    port, zone, key (TsigKey or None), directory, log_path."""

    def __init__(self, kind, directory, zone, key, address="127.0.0.1"):
        self.kind = kind
        self.address = address
        self.port = None
        self.zone = zone
        self.key = key
        self.directory = Path(directory)
        self.log_path = self.directory / f"{kind}.log"
        self.process = None
        self.reload_command = None  # knot: the command that reloads the zone file
        self._log_file = None

    @property
    def key_name(self):
        return self.key.name if self.key else None

    @property
    def secret(self):
        return self.key.secret if self.key else None

    @property
    def key_algorithm(self):
        return self.key.algorithm if self.key else None

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def plugin_config(self, **overrides):
        """The rfc2136 plugin's config section for this server."""
        config = {"plugin": "rfc2136", "server": self.address, "port": self.port,
                  "zone": self.zone}
        if self.key:
            config.update(key_name=self.key.name, key_secret=self.key.secret,
                          key_algorithm=self.key.algorithm)
        config.update(overrides)
        return {k: v for k, v in config.items() if v is not None}

    def dig(self, name, rdtype="A"):
        """The set of values `dig +short` prints for name/type (no recursion)."""
        result = subprocess.run(["dig", f"@{self.address}", "-p", str(self.port), name, rdtype,
                                 "+short", "+norecurse", "+time=2", "+tries=2"],
                                capture_output=True, text=True, timeout=15)
        assert result.returncode == 0, result.stdout + result.stderr
        return set(result.stdout.split())

    def query(self, name, rdtype="A", timeout=2.0):
        """The full answer (a dnspython Message) to a non-recursive query."""
        request = dns.message.make_query(name, rdtype)
        request.flags &= ~dns.flags.RD
        return dns.query.udp(request, self.address, port=self.port, timeout=timeout)

    def nsupdate(self, *commands, key=True, check=True):
        """Runs nsupdate with `commands` ("update add www.example.test 60 A
        192.0.2.9", "prereq ...") against this server, signed with the
        server's key unless key=False. Returns the CompletedProcess."""
        args = ["nsupdate", "-t", "5"]
        if key and self.key:
            args += ["-y", f"{self.key.algorithm}:{self.key.name}:{self.key.secret}"]
        script = "\n".join([f"server {self.address} {self.port}", f"zone {self.zone}",
                            *commands, "send", ""])
        result = subprocess.run(args, input=script, capture_output=True, text=True, timeout=30)
        if check:
            assert result.returncode == 0, f"nsupdate failed:\n{script}\n{result.stderr}"
        return result

    def journal_sets(self, name, rdtype="A", initial=()):
        """BIND only: the values of name/type after each update the server
        committed, replayed from its journal (named-journalprint), starting
        from `initial`: every state the set went through, not just the ones
        a poll happened to see. The first element is `initial`."""
        assert self.kind == "bind", "journal_sets reads BIND's journal"
        owner = name.rstrip(".").lower() + "."
        states = [frozenset(initial)]
        journals = list(self.directory.glob("*.jnl"))
        if not journals:
            return states
        out = subprocess.run(["named-journalprint", str(journals[0])], capture_output=True,
                             text=True, check=True, timeout=30).stdout
        current = set(initial)
        started = False
        for line in out.splitlines():
            fields = line.split()
            if len(fields) < 6:
                continue
            op, rr_name, rr_type, value = fields[0], fields[1].lower(), fields[4], fields[5]
            if rr_type == "SOA" and op == "del":  # a transaction begins
                if started:
                    states.append(frozenset(current))
                started = True
            elif rr_name == owner and rr_type == rdtype:
                (current.discard if op == "del" else current.add)(value)
        if started:
            states.append(frozenset(current))
        return states

    def start(self, argv):
        self._log_file = open(self.log_path, "a")
        self.process = subprocess.Popen(argv, stdout=self._log_file, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)

    def ready(self):
        """Serving the zone authoritatively?"""
        try:
            answer = self.query(self.zone, "SOA", timeout=0.2)
        except (OSError, dns.exception.Timeout):
            return False
        return answer.rcode() == dns.rcode.NOERROR and bool(answer.flags & dns.flags.AA)

    def wait_ready(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.ready():
                return True
            time.sleep(0.02)
        raise TimeoutError(f"{self.kind} did not serve {self.zone} within {STARTUP_TIMEOUT}s; "
                           f"log:\n{self.log()}")

    def launch(self, prepare):
        """Starts the server: prepare() writes its files for self.port and
        returns the command. Tried with up to three ports, since a port found
        free can be taken by someone else before the server binds it."""
        for _ in range(3):
            self.port = free_port(self.address)
            self.start(prepare())
            if self.wait_ready():
                return
            self.stop()
        raise RuntimeError(f"{self.kind} did not start; log:\n{self.log()}")

    @contextlib.contextmanager
    def running(self, prepare):
        """Launches the server (see launch), yields it, always stops it."""
        try:
            self.launch(prepare)
            yield self
        finally:
            self.stop()

    def stop(self):
        if self.process is not None:
            stop_process(self.process)
        if self._log_file:
            self._log_file.close()
            self._log_file = None


def _bind_conf(server, zone_file, allow_update):
    d = server.directory
    key_include = f'include "{d}/tsig.key";' if server.key else ""
    if allow_update == "key":
        assert server.key, "allow_update='key' needs a key"
        update = f'allow-update {{ key "{server.key.name}"; }};'
    elif allow_update == "address":
        update = "allow-update { 127.0.0.0/8; ::1; };"
    else:
        update = "allow-update { none; };"
    if ":" in server.address:
        listen = f"listen-on {{ none; }}; listen-on-v6 port {server.port} {{ {server.address}; }};"
    else:
        listen = f"listen-on port {server.port} {{ {server.address}; }}; listen-on-v6 {{ none; }};"
    return f"""{key_include}
options {{ directory "{d}"; pid-file "{d}/named.pid";
  {listen}
  recursion no; allow-query {{ any; }}; dnssec-validation no; notify no;
  session-keyfile "{d}/session.key"; managed-keys-directory "{d}"; }};
controls {{ }};
zone "{server.zone}" {{ type primary; file "{zone_file}"; {update} }};
"""


def _new_server(kind, program, tmp_path, zone, key, generate, address):
    """A DnsServer of `kind`, not started, in a new directory below
    `tmp_path`, its key resolved (see the module doc). Skips the test when
    `program` is not installed."""
    if not shutil.which(program):
        pytest.skip(f"{program} ({kind}) is not installed")
    directory = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=tmp_path))
    return DnsServer(kind, directory, zone, _resolve_key(key, generate), address)


def write_bind_files(server, records=(), allow_update="key"):
    """Writes a fresh zone (no journal), the TSIG key and named.conf for
    `server` (a DnsServer of kind "bind" whose port is chosen) into its
    directory; returns the command that runs BIND in the foreground."""
    directory = server.directory
    zone_file = directory / f"{server.zone}.db"
    zone_file.write_text(zone_text(server.zone, records))
    for stale in directory.glob("*.jnl"):
        stale.unlink()
    if server.key:
        (directory / "tsig.key").write_text(
            f'key "{server.key.name}" {{ algorithm {server.key.algorithm}; '
            f'secret "{server.key.secret}"; }};\n')
    (directory / "named.conf").write_text(_bind_conf(server, zone_file, allow_update))
    return ["named", "-g", "-c", str(directory / "named.conf")]


@contextlib.contextmanager
def bind_server(tmp_path, zone="example.test", records=(), key=True, allow_update="key",
                address="127.0.0.1"):
    """BIND 9 serving `zone` (see the module doc); yields a DnsServer."""
    server = _new_server("bind", "named", tmp_path, zone, key, generate_key, address)
    with server.running(lambda: write_bind_files(server, records, allow_update)):
        yield server


def _knot_conf(server, run_dir, zone_file, allow_update, journal):
    key_section = acl_section = zone_acl = ""
    if server.key:
        key_section = f"""key:
  - id: {server.key.name}
    algorithm: {server.key.algorithm}
    secret: {server.key.secret}
"""
    if allow_update == "key":
        assert server.key, "allow_update='key' needs a key"
        acl_section = f"""acl:
  - id: update
    key: {server.key.name}
    action: update
"""
    elif allow_update == "address":
        acl_section = """acl:
  - id: update
    address: [127.0.0.0/8, ::1]
    action: update
"""
    if acl_section:
        zone_acl = "    acl: update\n"
    return f"""server:
    rundir: "{run_dir}"
    listen: {server.address}@{server.port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "{run_dir}/knot.sock"
log:
  - target: stderr
    any: info
database:
    storage: "{run_dir}"
{key_section}{acl_section}template:
  - id: default
    storage: "{server.directory}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: {journal}
zone:
  - domain: {server.zone}
    file: "{zone_file}"
{zone_acl}"""


@contextlib.contextmanager
def knot_server(tmp_path, zone="example.test", records=(), key=True, allow_update="key",
                address="127.0.0.1", zone_file=None):
    """Knot DNS serving `zone` (see the module doc); yields a DnsServer.
    With `zone_file`, it serves that file as it is (`records` unused) and
    keeps no journal, so that server.reload_command reads the file again."""
    server = _new_server("knot", "knotd", tmp_path, zone, key, generate_knot_key, address)
    directory = server.directory
    # The control socket's path must fit in sun_path (108 bytes): keep the
    # run directory short, whatever tmp_path is.
    run_dir = Path(tempfile.mkdtemp(prefix="adf-knot-"))
    server.reload_command = ["knotc", "-s", str(run_dir / "knot.sock"), "-b", "zone-reload", zone]
    journal = "none" if zone_file else "changes"

    def prepare():
        served = zone_file or directory / f"{zone}.zone"
        if not zone_file:
            served.write_text(zone_text(zone, records))
        for stale in run_dir.iterdir():
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        (directory / "knot.conf").write_text(
            _knot_conf(server, run_dir, served, allow_update, journal))
        return ["knotd", "-c", str(directory / "knot.conf")]

    try:
        with server.running(prepare):
            yield server
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


SERVERS = {"bind": bind_server, "knot": knot_server}


def dns_server(kind, tmp_path, zone="example.test", records=(), key=True, allow_update="key",
               address="127.0.0.1"):
    """bind_server or knot_server by name ("bind", "knot")."""
    return SERVERS[kind](tmp_path, zone, records, key, allow_update, address)


def static_server(kind, tmp_path, zone="example.test", records=()):
    """A server of `kind` ("bind", "knot") serving fixed records: no key, no
    updates."""
    return dns_server(kind, tmp_path, zone, records, key=None, allow_update="none")
