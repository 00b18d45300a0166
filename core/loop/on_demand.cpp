#include "loop/on_demand.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "logging/log.h"
#include "util/thread.h"

namespace adf::loop {
namespace {

UniqueFd make_eventfd() {
    UniqueFd fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd)
        throw std::runtime_error(
            fmt::format("cannot create an eventfd for on-demand checks: {}", std::strerror(errno)));
    return fd;
}

void signal_fd(int fd) {
    const uint64_t one = 1;
    (void)!write(fd, &one, sizeof one);
}

void drain_fd(int fd) {
    uint64_t count = 0;
    (void)!read(fd, &count, sizeof count);
}

}  // namespace

OnDemandChecks::OnDemandChecks(isolation::HelperSetup setup)
    : setup_(std::move(setup)), ready_(make_eventfd()), stop_(make_eventfd()) {
    thread_ = thread_without_signals([this] { run(); });
}

OnDemandChecks::~OnDemandChecks() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    signal_fd(stop_.get());
    wake_.notify_all();
    thread_.join();
}

void OnDemandChecks::request(Request request, const isolation::Limits &limits) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.push_back(std::move(request));
        limits_ = limits;
    }
    wake_.notify_all();
}

std::vector<OnDemandChecks::Done> OnDemandChecks::take() {
    drain_fd(ready_.get());
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(done_, {});
}

void OnDemandChecks::run() {
    std::unique_ptr<isolation::CheckService> service;
    for (;;) {
        std::vector<Request> batch;
        isolation::Limits limits;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            batch.assign(queue_.begin(), queue_.end());
            queue_.clear();
            limits = limits_;
        }
        try {
            if (!service) service = std::make_unique<isolation::CheckService>(setup_);
        } catch (const std::exception &e) {
            // The questions go unanswered (their askers count them silent);
            // the next request tries again.
            log::error(fmt::format("cannot start a check helper for the pool's questions: {}",
                                   e.what()),
                       {"", "", "", "", "on_demand_checks_failed"});
            continue;
        }
        std::vector<Address> addresses;
        for (const Request &r : batch) addresses.push_back(r.address);
        isolation::Interrupt interrupt{stop_.get(), [this] {
                                           std::lock_guard<std::mutex> lock(mutex_);
                                           return stopping_;
                                       },
                                       {}};
        auto result = isolation::check_all(*service, addresses, limits, interrupt);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) return;
            for (size_t i = 0; i < batch.size(); ++i)
                done_.push_back(Done{std::move(batch[i]), std::move(result.verdicts[i])});
        }
        signal_fd(ready_.get());
    }
}

}  // namespace adf::loop
