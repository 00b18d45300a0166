#include "plugin/kinds.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace adf::plugin {

const char *status_name(int status) {
    switch (status) {
        case ADF_OK: return "ok";
        case ADF_FAILED: return "failed";
        case ADF_TRANSIENT: return "transient";
        case ADF_CONFLICT: return "conflict";
        case ADF_BAD_CONFIG: return "bad config";
        case ADF_ABSENT: return "absent";
        default: return "unknown status";
    }
}

namespace {

template <class Ops>
const Ops *ops_of(const Instance &instance) {
    return static_cast<const Ops *>(instance.descriptor().ops);
}

// An outcome from a status, with the plugin's reason (or a generic one).
Outcome outcome(Instance &instance, int status) {
    Outcome o;
    o.status = status;
    o.error = instance.take_error();
    if (status != ADF_OK && o.error.empty()) o.error = status_name(status);
    return o;
}

// Host-owned record arrays for the duration of one call.
class RecordArray {
   public:
    explicit RecordArray(const std::vector<ReadRecord> &records) {
        texts_.reserve(records.size());
        for (const auto &r : records) texts_.push_back(r.address.text());
        for (size_t i = 0; i < records.size(); ++i)
            records_.push_back({texts_[i].c_str(),
                                records[i].note.empty() ? nullptr : records[i].note.c_str(),
                                records[i].ttl, 0});
        set_ = {sizeof(adf_record_set), sizeof(adf_record), records_.size(),
                records_.empty() ? nullptr : records_.data()};
    }
    const adf_record_set *set() const { return &set_; }

   private:
    std::vector<std::string> texts_;
    std::vector<adf_record> records_;
    adf_record_set set_{};
};

// What makes `address` unfit to be published as a host's own, or nullptr.
const char *never_own(const Address &address) {
    const auto &b = address.bytes;
    const size_t size = address.family == 6 ? 16 : 4;
    if (std::all_of(b.begin(), b.begin() + size, [](uint8_t byte) { return byte == 0; }))
        return "the unspecified address";
    if (address.family == 4 && (b[0] & 0xf0) == 0xe0) return "a multicast address";
    if (address.family == 6 && b[0] == 0xff) return "a multicast address";
    if (address.family == 4 &&
        std::all_of(b.begin(), b.begin() + 4, [](uint8_t byte) { return byte == 0xff; }))
        return "the broadcast address";
    return nullptr;
}

// Asks the dns plugin about every name of the config (adf_dns_ops
// .validate_name); each refusal is an error naming the name and the plugin.
void check_names(DnsBackend &dns, const config::Config &config, std::vector<std::string> &errors) {
    for (size_t i = 0; i < config.fqdns.size(); ++i) {
        const Outcome outcome = dns.validate_name(config.fqdns[i]);
        if (outcome.ok()) continue;
        const std::string path = config.fqdns.size() == 1 ? "fqdn" : fmt::format("fqdn[{}]", i);
        errors.push_back(fmt::format("{}: plugin {} (dns) cannot manage {}: {}", path, dns.name(),
                                     config.fqdns[i], outcome.error));
    }
}

}  // namespace

// An optional op of an ops table, or null when the plugin's table (built
// against an older minor of the ABI) ends before it.
#define ADF_OPTIONAL_OP(Ops, ops, member)                                         \
    ((ops)->struct_size >= offsetof(Ops, member) + sizeof(((Ops *)nullptr)->member) \
         ? (ops)->member                                                           \
         : nullptr)

DnsBackend::DnsBackend(std::unique_ptr<Instance> instance)
    : instance_(std::move(instance)),
      ops_(ops_of<adf_dns_ops>(*instance_)),
      remove_many_(ADF_OPTIONAL_OP(adf_dns_ops, ops_, remove_many)) {}

bool DnsBackend::atomic() const { return (ops_->capabilities & ADF_DNS_ATOMIC_CAS) != 0; }
bool DnsBackend::has_notes() const { return (ops_->capabilities & ADF_DNS_NOTES) != 0; }

DnsBackend::Read DnsBackend::read(const std::string &fqdn, int family) {
    instance_->set_context({fqdn, ""});
    RecordCollector collector(family);
    Read result;
    static_cast<Outcome &>(result) =
        outcome(*instance_, ops_->read(instance_->handle(), fqdn.c_str(), family, collector.sink()));
    if (result.ok() && !collector.valid()) {
        result.status = ADF_FAILED;
        result.error = collector.invalid();
    }
    if (result.ok()) result.records = collector.take();
    return result;
}

Outcome DnsBackend::validate_name(const std::string &fqdn) {
    // validate_name came with ABI 1.1: a 1.0 plugin's table ends before it.
    constexpr size_t kEnd = offsetof(adf_dns_ops, validate_name) + sizeof(ops_->validate_name);
    if (ops_->struct_size < kEnd || ops_->validate_name == nullptr) return {};
    instance_->set_context({fqdn, ""});
    return outcome(*instance_, ops_->validate_name(instance_->handle(), fqdn.c_str()));
}

Outcome DnsBackend::add(const std::string &fqdn, int family,
                        const std::vector<ReadRecord> &expected, const ReadRecord &record) {
    instance_->set_context({fqdn, record.address.text()});
    RecordArray array(expected);
    const std::string text = record.address.text();
    const adf_record r{text.c_str(), record.note.empty() ? nullptr : record.note.c_str(),
                       record.ttl, 0};
    return outcome(*instance_,
                   ops_->add(instance_->handle(), fqdn.c_str(), family, array.set(), &r));
}

