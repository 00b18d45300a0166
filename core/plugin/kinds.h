// Typed views of the four plugin kinds over an Instance: every call goes
// through here, so statuses, errors and log context are handled once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/address.h"
#include "plugin/host.h"

namespace adf::plugin {

// The outcome of a plugin operation: an adf_status and the plugin's reason.
struct Outcome {
    int status = ADF_OK;
    std::string error;
    bool ok() const { return status == ADF_OK; }
};

// "ok", "failed", "transient", "conflict", "bad config", "absent".
const char *status_name(int status);

class DnsBackend {
   public:
    explicit DnsBackend(std::unique_ptr<Instance> instance);
    const std::string &name() const { return instance_->name(); }
    bool atomic() const;
    bool has_notes() const;

    struct Read : Outcome {
        std::vector<ReadRecord> records;  // sorted numerically
    };
    // Whether the plugin can manage `fqdn` (ADF_OK, also for plugins without
    // validate_name, ABI 1.0 ones included); ADF_BAD_CONFIG with its reason.
    Outcome validate_name(const std::string &fqdn);
    Read read(const std::string &fqdn, int family);
    Outcome add(const std::string &fqdn, int family, const std::vector<ReadRecord> &expected,
                const ReadRecord &record);
    Outcome remove(const std::string &fqdn, int family, const std::vector<ReadRecord> &expected,
                   const Address &address);
    // Whether the plugin removes several addresses in one atomic write (its
    // ABI 1.1 remove_many); without it the caller removes one at a time.
    bool removes_many() const { return remove_many_ != nullptr; }
    // One conditional write removing every address (only when removes_many()).
    Outcome remove_many(const std::string &fqdn, int family,
                        const std::vector<ReadRecord> &expected,
                        const std::vector<Address> &addresses);

   private:
    std::unique_ptr<Instance> instance_;
    const adf_dns_ops *ops_;
    decltype(adf_dns_ops::remove_many) remove_many_;  // null: absent (1.0) or not offered
};

class IpaddrSource {
   public:
    explicit IpaddrSource(std::unique_ptr<Instance> instance);
    const std::string &name() const { return instance_->name(); }

    struct Own : Outcome {
        std::optional<Address> address;  // set when ok
    };
    // ADF_ABSENT when the host has no address of `family`; ADF_FAILED when
    // the plugin answered something that is not an address of it, or one
    // that is never a host's own (unspecified, multicast, broadcast).
    Own own_address(int family);

   private:
    std::unique_ptr<Instance> instance_;
    const adf_ipaddr_ops *ops_;
};

class Checker {
   public:
    explicit Checker(std::unique_ptr<Instance> instance);
    const std::string &name() const { return instance_->name(); }
    // Runs the plugin's check in the calling process: only ever call this in
    // a forked child (isolation/check_runner does).
    Outcome check_here(const Address &address, double timeout);

   private:
    std::unique_ptr<Instance> instance_;
    const adf_check_ops *ops_;
};

class Timer {
   public:
    explicit Timer(std::unique_ptr<Instance> instance);
    const std::string &name() const { return instance_->name(); }
    double next_check_time(double now);
    // Sanitised: finite and within [0.001, 3600] seconds.
    double check_timeout();
    // At least one attempt.
    unsigned attempts();

   private:
    std::unique_ptr<Instance> instance_;
    const adf_timer_ops *ops_;
};

// The four plugins of one config, loaded and created.
struct PluginSet {
    std::unique_ptr<IpaddrSource> ipaddr;
    std::unique_ptr<DnsBackend> dns;
    std::unique_ptr<Checker> check;
    std::unique_ptr<Timer> timer;
};

// Which slots to create (probe commands need only one).
enum Slots : unsigned { kIpaddr = 1, kDns = 2, kCheck = 4, kTimer = 8, kAllSlots = 15 };

// Loads and creates the plugins of `config`. Every slot is tried, even after
// one failed; then one config::ConfigError lists every plugin's errors (the
// file, plugin and key of each). A slot whose section has no plugin name (an
// error the config already reported) is left out. The dns plugin
// is asked about every name of the config (validate_name): a name it cannot
// manage is an error naming the name and the plugin.
PluginSet create_plugins(Loader &loader, const config::Config &config, unsigned slots = kAllSlots);

// The same, adding each error to `errors` (one entry per plugin) instead of
// throwing; the slots that failed are left empty.
PluginSet create_plugins(Loader &loader, const config::Config &config, unsigned slots,
                         std::vector<std::string> &errors);

// A config file with its plugins created.
struct Setup {
    config::Config config;
    PluginSet plugins;
};

// The config's plugin_dirs, or the default ones when it names none.
std::vector<std::string> plugin_dirs_of(const config::Config &config);

// Reads the config at `path` and creates the plugins of `slots` from its
// plugin_dirs (or the default ones). Throws one config::ConfigError with
// every error of the file and of every plugin section together, so that an
// operator fixes them all in one go.
Setup load_setup(const std::string &path, unsigned slots = kAllSlots);

}  // namespace adf::plugin
