#include "peer/hysteresis.h"

#include <algorithm>

#include <fmt/format.h>

namespace adf::peer {

PeerHealth::Change PeerHealth::observe(bool passed, double now,
                                       const HysteresisSettings &settings) {
    const bool was_in = in_;
    // A flap is a failure right after a pass, wherever the address stands:
    // a service that keeps flapping while held out stays held out.
    if (!passed && last_passed_.value_or(false)) add_flap(now, settings.damping);
    passes_ = passed ? passes_ + 1 : 0;
    failures_ = passed ? 0 : failures_ + 1;
    last_passed_ = passed;
    observed_at_ = now;
    if (in_ && failures_ >= std::max(1u, settings.fall)) in_ = false;
    if (!in_ && passes_ >= std::max(1u, settings.rise) && !suppressed(now, settings.damping))
        in_ = true;
    if (was_in == in_) return Change::None;
    return in_ ? Change::CameIn : Change::WentOut;
}

Verdict PeerHealth::verdict(double now, const Damping &damping) const {
    if (!observed_at_) return Verdict::Unknown;
    if (in_) return Verdict::Alive;
    if (!*last_passed_) return Verdict::Dead;
    return suppressed(now, damping) ? Verdict::Damped : Verdict::Recovering;
}

double PeerHealth::penalty(double now, const Damping &damping) const {
    if (!damping.enabled || penalty_ <= 0) return 0;
    const double elapsed = std::max(0.0, now - penalty_at_);
    return penalty_ * std::exp2(-elapsed / damping.half_life);
}

bool PeerHealth::suppressed(double now, const Damping &damping) const {
    return damping.enabled && suppressed_ && penalty(now, damping) >= damping.reuse;
}

double PeerHealth::damped_for(double now, const Damping &damping) const {
    if (!suppressed(now, damping)) return 0;
    return damping.half_life * std::log2(penalty(now, damping) / damping.reuse);
}

bool PeerHealth::settled(double now, const Damping &damping) const {
    return penalty(now, damping) < 1;
}

void PeerHealth::add_flap(double now, const Damping &damping) {
    ++flaps_;
    if (!damping.enabled) return;
    const bool was_suppressed = suppressed(now, damping);
    penalty_ = std::min(penalty(now, damping) + damping.penalty, damping.ceiling());
    penalty_at_ = now;
    suppressed_ = was_suppressed || penalty_ > damping.suppress;
}

std::string PeerHealth::explain(double now, const HysteresisSettings &settings) const {
    if (!observed_at_) return "not checked yet";
    if (in_ && failures_ == 0) return "passes its checks";
    if (in_) return fmt::format("failed {} of {} checks in a row", failures_, settings.fall);
    if (!*last_passed_) return "fails its checks";
    const Damping &d = settings.damping;
    if (suppressed(now, d))
        return fmt::format(
            "held out for flapping: {} flaps, penalty {:.0f} (held above {:g}, "
            "back below {:g} in about {:.0f} s)",
            flaps_, penalty(now, d), d.suppress, d.reuse, damped_for(now, d));
    return fmt::format("recovering: {} of {} good checks in a row", passes_, settings.rise);
}

}  // namespace adf::peer
