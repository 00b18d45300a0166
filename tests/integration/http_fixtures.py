"""Real HTTP(S) servers for the http-check tests, all on loopback and high
ports, all stopped again: a Python http.server with a few fixed routes (over
IPv4 or IPv6, plain or TLS), a socket that accepts and never answers, an
nginx with two name-based virtual hosts, and self-signed certificates made
with the openssl CLI (also used by the web-ip tests)."""
import contextlib
import http.server
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

from conftest import free_port, wait_for_port
from fixtures_common import stop_process

SLOW_SECONDS = 5.0  # /slow answers after this, far beyond any test's timeout


class Handler(http.server.BaseHTTPRequestHandler):
    """Fixed routes; the body of /echo tells what the request carried."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body=b"", headers=None, send_body=True):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the check gave up first (timeouts, body prefix limits): expected

    def _route(self, send_body=True):
        path = self.path.split("?")[0]
        if path == "/":
            return self._answer(200, b"hello, all ok\n", send_body=send_body)
        if path == "/down":
            return self._answer(503, b"maintenance\n", send_body=send_body)
        if path == "/created":
            return self._answer(201, b"created\n", send_body=send_body)
        if path == "/moved":
            return self._answer(302, b"", {"Location": "/"}, send_body)
        if path == "/moved-to-down":
            return self._answer(302, b"", {"Location": "/down"}, send_body)
        if path == "/late-marker":
            return self._answer(200, b"x" * 100 + b"MARKER", send_body=send_body)
        if path == "/stalls-after-6k":
            return self._stall_after(b"ok\n" + b"x" * 6000)
        if path == "/slow":
            self.server.release.wait(SLOW_SECONDS)
            return self._answer(200, b"too late\n", send_body=send_body)
        if path == "/head-only":
            return self._answer(405 if send_body else 200, b"use HEAD\n", send_body=send_body)
        return self._answer(404, b"no such route\n", send_body=send_body)

    def _stall_after(self, prefix):
        """Promises a long body, sends `prefix`, then stalls until released."""
        self.send_response(200)
        self.send_header("Content-Length", str(len(prefix) * 100))
        self.end_headers()
        try:
            self.wfile.write(prefix)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        self.server.release.wait(SLOW_SECONDS)
        self.close_connection = True

    def do_GET(self):
        self._route()

    def do_HEAD(self):
        self._route(send_body=False)

    def _echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        text = (f"method={self.command} body={body} host={self.headers.get('Host')} "
                f"ua={self.headers.get('User-Agent')} x-check={self.headers.get('X-Check')}\n")
        self._answer(200, text.encode())

    def do_POST(self):
        self._echo()

    def do_PUT(self):
        self._echo()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


@contextlib.contextmanager
def http_server(host="127.0.0.1", tls_context=None):
    """Serves Handler on host:free port; yields (host, port). With a TLS
    context the socket speaks HTTPS (and records the SNI names it saw in
    server.sni_names)."""
    port = free_port(host)
    server = (_Server6 if ":" in host else _Server)((host, port), Handler)
    server.release = threading.Event()
    server.sni_names = []
    if tls_context is not None:
        tls_context.sni_callback = lambda sock, name, ctx: server.sni_names.append(name)
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server, port
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def silent_server(host="127.0.0.1"):
    """A listening socket that never accepts: the kernel completes the TCP
    handshake, so the client connects, sends its request and hears nothing."""
    port = free_port(host)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as listener:
        listener.bind((host, port))
        listener.listen(8)
        yield port


def self_signed_certificate(directory, name):
    """A self-signed certificate for `name`, a DNS name or an IP address:
    (cert_path, key_path)."""
    directory = Path(directory)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    try:
        ipaddress.ip_address(name)
        alt_name = f"IP:{name}"
    except ValueError:
        alt_name = f"DNS:{name}"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName={alt_name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30)
    return cert, key


def tls_server_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def nginx_binary():
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(path).exists(), "nginx is needed for the virtual host tests (apt install nginx)"
    return path


@contextlib.contextmanager
def nginx_vhosts(directory, host, vhosts):
    """nginx on host:free port with one server block per {server_name: body}
    (each answers 200 and its body) and a default server answering 404.
    Yields the port."""
    directory = Path(directory)
    port = free_port(host)
    blocks = [f"server {{ listen {host}:{port} default_server; return 404 \"no vhost\\n\"; }}"]
    for name, body in vhosts.items():
        blocks.append(f"server {{ listen {host}:{port}; server_name {name}; "
                      f"location / {{ return 200 \"{body}\\n\"; }} }}")
    temp_paths = "\n".join(
        f"  {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = directory / "nginx.conf"
    conf.write_text(f"""
daemon off;
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  default_type text/plain;
{temp_paths}
  {" ".join(blocks)}
}}
""")
    process = subprocess.Popen([nginx_binary(), "-c", str(conf), "-p", str(directory),
                                "-e", str(directory / "error.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        try:
            wait_for_port(host, port, timeout=10)
        except TimeoutError:
            process.kill()
            raise AssertionError("nginx did not start: " + process.communicate()[1].decode() +
                                 (directory / "error.log").read_text())
        yield port
    finally:
        stop_process(process)
