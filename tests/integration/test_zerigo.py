"""The zerigo dns plugin against tests/fakes/zerigo_fake.py (Zerigo DNS API
1.1), driven through `autodnsfailover probe dns ...`."""
import base64
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import base_config, probe, run, write_config
from fixtures_common import FakeService, elapsed, no_proxy_environment  # noqa: F401
from rounds import assert_round_read_nothing, dns_call, one_round

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "zerigo_fake.py"
USER = "ops@example.test"
KEY = "k3y-that-must-never-be-logged"
ZONE = "example.test"
FQDN = "www.example.test"

pytestmark = pytest.mark.usefixtures("no_proxy_environment")


class Fake(FakeService):
    """A running zerigo_fake.py and its control client."""

    def __init__(self):
        super().__init__(FAKE, "--user", USER, "--key", KEY, "--zone", ZONE)
        self.endpoint = f"{self.base}/api/1.1/"

    def seed(self, *hosts, generate=0):
        return self.control("seed", {"zone": ZONE, "hosts": list(hosts), "generate": generate})

    def hosts(self, hostname="www"):
        zone = next(z for z in self.control("state") if z["domain"] == ZONE)
        return [h for h in zone["hosts"] if h["hostname"] == hostname]

    def log(self):
        return self.control("log")

    def api(self, method, path, body=None, user=USER, key=KEY, content_type="application/xml"):
        """A raw API request; returns (status, body text)."""
        token = base64.b64encode(f"{user}:{key}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": "application/xml"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.endpoint + path, method=method, headers=headers,
                                         data=None if body is None else body.encode())
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def a_host(data, hostname="www", host_type="A", ttl=60, notes=None):
    return {"hostname": hostname, "host-type": host_type, "data": data, "ttl": ttl,
            "notes": notes}


@pytest.fixture
def fake():
    with Fake() as running_fake:
        yield running_fake


def config(fake, fqdn=FQDN, **dns):
    section = {"plugin": "zerigo", "user": USER, "api_key": KEY, "zone": ZONE,
               "endpoint": fake.endpoint, "request_timeout": 2}
    section.update(dns)
    return base_config(fqdn=fqdn, dns={k: v for k, v in section.items() if v is not None})


def records(result):
    return [line.split(" ", 2) for line in result.stdout.splitlines()]


def test_add_creates_host_with_ttl_and_note(fake, tmp_path):
    result = probe(tmp_path, config(fake), "dns", "add", FQDN, "192.0.2.10", "--note", "web-1")
    assert result.returncode == 0, result.stderr
    [host] = fake.hosts()
    assert (host["host-type"], host["data"], host["ttl"], host["notes"]) == (
        "A", "192.0.2.10", 60, "web-1")
    [post] = [e for e in fake.log() if e["method"] == "POST"]
    assert post["path"] == "/api/1.1/zones/1001/hosts.xml"
    assert post["content_type"] == "application/xml" and post["accept"] == "application/xml"
    assert "<host-type>A</host-type>" in post["body"]
    assert '<ttl type="integer">60</ttl>' in post["body"]


def test_first_record_gets_the_configured_ttl(fake, tmp_path):
    result = probe(tmp_path, config(fake, ttl=120), "dns", "add", FQDN, "192.0.2.10")
    assert result.returncode == 0, result.stderr
    assert [h["ttl"] for h in fake.hosts()] == [120]
    assert [h["notes"] for h in fake.hosts()] == [None]


def test_add_aaaa_record(fake, tmp_path):
    result = probe(tmp_path, config(fake), "dns", "add", FQDN, "2001:db8::7", "--note", "web-7")
    assert result.returncode == 0, result.stderr
    assert [(h["host-type"], h["data"]) for h in fake.hosts()] == [("AAAA", "2001:db8::7")]


