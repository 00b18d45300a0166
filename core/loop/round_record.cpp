#include "loop/round_record.h"

#include <fmt/format.h>

#include "plugin/kinds.h"
#include "util/exit_codes.h"

namespace adf::loop {

using events::Kind;

void RoundRecord::begin(unsigned long long number) {
    *this = RoundRecord();
    number_ = number;
}

void RoundRecord::on_event(const events::Event &e) {
    const std::string set = fmt::format("{} {}", e.fqdn, record_type(e.family));
    switch (e.kind) {
        case Kind::PeerRemoved: changes_.push_back(fmt::format("removed {} from {}", e.peer, set)); break;
        case Kind::SelfAdded: changes_.push_back(fmt::format("added myself ({}) to {}", e.peer, set)); break;
        case Kind::WouldRemove: changes_.push_back(fmt::format("would remove {} from {} (dry run)", e.peer, set)); break;
        case Kind::WouldAddSelf: changes_.push_back(fmt::format("would add myself ({}) to {} (dry run)", e.peer, set)); break;
        case Kind::ReadFailed:
        case Kind::OwnAddressFailed:
        case Kind::SelfCheckNotMade: failed_ = true; break;
        case Kind::SelfAddFailed:
        case Kind::RemovalFailed:
            (e.status == plugin::status_name(ADF_CONFLICT) ? conflicted_ : failed_) = true;
            break;
        default: break;
    }
}

void RoundRecord::add_checks(size_t checked, size_t dead, size_t not_judged) {
    checked_ += checked;
    dead_ += dead;
    not_judged_ += not_judged;
}

void RoundRecord::add_set(const std::string &fqdn, int family, size_t records) {
    sets_.push_back(fmt::format("{} {}: {} record{}", fqdn, record_type(family), records,
                                records == 1 ? "" : "s"));
}

int RoundRecord::exit_code() const {
    if (failed_) return kExitTransient;
    if (conflicted_) return kExitConflict;
    return kExitOk;
}

std::string RoundRecord::state_line() const {
    std::string out = sets_.empty() ? std::string("no set read") : fmt::format("{}", fmt::join(sets_, "; "));
    out += fmt::format("; {} check{} of peers, {} dead", checked_, checked_ == 1 ? "" : "s", dead_);
    if (not_judged_ > 0) out += fmt::format(", {} not judged", not_judged_);
    return out;
}

events::Event RoundRecord::summary(double seconds) const {
    return events::make(Kind::RoundSummary,
                        fmt::format("round {} changed DNS: {} ({}; {:.2f} s)", number_,
                                    fmt::join(changes_, ", "), state_line(), seconds));
}

std::optional<events::Event> Heartbeat::after_round(const RoundRecord &round, double now) {
    ++rounds_;
    if (last_ < 0 || round.changed()) {
        last_ = now;  // a summary was logged (or the daemon just started)
        rounds_ = 0;
        return std::nullopt;
    }
    if (interval_ <= 0 || now - last_ < interval_) return std::nullopt;
    auto beat = events::make(Kind::Heartbeat,
                             fmt::format("alive: {} round{} in the last {}, no change; {}", rounds_,
                                         rounds_ == 1 ? "" : "s", human_duration(now - last_),
                                         round.state_line()));
    last_ = now;
    rounds_ = 0;
    return beat;
}

}  // namespace adf::loop
