"""The route53 dns plugin through `autodnsfailover probe dns`, against moto
(an AWS emulator) and, where AWS behaviour must be injected (throttling,
a concurrent change, odd answers), through a recording proxy in front of it."""
import json
import time
import xml.etree.ElementTree as ET

import pytest

from aws_fixtures import (R53, R53_NS, AwsProxy, FakeImds, MotoRoute53, authorization_parts,
                          aws_error_xml, botocore_signature, moto_endpoint, unique_zone)
from conftest import base_config, free_port, probe, run, write_config
from rounds import assert_round_read_nothing, dns_call, one_round

__all__ = ["moto_endpoint"]  # the fixture, imported for pytest

ACCESS_KEY = "AKIDROUTE53TEST"
SECRET = "route53-test-secret-Xq9"
TOKEN = "route53-test-session-token-Zk7"


def dns_config(endpoint, fqdn="www.example.test", **keys):
    """A probe config with the route53 plugin for `fqdn`; keys set to None are left out."""
    dns = {"plugin": "route53", "endpoint": endpoint, "access_key_id": ACCESS_KEY,
           "secret_access_key": SECRET, "max_retry_time": 5, **keys}
    return base_config(fqdn=fqdn, dns={k: v for k, v in dns.items() if v is not None})


@pytest.fixture
def route53(moto_endpoint):
    return MotoRoute53(moto_endpoint)


@pytest.fixture
def zone(route53):
    """A fresh hosted zone: (name, id)."""
    name = unique_zone()
    return name, route53.create_zone(name)


@pytest.fixture
def proxy(moto_endpoint):
    with AwsProxy(moto_endpoint) as p:
        yield p


def changes_of(captured):
    """[(ACTION, ttl, sorted values)] of a captured ChangeResourceRecordSets POST."""
    out = []
    for change in ET.fromstring(captured.body).iter(f"{R53}Change"):
        rrset = change.find(f"{R53}ResourceRecordSet")
        out.append((change.find(f"{R53}Action").text, int(rrset.find(f"{R53}TTL").text),
                    sorted(v.text for v in rrset.iter(f"{R53}Value"))))
    return out


def posts(proxy):
    return [r for r in proxy.requests if r.method == "POST"]


def list_answer(name, rtype, ttl, values):
    records = "".join(f"<ResourceRecord><Value>{v}</Value></ResourceRecord>" for v in values)
    return (200, f'<?xml version="1.0"?><ListResourceRecordSetsResponse xmlns="{R53_NS}">'
                 f"<ResourceRecordSets><ResourceRecordSet><Name>{name}</Name><Type>{rtype}</Type>"
                 f"<TTL>{ttl}</TTL><ResourceRecords>{records}</ResourceRecords>"
                 f"</ResourceRecordSet></ResourceRecordSets><IsTruncated>true</IsTruncated>"
                 f"<MaxItems>1</MaxItems></ListResourceRecordSetsResponse>")


def read_lines(result):
    return sorted(line.split()[0] + " " + line.split()[1] for line in result.stdout.splitlines()
                  if line.strip())


def test_first_add_is_a_create_alone_with_the_default_ttl(tmp_path, route53, zone, proxy):
    name, zone_id = zone
    fqdn = f"www.{name}"
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", "add", fqdn, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert route53.record_set(zone_id, fqdn) == (60, ["192.0.2.1"])
    assert [changes_of(p) for p in posts(proxy)] == [[("CREATE", 60, ["192.0.2.1"])]]


