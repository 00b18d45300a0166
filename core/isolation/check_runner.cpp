#include "isolation/check_runner.h"

#include <poll.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_map>

#include <fmt/format.h>

#include "logging/log.h"
#include "util/clock.h"

namespace adf::isolation {
namespace {

// Seconds past a check's timeout without any verdict, while checks are in
// flight, after which the helper counts as hung: it kills late attempts
// itself, so only a stuck helper is this quiet. (A busy helper on a loaded
// machine is slow, not stuck: every verdict it sends restarts the count.)
constexpr double kHelperGrace = 10;
// Helpers started per check_all when one dies: a helper that keeps dying
// must not turn into a fork loop; the next round tries again.
constexpr int kRestartsPerRun = 1;

class Run {
   public:
    Run(CheckService &service, const std::vector<Address> &addresses, const Limits &limits,
        const Interrupt &interrupt)
        : service_(service), addresses_(addresses), limits_(limits), interrupt_(interrupt) {
        result_.verdicts.resize(addresses.size());
        for (size_t i = 0; i < addresses.size(); ++i) {
            result_.verdicts[i].address = addresses[i];
            pending_.push_back(i);
        }
    }

    Result go() {
        while (!pending_.empty() || !in_flight_.empty()) {
            CheckHelper *helper = service_.helper();
            if (helper == nullptr && !replace_helper()) break;
            helper = service_.helper();
            if (!launch(*helper)) {
                helper_gone(service_.bury());
                continue;
            }
            if (in_flight_.empty()) continue;
            if (!wait(*helper)) break;
        }
        return std::move(result_);
    }

   private:
    bool launch(CheckHelper &helper) {
        const unsigned parallel =
            parallel_for(limits_.parallel, addresses_.size(), helper.capacity());
        std::vector<protocol::Request> batch;
        if (in_flight_.empty()) first_sent_ = monotonic_now();
        while (!pending_.empty() && in_flight_.size() < parallel) {
            const size_t peer = pending_.front();
            pending_.pop_front();
            result_.verdicts[peer].attempts++;
            const uint64_t id = service_.next_id();
            batch.push_back({id, addresses_[peer], limits_.timeout});
            in_flight_[id] = peer;
        }
        return batch.empty() || helper.send(batch);
    }

    // Waits for verdicts, the helper's end or an interrupt; false to stop.
    bool wait(CheckHelper &helper) {
        const short events = helper.wants_to_send() ? POLLIN | POLLOUT : POLLIN;
        pollfd fds[2] = {{helper.fd(), events, 0}, {interrupt_.wake_fd, POLLIN, 0}};
        const nfds_t count = interrupt_.wake_fd >= 0 ? 2 : 1;
        const double left = std::max(0.0, hung_at() - monotonic_now());
        poll(fds, count, static_cast<int>(std::ceil(std::min(left, 3600.0) * 1000)));
        if (count == 2 && (fds[1].revents & POLLIN) && interrupt_.should_stop &&
            interrupt_.should_stop()) {
            helper.cancel();
            cancel_all("interrupted: the daemon is stopping");
            return false;
        }
        std::vector<protocol::Reply> replies;
        const bool alive = helper.receive(replies) && helper.flush();
        if (!replies.empty()) {
            last_verdict_ = monotonic_now();
            if (interrupt_.on_progress) interrupt_.on_progress();
        }
        for (const auto &reply : replies) record(reply);
        if (!alive) {
            helper_gone(service_.bury());
        } else if (!in_flight_.empty() && monotonic_now() > hung_at()) {
            service_.bury();
            helper_lost(fmt::format("the check helper stopped answering (no verdict for {:g} s "
                                    "with checks of {:g} s in flight); it was killed",
                                    limits_.timeout + kHelperGrace, limits_.timeout));
        }
        return true;
    }

    // When the helper counts as hung if nothing comes: a timeout and the
    // grace after the last verdict, or after the first check it was sent.
    double hung_at() const {
        return std::max(last_verdict_, first_sent_) + limits_.timeout + kHelperGrace;
    }

