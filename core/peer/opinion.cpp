#include "peer/opinion.h"

#include <algorithm>
#include <cmath>

namespace adf::peer {

AnswerSource answer_source(const PeerHealth *health, const Question &question, double now,
                           double check_seconds) {
    if (health && health->observed_at()) {
        const double age_ms = std::max(0.0, now - *health->observed_at()) * 1000;
        if (age_ms <= question.max_age_ms) return AnswerSource::Stored;
    }
    return check_seconds * 1000 < question.wait_ms ? AnswerSource::CheckNow
                                                   : AnswerSource::CannotSay;
}

Answer answer_from(const PeerHealth &health, double now, const HysteresisSettings &settings,
                   const Address &observer, const std::string &check_reason) {
    Answer answer;
    answer.verdict = health.verdict(now, settings.damping);
    if (is_opinion(answer.verdict)) {
        const double age_ms = std::max(0.0, now - health.observed_at().value_or(now)) * 1000;
        answer.age_ms = static_cast<uint32_t>(std::min(age_ms, 4294967295.0));
    }
    answer.observer = observer;
    answer.reason = wire_reason(answer.verdict == Verdict::Dead && !check_reason.empty()
                                    ? check_reason
                                    : health.explain(now, settings));
    return answer;
}

Answer no_verdict(Verdict verdict, const Address &observer, const std::string &reason) {
    Answer answer;
    answer.verdict = verdict;
    answer.observer = observer;
    answer.reason = wire_reason(reason);
    return answer;
}

}  // namespace adf::peer