def test_configured_ttl_applies_to_a_new_set(tmp_path, route53, zone):
    name, zone_id = zone
    fqdn = f"www.{name}"
    result = probe(tmp_path, dns_config(route53.endpoint, hosted_zone_id=zone_id, ttl=120),
                   "dns", "add", fqdn, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert route53.record_set(zone_id, fqdn) == (120, ["192.0.2.1"])


def test_add_and_remove_swap_the_exact_set_and_keep_its_ttl(tmp_path, route53, zone, proxy):
    name, zone_id = zone
    fqdn = f"www.{name}"
    route53.create_set(zone_id, fqdn, "A", 300, ["192.0.2.1"])
    config = dns_config(proxy.endpoint, hosted_zone_id=zone_id)

    result = probe(tmp_path, config, "dns", "add", fqdn, "192.0.2.2")
    assert result.returncode == 0, result.stderr
    assert route53.record_set(zone_id, fqdn) == (300, ["192.0.2.1", "192.0.2.2"])
    assert changes_of(posts(proxy)[-1]) == [("DELETE", 300, ["192.0.2.1"]),
                                            ("CREATE", 300, ["192.0.2.1", "192.0.2.2"])]

    result = probe(tmp_path, config, "dns", "remove", fqdn, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert route53.record_set(zone_id, fqdn) == (300, ["192.0.2.2"])
    assert changes_of(posts(proxy)[-1]) == [("DELETE", 300, ["192.0.2.1", "192.0.2.2"]),
                                            ("CREATE", 300, ["192.0.2.2"])]


def test_read_prints_every_value_with_the_set_ttl(tmp_path, route53, zone):
    name, zone_id = zone
    fqdn = f"www.{name}"
    route53.create_set(zone_id, fqdn, "A", 300, ["192.0.2.10", "192.0.2.9"])
    result = probe(tmp_path, dns_config(route53.endpoint, hosted_zone_id=zone_id),
                   "dns", "read", fqdn)
    assert result.returncode == 0, result.stderr
    assert read_lines(result) == ["192.0.2.10 300", "192.0.2.9 300"]


def test_read_of_a_name_without_records_is_empty(tmp_path, route53, zone):
    name, zone_id = zone
    route53.create_set(zone_id, f"zzz.{name}", "A", 60, ["192.0.2.1"])
    result = probe(tmp_path, dns_config(route53.endpoint, hosted_zone_id=zone_id),
                   "dns", "read", f"aaa.{name}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_read_ignores_the_next_set_a_start_from_listing_returns(tmp_path, zone, proxy):
    name, zone_id = zone
    proxy.intercept = lambda r: (list_answer(f"www2.{name}.", "A", 60, ["192.0.2.5"])
                                 if r.method == "GET" else None)
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", "read", f"www.{name}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_read_ignores_a_set_of_another_type(tmp_path, zone, proxy):
    name, zone_id = zone
    proxy.intercept = lambda r: (list_answer(f"www.{name}.", "TXT", 60, ['"x"'])
                                 if r.method == "GET" else None)
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", "read", f"www.{name}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_read_matches_names_case_insensitively_and_decodes_escapes(tmp_path, zone, proxy):
    name, zone_id = zone
    proxy.intercept = lambda r: (list_answer(f"\\052.WWW.{name.upper()}.", "A", 90, ["192.0.2.7"])
                                 if r.method == "GET" else None)
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", "read", f"*.www.{name}")
    assert result.returncode == 0, result.stderr
    assert read_lines(result) == ["192.0.2.7 90"]
    assert "name=%2A.www." in proxy.requests[0].path


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_probe_never_removes_the_last_value(tmp_path, route53, zone, proxy, force):
    # It used to become a lone DELETE: the whole set gone (issue 8).
    name, zone_id = zone
    fqdn = f"www.{name}"
    route53.create_set(zone_id, fqdn, "A", 60, ["192.0.2.1"])
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", "remove", fqdn, "192.0.2.1", *force)
    assert result.returncode == 1, result.stderr
    assert "it is the last record, and a pool is never emptied" in result.stderr
    assert route53.record_set(zone_id, fqdn) == (60, ["192.0.2.1"])
    assert posts(proxy) == []


def test_removing_the_last_value_is_refused_by_the_plugin_itself(tmp_path, route53, zone, proxy):
    # Below the probe's own refusal: a DELETE alone would empty the name.
    name, zone_id = zone
    fqdn = f"www.{name}"
    route53.create_set(zone_id, fqdn, "A", 60, ["192.0.2.1"])
    result = dns_call(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id, fqdn=fqdn),
                      fqdn, "192.0.2.1")
    assert result.returncode == 1, result.stderr
    assert (f"refusing to remove {fqdn} A 192.0.2.1: it is the last record of the name, and a "
            "pool is never emptied") in result.stderr
    assert posts(proxy) == []
    assert route53.record_set(zone_id, fqdn) == (60, ["192.0.2.1"])


def test_aaaa_records(tmp_path, route53, zone):
    name, zone_id = zone
    fqdn = f"v6.{name}"
    config = dns_config(route53.endpoint, hosted_zone_id=zone_id)
    for address in ("2001:db8::1", "2001:db8::2"):
        result = probe(tmp_path, config, "dns", "add", fqdn, address)
        assert result.returncode == 0, result.stderr
    assert route53.record_set(zone_id, fqdn, "AAAA") == (60, ["2001:db8::1", "2001:db8::2"])
    assert route53.record_set(zone_id, fqdn, "A") is None
    result = probe(tmp_path, config, "dns", "read", fqdn, "--family", "6")
    assert result.returncode == 0, result.stderr
    assert read_lines(result) == ["2001:db8::1 60", "2001:db8::2 60"]


def test_delete_uses_the_spelling_route53_returned(tmp_path, route53, zone, proxy):
    """An AAAA value kept non-canonical must be deleted as spelled, or the
    DELETE would never match."""
    name, zone_id = zone
    fqdn = f"v6.{name}"
    route53.create_set(zone_id, fqdn, "AAAA", 60, ["2001:DB8:0:0::1", "2001:db8::2"])
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", "remove", fqdn, "2001:db8::2")
    assert result.returncode == 0, result.stderr
    assert route53.record_set(zone_id, fqdn, "AAAA") == (60, ["2001:DB8:0:0::1"])


@pytest.mark.parametrize("operation", ["add", "remove"])
def test_conflict_when_the_set_changed_between_read_and_write(tmp_path, route53, zone, proxy,
                                                              operation):
    name, zone_id = zone
    fqdn = f"www.{name}"
    route53.create_set(zone_id, fqdn, "A", 60, ["192.0.2.1", "192.0.2.2"])
    changed = (60, ["192.0.2.1", "192.0.2.2", "192.0.2.3"])

    def another_writer_first(request):
        if request.method == "POST" and "/rrset" in request.path:
            status, text = route53.change(zone_id, [
                ("DELETE", fqdn, "A", 60, ["192.0.2.1", "192.0.2.2"]),
                ("CREATE", fqdn, "A", 60, changed[1])])
            assert status == 200, text
            proxy.intercept = lambda r: None
        return None

    proxy.intercept = another_writer_first
    address = "192.0.2.9" if operation == "add" else "192.0.2.2"
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", operation, fqdn, address)
    assert result.returncode == 4, result.stderr
    assert "changed since it was read" in result.stderr
    assert route53.record_set(zone_id, fqdn) == changed


@pytest.mark.parametrize("answer, code", [
    # What AWS answers when the DELETE does not match.
    ((400, f'<?xml version="1.0"?><InvalidChangeBatch xmlns="{R53_NS}"><Messages><Message>Tried '
           "to delete resource record set but it was not found</Message></Messages>"
           "</InvalidChangeBatch>"), "InvalidChangeBatch"),
    # What moto answers instead.
    ((400, aws_error_xml("InvalidInput", "Invalid request: Expected exactly one of [AliasTarget, "
                                         "all of [TTL, and ResourceRecords], or "
                                         "TrafficPolicyInstanceId], but found none")),
     "InvalidInput"),
])
def test_a_refused_delete_is_a_conflict(tmp_path, route53, zone, proxy, answer, code):
    name, zone_id = zone
    fqdn = f"www.{name}"
    route53.create_set(zone_id, fqdn, "A", 60, ["192.0.2.1"])
    proxy.intercept = lambda r: answer if r.method == "POST" else None
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", "add", fqdn, "192.0.2.2")
    assert result.returncode == 4, result.stderr
    assert f"{code}: " in result.stderr and "changed since it was read" in result.stderr
    assert route53.record_set(zone_id, fqdn) == (60, ["192.0.2.1"])


def test_unknown_zone_id_fails_quoting_aws(tmp_path, route53):
    result = probe(tmp_path, dns_config(route53.endpoint, hosted_zone_id="ZNOSUCHZONE1"),
                   "dns", "read", "www.example.test")
    assert result.returncode == 1, result.stderr
    assert "NoSuchHostedZone" in result.stderr and "ZNOSUCHZONE1" in result.stderr


def test_unknown_zone_name_fails_naming_it(tmp_path, route53):
    missing = unique_zone()
    result = probe(tmp_path, dns_config(route53.endpoint, zone=missing, fqdn=f"www.{missing}"),
                   "dns", "read", f"www.{missing}")
    assert result.returncode == 1, result.stderr
    assert f'no hosted zone is named "{missing}"' in result.stderr


def test_zone_by_name_is_looked_up_once(tmp_path, route53, zone, proxy):
    name, zone_id = zone
    fqdn = f"www.{name}"
    route53.create_zone(f"other.{name}")  # listed after it: must not be taken
    result = probe(tmp_path, dns_config(proxy.endpoint, zone=name + ".", fqdn=fqdn),
                   "dns", "add", fqdn, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert route53.record_set(zone_id, fqdn) == (60, ["192.0.2.1"])
    lookups = [r for r in proxy.requests if "/hostedzonesbyname" in r.path]
    assert len(lookups) == 1  # a read and a write, one lookup


@pytest.mark.parametrize("zone_id", ["Z12 3", "z0123456789", "/hostedzone/", "../Z1",
                                     "/hostedzone/Z1/rrset", "Z" * 33])
def test_a_malformed_hosted_zone_id_fails_check_config(tmp_path, zone_id):
    result = run(["check-config", "-c", write_config(
        tmp_path / "zone-id.json", dns_config("http://127.0.0.1:9", hosted_zone_id=zone_id))])
    assert result.returncode == 2, result.stderr
    assert "dns.hosted_zone_id: expected a hosted zone's id, capital letters and digits" in \
        result.stderr
    assert json.dumps(zone_id) in result.stderr


@pytest.mark.parametrize("zone_id", ["Z0123456789ABCDEFGHIJ", "/hostedzone/Z1D633PJN98FT9"])
def test_hosted_zone_ids_as_aws_writes_them_pass_check_config(tmp_path, zone_id):
    result = run(["check-config", "-c", write_config(
        tmp_path / "zone-id.json", dns_config("http://127.0.0.1:9", hosted_zone_id=zone_id))])
    assert result.returncode == 0, result.stderr


def test_a_name_outside_the_named_zone_fails_check_config(tmp_path):
    result = run(["check-config", "-c", write_config(
        tmp_path / "outside.json",
        dns_config("http://127.0.0.1:9", zone="example.test", fqdn="www.other.test"))])
    assert result.returncode == 2, result.stderr
    assert ('fqdn: plugin route53 (dns) cannot manage www.other.test: "www.other.test" is not '
            'inside the zone "example.test"') in result.stderr


@pytest.mark.parametrize("keys, path", [
    ({"zone": "example.test", "hosted_zone_id": "Z1"}, "dns.zone"),
    ({}, "dns.hosted_zone_id"),
    ({"hosted_zone_id": "Z1", "secret_access_key": None}, "dns.secret_access_key"),
    ({"hosted_zone_id": "Z1", "endpoint": "route53.amazonaws.com"}, "dns.endpoint"),
    ({"hosted_zone_id": "Z1", "ttl": 0}, "dns.ttl"),
])
def test_config_errors_name_the_key(tmp_path, keys, path):
    config = dns_config(keys.pop("endpoint", "http://127.0.0.1:9"), **keys)
    result = probe(tmp_path, config, "dns", "read", "www.example.test")
    assert result.returncode == 2, result.stderr
    assert path in result.stderr


@pytest.mark.parametrize("answer", [
    (400, aws_error_xml("Throttling", "Rate exceeded")),
    (400, aws_error_xml("PriorRequestNotComplete", "The request was rejected because Route 53 "
                                                   "was still processing a prior request.")),
    (503, "<html>Service Unavailable</html>"),
])
def test_throttling_and_server_errors_are_retried(tmp_path, route53, zone, proxy, answer):
    name, zone_id = zone
    fqdn = f"www.{name}"
    refusals = []

    def refuse_three_times(request):
        if len(refusals) < 3:
            refusals.append(request.path)
            return answer
        return None

    proxy.intercept = refuse_three_times
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", "add", fqdn, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert len(refusals) == 3
    assert route53.record_set(zone_id, fqdn) == (60, ["192.0.2.1"])


def test_endless_throttling_is_transient_within_max_retry_time(tmp_path, zone, proxy):
    name, zone_id = zone
    proxy.intercept = lambda r: (400, aws_error_xml("Throttling", "Rate exceeded"))
    started = time.monotonic()
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id, max_retry_time=1),
                   "dns", "read", f"www.{name}")
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert "Throttling: Rate exceeded" in result.stderr and "max_retry_time" in result.stderr
    assert len(proxy.requests) >= 2
    assert elapsed < 1 + 4  # the limit, plus the process's own start and stop (default: 20 s)


def test_no_answer_is_transient(tmp_path):
    port = free_port()  # nothing listens there
    result = probe(tmp_path, dns_config(f"http://127.0.0.1:{port}", hosted_zone_id="Z1",
                                        max_retry_time=0.5), "dns", "read", "www.example.test")
    assert result.returncode == 3, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr


def test_other_errors_fail_quoting_aws_code_and_message(tmp_path, zone, proxy):
    name, zone_id = zone
    proxy.intercept = lambda r: (403, aws_error_xml("AccessDenied", "User is not authorized"))
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", "read", f"www.{name}")
    assert result.returncode == 1, result.stderr
    assert "AccessDenied: User is not authorized" in result.stderr
    assert len(proxy.requests) == 1  # not retried


def test_one_connection_is_kept_alive_across_calls(tmp_path, zone, proxy):
    name, zone_id = zone
    result = probe(tmp_path, dns_config(proxy.endpoint, zone=name, fqdn=f"www.{name}"),
                   "dns", "add", f"www.{name}", "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert len(proxy.requests) == 3  # zone lookup, read, change
    assert proxy.connections() == 1


def test_credentials_from_the_environment(tmp_path, zone, proxy, monkeypatch):
    name, zone_id = zone
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    config = dns_config(proxy.endpoint, hosted_zone_id=zone_id, access_key_id=None,
                        secret_access_key=None)
    result = probe(tmp_path, config, "dns", "read", f"www.{name}")
    assert result.returncode == 0, result.stderr
    assert proxy.requests[0].access_key_id == "AKIDFROMENVIRONMENT"
    assert proxy.requests[0].headers["x-amz-security-token"] == TOKEN


def test_config_keys_take_precedence_over_the_environment(tmp_path, zone, proxy, monkeypatch):
    name, zone_id = zone
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    result = probe(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id),
                   "dns", "read", f"www.{name}")
    assert result.returncode == 0, result.stderr
    assert proxy.requests[0].access_key_id == ACCESS_KEY
    assert "x-amz-security-token" not in proxy.requests[0].headers


def role_credentials(key, secret, token, expires_in):
    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + expires_in))
    return json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": key,
                       "SecretAccessKey": secret, "Token": token, "Expiration": expiration})


