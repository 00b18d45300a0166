"""The cloudflare dns plugin against tests/fakes/cloudflare_fake.py (the DNS
records part of the Cloudflare API v4), driven through
`autodnsfailover probe dns ...`."""
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import base_config, example_config, free_port, probe, run
from fixtures_common import FakeService, elapsed, no_proxy_environment  # noqa: F401
from rounds import assert_round_read_nothing, dns_call, one_round

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "cloudflare_fake.py"
TOKEN = "cf-token-that-must-never-be-logged"
READ_ONLY_TOKEN = "cf-read-only-token"
ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353"
ZONE = "example.test"
FQDN = "www.example.test"

pytestmark = pytest.mark.usefixtures("no_proxy_environment")


class Fake(FakeService):
    """A running cloudflare_fake.py and its control client."""

    def __init__(self):
        super().__init__(FAKE, "--token", TOKEN, "--read-only-token", READ_ONLY_TOKEN,
                         "--zone", f"{ZONE_ID}={ZONE}")
        self.endpoint = f"{self.base}/client/v4"

    def seed(self, *records, generate=0):
        return self.control("seed", {"records": list(records), "generate": generate})

    def records(self, name=FQDN, rtype=None):
        return [r for r in self.control("state")
                if r["name"] == name and (rtype is None or r["type"] == rtype)]

    def contents(self, name=FQDN, rtype="A"):
        return sorted(r["content"] for r in self.records(name, rtype))

    def log(self):
        return self.control("log")

    def api(self, method, path, body=None, token=TOKEN):
        """A raw API request; returns (status, envelope)."""
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.endpoint + path, method=method, headers=headers,
                                         data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def a_record(content, name=FQDN, rtype="A", ttl=60, comment=None):
    return {"type": rtype, "name": name, "content": content, "ttl": ttl, "comment": comment}


@pytest.fixture
def fake():
    with Fake() as running_fake:
        yield running_fake


def config(fake, **dns):
    section = {"plugin": "cloudflare", "zone_id": ZONE_ID, "api_token": TOKEN,
               "endpoint": fake.endpoint, "request_timeout": 2, "max_retry_time": 5}
    section.update(dns)
    return base_config(fqdn=FQDN, dns={k: v for k, v in section.items() if v is not None})


def records(result):
    return [line.split(" ", 2) for line in result.stdout.splitlines()]


def api_requests(fake, method=None):
    return [e for e in fake.log() if method is None or e["method"] == method]


def test_add_creates_a_record_with_ttl_comment_and_no_proxying(fake, tmp_path):
    result = probe(tmp_path, config(fake), "dns", "add", FQDN, "192.0.2.10", "--note", "web-1")
    assert result.returncode == 0, result.stderr
    [record] = fake.records()
    assert (record["type"], record["content"], record["ttl"], record["comment"],
            record["proxied"]) == ("A", "192.0.2.10", 60, "web-1", False)
    [post] = api_requests(fake, "POST")
    assert post["path"] == f"/client/v4/zones/{ZONE_ID}/dns_records"
    assert json.loads(post["body"]) == {"type": "A", "name": FQDN, "content": "192.0.2.10",
                                        "ttl": 60, "comment": "web-1", "proxied": False}
    assert all(e["authorization"] == "ok" for e in fake.log())
    assert TOKEN not in result.stderr + result.stdout  # the log is at debug level


def test_first_record_gets_the_configured_ttl_automatic(fake, tmp_path):
    result = probe(tmp_path, config(fake, ttl=1), "dns", "add", FQDN, "192.0.2.10")
    assert result.returncode == 0, result.stderr
    [record] = fake.records()
    assert (record["ttl"], record["comment"]) == (1, None)
    assert "comment" not in json.loads(api_requests(fake, "POST")[0]["body"])


def test_add_aaaa_record(fake, tmp_path):
    result = probe(tmp_path, config(fake), "dns", "add", FQDN, "2001:DB8::7", "--note", "web-7")
    assert result.returncode == 0, result.stderr
    assert fake.contents(rtype="AAAA") == ["2001:db8::7"]
    six = probe(tmp_path, config(fake), "dns", "read", FQDN, "--family", "6")
    assert records(six) == [["2001:db8::7", "60", "web-7"]]


