#include "notify/coalesce.h"

#include <algorithm>

namespace adf::notify {

std::optional<Notification> Coalescer::offer(const Notification &n, double now) {
    if (window_ <= 0) return n;
    const events::Event &e = n.event;
    // A summary of a persistent error is about the error's kind, and the
    // notification failures are about their target (kept in `plugin`).
    const int kind = static_cast<int>(e.about ? *e.about : e.kind);
    const Key key{kind, e.fqdn, e.family, e.peer.empty() ? e.plugin : e.peer};
    auto found = windows_.find(key);
    if (found == windows_.end() || found->second.ends <= now) {
        windows_[key] = Window{now + window_, 0, 0, {}};
        return n;
    }
    Window &w = found->second;
    if (w.held++ == 0) w.first_held_wall = e.time.wall;
    w.last = n;
    return std::nullopt;
}

std::vector<Notification> Coalescer::due(double now) {
    std::vector<Notification> out;
    for (auto it = windows_.begin(); it != windows_.end();) {
        Window &w = it->second;
        if (w.ends > now) {
            ++it;
            continue;
        }
        if (w.held == 0) {
            it = windows_.erase(it);
            continue;
        }
        Notification summary = w.last;
        summary.repeats = w.held;
        summary.first_repeat = w.first_held_wall;
        out.push_back(std::move(summary));
        w = Window{now + window_, 0, 0, {}};
        ++it;
    }
    return out;
}

double Coalescer::next_due() const {
    double next = std::numeric_limits<double>::infinity();
    for (const auto &[key, w] : windows_) next = std::min(next, w.ends);
    return next;
}

}  // namespace adf::notify
