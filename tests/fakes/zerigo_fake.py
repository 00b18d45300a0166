#!/usr/bin/env python3
"""A faithful fake of the Zerigo DNS API 1.1 (the service no longer exists).

It serves, under /api/1.1/, with HTTP Basic auth (user = account e-mail,
password = API key) and XML in and out:

  GET    zones.xml                    the zones
  GET    zones/<id or domain>.xml     one zone; its <hosts> are left out when
                                      it has over 300 of them (as Zerigo did)
  GET    zones/<id>/hosts.xml         a zone's hosts (page, per_page)
  POST   zones/<id>/hosts.xml         create a host: 201, or 422 + <errors>
  GET    hosts.xml?fqdn=NAME          the hosts of a name in any zone; 404 if none
  GET    hosts/<id>.xml               one host
  PUT    hosts/<id>.xml               update a host: 200, or 422 + <errors>
  DELETE hosts/<id>.xml               200, or 404 when there is no such host

Like the real service it refuses a wrong password (401), an Accept header
that does not ask for XML (406), a body that is not application/xml (415)
and invalid hosts (422 with <errors><error>..</error></errors>): unknown or
underscored element names, a <ttl> without type="integer", data that is not
an address of the host type, a bad hostname, a duplicate.

Test control (no auth), JSON in and out, under /_control/:

  POST zone        {"domain": "example.test", "default_ttl": 900}
  POST seed        {"zone": "example.test", "hosts": [{"hostname": "www",
                    "host-type": "A", "data": "192.0.2.1", "ttl": 60,
                    "notes": "web-1"}], "generate": 350}
                   (generate adds N filler A records filler-0, filler-1...)
  POST fault       {"mode": "hang" | "error" | "none", "status": 500,
                    "count": N}  (count: how many API requests; default all)
  POST fail-next   {"method": "POST", "status": 422, "errors": ["..."]}
  POST answer      {"method": "GET", "path": "hosts.xml", "status": 200,
                    "body": "<hosts>...", "count": N}: answer the next N API
                   requests of that method whose path holds "path" with this
                   body, as it is (count -1: until reset), for answers the
                   real service never sent; "delay": seconds to wait first
  POST trigger     {"after": "read"} or {"before": "delete" | "create"} with
                   {"add": {"zone": .., "hostname": .., "host-type": ..,
                   "data": .., "ttl": .., "notes": ..}} or
                   {"remove": {"data": "192.0.2.1"}}: a one-shot change made
                   by "someone else" around the next such API request
  GET  log         every API request: method, path, query, client (address:port,
                   to see connection reuse), accept, content_type, user,
                   authorized, body, status
  GET  state       every zone with its hosts
  POST reset-log

Run: python3 zerigo_fake.py --port N --user U --key K [--host 127.0.0.1]
       [--zone example.test ...] [--seed FILE.json] [--fault hang|500]
It prints "zerigo fake listening on http://HOST:PORT/api/1.1/" once ready.
"""
import argparse
import base64
import datetime
import ipaddress
import json
import re
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

API_PREFIX = "/api/1.1/"
CONTROL_PREFIX = "/_control/"
ZONE_HOSTS_LIMIT = 300  # zone GETs leave out <hosts> above this many
HOST_FIELDS = {"hostname", "host-type", "data", "ttl", "notes", "priority"}
HOST_TYPES = {"A", "AAAA", "CNAME", "MX", "NS", "SPF", "SRV", "TXT", "URL"}
HOSTNAME_RE = re.compile(r"^(\*|[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")


class ApiError(Exception):
    """An HTTP error answer: status, body, content type."""

    def __init__(self, status, body="", content_type="application/xml"):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.content_type = content_type


def errors_xml(messages):
    items = "".join(f"  <error>{escape(m)}</error>\n" for m in messages)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<errors>\n{items}</errors>\n'


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def element(name, value, kind=None):
    """<name type="kind">value</name>, or nil="true" when value is None."""
    type_attr = f' type="{kind}"' if kind else ""
    if value is None:
        return f'<{name}{type_attr} nil="true"></{name}>'
    return f"<{name}{type_attr}>{escape(str(value))}</{name}>"