def test_read_lists_this_name_and_type_with_ttl_and_comment(fake, tmp_path):
    fake.seed(a_record("192.0.2.2", comment="web-2"), a_record("192.0.2.1", ttl=300,
                                                                comment="web-1"),
              a_record("2001:db8::1", rtype="AAAA"), a_record("192.0.2.9", name="mail"),
              a_record("192.0.2.8", name="www.www.example.test"))
    result = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert result.returncode == 0, result.stderr
    assert records(result) == [["192.0.2.1", "300", "web-1"], ["192.0.2.2", "60", "web-2"]]
    [listing] = api_requests(fake)
    assert listing["path"] == f"/client/v4/zones/{ZONE_ID}/dns_records"
    assert listing["query"] == "type=A&name=www.example.test&per_page=100&page=1"


def test_read_follows_every_page(fake, tmp_path):
    addresses = [f"192.0.2.{i}" for i in range(1, 8)]
    fake.seed(*[a_record(a, comment=f"web-{a[-1]}") for a in addresses], generate=20)
    fake.control("page-size", {"size": 2})
    result = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert result.returncode == 0, result.stderr
    assert [r[0] for r in records(result)] == addresses
    assert [e["query"].split("&")[-1] for e in api_requests(fake)] == [
        "page=1", "page=2", "page=3", "page=4"]


def test_add_and_remove_read_every_page_before_writing(fake, tmp_path):
    fake.seed(*[a_record(f"192.0.2.{i}") for i in range(1, 6)])
    fake.control("page-size", {"size": 2})
    added = probe(tmp_path, config(fake), "dns", "add", FQDN, "192.0.2.6")
    assert added.returncode == 0, added.stderr
    removed = probe(tmp_path, config(fake), "dns", "remove", FQDN, "192.0.2.5")
    assert removed.returncode == 0, removed.stderr
    assert fake.contents() == ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.6"]


