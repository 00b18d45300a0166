// C++17 convenience layer over plugin.h, header-only, for plugins written in
// C++. It adds nothing to the ABI: it turns the C entry points into calls on
// a class of yours, catches every exception at the boundary (plugin.h rule:
// no exception crosses), and wraps the host services in typed helpers.
//
//   class MyCheck {
//    public:
//     explicit MyCheck(adf::Host &host) : port_(host.integer("/port", 80, 1, 65535)) {}
//     bool check(const std::string &address, int family, double timeout);
//   };
//   ADF_CHECK_PLUGIN(MyCheck, "my-check", "1.0.0", "What it checks");
//
// Failures: throw adf::Error(ADF_TRANSIENT, "why") (or any std::exception,
// reported as ADF_FAILED) from an op; the message reaches the host's log.
// Config: read every key in the constructor through Host; the glue returns
// ADF_BAD_CONFIG when any getter or Host::config_error() flagged a problem.
#ifndef AUTODNSFAILOVER_PLUGIN_HPP
#define AUTODNSFAILOVER_PLUGIN_HPP

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "plugin.h"

namespace adf {

// An operation failed with `status` (an adf_status other than ADF_OK).
class Error : public std::runtime_error {
   public:
    Error(int status, const std::string &message) : std::runtime_error(message), status_(status) {}
    int status() const { return status_; }

   private:
    int status_;
};

struct Record {
    std::string address;
    std::string note;
    uint32_t ttl = 0;
};

// Copies a host-owned set (valid only during the call) into values.
inline std::vector<Record> records_of(const adf_record_set *set) {
    std::vector<Record> out;
    if (set == nullptr) return out;
    for (size_t i = 0; i < set->count; ++i) {
        const adf_record *r = ADF_RECORD_AT(set, i);
        out.push_back({r->address, r->note ? r->note : "", r->ttl});
    }
    return out;
}

// The canonical text of `text` as an address of `family` (4 or 6), or
// nothing when it is not one. Surrounding white space is ignored; anything
// else around the address is not, an embedded NUL included ("127.0.0.1\0junk"
// is not 127.0.0.1 with a tail that C would never see).
inline std::optional<std::string> canonical_address(const std::string &text, int family) {
    if (text.find('\0') != std::string::npos) return std::nullopt;
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return std::nullopt;
    const auto last = text.find_last_not_of(" \t\r\n");
    const std::string trimmed = text.substr(first, last - first + 1);
    const int af = family == ADF_FAMILY_IPV6 ? AF_INET6 : AF_INET;
    unsigned char bytes[16];
    if (inet_pton(af, trimmed.c_str(), bytes) != 1) return std::nullopt;
    char buffer[ADF_ADDRESS_MAX];
    if (inet_ntop(af, bytes, buffer, sizeof buffer) == nullptr) return std::nullopt;
    return std::string(buffer);
}

// Whether `canonical` (canonical_address()'s text) is the unspecified
// address, 0.0.0.0 or ::: "any address", never one to publish as a host's.
inline bool is_unspecified(const std::string &canonical) {
    return canonical == "0.0.0.0" || canonical == "::";
}

inline const char *record_type(int family) { return family == ADF_FAMILY_IPV6 ? "AAAA" : "A"; }

// Text from outside (an answer's body, a value in it) safe for a message: at
// most `limit` bytes of `raw` in quotes, control characters and non-ASCII
// bytes escaped, "..." when cut; "an empty body" when blank.
inline std::string excerpt(const std::string &raw, std::size_t limit = 60) {
    if (raw.find_first_not_of(" \t\r\n") == std::string::npos) return "an empty body";
    static const char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (std::size_t i = 0; i < raw.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(raw[i]);
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c == '"' || c == '\\') out += {'\\', static_cast<char>(c)};
        else if (c < 0x20 || c >= 0x7f) out += {'\\', 'x', hex[c >> 4], hex[c & 0xf]};
        else out += static_cast<char>(c);
    }
    out += '"';
    if (raw.size() > limit) out += "...";
    return out;
}

// Seconds as messages show them: "0.5 s", "2 s", "1.25 s".
inline std::string seconds_text(double seconds) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g s", seconds);
    return buffer;
}

// The host services of one instance, with typed config getters. Getters
// return the fallback when the key is absent; on a type or range error the
// host records it (naming the full JSON path) and config_failed() turns true.
class Host {
   public:
    Host(const adf_host_services *services, adf_host *host) : services_(services), host_(host) {}

