#!/usr/bin/env python3
"""A fake of the part of the Cloudflare API v4 that manages DNS records.

It serves, under /client/v4/, JSON in and out, with a bearer token:

  GET    zones/<zone_id>/dns_records   list, filtered by type, name, content
                                       (exact), paged by page and per_page
                                       (5..5000, default 100)
  POST   zones/<zone_id>/dns_records   create {"type", "name", "content",
                                       "ttl", "proxied", "comment"}
  GET    zones/<zone_id>/dns_records/<id>
  DELETE zones/<zone_id>/dns_records/<id>

Every answer is the envelope {"success", "errors": [{"code", "message"}],
"messages", "result"}, lists with "result_info": {"page", "per_page",
"count", "total_count", "total_pages"}. Like the service it refuses: a
missing Authorization header (400, 9106), an unknown token (403, 9109), a
write with a read-only token or a zone the token does not cover (403,
10000), a zone id that is not 32 hex digits (400, 7003), a TTL other than 1
(automatic) or 60..86400 (400, 9021), content that is not an address of an
A/AAAA record (400, 9005), a name outside the zone (400, 9007), a comment
over 100 characters (400, 9102), an identical record (400, 81058), an
unknown record id (404, 81044). Names are stored lower case without the
trailing dot; a relative name or "@" is made absolute as Cloudflare does.

Test control (no auth), JSON in and out, under /_control/:

  POST seed       {"records": [{"type": "A", "name": "www.example.test",
                   "content": "192.0.2.1", "ttl": 60, "comment": "web-1"}],
                   "generate": N}   (N filler A records filler-0...)
  POST page-size  {"size": 2}  answer at most 2 records a page, whatever
                   per_page asks (forces pagination); {"size": null} undoes
  POST throttle   {"count": N, "retry_after": "1", "status": 429}  answer the
                   next N API requests with status (429 or 5xx) and that
                   retry-after header (omitted when null); count -1: forever;
                   "method": "POST" limits it to requests of that method;
                   "applied": true carries out a 5xx request all the same (a
                   lost answer)
  POST change     {"method": "GET", "nth": 2, "add": {record}} or
                   {"method": "GET", "nth": 2, "remove": {"content": ".."}}:
                   a one-shot change by "someone else" made just before the
                   nth API request of that method from now on is handled
  POST answer     {"method": "GET", "status": 200, "body": "...", "count": N}:
                   answer the next N API requests of that method with this
                   body, as it is (count -1: forever), for answers the real
                   service never sends
  GET  log        every API request: method, path, query, authorization
                   ("ok", "missing", "wrong", "read-only"), body, status, at
  GET  state      every record
  POST reset-log

Run: python3 cloudflare_fake.py --port N --token T [--read-only-token T]
       [--zone ZONE_ID=example.test ...] [--host 127.0.0.1]
It prints "cloudflare fake listening on http://HOST:PORT/client/v4" once ready.
"""
import argparse
import datetime
import ipaddress
import json
import math
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

