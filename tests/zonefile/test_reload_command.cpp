#include <doctest/doctest.h>

#include <chrono>

#include "reload_command.h"

using zonefile::run_command;

TEST_CASE("reload command: exit status 0 is success") {
    const auto outcome = run_command({"true"}, 5);
    CHECK(outcome.ok);
    CHECK(outcome.summary == "exited with status 0");
}

TEST_CASE("reload command: a failure reports its exit status and stderr") {
    const auto outcome = run_command({"sh", "-c", "echo 'zone not found' >&2; exit 3"}, 5);
    CHECK_FALSE(outcome.ok);
    CHECK(outcome.summary == "exited with status 3");
    CHECK(outcome.stderr_text == "zone not found");
}

TEST_CASE("reload command: arguments are passed as they are, without a shell") {
    const auto outcome = run_command({"test", "a b", "=", "a b"}, 5);
    CHECK(outcome.ok);
}

TEST_CASE("reload command: a program that does not exist is reported") {
    const auto outcome = run_command({"/nonexistent/reload-zone"}, 5);
    CHECK_FALSE(outcome.ok);
    CHECK(outcome.summary.find("could not be started") != std::string::npos);
}

TEST_CASE("reload command: a hanging command is killed at the timeout with its children") {
    const auto start = std::chrono::steady_clock::now();
    const auto outcome = run_command({"sh", "-c", "sleep 30 & sleep 30"}, 0.3);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK_FALSE(outcome.ok);
    CHECK(outcome.summary.find("did not finish within 0.3 s") != std::string::npos);
    CHECK(took < 5.0);
}

TEST_CASE("reload command: a background child keeping stderr open does not delay the result") {
    const auto start = std::chrono::steady_clock::now();
    const auto outcome = run_command({"sh", "-c", "sleep 3 & exit 0"}, 10);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(outcome.ok);
    CHECK(took < 2.0);
}

TEST_CASE("reload command: describe_command quotes words with spaces") {
    CHECK(zonefile::describe_command({"knotc", "zone-reload", "a b"}) ==
          "knotc zone-reload \"a b\"");
}