    void log(int level, const std::string &message) const {
        services_->log(host_, level, message.c_str());
    }
    void debug(const std::string &m) const { log(ADF_LOG_DEBUG, m); }
    void info(const std::string &m) const { log(ADF_LOG_INFO, m); }
    void warning(const std::string &m) const { log(ADF_LOG_WARNING, m); }
    void error(const std::string &m) const { log(ADF_LOG_ERROR, m); }
    void critical(const std::string &m) const { log(ADF_LOG_CRITICAL, m); }
    void set_error(const std::string &m) const { services_->set_error(host_, m.c_str()); }

    bool has(const char *path) const { return services_->config_has(host_, path) == ADF_OK; }

    std::optional<std::string> string(const char *path) {
        const char *value = nullptr;
        if (!ok(services_->config_string(host_, path, &value))) return std::nullopt;
        return std::string(value);
    }
    std::string string(const char *path, const std::string &fallback) {
        return string(path).value_or(fallback);
    }
    // A string key the plugin cannot work without; `what` says what it
    // holds ("the zone's name, e.g. example.com"). Records "required: what"
    // when the key is absent and "must not be empty: what" when it is "";
    // returns "" then (and when the host already rejected the value).
    std::string required_string(const char *path, const std::string &what) {
        if (!has(path)) {
            config_error(path, "required: " + what);
            return "";
        }
        const std::optional<std::string> value = string(path);
        if (!value) return "";  // the host said why: not a string, unreadable file...
        if (value->empty()) config_error(path, "must not be empty: " + what);
        return *value;
    }
    int64_t integer(const char *path, int64_t fallback, int64_t min, int64_t max) {
        int64_t value = fallback;
        ok(services_->config_integer(host_, path, min, max, &value));
        return value;
    }
    double number(const char *path, double fallback, double min, double max) {
        double value = fallback;
        ok(services_->config_number(host_, path, min, max, &value));
        return value;
    }
    bool boolean(const char *path, bool fallback) {
        int value = fallback ? 1 : 0;
        ok(services_->config_bool(host_, path, &value));
        return value != 0;
    }
    // Elements of an array at `path` (0 when absent).
    size_t count(const char *path) {
        size_t n = 0;
        return ok(services_->config_count(host_, path, &n)) ? n : 0;
    }
    // An array of strings; a lone string counts as a list of one.
    std::vector<std::string> strings(const char *path) {
        std::vector<std::string> out;
        const char *json = nullptr;
        if (services_->config_json(host_, path, &json) != ADF_OK) return out;
        if (json[0] != '[') {
            if (auto one = string(path)) out.push_back(*one);
            return out;
        }
        for (size_t i = 0, n = count(path); i < n; ++i) {
            const std::string element = std::string(path) + "/" + std::to_string(i);
            if (auto s = string(element.c_str())) out.push_back(*s);
        }
        return out;
    }
    // Member names of an object at `path`.
    std::vector<std::string> members(const char *path) {
        std::vector<std::string> out;
        for (size_t i = 0, n = count(path); i < n; ++i) {
            const char *name = nullptr;
            if (ok(services_->config_member(host_, path, i, &name))) out.emplace_back(name);
        }
        return out;
    }
    std::optional<std::string> json(const char *path) {
        const char *value = nullptr;
        if (!ok(services_->config_json(host_, path, &value))) return std::nullopt;
        return std::string(value);
    }
    // Records a config error the getters cannot see (a rule between keys...).
    void config_error(const char *path, const std::string &message) {
        services_->config_error(host_, path, message.c_str());
        config_failed_ = true;
    }
    bool config_failed() const { return config_failed_; }

    const adf_host_services *services() const { return services_; }
    adf_host *raw() const { return host_; }

   private:
    bool ok(int status) {
        if (status == ADF_BAD_CONFIG) config_failed_ = true;
        return status == ADF_OK;
    }
    const adf_host_services *services_;
    adf_host *host_;
    bool config_failed_ = false;
};

// Where a DNS plugin's read() puts the records it found.
class RecordSink {
   public:
    RecordSink(const adf_host_services *services, adf_record_sink *sink)
        : services_(services), sink_(sink) {}
    // Throws when the host rejects the address (the read then fails whole).
    void emit(const std::string &address, uint32_t ttl, const std::string &note = "") {
        if (services_->emit_record(sink_, address.c_str(), ttl,
                                   note.empty() ? nullptr : note.c_str()) != ADF_OK)
            throw Error(ADF_FAILED, "the provider returned \"" + address +
                                        "\", which is not an address of the family asked for");
    }

   private:
    const adf_host_services *services_;
    adf_record_sink *sink_;
};

