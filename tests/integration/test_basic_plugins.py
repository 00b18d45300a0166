"""The basic plugins through `autodnsfailover probe`: the fixed-interval timer's
config rules, the static and ifaddr own-address plugins. ifaddr's choice of
interface is tested in a network namespace of its own, where the test decides
which interfaces exist, are up, and hold which addresses."""
import pytest

from conftest import base_config, in_netns, ip, network_namespace, probe


def timer_config(**keys):
    return base_config(timer={"plugin": "fixed-interval", **keys})


# --- fixed-interval ---------------------------------------------------------

def test_fixed_interval_defaults_and_valid_settings_are_accepted(tmp_path):
    # `probe check` creates the check and the timer; a refused port is a dead
    # check (exit 1), which proves the timer was accepted (else exit 2).
    for keys in ({}, {"interval": 30, "timeout": 1, "retry": 10}, {"retry": 0},
                 {"interval": 2, "timeout": 2}):
        result = probe(tmp_path, timer_config(**keys), "check", "127.0.0.1", "--timeout", "1")
        assert result.returncode == 1, (keys, result.stderr)


@pytest.mark.parametrize("keys, path", [
    ({"interval": 0}, "timer.interval"),
    ({"interval": -5}, "timer.interval"),
    ({"interval": "10s"}, "timer.interval"),
    ({"timeout": 0}, "timer.timeout"),
    ({"retry": -1}, "timer.retry"),
    ({"retry": 101}, "timer.retry"),
    ({"retry": 2.5}, "timer.retry"),
    ({"intervall": 10}, "timer.intervall"),
])
def test_fixed_interval_config_errors_exit_2_naming_the_key(tmp_path, keys, path):
    result = probe(tmp_path, timer_config(**keys), "check", "127.0.0.1")
    assert result.returncode == 2
    assert path in result.stderr


def test_fixed_interval_timeout_longer_than_interval_names_both_keys(tmp_path):
    result = probe(tmp_path, timer_config(interval=1, timeout=3), "check", "127.0.0.1")
    assert result.returncode == 2
    assert "timer.timeout" in result.stderr
    assert "interval" in result.stderr.replace("timer.timeout", "")


# --- static -----------------------------------------------------------------

def static_config(address):
    return base_config(ipaddr={"plugin": "static", "address": address})


def own_address(tmp_path, config, family, prefix=()):
    return probe(tmp_path, config, "ipaddr", "--family", str(family), prefix=prefix)


def test_static_single_address_is_returned_for_its_family_only(tmp_path):
    config = static_config("192.0.2.10")
    result = own_address(tmp_path, config, 4)
    assert (result.returncode, result.stdout.strip()) == (0, "192.0.2.10")
    result = own_address(tmp_path, config, 6)
    assert result.returncode == 1
    assert "absent" in result.stderr and "IPv6" in result.stderr


def test_static_returns_each_family_canonically(tmp_path):
    config = static_config(["2001:DB8:0:0::7", " 192.0.2.7 "])
    assert own_address(tmp_path, config, 4).stdout.strip() == "192.0.2.7"
    assert own_address(tmp_path, config, 6).stdout.strip() == "2001:db8::7"


def test_static_address_from_the_environment(tmp_path):
    config = static_config({"env": "ADF_TEST_OWN_ADDRESS"})
    result = probe(tmp_path, config, "ipaddr", "--family", "4",
                   env={"ADF_TEST_OWN_ADDRESS": "198.51.100.4"})
    assert (result.returncode, result.stdout.strip()) == (0, "198.51.100.4")


@pytest.mark.parametrize("address, path, words", [
    (None, "ipaddr.address", "required"),
    ([], "ipaddr.address", "empty"),
    ("www.example.com", "ipaddr.address", "not an IPv4 or IPv6 address"),
    (["192.0.2.1", "192.0.2.2"], "ipaddr.address[1]", "at most one per family"),
    (["::1", "192.0.2.1", "2001:db8::1"], "ipaddr.address[2]", "at most one per family"),
    (["192.0.2.1", "300.1.1.1"], "ipaddr.address[1]", "not an IPv4 or IPv6 address"),
    (42, "ipaddr.address", "expected"),
    ("0.0.0.0", "ipaddr.address", "the unspecified address, never a server's own"),
    (["192.0.2.1", "::"], "ipaddr.address[1]", "the unspecified address"),
])
def test_static_config_errors_exit_2_naming_the_key(tmp_path, address, path, words):
    section = {"plugin": "static"}
    if address is not None:
        section["address"] = address
    result = probe(tmp_path, base_config(ipaddr=section), "ipaddr")
    assert result.returncode == 2
    assert path in result.stderr and words in result.stderr


# --- ifaddr on this machine's loopback ---------------------------------------

def ifaddr_config(**keys):
    return base_config(ipaddr={"plugin": "ifaddr", **keys})


