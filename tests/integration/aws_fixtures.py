"""AWS test fixtures for the route53 and ec2-metadata plugins, all on loopback:

- moto_endpoint: a moto_server (Route 53 + EC2 instance metadata) on a free port.
- MotoRoute53: creates zones and reads/changes record sets in moto over plain
  HTTP (moto does not verify signatures; it only needs a route53 credential
  scope in the Authorization header to pick the service).
- AwsProxy: a keep-alive HTTP proxy in front of moto that records every request
  and lets a test answer in moto's place (throttling...) or act in between.
- FakeImds: a scripted instance metadata service (401, 403, 404, HTML...).
- botocore_signature: the SigV4 signature botocore computes for a request, as
  the offline reference for the plugin's libcurl signing.

pytest runs under /usr/bin/python3, which has no botocore: botocore runs in a
subprocess of the python3 on PATH (the machine image's, which has moto)."""
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from conftest import free_port, stop_process, wait_for_port

R53 = "{https://route53.amazonaws.com/doc/2013-04-01/}"
R53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"
# Unverified by moto; only the credential scope matters to it.
FAKE_AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=AKIDTESTHELPER/20240101/us-east-1/route53/"
                      "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)


def _python_with_botocore():
    for candidate in (shutil.which("python3"), shutil.which("python")):
        if candidate and subprocess.run([candidate, "-c", "import botocore"],
                                        capture_output=True).returncode == 0:
            return candidate
    pytest.fail("no python3 with botocore on PATH (the machine image's python has it)")


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory):
    """Starts moto_server on 127.0.0.1 and a free port; yields its URL."""
    moto = shutil.which("moto_server")
    assert moto, "moto_server is not on PATH"
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "w") as out:
        process = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def unique_zone():
    """A zone name no other test uses: tests share one moto."""
    return f"z{uuid.uuid4().hex[:10]}.test"


class MotoRoute53:
    """Route 53 in moto, driven over plain HTTP."""

    def __init__(self, endpoint):
        self.endpoint = endpoint.rstrip("/")

    def _call(self, method, path, body=None):
        url = urlsplit(self.endpoint)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        try:
            headers = {"Authorization": FAKE_AUTHORIZATION, "X-Amz-Date": "20240101T000000Z"}
            if body is not None:
                headers["Content-Type"] = "text/xml"
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def create_zone(self, name):
        """Creates the hosted zone `name`; returns its bare id."""
        body = (f'<CreateHostedZoneRequest xmlns="{R53_NS}"><Name>{name}.</Name>'
                f"<CallerReference>{uuid.uuid4()}</CallerReference></CreateHostedZoneRequest>")
        status, text = self._call("POST", "/2013-04-01/hostedzone", body)
        assert status in (200, 201), text
        zone_id = ET.fromstring(text).find(f"{R53}HostedZone/{R53}Id").text
        return zone_id.rsplit("/", 1)[-1]

    def change(self, zone_id, changes):
        """changes: [(ACTION, name, type, ttl, [values])]. Returns (status, body)."""
        parts = []
        for action, name, rtype, ttl, values in changes:
            records = "".join(f"<ResourceRecord><Value>{v}</Value></ResourceRecord>" for v in values)
            parts.append(f"<Change><Action>{action}</Action><ResourceRecordSet><Name>{name}.</Name>"
                         f"<Type>{rtype}</Type><TTL>{ttl}</TTL><ResourceRecords>{records}"
                         f"</ResourceRecords></ResourceRecordSet></Change>")
        body = (f'<ChangeResourceRecordSetsRequest xmlns="{R53_NS}"><ChangeBatch><Changes>'
                f'{"".join(parts)}</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>')
        return self._call("POST", f"/2013-04-01/hostedzone/{zone_id}/rrset/", body)

    def create_set(self, zone_id, name, rtype, ttl, values):
        status, text = self.change(zone_id, [("CREATE", name, rtype, ttl, values)])
        assert status == 200, text

    def record_sets(self, zone_id):
        """Every set of the zone: {(name without dot, type): (ttl, sorted values)}."""
        status, text = self._call("GET", f"/2013-04-01/hostedzone/{zone_id}/rrset")
        assert status == 200, text
        out = {}
        for s in ET.fromstring(text).iter(f"{R53}ResourceRecordSet"):
            name = s.find(f"{R53}Name").text.rstrip(".")
            ttl = s.find(f"{R53}TTL")
            values = sorted(v.text for v in s.iter(f"{R53}Value"))
            out[(name, s.find(f"{R53}Type").text)] = (int(ttl.text) if ttl is not None else None,
                                                      values)
        return out

    def record_set(self, zone_id, name, rtype="A"):
        """(ttl, sorted values) of one set, or None."""
        return self.record_sets(zone_id).get((name, rtype))


