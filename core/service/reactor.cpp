#include "service/reactor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "logging/log.h"
#include "util/clock.h"
#include "util/thread.h"

namespace adf::service {

Reactor::Reactor() : wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (wake_fd_ < 0)
        throw std::runtime_error(std::string("cannot create the service thread's eventfd: ") +
                                 std::strerror(errno));
}

Reactor::~Reactor() {
    stop();
    participants_.clear();
    close(wake_fd_);
}

void Reactor::start() {
    if (thread_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = false;
    }
    thread_ = thread_without_signals([this] { loop(); });
}

void Reactor::stop() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake();
    thread_.join();
    run_tasks();  // what was posted last (a replacement) still takes place
}

void Reactor::add(std::unique_ptr<Participant> participant) {
    if (thread_.joinable()) throw std::logic_error("Reactor::add after start: use replace");
    const std::string name = participant->name();
    install(name, std::move(participant));
}

void Reactor::install(const std::string &name, std::unique_ptr<Participant> participant) {
    auto found = std::find_if(participants_.begin(), participants_.end(),
                              [&](const auto &p) { return p->name() == name; });
    if (found != participants_.end()) {
        if (participant) *found = std::move(participant);
        else participants_.erase(found);
    } else if (participant) {
        participants_.push_back(std::move(participant));
    }
}

void Reactor::replace(const std::string &name, std::unique_ptr<Participant> participant) {
    if (!thread_.joinable()) {
        install(name, std::move(participant));
        if (!participants_.empty()) start();
        return;
    }
    // std::function needs a copyable callable: share the pointer.
    auto shared = std::make_shared<std::unique_ptr<Participant>>(std::move(participant));
    post([this, name, shared] { install(name, std::move(*shared)); });
}

void Reactor::post(std::function<void()> task) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        tasks_.push_back(std::move(task));
    }
    wake();
}

void Reactor::wake() {
    const uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof one);
    (void)ignored;
}

void Reactor::run_tasks() {
    std::vector<std::function<void()>> tasks;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        tasks.swap(tasks_);
    }
    for (auto &task : tasks) {
        try {
            task();
        } catch (const std::exception &e) {
            log::error(std::string("service thread: a task failed: ") + e.what());
        }
    }
}

void Reactor::loop() {
    std::vector<pollfd> fds;
    std::vector<size_t> first;  // index of each participant's first fd in `fds`
    for (;;) {
        uint64_t count = 0;
        while (read(wake_fd_, &count, sizeof count) > 0) {
        }
        run_tasks();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) return;
        }
        fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
        first.clear();
        double deadline = std::numeric_limits<double>::infinity();
        for (auto &p : participants_) {
            first.push_back(fds.size());
            p->fds(fds);
            deadline = std::min(deadline, p->deadline());
        }
        first.push_back(fds.size());
        const double now = monotonic_now();
        const int timeout = std::isinf(deadline)
                                ? -1
                                : static_cast<int>(std::ceil(std::max(0.0, std::min(deadline - now, 3600.0)) * 1000));
        if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
            log::error(std::string("service thread: poll failed: ") + std::strerror(errno));
            return;
        }
        const double after = monotonic_now();
        for (size_t i = 0; i < participants_.size(); ++i) {
            Participant &p = *participants_[i];
            std::vector<pollfd> mine(fds.begin() + static_cast<long>(first[i]),
                                     fds.begin() + static_cast<long>(first[i + 1]));
            const bool ready = std::any_of(mine.begin(), mine.end(),
                                           [](const pollfd &f) { return f.revents != 0; });
            if (!ready && p.deadline() > after) continue;
            try {
                p.run(mine, after);
            } catch (const std::exception &e) {
                log::error("service thread: " + p.name() + " failed: " + e.what());
            }
        }
    }
}

}  // namespace adf::service