def test_ifaddr_loopback_interface_gives_both_loopback_addresses(tmp_path):
    config = ifaddr_config(interface="lo", allow_loopback=True)
    result = own_address(tmp_path, config, 4)
    assert (result.returncode, result.stdout.strip()) == (0, "127.0.0.1"), result.stderr
    result = own_address(tmp_path, config, 6)
    if "no IPv6 address" in result.stderr:
        pytest.skip("lo has no ::1 on this machine")
    assert (result.returncode, result.stdout.strip()) == (0, "::1"), result.stderr


def test_ifaddr_loopback_interface_needs_allow_loopback(tmp_path):
    result = own_address(tmp_path, ifaddr_config(interface="lo"), 4)
    assert result.returncode == 1
    assert "interface lo is a loopback interface" in result.stderr
    assert "allow_loopback" in result.stderr


def test_ifaddr_unknown_interface_is_an_error_naming_it(tmp_path):
    result = own_address(tmp_path, ifaddr_config(interface="adfnosuch0"), 4)
    assert result.returncode == 1
    assert "interface adfnosuch0 does not exist" in result.stderr


@pytest.mark.parametrize("keys, path", [
    ({"interface": ""}, "ipaddr.interface"),
    ({"interface": "a-name-far-too-long"}, "ipaddr.interface"),
    ({"interface": "eth0/1"}, "ipaddr.interface"),
    ({"interface": 0}, "ipaddr.interface"),
    ({"allow_loopback": "yes"}, "ipaddr.allow_loopback"),
    ({"allow_link_local": 1}, "ipaddr.allow_link_local"),
    ({"iface": "eth0"}, "ipaddr.iface"),
])
def test_ifaddr_config_errors_exit_2_naming_the_key(tmp_path, keys, path):
    result = probe(tmp_path, ifaddr_config(**keys), "ipaddr")
    assert result.returncode == 2
    assert path in result.stderr


# --- ifaddr in a namespace whose interfaces the test controls ---------------

@pytest.fixture(scope="module")
def netns():
    """A network namespace with: lo (down), veth ll0 (up, link-local addresses
    only), veth dn0 (down, 10.9.9.9), veth pub0 (up, 10.1.1.1 and 2001:db8::2),
    created in that order. Each veth peer (*1) is up and has no address."""
    with network_namespace("adf-basics") as name:
        for pair in ("ll", "dn", "pub"):
            ip("-n", name, "link", "add", f"{pair}0", "type", "veth", "peer", "name", f"{pair}1")
            for end in (f"{pair}0", f"{pair}1"):
                ip("-n", name, "link", "set", end, "addrgenmode", "none")
        ip("-n", name, "addr", "add", "169.254.7.7/16", "dev", "ll0")
        ip("-n", name, "addr", "add", "fe80::7/64", "dev", "ll0", "nodad")
        ip("-n", name, "addr", "add", "10.9.9.9/24", "dev", "dn0")
        ip("-n", name, "addr", "add", "2001:db8:9::9/64", "dev", "dn0", "nodad")
        ip("-n", name, "addr", "add", "10.1.1.1/24", "dev", "pub0")
        ip("-n", name, "addr", "add", "2001:db8::2/64", "dev", "pub0", "nodad")
        for up in ("ll0", "ll1", "dn1", "pub0", "pub1"):
            ip("-n", name, "link", "set", up, "up")
        yield name


def own_address_in(netns, tmp_path, family, **keys):
    return own_address(tmp_path, ifaddr_config(**keys), family, prefix=in_netns(netns))


def test_ifaddr_default_is_the_first_up_interface_with_a_usable_address(netns, tmp_path):
    # lo is down, ll0 has only link-local addresses, dn0 is down: pub0 it is.
    for family, expected in ((4, "10.1.1.1"), (6, "2001:db8::2")):
        result = own_address_in(netns, tmp_path, family)
        assert (result.returncode, result.stdout.strip()) == (0, expected), result.stderr


def test_ifaddr_allow_link_local_takes_link_local_addresses(netns, tmp_path):
    for family, expected in ((4, "169.254.7.7"), (6, "fe80::7")):
        result = own_address_in(netns, tmp_path, family, allow_link_local=True)
        assert (result.returncode, result.stdout.strip()) == (0, expected), result.stderr


def test_ifaddr_named_interface_without_usable_address_is_absent(netns, tmp_path):
    result = own_address_in(netns, tmp_path, 6, interface="ll0")
    assert result.returncode == 1
    assert "interface ll0 has no IPv6 address" in result.stderr
    assert "allow_link_local" in result.stderr


def test_ifaddr_named_interface_that_is_down_is_transient(netns, tmp_path):
    result = own_address_in(netns, tmp_path, 4, interface="dn0")
    assert result.returncode == 3
    assert "interface dn0 is down" in result.stderr


def test_ifaddr_named_interface_gives_its_address(netns, tmp_path):
    result = own_address_in(netns, tmp_path, 4, interface="pub0")
    assert (result.returncode, result.stdout.strip()) == (0, "10.1.1.1"), result.stderr
    result = own_address_in(netns, tmp_path, 4, interface="pub1")
    assert result.returncode == 1
    assert "interface pub1 has no IPv4 address" in result.stderr
