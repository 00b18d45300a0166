// The daemon's one service thread: a small poll() reactor for everything
// that talks to the outside while the loop thread runs rounds, i.e. the
// metrics HTTP listener, the control socket (`status`) and the delivery of
// notifications. The loop thread never waits for any of them: it hands work
// over with post() and wake(), which take a mutex for a moment and write an
// eventfd.
//
// Extension point: a new listener (the UDP peer server, loop/peering.cpp)
// is one more Participant: its descriptors, its deadline, and run() when
// either comes; add it with add() before start(), or replace() it while the
// reactor runs (a reload). Nothing else is plumbed. Participants run on the
// service thread only, one at a time, and must never block: non-blocking
// descriptors, and work cut into steps driven by readiness and deadlines.
#pragma once

#include <poll.h>

#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace adf::service {

class Participant {
   public:
    virtual ~Participant() = default;
    // Its name, unique in a reactor ("metrics", "control", "notify").
    virtual std::string name() const = 0;
    // Appends the descriptors to wait for now (fd and events).
    virtual void fds(std::vector<pollfd> &out) = 0;
    // The monotonic time it wants to run by (infinity: only on readiness).
    virtual double deadline() { return std::numeric_limits<double>::infinity(); }
    // Its descriptors as poll() left them (revents set), whenever one is
    // ready or its deadline passed.
    virtual void run(const std::vector<pollfd> &ready, double now) = 0;
};

class Reactor {
   public:
    Reactor();
    ~Reactor();  // stops the thread; participants are destroyed on the caller's thread
    Reactor(const Reactor &) = delete;
    Reactor &operator=(const Reactor &) = delete;

    // Starts the thread (with SIGTERM, SIGINT, SIGHUP blocked in it: signals
    // are the loop thread's). Without participants nothing is started.
    void start();
    // Asks the thread to end and joins it.
    void stop();
    bool running() const { return thread_.joinable(); }

    // Before start(): adds a participant. After: use replace().
    void add(std::unique_ptr<Participant> participant);
    // Replaces the participant named `name` (or adds it; null removes it),
    // on the service thread. Starts the thread when it was not running.
    void replace(const std::string &name, std::unique_ptr<Participant> participant);
    // Runs `task` on the service thread soon (from any thread; never blocks
    // beyond a mutex held for a moment).
    void post(std::function<void()> task);
    // Makes the thread look at its participants again (their fds and deadlines).
    void wake();

   private:
    void loop();
    void run_tasks();
    void install(const std::string &name, std::unique_ptr<Participant> participant);

    int wake_fd_ = -1;  // eventfd
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::function<void()>> tasks_;
    bool stopping_ = false;
    std::vector<std::unique_ptr<Participant>> participants_;  // the service thread's once started
};

}  // namespace adf::service