def test_read_lists_only_this_name_and_type_with_ttl_and_note(fake, tmp_path):
    fake.seed(a_host("192.0.2.2", notes="web-2"), a_host("192.0.2.1", notes="web-1"),
              a_host("2001:db8::1", host_type="AAAA"), a_host("192.0.2.9", hostname="mail"),
              a_host("192.0.2.8", hostname="www.www"))
    result = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert result.returncode == 0, result.stderr
    assert records(result) == [["192.0.2.1", "60", "web-1"], ["192.0.2.2", "60", "web-2"]]
    six = probe(tmp_path, config(fake), "dns", "read", FQDN, "--family", "6")
    assert six.returncode == 0, six.stderr
    assert records(six) == [["2001:db8::1", "60", ""]]
    assert all(e["path"] == "/api/1.1/hosts.xml" for e in fake.log())
    assert {e["query"] for e in fake.log()} == {"fqdn=www.example.test"}


def test_host_without_ttl_reads_with_the_zone_default_ttl(fake, tmp_path):
    fake.seed(a_host("192.0.2.1", ttl=None))
    result = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert result.returncode == 0, result.stderr
    assert records(result) == [["192.0.2.1", "900", ""]]


def test_name_without_records_reads_as_empty_set(fake, tmp_path):
    result = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert [e["status"] for e in fake.log()] == [404]


