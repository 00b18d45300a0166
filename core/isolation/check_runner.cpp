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

// Seconds past an attempt's timeout after which a silent helper counts as
// hung: it kills a late attempt itself, so only a stuck helper is this late.
constexpr double kHelperGrace = 5;
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
    struct InFlight {
        size_t peer = 0;
        double deadline = 0;
    };

    bool launch(CheckHelper &helper) {
        const unsigned parallel =
            parallel_for(limits_.parallel, addresses_.size(), helper.capacity());
        std::vector<protocol::Request> batch;
        const double deadline = monotonic_now() + limits_.timeout;
        while (!pending_.empty() && in_flight_.size() + batch.size() < parallel) {
            const size_t peer = pending_.front();
            pending_.pop_front();
            result_.verdicts[peer].attempts++;
            const uint64_t id = service_.next_id();
            batch.push_back({id, addresses_[peer], limits_.timeout});
            in_flight_[id] = {peer, deadline};
            order_.push_back(id);
        }
        return batch.empty() || helper.send(batch);
    }

    // Waits for verdicts, the helper's end or an interrupt; false to stop.
    bool wait(CheckHelper &helper) {
        pollfd fds[2] = {{helper.fd(), POLLIN, 0}, {interrupt_.wake_fd, POLLIN, 0}};
        const nfds_t count = interrupt_.wake_fd >= 0 ? 2 : 1;
        const double late = oldest_deadline() + kHelperGrace;
        const double left = std::max(0.0, late - monotonic_now());
        poll(fds, count, static_cast<int>(std::ceil(std::min(left, 3600.0) * 1000)));
        if (count == 2 && (fds[1].revents & POLLIN) && interrupt_.should_stop &&
            interrupt_.should_stop()) {
            helper.cancel();
            cancel_all("interrupted: the daemon is stopping");
            return false;
        }
        std::vector<protocol::Reply> replies;
        const bool alive = helper.receive(replies);
        for (const auto &reply : replies) record(reply);
        if (!alive) {
            helper_gone(service_.bury());
        } else if (!in_flight_.empty() && monotonic_now() > oldest_deadline() + kHelperGrace) {
            service_.bury();
            helper_lost(fmt::format("the check helper stopped answering (no verdict {:g} s after "
                                    "a check's timeout); it was killed",
                                    kHelperGrace));
        }
        return true;
    }

    double oldest_deadline() {
        while (!order_.empty() && in_flight_.count(order_.front()) == 0) order_.pop_front();
        return order_.empty() ? monotonic_now() : in_flight_[order_.front()].deadline;
    }

    void record(const protocol::Reply &reply) {
        const auto found = in_flight_.find(reply.id);
        if (found == in_flight_.end()) return;  // cancelled earlier, or not ours
        const size_t peer = found->second.peer;
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

    void helper_gone(const std::string &how) { helper_lost("the check helper " + (how == "gone" ? std::string("is gone") : "died (" + how + ")")); }

    // The attempts in flight fail with the helper's end as their reason (a
    // host fault: it says nothing about the peers); those with attempts left
    // go to the next helper.
    void helper_lost(const std::string &what) {
        const bool replace = restarts_ < kRestartsPerRun;
        lost_reason_ = what + (replace ? "; a new one is started" : "; a new one is started next round");
        log::error(lost_reason_);
        for (const auto &[id, flight] : in_flight_) fail(flight.peer, lost_reason_, true);
        in_flight_.clear();
        order_.clear();
    }

    bool replace_helper() {
        std::string error;
        if (restarts_ >= kRestartsPerRun) {
            fail_pending(lost_reason_.empty() ? "no check helper is running" : lost_reason_);
            return false;
        }
        ++restarts_;
        if (service_.restart(error)) return true;
        log::error("cannot start a new check helper: " + error);
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
        for (const auto &[id, flight] : in_flight_) pending_.push_back(flight.peer);
        in_flight_.clear();
        order_.clear();
        result_.cancelled = pending_.size();
        fail_pending(reason);
    }

    CheckService &service_;
    const std::vector<Address> &addresses_;
    Limits limits_;
    Interrupt interrupt_;
    Result result_;
    std::deque<size_t> pending_;
    std::unordered_map<uint64_t, InFlight> in_flight_;
    std::deque<uint64_t> order_;  // ids in the order sent: deadlines ascend
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
    log::debug(fmt::format("check helper started (pid {}, plugin {}, up to {} checks at once)",
                           helper_->pid(), plugin_name_, helper_->capacity()));
}

CheckService::~CheckService() = default;

bool CheckService::restart(std::string &error) {
    helper_.reset();
    try {
        helper_ = std::make_unique<CheckHelper>(setup_, program_);
        log::debug(fmt::format("check helper started (pid {}, plugin {})", helper_->pid(),
                               plugin_name_));
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
