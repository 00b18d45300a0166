// The fixed-interval timer, loaded the way the daemon loads it: dlopen()ed
// from <build>/plugins/fixed-interval.so by the core's Loader and created
// through a real Instance, then driven with a clock the test controls.
#include <doctest/doctest.h>

#include <autodnsfailover/plugin.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "plugin/host.h"
#include "plugin/loader.h"

namespace {

class Timer {
   public:
    explicit Timer(nlohmann::json settings) {
        adf::plugin::Loader loader({std::string(ADF_BUILD_DIR) + "/plugins"});
        const adf::plugin::Loaded loaded = loader.load("fixed-interval", ADF_KIND_TIMER);
        instance_ = adf::plugin::Instance::create(
            loaded, adf::config::PluginSection{"timer", "fixed-interval", std::move(settings)});
        ops_ = static_cast<const adf_timer_ops *>(instance_->descriptor().ops);
    }
    double next(double now) { return ops_->next_check_time(instance_->handle(), now); }
    double timeout() { return ops_->check_timeout(instance_->handle()); }
    uint32_t retry() { return ops_->retry(instance_->handle()); }

   private:
    std::unique_ptr<adf::plugin::Instance> instance_;
    const adf_timer_ops *ops_ = nullptr;
};

// The message of the ConfigError that creating a timer with `settings` raises.
std::string config_error(nlohmann::json settings) {
    try {
        Timer timer(std::move(settings));
    } catch (const adf::config::ConfigError &e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("fixed-interval: the first round is now, later ones are anchored to the schedule") {
    Timer timer({{"interval", 10}, {"timeout", 2}, {"retry", 3}});
    CHECK(timer.next(1000.0) == doctest::Approx(1000.0));
    // The round took 3 s: the next still starts 10 s after the last start.
    CHECK(timer.next(1003.0) == doctest::Approx(1010.0));
    // Asked early (the loop woke up before time): still on the schedule.
    CHECK(timer.next(1010.5) == doctest::Approx(1020.0));
    CHECK(timer.next(1021.0) == doctest::Approx(1030.0));
}

TEST_CASE("fixed-interval: an overdue round starts now, without a burst of catch-up rounds") {
    Timer timer({{"interval", 10}, {"timeout", 2}});
    CHECK(timer.next(0.0) == doctest::Approx(0.0));
    // A round hung for 35 s: rounds at 10, 20, 30 were missed; run one now.
    CHECK(timer.next(35.0) == doctest::Approx(35.0));
    // The schedule is anchored again on that round.
    CHECK(timer.next(36.0) == doctest::Approx(45.0));
    CHECK(timer.next(45.0) == doctest::Approx(55.0));
}

TEST_CASE("fixed-interval: the defaults are 10 s, 2 s and 3 attempts") {
    Timer timer(nlohmann::json::object());
    CHECK(timer.timeout() == doctest::Approx(2.0));
    CHECK(timer.retry() == 3u);
    CHECK(timer.next(5.0) == doctest::Approx(5.0));
    CHECK(timer.next(5.0) == doctest::Approx(15.0));
}

TEST_CASE("fixed-interval: timeout and retry are what the config says; retry 0 is one attempt") {
    Timer timer({{"interval", 30}, {"timeout", 1.5}, {"retry", 10}});
    CHECK(timer.timeout() == doctest::Approx(1.5));
    CHECK(timer.retry() == 10u);
    CHECK(Timer(nlohmann::json{{"retry", 0}}).retry() == 1u);
    CHECK(Timer(nlohmann::json{{"retry", 1}}).retry() == 1u);
}

TEST_CASE("fixed-interval: two instances keep separate schedules") {
    Timer a({{"interval", 5}, {"timeout", 1}});
    Timer b({{"interval", 7}, {"timeout", 1}});
    CHECK(a.next(100.0) == doctest::Approx(100.0));
    CHECK(b.next(200.0) == doctest::Approx(200.0));
    CHECK(a.next(101.0) == doctest::Approx(105.0));
    CHECK(b.next(201.0) == doctest::Approx(207.0));
}

TEST_CASE("fixed-interval: config errors name the key") {
    CHECK(config_error({{"interval", 0}}).find("timer.interval") != std::string::npos);
    CHECK(config_error({{"timeout", -1}}).find("timer.timeout") != std::string::npos);
    CHECK(config_error({{"retry", 101}}).find("timer.retry") != std::string::npos);
    const std::string both = config_error({{"interval", 1}, {"timeout", 3}});
    CHECK(both.find("timer.timeout") != std::string::npos);
    CHECK(both.find("interval (1 s)") != std::string::npos);
    CHECK(config_error({{"interval", 2}, {"timeout", 2}}).empty());
}