class Captured:
    """One request that went through AwsProxy."""

    def __init__(self, method, path, headers, body, connection):
        self.method = method
        self.path = path
        self.headers = headers  # {lower-case name: value}
        self.body = body
        self.connection = connection  # which client connection carried it

    @property
    def access_key_id(self):
        auth = self.headers.get("authorization", "")
        return auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else None


def invalid_change_batch(message):
    return 400, (f'<?xml version="1.0"?><InvalidChangeBatch xmlns="{R53_NS}"><Messages>'
                 f"<Message>{message}</Message></Messages></InvalidChangeBatch>")


def aws_batch_check(route53, captured):
    """What AWS (unlike moto) refuses in a ChangeResourceRecordSets batch: a
    DELETE that is not exactly the current set (compared as a set), a CREATE
    of a set that exists. Returns AWS's InvalidChangeBatch answer, or None."""
    zone_id = captured.path.split("/hostedzone/", 1)[1].split("/", 1)[0]
    state = dict(route53.record_sets(zone_id))
    for change in ET.fromstring(captured.body).iter(f"{R53}Change"):
        action = change.find(f"{R53}Action").text
        rrset = change.find(f"{R53}ResourceRecordSet")
        key = (rrset.find(f"{R53}Name").text.rstrip("."), rrset.find(f"{R53}Type").text)
        given = (int(rrset.find(f"{R53}TTL").text), sorted(v.text for v in rrset.iter(f"{R53}Value")))
        where = f"[name='{key[0]}.', type='{key[1]}']"
        if action == "DELETE":
            if state.get(key) != given:
                return invalid_change_batch(f"Tried to delete resource record set {where} but the "
                                            "values provided do not match the current values")
            del state[key]
        elif action == "CREATE":
            if key in state:
                return invalid_change_batch(f"Tried to create resource record set {where} but it "
                                            "already exists")
            state[key] = given
    return None