    void record(const protocol::Reply &reply) {
        const auto found = in_flight_.find(reply.id);
        if (found == in_flight_.end()) return;  // cancelled earlier, or not ours
        const size_t peer = found->second;
        in_flight_.erase(found);
        if (reply.outcome == protocol::Outcome::Alive) {
            result_.verdicts[peer].alive = true;
            result_.verdicts[peer].host_fault = false;
            return;
        }
        fail(peer, reply.reason, reply.outcome == protocol::Outcome::HostFault);
    }

    void fail(size_t peer, const std::string &reason, bool host_fault) {
        Verdict &v = result_.verdicts[peer];
        v.failures.push_back(reason);
        v.host_fault = host_fault;
        if (v.attempts < std::max(1u, limits_.attempts)) pending_.push_front(peer);
    }

    // `how` is what bury() said: "killed by signal 9", "exited with status 1".
    void helper_gone(const std::string &how) {
        helper_lost(how == "gone" ? "the check helper is gone" : "the check helper died (" + how + ")");
    }

    // The attempts in flight fail with the helper's end as their reason (a
    // host fault: it says nothing about the peers); those with attempts left
    // go to the next helper.
    void helper_lost(const std::string &what) {
        const bool replace = restarts_ < kRestartsPerRun;
        lost_reason_ = what + (replace ? "; a new one is started" : "; a new one is started next round");
        log::error(lost_reason_, {"", "", "", "", "check_helper_died"});
        for (const auto &[id, peer] : in_flight_) fail(peer, lost_reason_, true);
        in_flight_.clear();
    }

    bool replace_helper() {
        std::string error;
        if (restarts_ >= kRestartsPerRun) {
            fail_pending(lost_reason_.empty() ? "no check helper is running" : lost_reason_);
            return false;
        }
        ++restarts_;
        if (service_.restart(error)) return true;
        log::error("cannot start a new check helper: " + error,
                   {"", "", "", "", "check_helper_failed"});
        fail_pending("cannot start a new check helper: " + error);
        return false;
    }

    void fail_pending(const std::string &reason) {
        for (size_t peer : pending_) {
            result_.verdicts[peer].failures.push_back(reason);
            result_.verdicts[peer].host_fault = true;
        }
        pending_.clear();
    }

    void cancel_all(const std::string &reason) {
        for (const auto &[id, peer] : in_flight_) pending_.push_back(peer);
        in_flight_.clear();
        result_.cancelled = pending_.size();
        fail_pending(reason);
    }

    CheckService &service_;
    const std::vector<Address> &addresses_;
    Limits limits_;
    Interrupt interrupt_;
    Result result_;
    std::deque<size_t> pending_;
    std::unordered_map<uint64_t, size_t> in_flight_;  // request id -> peer
    double first_sent_ = 0;    // when the helper last went from idle to busy
    double last_verdict_ = 0;  // when it last answered
    int restarts_ = 0;
    std::string lost_reason_;
};

}  // namespace

unsigned parallel_for(unsigned configured, size_t addresses, unsigned capacity) {
    const size_t wanted = configured == 0 ? std::min<size_t>(addresses, kAutoParallelCap)
                                          : configured;
    return static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(wanted, capacity)));
}

CheckService::CheckService(HelperSetup setup, std::string program)
    : setup_(std::move(setup)), program_(std::move(program)) {
    helper_ = std::make_unique<CheckHelper>(setup_, program_);
    plugin_name_ = helper_->plugin_name();
}

CheckService::~CheckService() = default;

bool CheckService::restart(std::string &error) {
    helper_.reset();
    try {
        helper_ = std::make_unique<CheckHelper>(setup_, program_);
        log::info(fmt::format("a new check helper is running (helper pid {})", helper_->pid()),
                  {"", "", plugin_name_, "", "check_helper_started"});
        return true;
    } catch (const std::exception &e) {
        error = e.what();
        return false;
    }
}

std::string CheckService::bury() {
    if (!helper_) return "gone";
    const std::string how = helper_->bury();
    helper_.reset();
    return how;
}

Result check_all(CheckService &service, const std::vector<Address> &addresses,
                 const Limits &limits, const Interrupt &interrupt) {
    return Run(service, addresses, limits, interrupt).go();
}

}  // namespace adf::isolation
