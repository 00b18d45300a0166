"""Real receivers for the notification tests, started by the tests on
127.0.0.1 and free ports and always stopped: an SMTP server (Debian's
aiosmtpd) with STARTTLS or implicit TLS and AUTH, an HTTP receiver for
webhooks that verifies their HMAC signature, a receiver that accepts and
then never answers, and the certificates they present (a test CA)."""
import contextlib
import email
import email.policy
import hashlib
import hmac
import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import free_port


def make_tls_files(directory):
    """A CA and a server certificate for 127.0.0.1 and localhost signed by
    it, made with openssl; returns (ca_file, cert_file, key_file)."""
    d = directory
    ca_key, ca, key, csr, cert = (d / "ca.key", d / "ca.pem", d / "server.key", d / "server.csr",
                                  d / "server.pem")
    ext = d / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                   "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\n")

    def openssl(*args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
            "-days", "2", "-subj", "/CN=autodnsfailover test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
            "/CN=localhost")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out",
            cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1: `tls` "starttls" (required before anything
    else) or "implicit" (TLS from the first byte); AUTH required with
    `user`/`password`. messages() are the mails received, as
    email.message.EmailMessage objects with .envelope_to set."""

    def __init__(self, tls_files, tls="starttls", user="adf", password="s3cret"):
        _, cert, key = tls_files
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # no client certificates
        context.load_cert_chain(str(cert), str(key))
        self.port = free_port()
        self._received = []
        self._lock = threading.Lock()
        self.logins = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                message.envelope_to = list(envelope.rcpt_tos)
                message.over_tls = server.transport.get_extra_info("ssl_object") is not None
                with receiver._lock:
                    receiver._received.append(message)
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login == user.encode() and \
                data.password == password.encode()
            receiver.logins.append((mechanism, ok))
            return AuthResult(success=ok, handled=False)  # aiosmtpd then answers 235 or 535

        kwargs = dict(auth_required=True, auth_require_tls=True, authenticator=authenticate)
        if tls == "implicit":
            # aiosmtpd 1.4 offers AUTH with auth_require_tls only after
            # STARTTLS; over implicit TLS the whole session is TLS anyway.
            kwargs.update(ssl_context=context, auth_require_tls=False)
        else:
            kwargs.update(tls_context=context, require_starttls=True)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     ready_timeout=10, **kwargs)
        self.controller.start()
        self.server = f"127.0.0.1:{self.port}"

    def messages(self):
        with self._lock:
            return list(self._received)

    def wait_for(self, predicate, timeout=20, what="mail"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages() if predicate(m)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"{what} not received within {timeout}s; got "
                             f"{[m['Subject'] for m in self.messages()]}")

    def stop(self):
        self.controller.stop()


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that takes webhook POSTs, checks the
    X-Autodnsfailover-Signature header against HMAC-SHA256(key, body) and
    keeps (payload, signature_ok, headers) for each; answers `status`."""

    def __init__(self, key, status=200):
        receiver = self
        self.key = key.encode()
        self.status = status
        self.calls = []
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                expected = "sha256=" + hmac.new(receiver.key, body, hashlib.sha256).hexdigest()
                signature = self.headers.get("X-Autodnsfailover-Signature", "")
                call = (json.loads(body), hmac.compare_digest(signature, expected),
                        dict(self.headers))
                with receiver._lock:
                    receiver.calls.append(call)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def payloads(self, event=None):
        with self._lock:
            return [p for p, _, _ in self.calls if event is None or p["event"] == event]

    def all_signed(self):
        with self._lock:
            return all(ok for _, ok, _ in self.calls)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class HangingReceiver:
    """Accepts connections on 127.0.0.1 and never answers (nor reads):
    a receiver that hangs. connections counts those it accepted."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.connections = 0
        self._held = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                connection, _ = self.listener.accept()
                self._held.append(connection)
                self.connections += 1

    def stop(self):
        self._stop.set()
        self.thread.join()
        for connection in self._held:
            connection.close()
        self.listener.close()


@contextlib.contextmanager
def running(receiver):
    try:
        yield receiver
    finally:
        receiver.stop()