def test_remove_deletes_only_that_host(fake, tmp_path):
    fake.seed(a_host("192.0.2.1"), a_host("192.0.2.2"), a_host("192.0.2.1", hostname="mail"))
    result = probe(tmp_path, config(fake), "dns", "remove", FQDN, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert [h["data"] for h in fake.hosts()] == ["192.0.2.2"]
    assert [h["data"] for h in fake.hosts("mail")] == ["192.0.2.1"]
    assert [e["method"] for e in fake.log()] == ["GET", "GET", "DELETE"]
    assert len({e["client"] for e in fake.log()}) == 1  # one kept-alive connection


def test_remove_of_the_last_record_is_refused_by_the_plugin_itself(fake, tmp_path):
    fake.seed(a_host("192.0.2.1"))
    result = dns_call(tmp_path, config(fake), FQDN, "192.0.2.1")
    assert result.returncode == 1, result.stderr
    assert (f"refusing to remove {FQDN} A 192.0.2.1: it is the last record of the name, and a "
            "pool is never emptied") in result.stderr
    assert [h["data"] for h in fake.hosts()] == ["192.0.2.1"]
    assert "DELETE" not in [e["method"] for e in fake.log()]


def test_delete_answered_404_counts_as_already_gone(fake, tmp_path):
    fake.seed(a_host("192.0.2.1"), a_host("192.0.2.2"))
    fake.control("trigger", {"before": "delete", "remove": {"data": "192.0.2.1"}})
    result = probe(tmp_path, config(fake), "dns", "remove", FQDN, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert [e["status"] for e in fake.log() if e["method"] == "DELETE"] == [404]
    assert "already gone" in result.stderr
    assert [h["data"] for h in fake.hosts()] == ["192.0.2.2"]


def test_create_refused_with_422_quotes_zerigo_errors(fake, tmp_path):
    fake.control("fail-next", {"method": "POST", "status": 422,
                               "errors": ["Data has already been taken", "Notes is too long"]})
    result = probe(tmp_path, config(fake), "dns", "add", FQDN, "192.0.2.10", "--note", "web-1")
    assert result.returncode == 1
    assert '"Data has already been taken"' in result.stderr
    assert '"Notes is too long"' in result.stderr
    assert fake.hosts() == []


def test_bad_credentials_fail_without_revealing_the_key(fake, tmp_path):
    wrong_key = "wrong-key-also-secret"
    result = probe(tmp_path, config(fake, api_key=wrong_key), "dns", "read", FQDN)
    assert result.returncode == 1
    assert "authentication failed (check user and api_key)" in result.stderr
    assert wrong_key not in result.stderr + result.stdout
    assert [e["status"] for e in fake.log()] == [401]


def test_api_key_from_environment(fake, tmp_path):
    result = probe(tmp_path, config(fake, api_key={"env": "ZERIGO_TEST_KEY"}), "dns", "add",
                   FQDN, "192.0.2.10", env={"ZERIGO_TEST_KEY": KEY})
    assert result.returncode == 0, result.stderr
    assert KEY not in result.stderr + result.stdout
    assert all(e["authorized"] for e in fake.log())


def test_server_that_stops_answering_is_transient_within_request_timeout(fake, tmp_path):
    fake.control("fault", {"mode": "hang"})
    result, seconds = elapsed(probe, tmp_path, config(fake, request_timeout=1), "dns", "read",
                              FQDN)
    assert result.returncode == 3, result.stderr
    assert "Timeout was reached" in result.stderr or "timed out" in result.stderr
    assert seconds < 2.0


def test_server_error_is_transient_and_names_the_status(fake, tmp_path):
    fake.control("fault", {"mode": "error", "status": 500})
    result = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert result.returncode == 3
    assert "HTTP 500" in result.stderr and "hosts.xml?fqdn=www.example.test" in result.stderr


def test_remove_refused_when_set_changed_after_it_was_read(fake, tmp_path):
    fake.seed(a_host("192.0.2.1"), a_host("192.0.2.2"))
    # Someone else adds a record right after the probe's read: the plugin's
    # re-read before writing must notice it and change nothing.
    fake.control("trigger", {"after": "read", "add": {**a_host("192.0.2.3"), "zone": ZONE}})
    result = probe(tmp_path, config(fake), "dns", "remove", FQDN, "192.0.2.1")
    assert result.returncode == 4, result.stderr
    assert "changed since they were read" in result.stderr
    assert sorted(h["data"] for h in fake.hosts()) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert "DELETE" not in [e["method"] for e in fake.log()]


def test_add_refused_when_set_changed_after_it_was_read(fake, tmp_path):
    fake.seed(a_host("192.0.2.1"), a_host("192.0.2.2"))
    fake.control("trigger", {"after": "read", "remove": {"data": "192.0.2.2"}})
    result = probe(tmp_path, config(fake), "dns", "add", FQDN, "192.0.2.5")
    assert result.returncode == 4, result.stderr
    assert [h["data"] for h in fake.hosts()] == ["192.0.2.1"]
    assert "POST" not in [e["method"] for e in fake.log()]


def test_zone_of_over_300_hosts_still_reads_and_adds(fake, tmp_path):
    fake.seed(a_host("192.0.2.1", notes="web-1"), generate=320)
    status, zone_xml = fake.api("GET", f"zones/{ZONE}.xml")
    assert status == 200 and "<hosts type=" not in zone_xml  # as Zerigo: too many to list
    result = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert result.returncode == 0, result.stderr
    assert records(result) == [["192.0.2.1", "60", "web-1"]]
    added = probe(tmp_path, config(fake), "dns", "add", FQDN, "192.0.2.2")
    assert added.returncode == 0, added.stderr
    assert sorted(h["data"] for h in fake.hosts()) == ["192.0.2.1", "192.0.2.2"]


def test_zone_apex_is_refused(fake, tmp_path):
    for args in (["read", ZONE], ["add", ZONE, "192.0.2.1"]):
        result = probe(tmp_path, config(fake), "dns", *args)
        assert result.returncode == 2
        assert 'apex "example.test" cannot be managed' in result.stderr
    assert fake.log() == []


def test_name_outside_the_zone_is_refused(fake, tmp_path):
    result = probe(tmp_path, config(fake), "dns", "read", "www.other.test")
    assert result.returncode == 2
    assert 'not inside the zone "example.test"' in result.stderr
    assert fake.log() == []


def test_unknown_zone_fails_naming_it(fake, tmp_path):
    result = probe(tmp_path, config(fake, zone="missing.test", fqdn="www.missing.test"), "dns",
                   "add", "www.missing.test", "192.0.2.1")
    assert result.returncode == 1
    assert 'zone "missing.test" (key "zone") does not exist' in result.stderr


@pytest.mark.parametrize("dns, path", [
    ({"user": None}, "dns.user"),
    ({"user": "ops:admin@example.test"}, "dns.user"),
    ({"api_key": ""}, "dns.api_key"),
    ({"zone": None}, "dns.zone"),
    ({"endpoint": "ftp://ns.example.test/"}, "dns.endpoint"),
    ({"ttl": 0}, "dns.ttl"),
    ({"request_timeout": "soon"}, "dns.request_timeout"),
    ({"api_token": "x"}, "dns.api_token"),
])
def test_config_errors_exit_2_naming_the_key(fake, tmp_path, dns, path):
    result = probe(tmp_path, config(fake, **dns), "dns", "read", FQDN)
    assert result.returncode == 2
    assert path in result.stderr
    assert fake.log() == []


def test_fake_refuses_what_zerigo_refused(fake):
    """The fake is only worth its tests if it is as strict as the service."""
    good = ('<host><hostname>www</hostname><host-type>A</host-type><data>192.0.2.1</data>'
            '<ttl type="integer">60</ttl></host>')
    assert fake.api("POST", "zones/1001/hosts.xml", good)[0] == 201
    assert '<hosts type="array">' in fake.api("GET", f"zones/{ZONE}.xml")[1]  # a small zone
    duplicate = fake.api("POST", "zones/1001/hosts.xml", good)
    assert duplicate[0] == 422 and "<error>" in duplicate[1]
    underscored = good.replace("host-type", "host_type")
    assert fake.api("POST", "zones/1001/hosts.xml", underscored)[0] == 422
    untyped_ttl = good.replace(' type="integer"', "").replace("192.0.2.1", "192.0.2.2")
    assert fake.api("POST", "zones/1001/hosts.xml", untyped_ttl)[0] == 422
    wrong_family = good.replace("192.0.2.1", "2001:db8::1")
    assert "not a valid IPv4" in fake.api("POST", "zones/1001/hosts.xml", wrong_family)[1]
    assert fake.api("POST", "zones/1001/hosts.xml", good, content_type="text/plain")[0] == 415
    assert fake.api("GET", "hosts.xml?fqdn=www.example.test", key="nope")[0] == 401
    assert fake.api("DELETE", "hosts/999.xml")[0] == 404


# --- malformed answers: a read is complete or an error ----------------------

def hosts_xml(*hosts):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<hosts type="array">'
            + "".join(hosts) + "</hosts>")


def host_xml(*, id=7, hostname="www", host_type="A", data="192.0.2.1", ttl="60", wrap=True):
    parts = [f'<id type="integer">{id}</id>']
    for name, value in (("hostname", hostname), ("host-type", host_type), ("data", data),
                        ("ttl", ttl)):
        if value is not None:
            parts.append(f"<{name}>{value}</{name}>")
    inner = "".join(parts)
    return f"<host>{inner}</host>" if wrap else inner


MALFORMED = [
    ("host-type-missing", hosts_xml(host_xml(host_type=None)), "host 7: <host-type> is missing"),
    ("hostname-missing", hosts_xml(host_xml(hostname=None)), "host 7: <hostname> is missing"),
    ("host-type-lower-case", hosts_xml(host_xml(host_type="a")),
     'host 7: the record type \\"a\\" is not a DNS record type'),
    ("hosts-nested-deeper", hosts_xml("<hosts>" + host_xml() + "</hosts>"),
     "<hosts> holds a <hosts> element where only <host> elements belong"),
    ("another-name", hosts_xml(host_xml(hostname="mail")),
     'a record of \\"mail.example.test\\" type \\"A\\", where only www.example.test A records '
     "belong"),
    ("data-not-an-address", hosts_xml(host_xml(data="web-1")),
     'the value \\"web-1\\" of a A record is not an IPv4 address'),
    ("ttl-not-a-number", hosts_xml(host_xml(ttl="soon")), 'host 7: <ttl> is \\"soon\\", not a TTL'),
    ("not-xml", "<html><body>We're sorry", "not well-formed XML"),
]


@pytest.mark.parametrize("body, fault", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_hosts_answer_fails_the_read_and_the_round_writes_nothing(fake, tmp_path,
                                                                              body, fault):
    fake.seed(a_host("192.0.2.1"), a_host("192.0.2.2"))
    fake.control("answer", {"method": "GET", "path": "hosts.xml", "body": body, "count": -1})
    read = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert read.returncode == 1, read.stderr
    assert "a malformed answer, nothing is trusted" in read.stderr
    assert fault.replace('\\"', '"') in read.stderr
    assert read.stdout == ""

    result = one_round(tmp_path, config(fake)["dns"], FQDN)
    assert_round_read_nothing(result)
    assert [e["method"] for e in fake.log() if e["method"] != "GET"] == []
    assert sorted(h["data"] for h in fake.hosts()) == ["192.0.2.1", "192.0.2.2"]


def test_the_same_round_adds_itself_when_the_answer_is_sound(fake, tmp_path):
    fake.seed(a_host("192.0.2.1"), a_host("192.0.2.2"))
    result = one_round(tmp_path, config(fake)["dns"], FQDN)
    assert result.returncode == 0, result.stderr
    assert "added myself (127.0.0.11) into DNS" in result.stderr
    assert sorted(h["data"] for h in fake.hosts()) == ["127.0.0.11", "192.0.2.1", "192.0.2.2"]


def test_other_types_at_the_name_are_left_out(fake, tmp_path):
    fake.seed(a_host("192.0.2.1"), a_host("mail.example.test.", host_type="MX"),
              a_host("2001:db8::1", host_type="AAAA"))
    read = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert read.returncode == 0, read.stderr
    assert [r[0] for r in records(read)] == ["192.0.2.1"]


def test_deleting_many_duplicates_stops_at_the_operation_timeout(fake, tmp_path):
    # A set listing one address under thousands of host ids: each DELETE
    # takes 10 ms, 5000 of them 50 s; the operation ends at its deadline.
    many = "".join(host_xml(id=100 + i, data="192.0.2.1") for i in range(5000))
    fake.control("answer", {"method": "GET", "path": "hosts.xml", "count": -1,
                            "body": hosts_xml(many, host_xml(id=99, data="192.0.2.2"))})
    fake.control("answer", {"method": "DELETE", "path": "hosts/", "count": -1, "status": 404,
                            "body": "", "delay": 0.01})
    result, seconds = elapsed(dns_call, tmp_path, config(fake, operation_timeout=1.5), FQDN,
                              "192.0.2.1")
    assert result.returncode == 2, result.stderr  # ADF_TRANSIENT
    assert re.search(r"gave up (before|during) DELETE \S+/hosts/\d+\.xml: the operation took",
                     result.stderr), result.stderr
    assert 'its limit is 1.5 s (key "operation_timeout")' in result.stderr
    assert seconds < 15
    deletes = [e for e in fake.log() if e["method"] == "DELETE"]
    assert 1 <= len(deletes) < 5000  # it stopped, long before the last


@pytest.mark.parametrize("fqdn, why", [
    ("www.other.test", '"www.other.test" is not inside the zone "example.test"'),
    ("example.test", 'the zone apex "example.test" cannot be managed through Zerigo'),
])
def test_a_name_zerigo_cannot_manage_fails_check_config(fake, tmp_path, fqdn, why):
    result = run(["check-config", "-c", write_config(tmp_path / "outside.json",
                                                     config(fake, fqdn=fqdn))])
    assert result.returncode == 2, result.stderr
    assert f"fqdn: plugin zerigo (dns) cannot manage {fqdn}: {why}" in result.stderr
    assert fake.log() == []
