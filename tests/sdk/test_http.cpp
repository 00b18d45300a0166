// The parts of http.hpp that need no server: the operation deadline and the
// refusal of request headers that would inject others. (Requests against
// real servers are the plugins' integration tests.)
#include <autodnsfailover/http.hpp>
#include <doctest/doctest.h>

#include <string>
#include <thread>

TEST_CASE("a deadline cuts each request's timeout and then refuses to start one") {
    adf::http::Deadline roomy(60);
    CHECK(roomy.request_timeout(10, "GET x") == 10);
    adf::http::Deadline tight(0.05, "operation_timeout");
    CHECK(tight.request_timeout(10, "GET x") <= 0.05);
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    try {
        tight.request_timeout(10, "GET page 7 of 1000000000");
        FAIL("no error past the deadline");
    } catch (const adf::Error &e) {
        CHECK(e.status() == ADF_TRANSIENT);
        const std::string what = e.what();
        CHECK(what.find("gave up before GET page 7 of 1000000000: the operation took") == 0);
        CHECK(what.find("its limit is 0.05 s (key \"operation_timeout\")") != std::string::npos);
    }
}

TEST_CASE("a header holding a line break is never sent") {
    CHECK_FALSE(adf::http::unsafe_header({"Accept: text/plain", "X-Tab: a\tb"}));
    CHECK(*adf::http::unsafe_header({"Accept: x", "X-Token: abc\r\nX-Evil: 1"}) == "X-Token");
    CHECK(*adf::http::unsafe_header({std::string("X-Nul: a\0b", 10)}) == "X-Nul");
    adf::http::Client client;
    adf::http::Request request;
    request.url = "http://127.0.0.1:9/";
    request.headers = {"X-aws-ec2-metadata-token: secret\r\nHost: elsewhere"};
    const adf::http::Response response = client.perform(request);
    CHECK_FALSE(response.answered());
    CHECK(response.permanent);
    CHECK(response.no_answer.find("\"X-aws-ec2-metadata-token\" holds a control character") !=
          std::string::npos);
    CHECK(response.no_answer.find("secret") == std::string::npos);
}
