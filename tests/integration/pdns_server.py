"""A real PowerDNS Authoritative server (pdns_server with the gsqlite3
backend) on loopback for the powerdns plugin's tests, and a small recording
proxy to put in front of its HTTP API.

    server = PdnsServer(tmp_dir).start()      # DNS and webserver on free ports
    server.create_zone("example.test")
    server.set_rrset("www.example.test", "A", ["192.0.2.1"], ttl=60)
    server.served("www.example.test", "A")    # what `dig` gets back
    server.stop()

The proxy forwards every request to the server, logs it, and can run a hook
just before forwarding the n-th request of a method (to change the zone
"behind the plugin's back") or answer a request itself with an error."""
import http.client
import json
import sqlite3
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conftest import free_port, wait_for_port
from fixtures_common import stop_process

SCHEMA = Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")
API_KEY = "pdns-api-key-never-logged"


class PdnsServer:
    def __init__(self, directory, api_key=API_KEY, server_id="localhost"):
        self.directory = Path(directory)
        self.api_key = api_key
        self.server_id = server_id
        self.dns_port = free_port()
        self.web_port = free_port()
        self.process = None
        self._log = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.web_port}"

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "sockets").mkdir(exist_ok=True)
        database = self.directory / "pdns.sqlite3"
        with sqlite3.connect(database) as db:
            db.executescript(SCHEMA.read_text())
        settings = {
            "launch": "gsqlite3",
            "gsqlite3-database": database,
            "local-address": "127.0.0.1",
            "local-port": self.dns_port,
            "webserver": "yes",
            "webserver-address": "127.0.0.1",
            "webserver-port": self.web_port,
            "webserver-allow-from": "127.0.0.0/8",
            "api": "yes",
            "api-key": self.api_key,
            "daemon": "no",
            "guardian": "no",
            "socket-dir": self.directory / "sockets",
            "security-poll-suffix": "",
            # Answers straight from the database, so dig sees each change.
            "cache-ttl": 0,
            "query-cache-ttl": 0,
            "negquery-cache-ttl": 0,
        }
        (self.directory / "pdns.conf").write_text(
            "".join(f"{key}={value}\n" for key, value in settings.items()))
        self._log = open(self.directory / "pdns.log", "w")
        self.process = subprocess.Popen(
            ["pdns_server", f"--config-dir={self.directory}"], cwd=self.directory,
            stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", self.web_port)
            wait_for_port("127.0.0.1", self.dns_port)
        except TimeoutError:
            self.stop()
            raise RuntimeError("pdns_server did not start:\n" + self.log())
        return self

    def stop(self):
        if self.process is not None:
            stop_process(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self):
        path = self.directory / "pdns.log"
        return path.read_text() if path.exists() else ""

    # --- the HTTP API, used directly (not through the proxy) ---

    def api(self, method, path, body=None, api_key=None):
        """One API request below /api/v1/servers/<id>; returns (status, JSON or text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=10)
        try:
            headers = {"X-API-Key": api_key or self.api_key, "Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body)
                headers["Content-Type"] = "application/json"
            connection.request(method, f"/api/v1/servers/{self.server_id}{path}", body=data,
                               headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode()
            try:
                return answer.status, json.loads(text) if text else None
            except json.JSONDecodeError:
                return answer.status, text
        finally:
            connection.close()

    def create_zone(self, name):
        status, body = self.api("POST", "/zones", {
            "name": absolute(name), "kind": "Native", "nameservers": [f"ns1.{absolute(name)}"]})
        assert status == 201, body

    def delete_zone(self, name):
        status, body = self.api("DELETE", f"/zones/{absolute(name)}")
        assert status in (204, 404), body

    def zone(self, name):
        status, body = self.api("GET", f"/zones/{absolute(name)}")
        assert status == 200, body
        return body

    def rrset(self, zone, name, rtype):
        """The RRset of `name` and `rtype` as the API lists it, or None."""
        for rrset in self.zone(zone)["rrsets"]:
            if rrset["name"] == absolute(name) and rrset["type"] == rtype:
                return rrset
        return None

    def set_rrset(self, zone, name, rtype, contents, ttl=60, disabled=(), comments=None):
        """Replaces an RRset; `disabled` lists contents to store disabled."""
        records = [{"content": c, "disabled": c in disabled} for c in contents]
        rrset = {"name": absolute(name), "type": rtype, "ttl": ttl, "changetype": "REPLACE",
                 "records": records}
        if comments is not None:
            rrset["comments"] = comments
        status, body = self.api("PATCH", f"/zones/{absolute(zone)}", {"rrsets": [rrset]})
        assert status == 204, body

    def served(self, name, rtype):
        """The sorted addresses pdns answers for `name` over DNS (dig)."""
        out = subprocess.run(
            ["dig", "@127.0.0.1", "-p", str(self.dns_port), "+short", "+norecurse", "+time=2",
             "+tries=1", name, rtype], capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, out.stdout + out.stderr
        return sorted(line for line in out.stdout.split())

    def ttl_served(self, name, rtype):
        out = subprocess.run(
            ["dig", "@127.0.0.1", "-p", str(self.dns_port), "+noall", "+answer", "+time=2",
             "+tries=1", name, rtype], capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, out.stdout + out.stderr
        return sorted({int(line.split()[1]) for line in out.stdout.splitlines() if line})


def absolute(name):
    return name if name.endswith(".") else name + "."


def encoded(body):
    """An answer body: a str as it is, anything else as JSON."""
    return (body if isinstance(body, str) else json.dumps(body)).encode()


class RecordingProxy:
    """Forwards HTTP requests to 127.0.0.1:`target_port` and logs each one
    (method, path, body, status). Hooks:
      before(method, nth, action): run action() just before forwarding the
        nth request of `method` (1-based), once;
      answer_next(method, status, body): answer the next such request itself
        (body: JSON-able, or a str sent as it is);
      rewrite(method, change): pass every answer to a request of `method`
        through change(decoded JSON) -> JSON-able or str, until rewrite(method, None)."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.requests = []
        self._hooks = []
        self._canned = []
        self._rewrites = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def before(self, method, nth, action):
        with self._lock:
            self._hooks.append({"method": method, "nth": nth, "action": action})

    def answer_next(self, method, status, body):
        with self._lock:
            self._canned.append({"method": method, "status": status, "body": body})

    def rewrite(self, method, change):
        with self._lock:
            if change is None:
                self._rewrites.pop(method, None)
            else:
                self._rewrites[method] = change

    def methods(self):
        return [r["method"] for r in self.requests]

    def _take(self, method):
        """The hook due for this request and a canned answer for it, if any."""
        with self._lock:
            count = sum(1 for r in self.requests if r["method"] == method)
            hook = next((h for h in self._hooks
                         if h["method"] == method and h["nth"] == count), None)
            if hook:
                self._hooks.remove(hook)
            canned = next((c for c in self._canned if c["method"] == method), None)
            if canned:
                self._canned.remove(canned)
            return hook, canned

    def _forward(self, method, path, headers, body):
        connection = http.client.HTTPConnection("127.0.0.1", self.target_port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.getheader("Content-Type", ""), answer.read()
        finally:
            connection.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                entry = {"method": self.command, "path": self.path,
                         "body": body.decode() if body else None,
                         "api_key": self.headers.get("X-API-Key"), "at": time.monotonic()}
                with proxy._lock:
                    proxy.requests.append(entry)
                hook, canned = proxy._take(self.command)
                if hook:
                    hook["action"]()
                if canned:
                    status, content_type = canned["status"], "application/json"
                    data = encoded(canned["body"])
                else:
                    headers = {name: value for name, value in self.headers.items()
                               if name.lower() in ("x-api-key", "content-type", "accept")}
                    status, content_type, data = proxy._forward(self.command, self.path,
                                                                headers, body)
                    with proxy._lock:
                        change = proxy._rewrites.get(self.command)
                    if change and data:
                        data = encoded(change(json.loads(data)))
                entry["status"] = status
                if status == 204:
                    data = b""
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _relay

        return Handler