def test_name_without_records_reads_as_empty_set(fake, tmp_path):
    result = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_remove_deletes_only_that_record(fake, tmp_path):
    fake.seed(a_record("192.0.2.1"), a_record("192.0.2.2"), a_record("192.0.2.1", name="mail"))
    [target] = [r for r in fake.records() if r["content"] == "192.0.2.1"]
    result = probe(tmp_path, config(fake), "dns", "remove", FQDN, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert fake.contents() == ["192.0.2.2"]
    assert fake.contents("mail.example.test") == ["192.0.2.1"]
    [delete] = api_requests(fake, "DELETE")
    assert delete["path"] == f"/client/v4/zones/{ZONE_ID}/dns_records/{target['id']}"


def test_remove_of_the_last_record_is_refused_by_the_plugin_itself(fake, tmp_path):
    fake.seed(a_record("192.0.2.1"))
    result = dns_call(tmp_path, config(fake), FQDN, "192.0.2.1")
    assert result.returncode == 1, result.stderr
    assert (f"refusing to remove {FQDN} A 192.0.2.1: it is the last record of the name, and a "
            "pool is never emptied") in result.stderr
    assert api_requests(fake, "DELETE") == []


def test_add_refused_when_the_set_changed_after_it_was_read(fake, tmp_path):
    fake.seed(a_record("192.0.2.1"), a_record("192.0.2.2"))
    # Someone else adds a record between the probe's read (GET 1) and the
    # plugin's re-read before writing (GET 2).
    fake.control("change", {"method": "GET", "nth": 2, "add": a_record("192.0.2.3")})
    result = probe(tmp_path, config(fake), "dns", "add", FQDN, "192.0.2.5")
    assert result.returncode == 4, result.stderr
    assert "changed since they were read" in result.stderr and "192.0.2.3" in result.stderr
    assert api_requests(fake, "POST") == []
    assert fake.contents() == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


def test_remove_refused_when_the_set_changed_after_it_was_read(fake, tmp_path):
    fake.seed(a_record("192.0.2.1"), a_record("192.0.2.2"), a_record("192.0.2.3"))
    fake.control("change", {"method": "GET", "nth": 2, "remove": {"content": "192.0.2.3"}})
    result = probe(tmp_path, config(fake), "dns", "remove", FQDN, "192.0.2.1")
    assert result.returncode == 4, result.stderr
    assert api_requests(fake, "DELETE") == []
    assert fake.contents() == ["192.0.2.1", "192.0.2.2"]


def test_throttled_requests_are_retried_after_retry_after(fake, tmp_path):
    fake.seed(a_record("192.0.2.1", comment="web-1"))
    fake.control("throttle", {"count": 1, "retry_after": "1"})
    result = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert result.returncode == 0, result.stderr
    assert records(result) == [["192.0.2.1", "60", "web-1"]]
    first, second = api_requests(fake)
    assert (first["status"], second["status"]) == (429, 200)
    assert second["at"] - first["at"] >= 1.0  # retry-after honoured
    assert "HTTP 429" in result.stderr and "[971]" in result.stderr and "retrying" in result.stderr


def test_server_errors_are_retried_with_backoff(fake, tmp_path):
    fake.control("throttle", {"count": 2, "status": 503})
    result = probe(tmp_path, config(fake), "dns", "add", FQDN, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert [e["status"] for e in api_requests(fake)] == [503, 503, 200, 200, 200]
    assert fake.contents() == ["192.0.2.1"]


def test_create_retried_after_a_lost_answer_is_not_an_error(fake, tmp_path):
    # The first POST is carried out but answered 502; the retry then finds
    # the record there (81058), which is what was asked.
    fake.seed(a_record("192.0.2.1"))
    fake.control("throttle", {"count": 1, "status": 502, "applied": True,
                              "method": "POST"})
    result = probe(tmp_path, config(fake), "dns", "add", FQDN, "192.0.2.2")
    assert result.returncode == 0, result.stderr
    assert [e["status"] for e in api_requests(fake, "POST")] == [502, 400]
    assert "exists already" in result.stderr
    assert fake.contents() == ["192.0.2.1", "192.0.2.2"]


def test_delete_retried_after_a_lost_answer_is_not_an_error(fake, tmp_path):
    fake.seed(a_record("192.0.2.1"), a_record("192.0.2.2"))
    fake.control("throttle", {"count": 1, "status": 500, "applied": True,
                              "method": "DELETE"})
    result = probe(tmp_path, config(fake), "dns", "remove", FQDN, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert [e["status"] for e in api_requests(fake, "DELETE")] == [500, 404]
    assert "already gone" in result.stderr
    assert fake.contents() == ["192.0.2.2"]


def test_endless_throttling_is_transient_within_max_retry_time(fake, tmp_path):
    fake.control("throttle", {"count": -1})
    result, seconds = elapsed(probe, tmp_path, config(fake, max_retry_time=2), "dns", "read", FQDN)
    assert result.returncode == 3, result.stderr
    assert seconds < 2 + 1
    assert "gave up after" in result.stderr and "max_retry_time 2.0 s" in result.stderr
    assert len(api_requests(fake)) >= 2


def test_retry_after_beyond_max_retry_time_gives_up_at_once(fake, tmp_path):
    fake.control("throttle", {"count": -1, "retry_after": "300"})
    result, seconds = elapsed(probe, tmp_path, config(fake), "dns", "read", FQDN)
    assert result.returncode == 3, result.stderr
    assert seconds < 2
    assert "retry-after 300 s" in result.stderr
    assert len(api_requests(fake)) == 1


def test_bad_token_fails_without_revealing_it(fake, tmp_path):
    wrong = "wrong-token-also-secret"
    result = probe(tmp_path, config(fake, api_token=wrong), "dns", "read", FQDN)
    assert result.returncode == 1
    assert "API token rejected or lacks DNS edit permission" in result.stderr
    assert "HTTP 403" in result.stderr and "[9109]" in result.stderr
    assert wrong not in result.stderr + result.stdout


def test_read_only_token_cannot_add(fake, tmp_path):
    result = probe(tmp_path, config(fake, api_token=READ_ONLY_TOKEN), "dns", "add", FQDN,
                   "192.0.2.1")
    assert result.returncode == 1
    assert "API token rejected or lacks DNS edit permission" in result.stderr
    assert "[10000]" in result.stderr
    assert fake.records() == []


def test_refused_create_quotes_cloudflare_errors(fake, tmp_path):
    result = probe(tmp_path, config(fake), "dns", "add", FQDN, "192.0.2.1", "--ttl", "30")
    assert result.returncode == 1
    assert "Cloudflare refused adding www.example.test A 192.0.2.1" in result.stderr
    assert '[9021] "Invalid TTL. Must be between 60 and 86400 seconds' in result.stderr
    assert fake.records() == []


def test_unreachable_api_is_transient(tmp_path):
    class Nowhere:
        endpoint = f"http://127.0.0.1:{free_port()}/client/v4"

    result = probe(tmp_path, config(Nowhere), "dns", "read", FQDN)
    assert result.returncode == 3, result.stderr


def test_api_token_from_environment(fake, tmp_path):
    result = probe(tmp_path, config(fake, api_token={"env": "CF_TEST_TOKEN"}), "dns", "add",
                   FQDN, "192.0.2.10", env={"CF_TEST_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert all(e["authorization"] == "ok" for e in fake.log())


@pytest.mark.parametrize("dns, path, text", [
    ({"ttl": 30}, "dns.ttl", "expected 1 (automatic) or 60 to 86400 seconds, got 30"),
    ({"ttl": 0}, "dns.ttl", ""),
    ({"ttl": 86401}, "dns.ttl", ""),
    ({"zone_id": None}, "dns.zone_id", "required"),
    ({"zone_id": "example.test"}, "dns.zone_id", "32 hexadecimal digits"),
    ({"api_token": None}, "dns.api_token", "required"),
    ({"api_token": ""}, "dns.api_token", "must not be empty"),
    ({"endpoint": "ftp://127.0.0.1/"}, "dns.endpoint", "http"),
    ({"max_retry_time": -1}, "dns.max_retry_time", ""),
    ({"request_timeout": "soon"}, "dns.request_timeout", ""),
    ({"api_key": "x"}, "dns.api_key", ""),
])
def test_config_errors_exit_2_naming_the_key(fake, tmp_path, dns, path, text):
    result = probe(tmp_path, config(fake, **dns), "dns", "read", FQDN)
    assert result.returncode == 2, result.stderr
    assert path in result.stderr and text in result.stderr
    assert fake.log() == []


def test_example_config_works_against_the_fake(fake, tmp_path):
    """etc/cloudflare-example.json, pointed at the fake."""
    token_file = tmp_path / "cloudflare.token"
    token_file.write_text(TOKEN + "\n")
    config_file = example_config(tmp_path, "cloudflare-example.json", [
        ('// "endpoint": "https://api.cloudflare.com/client/v4",',
         f'"endpoint": "{fake.endpoint}",'),
        ("/etc/autodnsfailover/cloudflare.token", str(token_file)),
        ("example.com", ZONE)])
    added = run(["probe", "-c", config_file, "dns", "add", FQDN, "192.0.2.1", "--note", "web-1"])
    assert added.returncode == 0, added.stderr
    read = run(["probe", "-c", config_file, "dns", "read", FQDN])
    assert read.stdout == "192.0.2.1 60 web-1\n", read.stderr


def test_fake_refuses_what_cloudflare_refuses(fake):
    """The fake is only worth its tests if it is as strict as the service."""
    path = f"/zones/{ZONE_ID}/dns_records"
    good = {"type": "A", "name": FQDN, "content": "192.0.2.1", "ttl": 60, "proxied": False}
    status, created = fake.api("POST", path, good)
    assert status == 200 and created["success"] and len(created["result"]["id"]) == 32
    assert fake.api("POST", path, good)[1]["errors"][0]["code"] == 81058
    assert fake.api("POST", path, {**good, "content": "192.0.2.2", "ttl": 30})[1][
        "errors"][0]["code"] == 9021
    assert fake.api("POST", path, {**good, "content": "2001:db8::1"})[1]["errors"][0][
        "code"] == 9005
    assert fake.api("POST", path, {**good, "content": "192.0.2.3", "comment": "x" * 101})[1][
        "errors"][0]["code"] == 9102
    assert fake.api("GET", path, token=None)[0] == 400
    assert fake.api("GET", path, token="nope")[0] == 403
    assert fake.api("DELETE", f"{path}/{created['result']['id']}", token=READ_ONLY_TOKEN)[0] == 403
    assert fake.api("GET", "/zones/example.test/dns_records")[1]["errors"][0]["code"] == 7003
    assert fake.api("DELETE", f"{path}/{'0' * 32}")[1]["errors"][0]["code"] == 81044
    status, listing = fake.api("GET", f"{path}?per_page=5&page=1")
    assert status == 200 and listing["result_info"] == {
        "page": 1, "per_page": 5, "count": 1, "total_count": 1, "total_pages": 1}
    assert fake.api("DELETE", f"{path}/{created['result']['id']}")[0] == 200


# --- malformed answers: a read is complete or an error ----------------------

def listing(result, info=None):
    """A listing envelope with `result` as its records."""
    return json.dumps({"success": True, "errors": [], "messages": [], "result": result,
                       "result_info": info or {"page": 1, "per_page": 100, "count": 1,
                                               "total_count": 1, "total_pages": 1}})


def listed(**fields):
    record = {"id": "372e67954025e0ba6aaa6d586b9e0b59", "type": "A", "name": FQDN,
              "content": "192.0.2.1", "ttl": 60, "comment": None}
    record.update(fields)
    return {k: v for k, v in record.items() if v != "-"}


MALFORMED = [
    ("type-missing", listing([listed(type="-")]), '"type" is missing'),
    ("type-null", listing([listed(type=None)]), '"type" is null, not a string'),
    ("name-missing", listing([listed(name="-")]), '"name" is missing'),
    ("name-null", listing([listed(name=None)]), '"name" is null, not a string'),
    ("nested-result", listing([[listed()]]), "result[0]: not a record object"),
    ("type-lower-case", listing([listed(type="a")]), 'the record type "a" is not a DNS record type'),
    ("another-name", listing([listed(name="mail.example.test")]),
     f'a record of "mail.example.test" type "A", where only {FQDN} A records belong'),
    ("another-type", listing([listed(type="TXT", content="x")]),
     f'type "TXT", where only {FQDN} A records belong'),
    ("content-not-an-address", listing([listed(content="web-1")]),
     'the value "web-1" of a A record is not an IPv4 address'),
    ("ttl-missing", listing([listed(ttl="-")]), '"ttl" is missing'),
    ("no-result-info", json.dumps({"success": True, "result": [listed()]}),
     'no "result_info" object'),
]


@pytest.mark.parametrize("body, fault", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_listing_fails_the_read_and_the_round_writes_nothing(fake, tmp_path, body,
                                                                         fault):
    fake.seed(a_record("192.0.2.1"), a_record("192.0.2.2"))
    fake.control("answer", {"method": "GET", "body": body, "count": -1})
    read = probe(tmp_path, config(fake), "dns", "read", FQDN)
    assert read.returncode == 1, read.stderr
    assert "a malformed answer, nothing is trusted" in read.stderr
    assert fault in read.stderr
    assert read.stdout == ""

    result = one_round(tmp_path, config(fake)["dns"], FQDN)
    assert_round_read_nothing(result)
    assert [e["method"] for e in fake.log() if e["method"] != "GET"] == []
    assert fake.contents() == ["192.0.2.1", "192.0.2.2"]


def test_the_same_round_adds_itself_when_the_listing_is_sound(fake, tmp_path):
    fake.seed(a_record("192.0.2.1"), a_record("192.0.2.2"))
    result = one_round(tmp_path, config(fake)["dns"], FQDN)
    assert result.returncode == 0, result.stderr
    assert "added myself (127.0.0.11) into DNS" in result.stderr
    assert fake.contents() == ["127.0.0.11", "192.0.2.1", "192.0.2.2"]


def test_a_billion_pages_end_with_a_clear_error_within_the_operation_timeout(fake, tmp_path):
    # Each page is answered at once with a record and the claim of a
    # billion pages; only the deadline of the whole read stops it (it used
    # to page for ever).
    fake.control("answer", {"method": "GET", "count": -1, "body": listing(
        [listed()], {"page": 1, "per_page": 100, "count": 1, "total_pages": 1_000_000_000})})
    result, seconds = elapsed(probe, tmp_path, config(fake, operation_timeout=1.5), "dns", "read",
                              FQDN)
    assert result.returncode == 3, result.stderr
    assert re.search(r"gave up (before|during) (GET \S+ \()?listing the A records of "
                     r"www\.example\.test \(page \d+ of 1000000000\)\)?: the operation took",
                     result.stderr), result.stderr
    assert 'its limit is 1.5 s (key "operation_timeout")' in result.stderr
    assert seconds < 15
    assert len(api_requests(fake, "GET")) >= 2  # it did page, until the deadline


def test_operation_timeout_bounds_retries_too(fake, tmp_path):
    fake.control("throttle", {"count": -1, "status": 503})
    result, seconds = elapsed(probe, tmp_path,
                              config(fake, operation_timeout=1, max_retry_time=60), "dns", "read",
                              FQDN)
    assert result.returncode == 3, result.stderr
    assert seconds < 10
