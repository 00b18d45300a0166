#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "net/address.h"

using adf::parse_address;

TEST_CASE("addresses are validated, trimmed and made canonical") {
    CHECK(parse_address(" 127.0.0.11\n")->text() == "127.0.0.11");
    CHECK(parse_address("2001:DB8:0:0::1")->text() == "2001:db8::1");
    CHECK_FALSE(parse_address("<html>404</html>"));
    CHECK_FALSE(parse_address("256.1.1.1"));
    CHECK_FALSE(parse_address("127.0.0.1", 6));
    CHECK_FALSE(parse_address("::1", 4));
    CHECK(parse_address("::1", 6)->family == 6);
}

TEST_CASE("addresses sort numerically, not as strings") {
    std::vector<adf::Address> v{*parse_address("10.0.0.10"), *parse_address("10.0.0.9"),
                                *parse_address("::1"), *parse_address("9.0.0.1")};
    std::sort(v.begin(), v.end());
    CHECK(v[0].text() == "9.0.0.1");
    CHECK(v[1].text() == "10.0.0.9");
    CHECK(v[2].text() == "10.0.0.10");
    CHECK(v[3].text() == "::1");
}

TEST_CASE("an address with a NUL inside or of absurd length is no address") {
    using namespace std::string_literals;
    CHECK_FALSE(adf::parse_address("127.0.0.1\0junk"s));
    CHECK_FALSE(adf::parse_address("::1\0"s));
    CHECK_FALSE(adf::parse_address("\0""127.0.0.1"s));
    // The longest text an address has, and one character more.
    const std::string longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
    REQUIRE(longest.size() == 45);
    CHECK(adf::parse_address(longest));
    CHECK_FALSE(adf::parse_address("0" + longest));
    CHECK_FALSE(adf::parse_address(std::string(1 << 20, '1')));
    CHECK(adf::parse_address(" 127.0.0.1\n")->text() == "127.0.0.1");
}
