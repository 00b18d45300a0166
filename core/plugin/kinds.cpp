#include "plugin/kinds.h"

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

PluginSet create_plugins(Loader &loader, const config::Config &config, unsigned slots) {
    auto make = [&](const config::PluginSection &section, int kind) {
        return Instance::create(loader.load(section.plugin, kind), section);
    };
    PluginSet set;
    if (slots & kIpaddr)
        set.ipaddr = std::make_unique<IpaddrSource>(make(config.ipaddr, ADF_KIND_IPADDR));
    if (slots & kDns) set.dns = std::make_unique<DnsBackend>(make(config.dns, ADF_KIND_DNS));
    if (slots & kCheck)
        set.check = std::make_unique<Checker>(make(config.check, ADF_KIND_CHECK));
    if (slots & kTimer) set.timer = std::make_unique<Timer>(make(config.timer, ADF_KIND_TIMER));
    return set;
}

}  // namespace adf::plugin
