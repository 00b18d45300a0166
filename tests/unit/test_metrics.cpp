// The metric model: what events count, and that the README documents
// every metric the daemon exposes.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "metrics/metrics.h"

using adf::events::Kind;

namespace {

adf::events::Event on_set(Kind kind) {
    auto e = adf::events::make(kind, "");
    e.fqdn = "www.example.test";
    e.family = 6;
    return e;
}

bool has_line(const std::string &text, const std::string &line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("metrics: events count where the README says, and every metric is documented") {
    adf::metrics::Metrics m;
    m.on_event(on_set(Kind::PeerRemoved));
    m.on_event(on_set(Kind::PeerRemoved));
    auto refused = on_set(Kind::RemovalRefused);
    refused.refusal = adf::events::Refusal::PartitionGuard;
    m.on_event(refused);
    auto conflict = on_set(Kind::WriteConflict);
    conflict.operation = "add";
    m.on_event(conflict);
    auto error = on_set(Kind::ProviderError);
    error.plugin = "route53";
    error.operation = "read";
    error.status = "transient";
    m.on_event(error);
    m.count_checks("tcp-check", 5, 1, 0);
    m.round_done(0.3, true, adf::Stamp{1, 1700000000});
    m.notification("webhook", "delivered");
    m.on_event(on_set(Kind::SelfAdded));
    adf::state::Snapshot snapshot;
    snapshot.sets.push_back(adf::state::SetState{});
    snapshot.sets[0].fqdn = "www.example.test";
    snapshot.sets[0].family = 6;
    snapshot.sets[0].records = {"2001:db8::1", "2001:db8::2"};
    snapshot.sets[0].peers["2001:db8::2"].verdict = adf::state::Verdict::Dead;
    m.update_sets(snapshot);
    const std::string text = m.exposition();
    CHECK(has_line(text, "autodnsfailover_removals_total{fqdn=\"www.example.test\",type=\"AAAA\"} 2"));
    CHECK(has_line(text, "autodnsfailover_removals_refused_total{fqdn=\"www.example.test\","
                         "reason=\"partition_guard\",type=\"AAAA\"} 1"));
    CHECK(has_line(text, "autodnsfailover_conflicts_total{fqdn=\"www.example.test\","
                         "operation=\"add\",type=\"AAAA\"} 1"));
    CHECK(has_line(text, "autodnsfailover_provider_errors_total{backend=\"route53\","
                         "kind=\"transient\",operation=\"read\"} 1"));
    CHECK(has_line(text, "autodnsfailover_checks_total{plugin=\"tcp-check\",result=\"alive\"} 5"));
    CHECK(has_line(text, "autodnsfailover_rounds_total{result=\"ok\"} 1"));
    CHECK(has_line(text, "autodnsfailover_last_successful_round_timestamp_seconds 1700000000"));
    CHECK(has_line(text, "autodnsfailover_notifications_total{channel=\"webhook\",result=\"delivered\"} 1"));
    CHECK(has_line(text, "autodnsfailover_events_total{event=\"peer_removed\"} 2"));
    CHECK(has_line(text, "autodnsfailover_records{fqdn=\"www.example.test\",type=\"AAAA\"} 2"));
    CHECK(has_line(text, "autodnsfailover_peers{fqdn=\"www.example.test\",state=\"dead\","
                         "type=\"AAAA\"} 1"));

    std::ifstream in(ADF_SOURCE_DIR "/README.md");
    std::stringstream readme;
    readme << in.rdbuf();
    const std::regex type_line("# TYPE (\\w+) ");
    size_t families = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), type_line), end; it != end; ++it) {
        ++families;
        const std::string name = (*it)[1];
        CHECK_MESSAGE(readme.str().find("`" + name + "`") != std::string::npos,
                      "README does not document the metric ", name);
    }
    CHECK(families == 17);
}

TEST_CASE("metrics: decisions taken with the other observers and refused peer messages") {
    adf::metrics::Metrics m;
    m.on_event(on_set(Kind::RemovalConfirmed));
    auto kept = on_set(Kind::RemovalRefused);
    kept.refusal = adf::events::Refusal::NotConfirmed;
    m.on_event(kept);
    m.on_event(kept);
    auto isolated = on_set(Kind::RemovalRefused);
    isolated.refusal = adf::events::Refusal::Isolated;
    m.on_event(isolated);
    m.on_event(on_set(Kind::AgreementFallback));
    m.on_event(on_set(Kind::SelfFenced));
    m.peer_message_refused("server", "unknown_sender");
    m.peer_message_refused("asker", "unsolicited", 3);
    const std::string text = m.exposition();
    const std::string set = "fqdn=\"www.example.test\",";
    for (const auto &[outcome, count] :
         std::vector<std::pair<std::string, int>>{{"confirmed", 1},
                                                  {"not_confirmed", 2},
                                                  {"isolated", 1},
                                                  {"fallback", 1},
                                                  {"self_fenced", 1}})
        CHECK_MESSAGE(has_line(text, "autodnsfailover_peer_decisions_total{" + set + "outcome=\"" +
                                         outcome + "\",type=\"AAAA\"} " + std::to_string(count)),
                      outcome);
    CHECK(has_line(text, "autodnsfailover_removals_refused_total{" + set +
                             "reason=\"not_confirmed\",type=\"AAAA\"} 2"));
    CHECK(has_line(text, "autodnsfailover_peer_messages_refused_total{reason=\"unknown_sender\","
                         "side=\"server\"} 1"));
    CHECK(has_line(text, "autodnsfailover_peer_messages_refused_total{reason=\"unsolicited\","
                         "side=\"asker\"} 3"));
    std::ifstream in(ADF_SOURCE_DIR "/README.md");
    std::stringstream readme;
    readme << in.rdbuf();
    for (const char *name : {"autodnsfailover_peer_decisions_total",
                             "autodnsfailover_peer_messages_refused_total"})
        CHECK_MESSAGE(readme.str().find(std::string("`") + name + "`") != std::string::npos,
                      "README does not document the metric ", name);
}
