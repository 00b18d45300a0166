#include "peer/view.h"

#include <algorithm>

#include "peer/opinion.h"

namespace adf::peer {

std::vector<Address> SetView::to_check(const std::vector<Address> &listed, const Address &self,
                                       double now, const HysteresisSettings &settings) {
    std::vector<Address> out;
    for (const Address &a : listed) {
        if (a == self) continue;
        tracked_[a].last_listed = now;
        out.push_back(a);
    }
    for (auto it = tracked_.begin(); it != tracked_.end();) {
        const bool is_listed = std::find(listed.begin(), listed.end(), it->first) != listed.end();
        if (is_listed || it->first == self) {
            ++it;
            continue;
        }
        const bool recent = now - it->second.last_listed <= settings.damping.max_suppress;
        if (recent || !it->second.health.settled(now, settings.damping)) {
            out.push_back(it->first);
            ++it;
        } else {
            it = tracked_.erase(it);
        }
    }
    return out;
}

PeerHealth::Change SetView::observe(const Address &address, bool passed,
                                    const std::string &reason, double now,
                                    const HysteresisSettings &settings) {
    Tracked &t = tracked_[address];
    if (!passed) t.reason = reason;
    return t.health.observe(passed, now, settings);
}

const PeerHealth *SetView::health(const Address &address) const {
    const auto found = tracked_.find(address);
    return found == tracked_.end() ? nullptr : &found->second.health;
}

bool SetView::needs_check(const Question &question, double now, double check_seconds) const {
    const auto found = tracked_.find(question.subject);
    return found != tracked_.end() && answer_source(&found->second.health, question, now,
                                                    check_seconds) == AnswerSource::CheckNow;
}

Answer SetView::answer(const Question &question, double now, const HysteresisSettings &settings,
                       const Address &observer, double check_seconds) const {
    const auto found = tracked_.find(question.subject);
    if (found == tracked_.end())
        return no_verdict(Verdict::NotTracked, observer, "not in the record set I watch");
    const PeerHealth &health = found->second.health;
    if (answer_source(&health, question, now, check_seconds) == AnswerSource::Stored)
        return answer_from(health, now, settings, observer, found->second.reason);
    return no_verdict(Verdict::Unknown, observer,
                      health.observed_at() ? "my last check is older than the question allows"
                                           : "not checked yet");
}

}  // namespace adf::peer