class _Handler(http.server.BaseHTTPRequestHandler):
    """What the fake services' request handlers share: keep-alive, quiet."""

    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects

    def log_message(self, *args):
        pass

    def _request_body(self):
        length = int(self.headers.get("Content-Length", 0))
        return self.rfile.read(length) if length else b""

    def _lower_case_headers(self):
        return {k.lower(): v for k, v in self.headers.items()}

    def _reply(self, status, content_type, data):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _LoopbackService:
    """An HTTP server on 127.0.0.1 (a port of the kernel's choice) run in a
    thread while the object is used as a context manager."""

    def _listen(self, handler_class):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class AwsProxy(_LoopbackService):
    """A keep-alive HTTP proxy in front of `upstream` (moto) that records
    every request. `intercept(captured)` runs first: it may act (change moto
    in between) and return None to go on, or return (status, body) to answer
    in moto's place. Change batches are then checked as AWS checks them
    (aws_batch_check), since moto accepts a DELETE of any set the zone ever
    had, then forwarded."""

    def __init__(self, upstream):
        self.upstream = urlsplit(upstream)
        self.route53 = MotoRoute53(upstream)
        self.requests = []
        self.intercept = lambda captured: None
        self._lock = threading.Lock()
        self._connections = 0
        proxy = self

        class Handler(_Handler):
            def setup(self):
                super().setup()
                with proxy._lock:
                    proxy._connections += 1
                    self.connection_number = proxy._connections

            def _handle(self):
                captured = Captured(self.command, self.path, self._lower_case_headers(),
                                    self._request_body(), self.connection_number)
                with proxy._lock:
                    proxy.requests.append(captured)
                answer = proxy.intercept(captured)
                if answer is None and self.command == "POST" and self.path.endswith("/rrset/"):
                    answer = aws_batch_check(proxy.route53, captured)
                if answer is None:
                    answer = proxy._forward(captured)
                status, text = answer
                self._reply(status, "text/xml", text.encode() if isinstance(text, str) else text)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._listen(Handler)

    def _forward(self, captured):
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port,
                                                timeout=10)
        try:
            headers = {k: v for k, v in captured.headers.items()
                       if k not in ("host", "connection", "content-length")}
            connection.request(captured.method, captured.path, body=captured.body or None,
                               headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def connections(self):
        with self._lock:
            return self._connections


def aws_error_xml(code, message):
    return (f'<?xml version="1.0"?><ErrorResponse xmlns="{R53_NS}"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>test</RequestId></ErrorResponse>")


class FakeImds(_LoopbackService):
    """A scripted EC2 instance metadata service. `routes` maps a path to a
    list of answers used in turn (the last one repeats): (status, body), or
    "hangup" to close the connection without answering. Token PUTs answer
    with a fresh token unless routes has "PUT /latest/api/token"."""

    TOKEN_PATH = "/latest/api/token"

    def __init__(self, routes):
        self.routes = {path: list(answers) for path, answers in routes.items()}
        self.log = []  # (method, path, headers)
        self.tokens = []
        self._lock = threading.Lock()
        imds = self

        class Handler(_Handler):
            def _handle(self):
                self._request_body()
                answer = imds._answer(self.command, self.path, self._lower_case_headers())
                if answer == "hangup":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, body = answer
                self._reply(status, "text/html" if "<" in body else "text/plain", body.encode())

            do_GET = do_PUT = _handle

        self._listen(Handler)

    def _answer(self, method, path, headers):
        with self._lock:
            self.log.append((method, path, headers))
            script = self.routes.get(f"{method} {path}") or self.routes.get(path)
            if script is not None:
                return script.pop(0) if len(script) > 1 else script[0]
            if method == "PUT" and path == self.TOKEN_PATH:
                token = f"token-{len(self.tokens) + 1}"
                self.tokens.append(token)
                return 200, token
            return 404, NOT_FOUND_HTML

    def requests(self, method, path=None):
        with self._lock:
            return [entry for entry in self.log
                    if entry[0] == method and (path is None or entry[1] == path)]


# What EC2 answers for a path that does not exist (no public address...).
NOT_FOUND_HTML = ('<?xml version="1.0" encoding="iso-8859-1"?>\n<!DOCTYPE html>\n'
                  "<html><head><title>404 - Not Found</title></head>"
                  "<body><h1>404 - Not Found</h1></body></html>\n")

_SIGN_SCRIPT = r"""
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
r = json.load(sys.stdin)
request = AWSRequest(method=r["method"], url=r["url"], data=r["body"].encode(),
                     headers=r["headers"])
request.context["timestamp"] = r["headers"]["X-Amz-Date"]
auth = SigV4Auth(Credentials(r["key"], r["secret"], r["token"] or None), "route53", "us-east-1")
canonical = auth.canonical_request(request)
signature = auth.signature(auth.string_to_sign(request, canonical), request)
print(json.dumps({"signature": signature, "signed_headers": auth.signed_headers(
    auth.headers_to_sign(request)), "canonical_request": canonical}))
"""


def botocore_signature(method, url, headers, body, key, secret, token=None):
    """botocore's SigV4 of a request with exactly `headers` (X-Amz-Date
    included), for route53 in us-east-1. Returns {signature, signed_headers,
    canonical_request}."""
    request = {"method": method, "url": url, "headers": headers, "body": body, "key": key,
               "secret": secret, "token": token}
    result = subprocess.run([_python_with_botocore(), "-c", _SIGN_SCRIPT], input=json.dumps(request),
                            capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def authorization_parts(header):
    """'AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=x;y, Signature=z' -> dict."""
    algorithm, rest = header.split(" ", 1)
    parts = dict(item.strip().split("=", 1) for item in rest.split(","))
    parts["Algorithm"] = algorithm
    return parts


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
