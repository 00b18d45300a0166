#include <doctest/doctest.h>

#include <string>

#include "util/text.h"

using adf::text::bounded;
using adf::text::printable;

TEST_CASE("text: bounded keeps short text and cuts long text with a mark") {
    CHECK(bounded("short", 10) == "short");
    CHECK(bounded("exactly10!", 10) == "exactly10!");
    CHECK(bounded("eleven char", 10) == "eleven cha...");
    CHECK(bounded(static_cast<const char *>(nullptr), 10, "(null)") == "(null)");
    CHECK(bounded(std::string_view("abcdef"), 3) == "abc...");
}

TEST_CASE("text: bounded reads no further than it keeps") {
    // Eight bytes and no NUL: a bound of 4 must stop at byte 5.
    const char unterminated[8] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
    CHECK(bounded(unterminated, 4) == "abcd...");
}

TEST_CASE("text: bounded never splits a UTF-8 character") {
    const std::string text = "ab\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80";  // ab ä € 😀
    CHECK(bounded(text, 2) == "ab...");
    CHECK(bounded(text, 3) == "ab...");  // inside ä
    CHECK(bounded(text, 4) == "ab\xc3\xa4...");
    CHECK(bounded(text, 5) == "ab\xc3\xa4...");  // inside €
    CHECK(bounded(text, 6) == "ab\xc3\xa4...");
    CHECK(bounded(text, 7) == "ab\xc3\xa4\xe2\x82\xac...");
    CHECK(bounded(text, 10) == "ab\xc3\xa4\xe2\x82\xac...");  // inside 😀
    // Not UTF-8 at all (continuation bytes only): cut where asked.
    const std::string junk(10, '\x80');
    CHECK(bounded(junk, 5) == std::string(5, '\x80') + "...");
}

TEST_CASE("text: printable escapes control characters, quotes only when asked") {
    CHECK(printable("a\nb\rc\td\x1b[31m\x7f") == "a\\nb\\rc\\td\\x1b[31m\\x7f");
    CHECK(printable("say \"hi\" \\o/") == "say \"hi\" \\o/");
    std::string quoted;
    adf::text::append_printable(quoted, "say \"hi\" \\o/", /*escape_quotes=*/true);
    CHECK(quoted == "say \\\"hi\\\" \\\\o/");
    CHECK(printable("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 stays as it is
}