def without_aws_environment(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_instance_role_credentials_through_imdsv2(tmp_path, zone, proxy, monkeypatch):
    name, zone_id = zone
    without_aws_environment(monkeypatch)
    roles = "/latest/meta-data/iam/security-credentials/"
    with FakeImds({roles: [(200, "adf-role")],
                   roles + "adf-role": [(200, role_credentials("ASIAROLEKEY", SECRET, TOKEN,
                                                               3600))]}) as imds:
        config = dns_config(proxy.endpoint, hosted_zone_id=zone_id, access_key_id=None,
                            secret_access_key=None, metadata_endpoint=imds.endpoint)
        result = probe(tmp_path, config, "dns", "add", f"www.{name}", "192.0.2.1")
        assert result.returncode == 0, result.stderr
        puts = imds.requests("PUT", "/latest/api/token")
        assert len(puts) == 1 and puts[0][2]["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
        assert all(h.get("x-aws-ec2-metadata-token") == "token-1" for _, _, h in imds.requests("GET"))
        # Valid for an hour: fetched once for both the read and the change.
        assert len(imds.requests("GET", roles + "adf-role")) == 1
    assert [r.access_key_id for r in proxy.requests] == ["ASIAROLEKEY", "ASIAROLEKEY"]
    assert all(r.headers["x-amz-security-token"] == TOKEN for r in proxy.requests)
    assert SECRET not in result.stderr + result.stdout and TOKEN not in result.stderr


def test_instance_role_credentials_from_moto(tmp_path, route53, zone, proxy, monkeypatch):
    name, zone_id = zone
    without_aws_environment(monkeypatch)
    config = dns_config(proxy.endpoint, hosted_zone_id=zone_id, access_key_id=None,
                        secret_access_key=None, metadata_endpoint=route53.endpoint)
    result = probe(tmp_path, config, "dns", "read", f"www.{name}")
    assert result.returncode == 0, result.stderr
    assert proxy.requests[0].access_key_id == "test-key"
    assert proxy.requests[0].headers["x-amz-security-token"] == "test-session-token"


def test_expiring_role_credentials_are_refreshed(tmp_path, zone, proxy, monkeypatch):
    """Credentials within five minutes of Expiration are fetched anew."""
    name, zone_id = zone
    without_aws_environment(monkeypatch)
    roles = "/latest/meta-data/iam/security-credentials/"
    with FakeImds({roles: [(200, "adf-role")],
                   roles + "adf-role": [(200, role_credentials("ASIAOLD", SECRET, TOKEN, 60)),
                                        (200, role_credentials("ASIANEW", SECRET, TOKEN, 3600))]
                   }) as imds:
        config = dns_config(proxy.endpoint, hosted_zone_id=zone_id, access_key_id=None,
                            secret_access_key=None, metadata_endpoint=imds.endpoint)
        result = probe(tmp_path, config, "dns", "add", f"www.{name}", "192.0.2.1")
        assert result.returncode == 0, result.stderr
    assert [r.access_key_id for r in proxy.requests] == ["ASIAOLD", "ASIANEW"]


def test_expired_role_credentials_are_replaced_once(tmp_path, zone, proxy, monkeypatch):
    """Route 53 says ExpiredToken (revoked early): fetch new ones and retry."""
    name, zone_id = zone
    without_aws_environment(monkeypatch)
    roles = "/latest/meta-data/iam/security-credentials/"
    proxy.intercept = lambda r: ((403, aws_error_xml("ExpiredToken", "The security token "
                                                     "included in the request is expired"))
                                 if r.access_key_id == "ASIAREVOKED" else None)
    with FakeImds({roles: [(200, "adf-role")],
                   roles + "adf-role": [(200, role_credentials("ASIAREVOKED", SECRET, TOKEN, 3600)),
                                        (200, role_credentials("ASIANEW", SECRET, TOKEN, 3600))]
                   }) as imds:
        config = dns_config(proxy.endpoint, hosted_zone_id=zone_id, access_key_id=None,
                            secret_access_key=None, metadata_endpoint=imds.endpoint)
        result = probe(tmp_path, config, "dns", "read", f"www.{name}")
    assert result.returncode == 0, result.stderr
    assert [r.access_key_id for r in proxy.requests] == ["ASIAREVOKED", "ASIANEW"]


def test_no_credentials_anywhere_fails_clearly(tmp_path, monkeypatch):
    without_aws_environment(monkeypatch)
    with FakeImds({}) as imds:  # 404 for the role list: no instance role
        config = dns_config("http://127.0.0.1:9", hosted_zone_id="Z1", access_key_id=None,
                            secret_access_key=None, metadata_endpoint=imds.endpoint)
        result = probe(tmp_path, config, "dns", "read", "www.example.test")
    assert result.returncode == 1, result.stderr
    assert "no AWS credentials" in result.stderr and "no IAM role" in result.stderr


def test_secrets_never_appear_in_messages(tmp_path, zone, proxy):
    name, zone_id = zone
    # AWS's SignatureDoesNotMatch message quotes the canonical request,
    # which holds the session token.
    proxy.intercept = lambda r: (403, aws_error_xml(
        "SignatureDoesNotMatch", f"The Canonical String should have been x-amz-security-token:"
                                 f"{TOKEN} and the key {SECRET}"))
    config = dns_config(proxy.endpoint, hosted_zone_id=zone_id, session_token=TOKEN)
    result = probe(tmp_path, config, "dns", "read", f"www.{name}")
    assert result.returncode == 1, result.stderr
    assert "SignatureDoesNotMatch" in result.stderr and "[redacted]" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert TOKEN not in result.stderr + result.stdout


def test_signature_matches_botocore(tmp_path, zone, proxy):
    """Each request the plugin sends, re-signed by botocore from the same
    method, URL, signed headers and body, gets the same signature."""
    name, zone_id = zone
    config = dns_config(proxy.endpoint, hosted_zone_id=zone_id, session_token=TOKEN)
    result = probe(tmp_path, config, "dns", "add", f"www.{name}", "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert [r.method for r in proxy.requests] == ["GET", "POST"]
    for request in proxy.requests:
        auth = authorization_parts(request.headers["authorization"])
        assert auth["Algorithm"] == "AWS4-HMAC-SHA256"
        assert auth["Credential"].startswith(f"{ACCESS_KEY}/")
        assert auth["Credential"].endswith("/us-east-1/route53/aws4_request")
        signed = auth["SignedHeaders"].split(";")
        assert {"host", "x-amz-date", "x-amz-security-token"} <= set(signed)
        headers = {h: request.headers[h] for h in signed}
        reference = botocore_signature(request.method, proxy.endpoint + request.path,
                                       {("X-Amz-Date" if h == "x-amz-date" else h): v
                                        for h, v in headers.items()},
                                       request.body.decode(), ACCESS_KEY, SECRET, TOKEN)
        assert reference["signed_headers"] == auth["SignedHeaders"]
        assert reference["signature"] == auth["Signature"], reference["canonical_request"]


# --- malformed answers: a read is complete or an error ----------------------

def listing(*sets):
    return (200, f'<?xml version="1.0"?><ListResourceRecordSetsResponse xmlns="{R53_NS}">'
                 f"<ResourceRecordSets>{''.join(sets)}</ResourceRecordSets>"
                 f"<IsTruncated>false</IsTruncated><MaxItems>1</MaxItems>"
                 f"</ListResourceRecordSetsResponse>")


def rrset(name="{fqdn}.", rtype="A", ttl="60", values=("192.0.2.1", "192.0.2.2")):
    parts = []
    if name is not None:
        parts.append(f"<Name>{name}</Name>")
    if rtype is not None:
        parts.append(f"<Type>{rtype}</Type>")
    if ttl is not None:
        parts.append(f"<TTL>{ttl}</TTL>")
    if values is not None:
        parts.append("<ResourceRecords>" + "".join(
            f"<ResourceRecord><Value>{v}</Value></ResourceRecord>" for v in values) +
            "</ResourceRecords>")
    return "<ResourceRecordSet>" + "".join(parts) + "</ResourceRecordSet>"


MALFORMED = [
    ("name-missing", listing(rrset(name=None)), "record set 1 has no <Name>"),
    ("type-missing", listing(rrset(rtype=None)), "record set 1 has no <Type>"),
    ("resource-records-missing", listing(rrset(values=None)), "record set 1 has no <ResourceRecords>"),
    ("type-lower-case", listing(rrset(rtype="a")), 'the record type "a" is not a DNS record type'),
    ("ttl-missing", listing(rrset(ttl=None)), "record set 1 has no <TTL>"),
    ("value-not-an-address", listing(rrset(values=["web-1"])),
     'the value "web-1" of a A record is not an IPv4 address'),
    ("sets-nested", listing("<ResourceRecordSets>" + rrset() + "</ResourceRecordSets>"),
     "holds a <ResourceRecordSets> element where only <ResourceRecordSet> belongs"),
]


@pytest.mark.parametrize("answer, fault", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_listing_fails_the_read_and_the_round_writes_nothing(tmp_path, route53, zone,
                                                                         proxy, answer, fault):
    name, zone_id = zone
    fqdn = f"www.{name}"
    route53.create_set(zone_id, fqdn, "A", 60, ["192.0.2.1", "192.0.2.2"])
    status, body = answer
    proxy.intercept = lambda r: (status, body.replace("{fqdn}", fqdn)) if r.method == "GET" else None
    config = dns_config(proxy.endpoint, hosted_zone_id=zone_id, fqdn=fqdn)
    read = probe(tmp_path, config, "dns", "read", fqdn)
    assert read.returncode == 1, read.stderr
    assert "with a document this plugin cannot trust" in read.stderr
    assert fault in read.stderr
    assert read.stdout == ""

    result = one_round(tmp_path, config["dns"], fqdn)
    assert_round_read_nothing(result)
    assert posts(proxy) == []
    assert route53.record_set(zone_id, fqdn) == (60, ["192.0.2.1", "192.0.2.2"])


def test_the_same_round_adds_itself_when_the_listing_is_sound(tmp_path, route53, zone, proxy):
    name, zone_id = zone
    fqdn = f"www.{name}"
    route53.create_set(zone_id, fqdn, "A", 60, ["192.0.2.1", "192.0.2.2"])
    result = one_round(tmp_path, dns_config(proxy.endpoint, hosted_zone_id=zone_id)["dns"], fqdn)
    assert result.returncode == 0, result.stderr
    assert "added myself (127.0.0.11) into DNS" in result.stderr
    assert route53.record_set(zone_id, fqdn) == (60, ["127.0.0.11", "192.0.2.1", "192.0.2.2"])