class State:
    """Zones and hosts, shared by the handler threads under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.zones = {}  # id -> zone dict
        self.hosts = {}  # id -> host dict
        self.next_zone_id = 1001
        self.next_host_id = 500001
        self.log = []
        self.fault = {"mode": "none", "status": 500, "count": None}
        self.fail_next = []  # [{"method", "status", "errors"}]
        self.answers = []    # [{"method", "path", "status", "body", "count"}]
        self.triggers = []   # [{"when": "after"/"before", "event", "action"}]

    # -- zones and hosts (lock held by the caller) --

    def add_zone(self, domain, default_ttl=900):
        domain = domain.lower().rstrip(".")
        for zone in self.zones.values():
            if zone["domain"] == domain:
                return zone
        zone = {"id": self.next_zone_id, "domain": domain, "default_ttl": default_ttl,
                "created_at": now_text()}
        self.next_zone_id += 1
        self.zones[zone["id"]] = zone
        return zone

    def find_zone(self, key):
        if key.isdigit():
            return self.zones.get(int(key))
        key = key.lower().rstrip(".")
        return next((z for z in self.zones.values() if z["domain"] == key), None)

    def zone_hosts(self, zone):
        return sorted((h for h in self.hosts.values() if h["zone_id"] == zone["id"]),
                      key=lambda h: h["id"])

    def fqdn(self, host):
        domain = self.zones[host["zone_id"]]["domain"]
        return f"{host['hostname']}.{domain}" if host["hostname"] else domain

    def validate(self, zone, fields, replacing=None):
        """Zerigo's model validations; returns the error messages."""
        errors = []
        hostname = (fields.get("hostname") or "").lower()
        host_type = fields.get("host-type")
        data = fields.get("data")
        if hostname and not HOSTNAME_RE.match(hostname):
            errors.append("Hostname is invalid")
        if host_type not in HOST_TYPES:
            errors.append("Host type is not included in the list")
        if not data:
            errors.append("Data can't be blank")
        elif host_type in ("A", "AAAA"):
            version = 4 if host_type == "A" else 6
            try:
                if ipaddress.ip_address(data).version != version:
                    raise ValueError(data)
            except ValueError:
                errors.append(f"Data is not a valid IPv{version} address")
        ttl = fields.get("ttl")
        if ttl is not None and ttl < 1:
            errors.append("Ttl must be greater than 0")
        if not errors:
            for other in self.zone_hosts(zone):
                if (other is not replacing and other["hostname"] == hostname
                        and other["host_type"] == host_type and other["data"] == data):
                    errors.append("Data has already been taken (duplicate host)")
                    break
        return errors

    def create_host(self, zone, fields):
        """Creates a host from validated fields; returns it or raises 422."""
        errors = self.validate(zone, fields)
        if errors:
            raise ApiError(422, errors_xml(errors))
        stamp = now_text()
        host = {"id": self.next_host_id, "zone_id": zone["id"],
                "hostname": (fields.get("hostname") or "").lower(),
                "host_type": fields["host-type"], "data": fields["data"],
                "ttl": fields.get("ttl"), "notes": fields.get("notes"),
                "priority": fields.get("priority"), "created_at": stamp, "updated_at": stamp}
        self.next_host_id += 1
        self.hosts[host["id"]] = host
        return host

    def hosts_of_fqdn(self, fqdn):
        fqdn = fqdn.lower().rstrip(".")
        return sorted((h for h in self.hosts.values() if self.fqdn(h) == fqdn),
                      key=lambda h: h["id"])

    # -- XML --

    def host_xml(self, host):
        parts = [
            element("created-at", host["created_at"], "datetime"),
            element("data", host["data"]),
            element("fqdn", self.fqdn(host)),
            element("host-type", host["host_type"]),
            element("hostname", host["hostname"] or None),
            element("id", host["id"], "integer"),
            element("notes", host["notes"]),
            element("priority", host["priority"], "integer"),
            element("ttl", host["ttl"], "integer"),
            element("updated-at", host["updated_at"], "datetime"),
            element("zone-id", host["zone_id"], "integer"),
        ]
        return "<host>\n    " + "\n    ".join(parts) + "\n  </host>"

    def hosts_xml(self, hosts):
        body = "".join(f"  {self.host_xml(h)}\n" for h in hosts)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<hosts type="array">\n{body}</hosts>\n'

    def zone_xml(self, zone, with_hosts):
        hosts = self.zone_hosts(zone)
        parts = [
            element("created-at", zone["created_at"], "datetime"),
            element("custom-ns", "false", "boolean"),
            element("default-ttl", zone["default_ttl"], "integer"),
            element("domain", zone["domain"]),
            element("hostmaster", f"dnsadmin@{zone['domain']}"),
            element("hosts-count", len(hosts), "integer"),
            element("id", zone["id"], "integer"),
            element("notes", None),
            element("ns-type", "pri_sec"),
            element("updated-at", zone["created_at"], "datetime"),
        ]
        inner = "\n  ".join(parts)
        if with_hosts and len(hosts) <= ZONE_HOSTS_LIMIT:
            listed = "".join(f"    {self.host_xml(h)}\n" for h in hosts)
            inner += f'\n  <hosts type="array">\n{listed}  </hosts>'
        return f"<zone>\n  {inner}\n</zone>"

    def snapshot(self):
        return [{"id": z["id"], "domain": z["domain"], "default_ttl": z["default_ttl"],
                 "hosts": [{"id": h["id"], "hostname": h["hostname"],
                            "host-type": h["host_type"], "data": h["data"], "ttl": h["ttl"],
                            "notes": h["notes"], "fqdn": self.fqdn(h)}
                           for h in self.zone_hosts(z)]}
                for z in self.zones.values()]

    # -- control actions --

    def seed(self, spec):
        zone = self.add_zone(spec["zone"], spec.get("default_ttl", 900))
        created = []
        for index in range(int(spec.get("generate", 0))):
            created.append(self.create_host(zone, {
                "hostname": f"filler-{index}", "host-type": "A",
                "data": str(ipaddress.ip_address("10.0.0.0") + index + 1), "ttl": 300})["id"])
        for fields in spec.get("hosts", []):
            created.append(self.create_host(zone, fields)["id"])
        return created

    def apply(self, action):
        """A change made by 'someone else' (a trigger)."""
        if "add" in action:
            fields = dict(action["add"])
            zone = self.add_zone(fields.pop("zone"))
            self.create_host(zone, fields)
        if "remove" in action:
            match = action["remove"]
            for host in list(self.hosts.values()):
                if all(host.get(k.replace("-", "_"), None) == v for k, v in match.items()):
                    del self.hosts[host["id"]]