namespace detail {

template <class Impl>
struct Box {
    explicit Box(Host h) : host(h), impl(host) {}
    Host host;
    Impl impl;
};

// Runs `body`, turning every exception into a status and a host error.
template <class F>
int guarded(const Host &host, F &&body) noexcept {
    try {
        return body();
    } catch (const Error &e) {
        host.set_error(e.what());
        return e.status() == ADF_OK ? ADF_FAILED : e.status();
    } catch (const std::exception &e) {
        host.set_error(e.what());
        return ADF_FAILED;
    } catch (...) {
        host.set_error("unknown exception in plugin");
        return ADF_FAILED;
    }
}

template <class Impl>
Box<Impl> *box(void *instance) {
    return static_cast<Box<Impl> *>(instance);
}

template <class Impl>
struct Lifecycle {
    static int create(const adf_host_services *services, adf_host *raw, void **instance) noexcept {
        Host host(services, raw);
        return guarded(host, [&]() -> int {
            auto *b = new Box<Impl>(host);
            if (b->host.config_failed()) {
                delete b;
                return ADF_BAD_CONFIG;
            }
            *instance = b;
            return ADF_OK;
        });
    }
    static void destroy(void *instance) noexcept {
        try {
            delete box<Impl>(instance);
        } catch (...) {
        }
    }
};

// Whether Impl has an optional `void validate_name(const std::string &fqdn)`.
template <class Impl, class = void>
struct HasValidateName : std::false_type {};
template <class Impl>
struct HasValidateName<Impl, std::void_t<decltype(std::declval<Impl &>().validate_name(
                                 std::declval<const std::string &>()))>> : std::true_type {};

template <class Impl>
struct DnsGlue {
    static int read(void *i, const char *fqdn, int family, adf_record_sink *sink) noexcept {
        auto *b = box<Impl>(i);
        return guarded(b->host, [&] {
            RecordSink out(b->host.services(), sink);
            b->impl.read(fqdn, family, out);
            return ADF_OK;
        });
    }
    static int add(void *i, const char *fqdn, int family, const adf_record_set *expected,
                   const adf_record *record) noexcept {
        auto *b = box<Impl>(i);
        return guarded(b->host, [&] {
            Record r{record->address, record->note ? record->note : "", record->ttl};
            b->impl.add(fqdn, family, records_of(expected), r);
            return ADF_OK;
        });
    }
    static int remove(void *i, const char *fqdn, int family, const adf_record_set *expected,
                      const char *address) noexcept {
        auto *b = box<Impl>(i);
        return guarded(b->host, [&] {
            b->impl.remove(fqdn, family, records_of(expected), std::string(address));
            return ADF_OK;
        });
    }
    static int validate_name(void *i, const char *fqdn) noexcept {
        auto *b = box<Impl>(i);
        return guarded(b->host, [&] {
            b->impl.validate_name(std::string(fqdn));
            return ADF_OK;
        });
    }
    // The ops entry: validate_name when Impl has one, else NULL (every name
    // is accepted).
    using ValidateName = int (*)(void *, const char *);
    static constexpr ValidateName validate_name_op() {
        if constexpr (HasValidateName<Impl>::value)
            return &DnsGlue::validate_name;
        else
            return nullptr;
    }
    static int remove_many(void *i, const char *fqdn, int family, const adf_record_set *expected,
                           const char *const *addresses, size_t count) noexcept {
        auto *b = box<Impl>(i);
        return guarded(b->host, [&] {
            b->impl.remove_many(fqdn, family, records_of(expected),
                                std::vector<std::string>(addresses, addresses + count));
            return ADF_OK;
        });
    }
    // The remove_many op when Impl has one (it is optional), else NULL.
    template <class T, class = void>
    struct Offers : std::false_type {};
    template <class T>
    struct Offers<T, std::void_t<decltype(std::declval<T &>().remove_many(
                         std::string(), 0, std::vector<Record>(), std::vector<std::string>()))>>
        : std::true_type {};
    static constexpr decltype(adf_dns_ops::remove_many) remove_many_op() {
        if constexpr (Offers<Impl>::value)
            return &remove_many;
        else
            return nullptr;
    }
};

template <class Impl>
struct IpaddrGlue {
    static int own_address(void *i, int family, char *buffer, size_t size) noexcept {
        auto *b = box<Impl>(i);
        return guarded(b->host, [&] {
            std::optional<std::string> address = b->impl.own_address(family);
            if (!address) return static_cast<int>(ADF_ABSENT);
            if (address->size() + 1 > size) throw Error(ADF_FAILED, "address too long");
            address->copy(buffer, address->size());
            buffer[address->size()] = '\0';
            return static_cast<int>(ADF_OK);
        });
    }
};

template <class Impl>
struct CheckGlue {
    static int check(void *i, const char *address, int family, double timeout) noexcept {
        auto *b = box<Impl>(i);
        return guarded(b->host, [&] {
            return b->impl.check(std::string(address), family, timeout) ? ADF_OK : ADF_FAILED;
        });
    }
};

// Timer ops return values, not statuses: on an exception they log it and
// fall back to a round a second from now, one attempt of one second.
template <class Impl>
struct TimerGlue {
    template <class T, class F>
    static T value_or(Box<Impl> *b, T fallback, F &&body) noexcept {
        try {
            return body();
        } catch (const std::exception &e) {
            b->host.critical(std::string("timer failed: ") + e.what());
        } catch (...) {
            b->host.critical("timer failed: unknown exception");
        }
        return fallback;
    }
    static double next_check_time(void *i, double now) noexcept {
        auto *b = box<Impl>(i);
        return value_or(b, now + 1.0, [&] { return b->impl.next_check_time(now); });
    }
    static double check_timeout(void *i) noexcept {
        auto *b = box<Impl>(i);
        return value_or(b, 1.0, [&] { return b->impl.check_timeout(); });
    }
    static uint32_t retry(void *i) noexcept {
        auto *b = box<Impl>(i);
        return value_or(b, uint32_t{1}, [&] { return b->impl.retry(); });
    }
};

}  // namespace detail
}  // namespace adf