API_PREFIX = "/client/v4/"
CONTROL_PREFIX = "/_control/"
ZONE_ID_RE = re.compile(r"^[0-9a-f]{32}$")
RECORD_TYPES = {"A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "CAA"}
COMMENT_LIMIT = 100  # characters, on the Free plan


class ApiError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """Zones and records, guarded by one lock."""

    def __init__(self, zones):
        self.lock = threading.Lock()
        self.zones = dict(zones)  # id -> name
        self.records = []  # dicts as the API returns them
        self.page_size = None
        self.throttle = {"count": 0, "method": None}
        self.changes = []  # one-shot changes: method, nth, add/remove
        self.counts = {}  # API requests per method since the last change was set
        self.log = []
        self.answers = []  # canned raw answers: method, status, body, count

    def absolute_name(self, zone_id, name):
        zone = self.zones[zone_id]
        name = (name or "").strip().lower().rstrip(".")
        if name in ("", "@"):
            return zone
        if name == zone or name.endswith("." + zone):
            return name
        if "." not in name:  # relative, as the dashboard accepts
            return f"{name}.{zone}"
        raise ApiError(400, 9007, f"Content for the record name '{name}' is invalid: it is not "
                                  f"in the zone {zone}.")

    def validate(self, zone_id, fields):
        rtype = fields.get("type")
        if rtype not in RECORD_TYPES:
            raise ApiError(400, 9004, "This record type is invalid.")
        name = self.absolute_name(zone_id, fields.get("name"))
        content = fields.get("content")
        if not isinstance(content, str) or not content:
            raise ApiError(400, 9005, f"Content for {rtype} record is invalid.")
        if rtype in ("A", "AAAA"):
            version = 4 if rtype == "A" else 6
            try:
                address = ipaddress.ip_address(content)
            except ValueError:
                address = None
            if address is None or address.version != version:
                raise ApiError(400, 9005, f"Content for {rtype} record must be a valid "
                                          f"IPv{version} address.")
            content = str(address)
        ttl = fields.get("ttl", 1)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not (
                ttl == 1 or 60 <= ttl <= 86400):
            raise ApiError(400, 9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 "
                                      "for Automatic.")
        proxied = fields.get("proxied", False)
        if not isinstance(proxied, bool):
            raise ApiError(400, 9003, "Invalid 'proxied' value, must be a boolean")
        comment = fields.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise ApiError(400, 9101, "comment must be a string")
        if comment is not None and len(comment) > COMMENT_LIMIT:
            raise ApiError(400, 9102, f"DNS record has {len(comment)} characters in its "
                                      f"comment, exceeding the limit of {COMMENT_LIMIT}.")
        return {"type": rtype, "name": name, "content": content, "ttl": ttl,
                "proxied": proxied, "comment": comment or None}

    def create(self, zone_id, fields):
        record = self.validate(zone_id, fields)
        for other in self.records:
            if other["zone_id"] == zone_id and all(
                    other[k] == record[k] for k in ("type", "name", "content")):
                raise ApiError(400, 81058, "An identical record already exists.")
        stamp = now_text()
        record.update({
            "id": secrets.token_hex(16), "zone_id": zone_id, "zone_name": self.zones[zone_id],
            "proxiable": record["type"] in ("A", "AAAA", "CNAME"), "locked": False,
            "meta": {"auto_added": False, "managed_by_apps": False,
                     "managed_by_argo_tunnel": False},
            "tags": [], "created_on": stamp, "modified_on": stamp,
        })
        self.records.append(record)
        return record

    def apply_change(self, change):
        zone_id = next(iter(self.zones))
        if "add" in change:
            self.create(zone_id, change["add"])
        if "remove" in change:
            self.records = [r for r in self.records
                            if r["content"] != change["remove"]["content"]]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cloudflare"
    store = None
    token = None
    read_only_token = None

    def log_message(self, *args):
        pass

    def send_json(self, status, payload, headers=None):
        self.send_raw(status, json.dumps(payload), headers)

    def send_raw(self, status, text, headers=None):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def handle_any(self):
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path.startswith(CONTROL_PREFIX):
            return self.control(url.path[len(CONTROL_PREFIX):], body)
        entry = {"method": self.command, "path": url.path, "query": url.query,
                 "authorization": self.authorization(), "body": body or None,
                 "at": time.monotonic()}
        headers = {}
        canned = self.take_answer()
        if canned is not None:
            entry["status"] = canned["status"]
            with self.store.lock:
                self.store.log.append(entry)
            return self.send_raw(canned["status"], canned["body"])
        try:
            status, payload = self.api(url, body, entry)
        except ApiError as error:
            status, headers = error.status, error.headers
            payload = {"success": False, "errors": [{"code": error.code,
                                                     "message": error.message}],
                       "messages": [], "result": None}
        entry["status"] = status
        with self.store.lock:
            self.store.log.append(entry)
        self.send_json(status, payload, headers)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = handle_any

    def take_answer(self):
        with self.store.lock:
            for answer in self.store.answers:
                if answer["method"] == self.command and answer["count"] != 0:
                    if answer["count"] > 0:
                        answer["count"] -= 1
                    return answer
        return None

    def authorization(self):
        header = self.headers.get("Authorization")
        if header is None:
            return "missing"
        if header == f"Bearer {self.token}":
            return "ok"
        if self.read_only_token and header == f"Bearer {self.read_only_token}":
            return "read-only"
        return "wrong"

    def api(self, url, body, entry):
        throttled, applied = self.throttled()
        if throttled and not applied:
            raise throttled
        answer = self.route(url, body, entry)
        if throttled:
            raise throttled  # the request took effect, but its answer is lost
        return answer

    def throttled(self):
        """The error to answer instead (and whether the request is applied
        all the same), after making any due one-shot change."""
        store = self.store
        with store.lock:
            store.counts[self.command] = store.counts.get(self.command, 0) + 1
            due = [c for c in store.changes
                   if c["method"] == self.command and c["nth"] == store.counts[self.command]]
            for change in due:
                store.changes.remove(change)
                store.apply_change(change)
            throttle = store.throttle
            if throttle["count"] != 0 and throttle["method"] in (None, self.command):
                if throttle["count"] > 0:
                    throttle["count"] -= 1
                headers = {}
                if throttle.get("retry_after") is not None:
                    headers["Retry-After"] = str(throttle["retry_after"])
                status = throttle.get("status", 429)
                if status == 429:
                    return ApiError(429, 971, "Please wait and consider throttling your request "
                                              "speed", headers), False
                return (ApiError(status, 10001, "Internal server error", headers),
                        throttle.get("applied", False))
        return None, False

    def route(self, url, body, entry):
        store = self.store

        if entry["authorization"] == "missing":
            raise ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization "
                                      "headers")
        if entry["authorization"] == "wrong":
            raise ApiError(403, 9109, "Invalid access token")
        if not url.path.startswith(API_PREFIX):
            raise ApiError(404, 7000, "No route for that URI")
        parts = [unquote(p) for p in url.path[len(API_PREFIX):].split("/")]
        if len(parts) < 3 or parts[0] != "zones" or parts[2] != "dns_records" or len(parts) > 4:
            raise ApiError(400, 7003, f"Could not route to {url.path}, perhaps your object "
                                      f"identifier is invalid?")
        zone_id = parts[1]
        if not ZONE_ID_RE.match(zone_id):
            raise ApiError(400, 7003, f"Could not route to {url.path}, perhaps your object "
                                      f"identifier is invalid?")
        if zone_id not in store.zones:
            raise ApiError(403, 10000, "Authentication error")
        record_id = parts[3] if len(parts) == 4 else None
        if self.command != "GET" and entry["authorization"] == "read-only":
            raise ApiError(403, 10000, "Authentication error")

        with store.lock:
            if record_id is None and self.command == "GET":
                return 200, self.list_records(zone_id, parse_qs(url.query))
            if record_id is None and self.command == "POST":
                try:
                    fields = json.loads(body)
                except json.JSONDecodeError:
                    raise ApiError(400, 9207, "Request body is invalid.")
                if not isinstance(fields, dict):
                    raise ApiError(400, 9207, "Request body is invalid.")
                return 200, envelope(store.create(zone_id, fields))
            record = next((r for r in store.records
                           if r["zone_id"] == zone_id and r["id"] == record_id), None)
            if record_id is not None and self.command in ("GET", "DELETE"):
                if record is None:
                    raise ApiError(404, 81044, "Record does not exist.")
                if self.command == "DELETE":
                    store.records.remove(record)
                    return 200, envelope({"id": record_id})
                return 200, envelope(record)
        raise ApiError(405, 10000, f"Method {self.command} not allowed for this route")

    def list_records(self, zone_id, query):
        def one(name, default=None):
            return query.get(name, [default])[0]

        try:
            page = int(one("page", "1"))
            per_page = int(one("per_page", "100"))
        except ValueError:
            raise ApiError(400, 1004, "page and per_page must be integers")
        if page < 1 or not 5 <= per_page <= 5000:
            raise ApiError(400, 1004, "per_page must be between 5 and 5000, page at least 1")
        matches = [r for r in self.store.records if r["zone_id"] == zone_id]
        if one("type"):
            matches = [r for r in matches if r["type"] == one("type")]
        if one("name"):
            wanted = one("name").lower().rstrip(".")
            matches = [r for r in matches if r["name"] == wanted]
        if one("content"):
            matches = [r for r in matches if r["content"] == one("content")]
        matches.sort(key=lambda r: (r["type"], r["name"], r["created_on"], r["id"]))
        size = min(per_page, self.store.page_size or per_page)
        chunk = matches[(page - 1) * size: page * size]
        info = {"page": page, "per_page": size, "count": len(chunk),
                "total_count": len(matches), "total_pages": max(1, math.ceil(len(matches) / size))}
        return {**envelope(chunk), "result_info": info}

    def control(self, command, body):
        store = self.store
        payload = json.loads(body) if body else {}
        with store.lock:
            if command == "seed":
                zone_id = next(iter(store.zones))
                for fields in payload.get("records", []):
                    store.create(zone_id, fields)
                for i in range(payload.get("generate", 0)):
                    store.create(zone_id, {"type": "A", "name": f"filler-{i}",
                                           "content": f"198.51.100.{i % 250 + 1}", "ttl": 60})
                return self.send_json(200, {"records": len(store.records)})
            if command == "page-size":
                store.page_size = payload.get("size")
                return self.send_json(200, {})
            if command == "throttle":
                store.throttle = {"count": payload.get("count", -1),
                                  "retry_after": payload.get("retry_after"),
                                  "status": payload.get("status", 429),
                                  "applied": payload.get("applied", False),
                                  "method": payload.get("method")}
                return self.send_json(200, {})
            if command == "change":
                store.changes.append(payload)
                store.counts = {}
                return self.send_json(200, {})
            if command == "answer":
                store.answers.append({"method": payload.get("method", "GET"),
                                      "status": int(payload.get("status", 200)),
                                      "body": payload["body"], "count": payload.get("count", 1)})
                return self.send_json(200, {})
            if command == "log":
                return self.send_json(200, store.log)
            if command == "state":
                return self.send_json(200, store.records)
            if command == "reset-log":
                store.log = []
                return self.send_json(200, {})
        self.send_json(404, {"error": f"unknown control command {command}"})


def envelope(result):
    return {"success": True, "errors": [], "messages": [], "result": result}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--read-only-token")
    parser.add_argument("--zone", action="append", default=[],
                        help="ZONE_ID=name (32 hex digits)")
    args = parser.parse_args()
    zones = {}
    for item in args.zone or ["023e105f4ecef8ad9ca31a8372d0c353=example.test"]:
        zone_id, _, name = item.partition("=")
        if not ZONE_ID_RE.match(zone_id) or not name:
            parser.error(f"--zone {item}: expected ZONE_ID=name with 32 hex digits")
        zones[zone_id] = name.lower().rstrip(".")
    Handler.store = Store(zones)
    Handler.token = args.token
    Handler.read_only_token = args.read_only_token
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"cloudflare fake listening on http://{args.host}:{args.port}/client/v4", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
