"""The powerdns dns plugin against a real PowerDNS Authoritative server
(pdns_server + gsqlite3, started per module), driven through
`autodnsfailover probe dns ...`, with dig checking what pdns then serves."""
import json
import shutil

import pytest

from conftest import base_config, example_config, free_port, probe, run, write_config
from fixtures_common import no_proxy_environment  # noqa: F401
from pdns_server import API_KEY, PdnsServer, RecordingProxy
from rounds import SELF, assert_round_read_nothing, dns_call, one_round

ZONE = "example.test"
FQDN = "www.example.test"

pytestmark = [
    pytest.mark.usefixtures("no_proxy_environment"),
    pytest.mark.skipif(shutil.which("pdns_server") is None or shutil.which("dig") is None,
                       reason="needs pdns-server, pdns-backend-sqlite3 and dig"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pdns = PdnsServer(tmp_path_factory.mktemp("pdns"))
    pdns.start()
    try:
        yield pdns
    finally:
        pdns.stop()


@pytest.fixture
def pdns(server):
    """The server with a fresh, empty example.test zone."""
    server.delete_zone(ZONE)
    server.create_zone(ZONE)
    return server


@pytest.fixture
def proxy(pdns):
    recording = RecordingProxy(pdns.web_port).start()
    try:
        yield recording
    finally:
        recording.stop()


def config(endpoint, fqdn=FQDN, **dns):
    section = {"plugin": "powerdns", "endpoint": endpoint, "zone": ZONE, "api_key": API_KEY,
               "request_timeout": 5}
    section.update(dns)
    return base_config(fqdn=fqdn, dns={k: v for k, v in section.items() if v is not None})


def records(result):
    return [line.split(" ", 2) for line in result.stdout.splitlines()]


def test_add_creates_the_rrset_with_default_ttl_and_note_comment(pdns, tmp_path):
    result = probe(tmp_path, config(pdns.endpoint), "dns", "add", FQDN, "192.0.2.10",
                   "--note", "web-1")
    assert result.returncode == 0, result.stderr
    rrset = pdns.rrset(ZONE, FQDN, "A")
    assert rrset["ttl"] == 60
    assert rrset["records"] == [{"content": "192.0.2.10", "disabled": False}]
    assert [(c["content"], c["account"]) for c in rrset["comments"]] == [
        ("web-1", "autodnsfailover")]
    assert pdns.served(FQDN, "A") == ["192.0.2.10"]
    assert pdns.ttl_served(FQDN, "A") == [60]


def test_first_record_gets_the_configured_ttl(pdns, tmp_path):
    result = probe(tmp_path, config(pdns.endpoint, ttl=300), "dns", "add", FQDN, "192.0.2.10")
    assert result.returncode == 0, result.stderr
    assert pdns.rrset(ZONE, FQDN, "A")["ttl"] == 300
    assert pdns.rrset(ZONE, FQDN, "A")["comments"] == []
    assert pdns.ttl_served(FQDN, "A") == [300]


def test_read_gives_ttl_and_our_comment_and_leaves_out_disabled_records(pdns, tmp_path):
    pdns.set_rrset(ZONE, FQDN, "A", ["192.0.2.2", "192.0.2.1", "192.0.2.3"], ttl=120,
                   disabled=["192.0.2.3"],
                   comments=[{"content": "ticket 42", "account": "ops", "modified_at": 10},
                             {"content": "web-1", "account": "autodnsfailover",
                              "modified_at": 20}])
    pdns.set_rrset(ZONE, FQDN, "AAAA", ["2001:db8::1"], ttl=90)
    pdns.set_rrset(ZONE, "mail.example.test", "A", ["192.0.2.9"])
    result = probe(tmp_path, config(pdns.endpoint), "dns", "read", FQDN)
    assert result.returncode == 0, result.stderr
    assert records(result) == [["192.0.2.1", "120", "web-1"], ["192.0.2.2", "120", "web-1"]]
    assert "192.0.2.3 is disabled in PowerDNS" in result.stderr  # debug log
    six = probe(tmp_path, config(pdns.endpoint), "dns", "read", FQDN, "--family", "6")
    assert six.returncode == 0, six.stderr
    assert records(six) == [["2001:db8::1", "90", ""]]
    assert pdns.served(FQDN, "A") == ["192.0.2.1", "192.0.2.2"]


def test_read_takes_the_first_comment_when_none_is_ours(pdns, tmp_path):
    pdns.set_rrset(ZONE, FQDN, "A", ["192.0.2.1"],
                   comments=[{"content": "set up by hand", "account": "ops"}])
    result = probe(tmp_path, config(pdns.endpoint), "dns", "read", FQDN)
    assert records(result) == [["192.0.2.1", "60", "set up by hand"]]


def test_name_without_records_reads_as_empty_set(pdns, tmp_path):
    result = probe(tmp_path, config(pdns.endpoint), "dns", "read", FQDN)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_add_keeps_the_ttl_disabled_records_and_other_comments(pdns, proxy, tmp_path):
    pdns.set_rrset(ZONE, FQDN, "A", ["192.0.2.1", "192.0.2.3"], ttl=3600,
                   disabled=["192.0.2.3"],
                   comments=[{"content": "web-1", "account": "autodnsfailover"},
                             {"content": "ticket 42", "account": "ops", "modified_at": 1000}])
    result = probe(tmp_path, config(proxy.endpoint, ttl=60), "dns", "add", FQDN, "192.0.2.2",
                   "--note", "web-2")
    assert result.returncode == 0, result.stderr
    assert proxy.methods() == ["GET", "GET", "PATCH"]  # read, re-read, write
    [patch] = [json.loads(r["body"]) for r in proxy.requests if r["method"] == "PATCH"]
    [sent] = patch["rrsets"]
    assert (sent["changetype"], sent["ttl"]) == ("REPLACE", 3600)
    rrset = pdns.rrset(ZONE, FQDN, "A")
    assert rrset["ttl"] == 3600
    assert sorted((r["content"], r["disabled"]) for r in rrset["records"]) == [
        ("192.0.2.1", False), ("192.0.2.2", False), ("192.0.2.3", True)]
    assert sorted((c["content"], c["account"]) for c in rrset["comments"]) == [
        ("ticket 42", "ops"), ("web-2", "autodnsfailover")]
    assert [c["modified_at"] for c in rrset["comments"] if c["account"] == "ops"] == [1000]
    assert pdns.served(FQDN, "A") == ["192.0.2.1", "192.0.2.2"]
    assert pdns.ttl_served(FQDN, "A") == [3600]


def test_add_aaaa_record(pdns, tmp_path):
    result = probe(tmp_path, config(pdns.endpoint), "dns", "add", FQDN, "2001:db8::7",
                   "--note", "web-7")
    assert result.returncode == 0, result.stderr
    assert pdns.served(FQDN, "AAAA") == ["2001:db8::7"]
    assert pdns.served(FQDN, "A") == []
    read = probe(tmp_path, config(pdns.endpoint), "dns", "read", FQDN, "--family", "6")
    assert records(read) == [["2001:db8::7", "60", "web-7"]]


def test_add_of_a_served_address_changes_nothing(pdns, proxy, tmp_path):
    pdns.set_rrset(ZONE, FQDN, "A", ["192.0.2.1"])
    result = probe(tmp_path, config(proxy.endpoint), "dns", "add", FQDN, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert "PATCH" not in proxy.methods()
    assert "nothing to add" in result.stderr


def test_add_of_a_disabled_address_is_refused(pdns, tmp_path):
    pdns.set_rrset(ZONE, FQDN, "A", ["192.0.2.1", "192.0.2.2"], disabled=["192.0.2.2"])
    result = probe(tmp_path, config(pdns.endpoint), "dns", "add", FQDN, "192.0.2.2")
    assert result.returncode == 1
    assert "192.0.2.2 exists in PowerDNS but is disabled" in result.stderr
    assert pdns.served(FQDN, "A") == ["192.0.2.1"]


def test_remove_keeps_the_rest_of_the_rrset(pdns, proxy, tmp_path):
    comments = [{"content": "web-1", "account": "autodnsfailover", "modified_at": 2000}]
    pdns.set_rrset(ZONE, FQDN, "A", ["192.0.2.1", "192.0.2.2", "192.0.2.3"], ttl=600,
                   disabled=["192.0.2.3"], comments=comments)
    result = probe(tmp_path, config(proxy.endpoint), "dns", "remove", FQDN, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert proxy.methods() == ["GET", "GET", "PATCH"]
    rrset = pdns.rrset(ZONE, FQDN, "A")
    assert rrset["ttl"] == 600
    assert sorted((r["content"], r["disabled"]) for r in rrset["records"]) == [
        ("192.0.2.2", False), ("192.0.2.3", True)]
    assert rrset["comments"] == comments  # a remove leaves the note alone
    assert pdns.served(FQDN, "A") == ["192.0.2.2"]


def test_remove_of_the_last_record_is_refused_by_the_plugin_itself(pdns, proxy, tmp_path):
    pdns.set_rrset(ZONE, FQDN, "A", ["192.0.2.1"])
    result = dns_call(tmp_path, config(proxy.endpoint), FQDN, "192.0.2.1")
    assert result.returncode == 1, result.stderr
    assert (f"refusing to remove {FQDN} A 192.0.2.1: it is the last record of the name, and a "
            "pool is never emptied") in result.stderr
    assert "PATCH" not in proxy.methods()
    assert pdns.served(FQDN, "A") == ["192.0.2.1"]


def test_add_refused_when_the_rrset_changed_after_it_was_read(pdns, proxy, tmp_path):
    pdns.set_rrset(ZONE, FQDN, "A", ["192.0.2.1", "192.0.2.2"])
    # Someone else adds a record between the probe's read (GET 1) and the
    # plugin's re-read before writing (GET 2).
    proxy.before("GET", 2, lambda: pdns.set_rrset(
        ZONE, FQDN, "A", ["192.0.2.1", "192.0.2.2", "192.0.2.3"]))
    result = probe(tmp_path, config(proxy.endpoint), "dns", "add", FQDN, "192.0.2.5")
    assert result.returncode == 4, result.stderr
    assert "changed since they were read" in result.stderr
    assert "192.0.2.3" in result.stderr
    assert "PATCH" not in proxy.methods()
    assert pdns.served(FQDN, "A") == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


def test_remove_refused_when_the_rrset_changed_after_it_was_read(pdns, proxy, tmp_path):
    pdns.set_rrset(ZONE, FQDN, "A", ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
    proxy.before("GET", 2, lambda: pdns.set_rrset(ZONE, FQDN, "A", ["192.0.2.1", "192.0.2.2"]))
    result = probe(tmp_path, config(proxy.endpoint), "dns", "remove", FQDN, "192.0.2.1")
    assert result.returncode == 4, result.stderr
    assert "PATCH" not in proxy.methods()
    assert pdns.served(FQDN, "A") == ["192.0.2.1", "192.0.2.2"]


def test_bad_api_key_fails_without_revealing_it(pdns, tmp_path):
    wrong = "wrong-key-also-secret"
    result = probe(tmp_path, config(pdns.endpoint, api_key=wrong), "dns", "read", FQDN)
    assert result.returncode == 1
    assert "API key rejected" in result.stderr and "HTTP 401" in result.stderr
    assert wrong not in result.stderr + result.stdout
    assert API_KEY not in result.stderr + result.stdout


def test_unknown_zone_fails_naming_it(pdns, tmp_path):
    result = probe(tmp_path, config(pdns.endpoint, zone="missing.test", fqdn="www.missing.test"),
                   "dns", "add", "www.missing.test", "192.0.2.1")
    assert result.returncode == 1
    assert 'zone "missing.test." not found on PowerDNS server "localhost"' in result.stderr


def test_unprocessable_change_quotes_the_powerdns_error(pdns, tmp_path):
    # An A record beside a CNAME: pdns answers 422 {"error": "... Conflicts ..."}.
    pdns.set_rrset(ZONE, FQDN, "CNAME", ["web.example.net."])
    result = probe(tmp_path, config(pdns.endpoint), "dns", "add", FQDN, "192.0.2.1")
    assert result.returncode == 1
    assert "PowerDNS refused the change" in result.stderr and "HTTP 422" in result.stderr
    assert "Conflicts with pre-existing RRset" in result.stderr
    assert pdns.rrset(ZONE, FQDN, "A") is None


def test_server_error_is_transient(pdns, proxy, tmp_path):
    proxy.answer_next("GET", 503, {"error": "backend unavailable"})
    result = probe(tmp_path, config(proxy.endpoint), "dns", "read", FQDN)
    assert result.returncode == 3, result.stderr
    assert "HTTP 503" in result.stderr and "backend unavailable" in result.stderr


def test_unreachable_server_is_transient(tmp_path):
    result = probe(tmp_path, config(f"http://127.0.0.1:{free_port()}"), "dns", "read", FQDN)
    assert result.returncode == 3, result.stderr


def test_name_outside_the_zone_is_refused(pdns, proxy, tmp_path):
    result = probe(tmp_path, config(proxy.endpoint), "dns", "read", "www.other.test")
    assert result.returncode == 2
    assert 'not inside the zone "example.test"' in result.stderr
    assert proxy.requests == []


def test_api_base_url_and_zone_with_dot_are_accepted(pdns, tmp_path):
    result = probe(tmp_path, config(pdns.endpoint + "/api/v1/", zone="Example.Test."), "dns",
                   "add", "WWW.example.test", "192.0.2.4")
    assert result.returncode == 0, result.stderr
    assert pdns.served(FQDN, "A") == ["192.0.2.4"]


@pytest.mark.parametrize("dns, path", [
    ({"endpoint": None}, "dns.endpoint"),
    ({"endpoint": "ftp://127.0.0.1/"}, "dns.endpoint"),
    ({"zone": None}, "dns.zone"),
    ({"api_key": ""}, "dns.api_key"),
    ({"ttl": 0}, "dns.ttl"),
    ({"server_id": ""}, "dns.server_id"),
    ({"request_timeout": "soon"}, "dns.request_timeout"),
    ({"api_token": "x"}, "dns.api_token"),
])
def test_config_errors_exit_2_naming_the_key(tmp_path, dns, path):
    result = probe(tmp_path, config(**{"endpoint": "http://127.0.0.1:9", **dns}), "dns", "read",
                   FQDN)
    assert result.returncode == 2, result.stderr
    assert path in result.stderr


def test_example_config_works_against_a_real_server(pdns, tmp_path):
    """etc/powerdns-example.json, pointed at the test server and zone."""
    key_file = tmp_path / "pdns-api.key"
    key_file.write_text(API_KEY + "\n")
    config = example_config(tmp_path, "powerdns-example.json", [
        ("http://127.0.0.1:8081", pdns.endpoint),
        ("/etc/autodnsfailover/pdns-api.key", str(key_file)),
        ("example.com", ZONE)])
    added = run(["probe", "-c", config, "dns", "add", FQDN, "192.0.2.1", "--note", "web-1"])
    assert added.returncode == 0, added.stderr
    read = run(["probe", "-c", config, "dns", "read", FQDN])
    assert read.stdout == "192.0.2.1 60 web-1\n", read.stderr
    assert pdns.served(FQDN, "A") == ["192.0.2.1"]


# --- malformed answers: a read is complete or an error ----------------------

PEERS = ["192.0.2.1", "192.0.2.2"]


def ours(zone):
    """The A RRset of FQDN in a zone document."""
    return next(r for r in zone["rrsets"] if r["name"] == FQDN + "." and r["type"] == "A")


def set_in_ours(field, value):
    def change(zone):
        ours(zone)[field] = value
        return zone
    return change


def drop_from_ours(field):
    def change(zone):
        del ours(zone)[field]
        return zone
    return change


def with_rrsets(make):
    def change(zone):
        zone["rrsets"] = make(zone["rrsets"])
        return zone
    return change


MALFORMED = [
    ("records-null", set_in_ours("records", None), '"records" is null, not a list'),
    ("records-missing", drop_from_ours("records"), '"records" is missing'),
    ("name-missing", drop_from_ours("name"), '"name" is missing'),
    ("name-null", set_in_ours("name", None), '"name" is null, not a string'),
    ("type-lower-case", set_in_ours("type", "a"), 'the record type "a" is not a DNS record type'),
    ("type-missing", drop_from_ours("type"), '"type" is missing'),
    ("type-null", set_in_ours("type", None), '"type" is null, not a string'),
    ("rrsets-non-object", with_rrsets(lambda rrsets: rrsets + [5, "x"]), "not an RRset object"),
    ("rrsets-nested", with_rrsets(lambda rrsets: [rrsets]), "rrsets[0]: not an RRset object"),
    ("record-not-an-object", set_in_ours("records", [["192.0.2.1"]]), "records[0] is"),
    ("content-not-an-address", set_in_ours("records", [{"content": "web", "disabled": False}]),
     'the value "web" of a A record is not an IPv4 address'),
    ("not-json", lambda zone: "<html>502 Bad Gateway</html>", "the answer is not JSON"),
]


@pytest.mark.parametrize("change, fault", [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_a_malformed_zone_fails_the_read_and_the_round_writes_nothing(pdns, proxy, tmp_path,
                                                                       change, fault):
    # The real server holds two peers. Read as an empty set, this zone once
    # made the round PATCH REPLACE the RRset with this host alone: every
    # peer deleted.
    pdns.set_rrset(ZONE, FQDN, "A", PEERS)
    proxy.rewrite("GET", change)
    read = probe(tmp_path, config(proxy.endpoint), "dns", "read", FQDN)
    assert read.returncode == 1, read.stderr
    assert "a malformed answer, nothing is trusted" in read.stderr
    assert fault in read.stderr
    assert read.stdout == ""

    result = one_round(tmp_path, config(proxy.endpoint)["dns"], FQDN)
    assert_round_read_nothing(result)
    assert fault.replace('"', '\\"') in result.stderr  # the log line quotes the reason
    assert "PATCH" not in proxy.methods()
    assert pdns.served(FQDN, "A") == PEERS


def test_the_same_round_adds_itself_when_the_zone_is_sound(pdns, proxy, tmp_path):
    """The other half of the test above: its round does write when it can read."""
    pdns.set_rrset(ZONE, FQDN, "A", PEERS)
    result = one_round(tmp_path, config(proxy.endpoint)["dns"], FQDN)
    assert result.returncode == 0, result.stderr
    assert "added myself (127.0.0.11) into DNS" in result.stderr
    assert proxy.methods().count("PATCH") == 1
    assert pdns.served(FQDN, "A") == sorted(PEERS + [SELF])


def test_other_names_and_types_in_the_zone_are_well_formed_and_left_out(pdns, tmp_path):
    pdns.set_rrset(ZONE, FQDN, "A", PEERS)
    pdns.set_rrset(ZONE, FQDN, "TXT", ['"v=spf1 -all"'])
    pdns.set_rrset(ZONE, "mail.example.test", "A", ["192.0.2.9"])
    read = probe(tmp_path, config(pdns.endpoint), "dns", "read", FQDN)
    assert read.returncode == 0, read.stderr
    assert [r[0] for r in records(read)] == PEERS


def test_a_name_outside_the_zone_fails_check_config(tmp_path):
    result = run(["check-config", "-c", write_config(
        tmp_path / "outside.json", config("http://127.0.0.1:9", fqdn="www.other.test"))])
    assert result.returncode == 2, result.stderr
    assert ('fqdn: plugin powerdns (dns) cannot manage www.other.test: "www.other.test" is not '
            'inside the zone "example.test"') in result.stderr