def parse_host_xml(body):
    """The fields of a <host> document, as Rails would read it; raises 422."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise ApiError(422, errors_xml([f"Malformed XML: {error}"]))
    if root.tag != "host":
        raise ApiError(422, errors_xml([f"Expected a <host> document, got <{root.tag}>"]))
    fields, errors = {}, []
    for child in root:
        if child.tag not in HOST_FIELDS:
            errors.append(f"unknown attribute: {child.tag}")
            continue
        if child.get("nil") == "true":
            fields[child.tag] = None
            continue
        text = child.text or ""
        if child.tag in ("ttl", "priority"):
            if child.get("type") != "integer":
                errors.append(f"{child.tag.capitalize()} must be sent with type=\"integer\"")
                continue
            try:
                fields[child.tag] = int(text.strip())
            except ValueError:
                errors.append(f"{child.tag.capitalize()} is not a number")
                continue
        else:
            fields[child.tag] = text
    if errors:
        raise ApiError(422, errors_xml(errors))
    return fields


class Handler(BaseHTTPRequestHandler):
    server_version = "ZerigoFake/1.1"
    protocol_version = "HTTP/1.1"  # keep-alive: the plugin reuses its connection

    def log_message(self, fmt, *args):  # quiet: the request log is in /_control/log
        pass

    @property
    def state(self):
        return self.server.state

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        url = urlsplit(self.path)
        if url.path.startswith(CONTROL_PREFIX):
            self.control(method, url.path[len(CONTROL_PREFIX):], body)
            return
        entry = {"method": method, "path": url.path, "query": url.query,
                 "client": "%s:%d" % self.client_address[:2],
                 "accept": self.headers.get("Accept"),
                 "content_type": self.headers.get("Content-Type"), "user": None,
                 "authorized": False, "body": body, "status": None}
        with self.state.lock:
            self.state.log.append(entry)
            fault = self.take_fault()
            canned = self.take_answer(method, url.path)
        if canned is not None:
            entry["status"] = canned["status"]
            time.sleep(canned["delay"])
            self.send(canned["status"], canned["body"], "application/xml")
            return
        if fault == "hang":
            entry["status"] = "hung"
            self.server.stopping.wait()  # never answers; freed at shutdown
            self.close_connection = True
            return
        if fault is not None:
            entry["status"] = fault
            self.send(fault, "<html><body><h1>We're sorry, but something went wrong."
                             "</h1></body></html>\n", "text/html")
            return
        try:
            status, text, headers = self.api(method, url, body, entry)
        except ApiError as error:
            status, text, headers = error.status, error.body, {"Content-Type": error.content_type}
        entry["status"] = status
        self.send(status, text, headers.pop("Content-Type", "application/xml"), headers)

    def take_answer(self, method, path):
        for answer in self.state.answers:
            if answer["method"] == method and answer["path"] in path and answer["count"] != 0:
                if answer["count"] > 0:
                    answer["count"] -= 1
                return answer
        return None

    def take_fault(self):
        fault = self.state.fault
        if fault["mode"] == "none" or fault["count"] == 0:
            return None
        if fault["count"] is not None:
            fault["count"] -= 1
        return "hang" if fault["mode"] == "hang" else int(fault["status"])

    def send(self, status, text, content_type, headers=None):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    # -- the API --

    def authenticate(self, entry):
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, key = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, key = None, None
            entry["user"] = user
            if user == self.server.user and key == self.server.key:
                entry["authorized"] = True
                return
        raise ApiError(401, "HTTP Basic: Access denied.\n", "text/plain")

    def api(self, method, url, body, entry):
        if not url.path.startswith(API_PREFIX):
            raise ApiError(404, "", "text/plain")
        self.authenticate(entry)
        if "application/xml" not in (self.headers.get("Accept") or ""):
            raise ApiError(406, "Not Acceptable: send Accept: application/xml\n", "text/plain")
        if method in ("POST", "PUT") and not (self.headers.get("Content-Type") or "").startswith(
                "application/xml"):
            raise ApiError(415, "Unsupported Media Type: send Content-Type: application/xml\n",
                           "text/plain")
        route = unquote(url.path[len(API_PREFIX):])
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with self.state.lock:
            self.failure_injected(method)
            return self.route(method, route, query, body)

    def failure_injected(self, method):
        for index, failure in enumerate(self.state.fail_next):
            if failure.get("method", method) == method:
                del self.state.fail_next[index]
                raise ApiError(int(failure.get("status", 422)),
                               errors_xml(failure.get("errors", ["Injected failure"])))

    def fire(self, when, event):
        for trigger in [t for t in self.state.triggers if t["when"] == when and t["event"] == event]:
            self.state.triggers.remove(trigger)
            self.state.apply(trigger["action"])

    def route(self, method, route, query, body):
        state = self.state
        xml_head = '<?xml version="1.0" encoding="UTF-8"?>\n'
        if route == "zones.xml" and method == "GET":
            zones = "".join(f"{state.zone_xml(z, False)}\n" for z in state.zones.values())
            return 200, f'{xml_head}<zones type="array">\n{zones}</zones>\n', {}
        match = re.fullmatch(r"zones/([^/]+)\.xml", route)
        if match and method == "GET":
            zone = state.find_zone(match.group(1))
            if zone is None:
                raise ApiError(404, "")
            return 200, xml_head + state.zone_xml(zone, True) + "\n", {}
        match = re.fullmatch(r"zones/([^/]+)/hosts\.xml", route)
        if match:
            zone = state.find_zone(match.group(1))
            if zone is None:
                raise ApiError(404, "")
            if method == "GET":
                per_page = min(int(query.get("per_page", 100)), 1000)
                page = max(int(query.get("page", 1)), 1)
                hosts = state.zone_hosts(zone)[(page - 1) * per_page:page * per_page]
                return 200, state.hosts_xml(hosts), {}
            if method == "POST":
                self.fire("before", "create")
                host = state.create_host(zone, parse_host_xml(body))
                location = f"{API_PREFIX}hosts/{host['id']}.xml"
                return 201, xml_head + state.host_xml(host) + "\n", {"Location": location}
        if route == "hosts.xml" and method == "GET":
            if "fqdn" not in query:
                raise ApiError(422, errors_xml(["fqdn is required"]))
            hosts = state.hosts_of_fqdn(query["fqdn"])
            answer = state.hosts_xml(hosts)
            self.fire("after", "read")  # the answer is already taken: a later change
            if not hosts:
                raise ApiError(404, "")
            return 200, answer, {}
        match = re.fullmatch(r"hosts/(\d+)\.xml", route)
        if match:
            if method == "DELETE":
                self.fire("before", "delete")
            host = state.hosts.get(int(match.group(1)))
            if host is None:
                raise ApiError(404, "")
            if method == "GET":
                return 200, xml_head + state.host_xml(host) + "\n", {}
            if method == "DELETE":
                del state.hosts[host["id"]]
                return 200, "", {}
            if method == "PUT":
                fields = {"hostname": host["hostname"], "host-type": host["host_type"],
                          "data": host["data"], "ttl": host["ttl"], "notes": host["notes"],
                          "priority": host["priority"]}
                fields.update(parse_host_xml(body))
                errors = state.validate(state.zones[host["zone_id"]], fields, replacing=host)
                if errors:
                    raise ApiError(422, errors_xml(errors))
                host.update({"hostname": (fields["hostname"] or "").lower(),
                             "host_type": fields["host-type"], "data": fields["data"],
                             "ttl": fields["ttl"], "notes": fields["notes"],
                             "priority": fields["priority"], "updated_at": now_text()})
                return 200, "", {}
        raise ApiError(404, "")

    # -- test control --

    def control(self, method, command, body):
        try:
            request = json.loads(body) if body else {}
            with self.state.lock:
                answer = self.control_command(method, command, request)
            self.send(200, json.dumps(answer), "application/json")
        except ApiError as error:
            self.send(error.status, error.body, error.content_type)
        except (ValueError, KeyError, TypeError) as error:
            self.send(400, json.dumps({"error": f"{type(error).__name__}: {error}"}),
                      "application/json")

    def control_command(self, method, command, request):
        state = self.state
        if method == "GET" and command == "log":
            return state.log
        if method == "GET" and command == "state":
            return state.snapshot()
        if method != "POST":
            raise KeyError(f"unknown control command {method} {command}")
        if command == "reset-log":
            state.log.clear()
            return {}
        if command == "zone":
            zone = state.add_zone(request["domain"], request.get("default_ttl", 900))
            return {"id": zone["id"]}
        if command == "seed":
            return {"ids": state.seed(request)}
        if command == "fault":
            if request.get("mode", "none") not in ("none", "hang", "error"):
                raise ValueError(f"fault mode must be none, hang or error: {request}")
            state.fault = {"mode": request.get("mode", "none"),
                           "status": int(request.get("status", 500)),
                           "count": request.get("count")}
            return {}
        if command == "fail-next":
            state.fail_next.append(request)
            return {}
        if command == "answer":
            state.answers.append({"method": request.get("method", "GET"),
                                  "path": request.get("path", ""),
                                  "status": int(request.get("status", 200)),
                                  "body": request["body"], "count": request.get("count", 1),
                                  "delay": float(request.get("delay", 0))})
            return {}
        if command == "trigger":
            action = {k: request[k] for k in ("add", "remove") if k in request}
            if "after" in request:
                trigger = {"when": "after", "event": request["after"], "action": action}
            else:
                trigger = {"when": "before", "event": request["before"], "action": action}
            state.triggers.append(trigger)
            return {}
        raise KeyError(f"unknown control command {command}")


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, user, key):
        super().__init__(address, Handler)
        self.user = user
        self.key = key
        self.state = State()
        self.stopping = threading.Event()


def main(argv=None):
    parser = argparse.ArgumentParser(description="A fake of the Zerigo DNS API 1.1")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True, help="the account e-mail (Basic auth user)")
    parser.add_argument("--key", required=True, help="the API key (Basic auth password)")
    parser.add_argument("--zone", action="append", default=[], help="create this zone")
    parser.add_argument("--seed", help="a JSON file: a list of /_control/seed requests")
    parser.add_argument("--fault", choices=["hang", "500"],
                        help="hang: never answer API requests; 500: fail them all")
    args = parser.parse_args(argv)

    server = FakeServer((args.host, args.port), args.user, args.key)
    with server.state.lock:
        for domain in args.zone:
            server.state.add_zone(domain)
        if args.seed:
            with open(args.seed, encoding="utf-8") as seed_file:
                for spec in json.load(seed_file):
                    server.state.seed(spec)
        if args.fault == "hang":
            server.state.fault = {"mode": "hang", "status": 500, "count": None}
        elif args.fault == "500":
            server.state.fault = {"mode": "error", "status": 500, "count": None}
    print(f"zerigo fake listening on http://{args.host}:{args.port}{API_PREFIX}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
