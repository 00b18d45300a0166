// Checks made for the pool's questions ("no older than T") when the verdict
// this daemon holds is older: the answering side of "an answer is fresh".
// A thread of its own with a check helper of its own (started at the first
// request), so that neither the service thread, which answers, nor the
// loop, which runs the rounds, ever waits for such a check.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <autodnsfailover/posix.hpp>

#include "isolation/check_runner.h"
#include "net/address.h"

namespace adf::loop {

class OnDemandChecks {
   public:
    // What one check is for: the question's ticket (peer::Server), and the
    // set it was asked about.
    struct Request {
        uint64_t ticket = 0;
        std::string fqdn;  // as it travels (wire_fqdn)
        Address address;
    };
    struct Done {
        Request request;
        isolation::Verdict verdict;
    };

    explicit OnDemandChecks(isolation::HelperSetup setup);
    ~OnDemandChecks();  // cancels the checks under way and joins the thread
    OnDemandChecks(const OnDemandChecks &) = delete;
    OnDemandChecks &operator=(const OnDemandChecks &) = delete;

    // Readable while checks are done and not taken yet.
    int ready_fd() const { return ready_.get(); }

    // From any thread; `limits` is the round's (timeout, attempts).
    void request(Request request, const isolation::Limits &limits);
    std::vector<Done> take();

   private:
    void run();

    isolation::HelperSetup setup_;
    UniqueFd ready_;  // eventfd: results waiting
    UniqueFd stop_;   // eventfd: the destructor wants the thread to end
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Request> queue_;
    isolation::Limits limits_;
    std::vector<Done> done_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace adf::loop