Outcome DnsBackend::remove(const std::string &fqdn, int family,
                           const std::vector<ReadRecord> &expected, const Address &address) {
    instance_->set_context({fqdn, address.text()});
    RecordArray array(expected);
    const std::string text = address.text();
    return outcome(*instance_, ops_->remove(instance_->handle(), fqdn.c_str(), family,
                                            array.set(), text.c_str()));
}

Outcome DnsBackend::remove_many(const std::string &fqdn, int family,
                                const std::vector<ReadRecord> &expected,
                                const std::vector<Address> &addresses) {
    instance_->set_context({fqdn, ""});
    RecordArray array(expected);
    std::vector<std::string> texts;
    for (const auto &address : addresses) texts.push_back(address.text());
    std::vector<const char *> pointers;
    for (const auto &text : texts) pointers.push_back(text.c_str());
    return outcome(*instance_, remove_many_(instance_->handle(), fqdn.c_str(), family, array.set(),
                                            pointers.data(), pointers.size()));
}

IpaddrSource::IpaddrSource(std::unique_ptr<Instance> instance)
    : instance_(std::move(instance)), ops_(ops_of<adf_ipaddr_ops>(*instance_)) {}

IpaddrSource::Own IpaddrSource::own_address(int family) {
    instance_->set_context({});
    char buffer[ADF_ADDRESS_MAX] = {0};
    Own own;
    static_cast<Outcome &>(own) =
        outcome(*instance_, ops_->own_address(instance_->handle(), family, buffer, sizeof buffer));
    if (!own.ok()) return own;
    buffer[sizeof buffer - 1] = '\0';
    own.address = parse_address(buffer, family);
    if (!own.address) {
        own.status = ADF_FAILED;
        own.error = "plugin " + name() + " answered \"" + std::string(buffer).substr(0, 60) +
                    "\", which is not an IPv" + std::to_string(family) + " address";
    } else if (const char *why = never_own(*own.address)) {
        own.status = ADF_FAILED;
        own.error = "plugin " + name() + " answered " + own.address->text() + ", " + why +
                    ", which is never this host's own address: it would be published in DNS";
        own.address.reset();
    }
    return own;
}

Checker::Checker(std::unique_ptr<Instance> instance)
    : instance_(std::move(instance)), ops_(ops_of<adf_check_ops>(*instance_)) {}

Outcome Checker::check_here(const Address &address, double timeout) {
    instance_->set_context({"", address.text()});
    const std::string text = address.text();
    return outcome(*instance_,
                   ops_->check(instance_->handle(), text.c_str(), address.family, timeout));
}

Timer::Timer(std::unique_ptr<Instance> instance)
    : instance_(std::move(instance)), ops_(ops_of<adf_timer_ops>(*instance_)) {}

double Timer::next_check_time(double now) {
    const double next = ops_->next_check_time(instance_->handle(), now);
    return std::isfinite(next) ? next : now + 1.0;
}

double Timer::check_timeout() {
    const double t = ops_->check_timeout(instance_->handle());
    if (!std::isfinite(t)) return 1.0;
    return std::min(3600.0, std::max(0.001, t));
}

unsigned Timer::attempts() {
    const uint32_t retry = ops_->retry(instance_->handle());
    return retry == 0 ? 1 : retry;
}

PluginSet create_plugins(Loader &loader, const config::Config &config, unsigned slots,
                         std::vector<std::string> &errors) {
    // One slot's plugin, or null with its error kept: the next slots are
    // still tried, so that every plugin's errors are reported together.
    const auto make = [&](const config::PluginSection &section,
                          int kind) -> std::unique_ptr<Instance> {
        if (section.plugin.empty()) return nullptr;  // the config said why
        try {
            return Instance::create(loader.load(section.plugin, kind), section);
        } catch (const std::exception &e) {
            errors.emplace_back(e.what());
            return nullptr;
        }
    };
    PluginSet set;
    if (slots & kIpaddr)
        if (auto instance = make(config.ipaddr, ADF_KIND_IPADDR))
            set.ipaddr = std::make_unique<IpaddrSource>(std::move(instance));
    if (slots & kDns)
        if (auto instance = make(config.dns, ADF_KIND_DNS)) {
            set.dns = std::make_unique<DnsBackend>(std::move(instance));
            check_names(*set.dns, config, errors);
        }
    if (slots & kCheck)
        if (auto instance = make(config.check, ADF_KIND_CHECK))
            set.check = std::make_unique<Checker>(std::move(instance));
    if (slots & kTimer)
        if (auto instance = make(config.timer, ADF_KIND_TIMER))
            set.timer = std::make_unique<Timer>(std::move(instance));
    return set;
}

PluginSet create_plugins(Loader &loader, const config::Config &config, unsigned slots) {
    std::vector<std::string> errors;
    PluginSet set = create_plugins(loader, config, slots, errors);
    if (!errors.empty()) throw config::ConfigError(config::join_errors(errors));
    return set;
}

std::vector<std::string> plugin_dirs_of(const config::Config &config) {
    return config.plugin_dirs.empty() ? default_plugin_dirs() : config.plugin_dirs;
}

Setup load_setup(const std::string &path, unsigned slots) {
    std::vector<std::string> errors;
    Setup setup;
    setup.config = config::load_file(path, errors);
    Loader loader(plugin_dirs_of(setup.config));
    setup.plugins = create_plugins(loader, setup.config, slots, errors);
    if (!errors.empty()) throw config::ConfigError(config::join_errors(errors));
    return setup;
}

}  // namespace adf::plugin
