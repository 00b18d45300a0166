"""A DNS responder for answers no real server sends: on 127.0.0.1 and a
free UDP port, it answers every query authoritatively (AA, NOERROR, the
question echoed) with the answer section a test scripts, and logs the
opcode of every message it gets, so a test can tell that no UPDATE came.

    with ScriptedDns([("other.example.test.", "IN", "A", "192.0.2.9")]) as dns_server:
        dns_server.port, dns_server.opcodes()   # e.g. ["QUERY"]

Records are (owner, class, type, data) with a TTL of 60; a record's class
is written as given even when its data is of another class's form (class
CH with an IN address), which dnspython alone would refuse to build."""
import socket
import threading

import dns.flags
import dns.message
import dns.opcode
import dns.rdataclass
import dns.rrset


class ScriptedDns:
    def __init__(self, records):
        self.records = list(records)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self.port = self._socket.getsockname()[1]
        self._opcodes = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stopping.set()
        self._thread.join(timeout=5)
        self._socket.close()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def opcodes(self):
        with self._lock:
            return list(self._opcodes)

    def _answer(self, query):
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        for owner, rdclass, rdtype, data in self.records:
            rrset = dns.rrset.from_text(owner, 60, "IN", rdtype, data)
            rrset.rdclass = dns.rdataclass.from_text(rdclass)
            response.answer.append(rrset)
        return response.to_wire()

    def _serve(self):
        while not self._stopping.is_set():
            try:
                wire, client = self._socket.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(wire)
            except Exception:  # noqa: BLE001 - a datagram that is no DNS message: ignored
                continue
            with self._lock:
                self._opcodes.append(dns.opcode.to_text(query.opcode()))
            if query.opcode() == dns.opcode.QUERY:
                self._socket.sendto(self._answer(query), client)