#define ADF_CPP_DESCRIPTOR_(Impl, kind, name, version, summary, ops)                              \
    ADF_PLUGIN_DESCRIPTOR = {sizeof(adf_plugin_descriptor), ADF_ABI_MAJOR, ADF_ABI_MINOR, kind, 0, \
                             name, version, summary, &adf::detail::Lifecycle<Impl>::create,      \
                             &adf::detail::Lifecycle<Impl>::destroy, &ops}

// Impl: read(fqdn, family, adf::RecordSink&), add(fqdn, family,
// vector<Record> expected, Record), remove(fqdn, family, vector<Record>
// expected, string address); static constexpr uint32_t capabilities.
// Optional: void validate_name(const std::string &fqdn), throwing
// adf::Error(ADF_BAD_CONFIG, why) for a name the instance cannot manage;
// remove_many(fqdn, family, vector<Record> expected, vector<string>
// addresses), one atomic write removing them all.
#define ADF_DNS_PLUGIN(Impl, name, version, summary)                                          \
    static constexpr adf_dns_ops adf_plugin_ops_ = {                                          \
        sizeof(adf_dns_ops),                   Impl::capabilities,                             \
        &adf::detail::DnsGlue<Impl>::read,     &adf::detail::DnsGlue<Impl>::add,               \
        &adf::detail::DnsGlue<Impl>::remove,   adf::detail::DnsGlue<Impl>::validate_name_op(), \
        adf::detail::DnsGlue<Impl>::remove_many_op()};                                        \
    ADF_CPP_DESCRIPTOR_(Impl, ADF_KIND_DNS, name, version, summary, adf_plugin_ops_)

// Impl: std::optional<std::string> own_address(int family) (nullopt: none).
#define ADF_IPADDR_PLUGIN(Impl, name, version, summary)                                       \
    static constexpr adf_ipaddr_ops adf_plugin_ops_ = {                                       \
        sizeof(adf_ipaddr_ops), &adf::detail::IpaddrGlue<Impl>::own_address};                  \
    ADF_CPP_DESCRIPTOR_(Impl, ADF_KIND_IPADDR, name, version, summary, adf_plugin_ops_)

// Impl: bool check(const std::string &address, int family, double timeout);
// return false (after host.set_error(reason)) or throw when dead.
#define ADF_CHECK_PLUGIN(Impl, name, version, summary)                                        \
    static constexpr adf_check_ops adf_plugin_ops_ = {sizeof(adf_check_ops),                  \
                                                      &adf::detail::CheckGlue<Impl>::check};    \
    ADF_CPP_DESCRIPTOR_(Impl, ADF_KIND_CHECK, name, version, summary, adf_plugin_ops_)

// Impl: double next_check_time(double now); double check_timeout();
// uint32_t retry().
#define ADF_TIMER_PLUGIN(Impl, name, version, summary)                                        \
    static constexpr adf_timer_ops adf_plugin_ops_ = {                                        \
        sizeof(adf_timer_ops), &adf::detail::TimerGlue<Impl>::next_check_time,                 \
        &adf::detail::TimerGlue<Impl>::check_timeout, &adf::detail::TimerGlue<Impl>::retry};   \
    ADF_CPP_DESCRIPTOR_(Impl, ADF_KIND_TIMER, name, version, summary, adf_plugin_ops_)

#endif  // AUTODNSFAILOVER_PLUGIN_HPP
