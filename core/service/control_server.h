// The control socket's server, a Participant of the service thread: each
// client sends one request line ("status") and gets one answer (JSON),
// then the connection closes. A client that sends nothing, or reads
// nothing, for 5 seconds is dropped; at most 16 clients at once.
#pragma once

#include <functional>
#include <list>
#include <string>

#include <autodnsfailover/posix.hpp>

#include "service/reactor.h"

namespace adf::service {

class ControlServer : public Participant {
   public:
    // `answer` maps a request line to the reply; it runs on the service
    // thread (reading the state store is what it is for).
    using Handler = std::function<std::string(const std::string &request)>;
    ControlServer(UniqueFd listener, std::string path, Handler answer);
    ~ControlServer() override;  // closes and unlinks the socket

    std::string name() const override { return "control"; }
    void fds(std::vector<pollfd> &out) override;
    double deadline() override;
    void run(const std::vector<pollfd> &ready, double now) override;
    const std::string &path() const { return path_; }

   private:
    struct Client {
        UniqueFd fd;
        std::string in;
        std::string out;
        size_t sent = 0;
        bool answered = false;
        double expires = 0;
    };
    void accept_clients(double now);
    void serve(Client &client, short revents);

    UniqueFd listener_;
    std::string path_;
    Handler answer_;
    std::list<Client> clients_;
};

}  // namespace adf::service
