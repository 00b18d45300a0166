// dns-memory: a DNS backend whose zone is a JSON file, so that tests can set
// up records, make reads or writes fail, and see exactly what was written:
//   {"records": {"www.example.test/A": [{"address": "127.0.0.11", "ttl": 60,
//                                        "note": ""}]},
//    "fail_read": false, "fail_write": false, "transient": false,
//    "log": [{"op": "add", "fqdn": "...", "address": "..."}]}
// Every access holds flock() on "<state>.lock". add/remove are compare-and-
// swaps: ADF_CONFLICT when the file's set differs from the expected one.
// fail_read / fail_write make reads / writes fail (ADF_TRANSIENT when
// "transient" is true, else ADF_FAILED), never yielding an empty set.
// "ignore_expected": true turns the compare-and-swap off (writes whatever
// the set is), a broken backend for plugin-test to catch.
// "inject": {"after_read": N, "address": A} plays another daemon writing
// at the worst moment: right after this instance's Nth read, A is added to
// the set that was read (once), so the next conditional write conflicts.
// "conflict_next_write": true makes the next add or remove fail with
// ADF_CONFLICT (and clears itself), as a set another daemon just changed.
// "hang_read": true makes every read wait (without the lock) until the flag
// is cleared: a loop stuck in a plugin call, for the watchdog test.
// Config key "zone" (optional): names outside it are refused by
// validate_name (ABI 1.1), so that tests see the host ask about each name.
// remove_many (ABI 1.1) removes several addresses in one write, logged as one
// "remove_many" entry; built against the 1.0 headers (DNS_MEMORY_NAME
// "dns-memory-abi10") the plugin has no remove_many, as an old plugin would.
#include <autodnsfailover/plugin.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace {

using json = nlohmann::json;

// Holds an exclusive flock() for its lifetime.
class FileLock {
   public:
    explicit FileLock(const std::string &path)
        : fd_(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
        if (fd_ < 0)
            throw adf::Error(ADF_FAILED, "cannot open lock " + path + ": " + std::strerror(errno));
        while (flock(fd_, LOCK_EX) != 0) {
            if (errno == EINTR) continue;
            const std::string why = std::strerror(errno);
            close(fd_);
            throw adf::Error(ADF_FAILED, "cannot lock " + path + ": " + why);
        }
    }
    ~FileLock() { close(fd_); }
    FileLock(const FileLock &) = delete;
    FileLock &operator=(const FileLock &) = delete;

   private:
    int fd_;
};

class DnsMemory {
   public:
    static constexpr uint32_t capabilities = ADF_DNS_ATOMIC_CAS | ADF_DNS_NOTES;

    explicit DnsMemory(adf::Host &host)
        : state_path_(host.string("/state").value_or("")), zone_(host.string("/zone", "")) {
        if (!host.has("/state"))
            host.config_error("/state", "required: the JSON file holding the records");
    }

    void validate_name(const std::string &fqdn) const {
        const std::string suffix = "." + zone_;
        const bool inside = zone_.empty() || fqdn == zone_ ||
                            (fqdn.size() > suffix.size() &&
                             fqdn.compare(fqdn.size() - suffix.size(), suffix.size(), suffix) == 0);
        if (!inside)
            throw adf::Error(ADF_BAD_CONFIG, "\"" + fqdn + "\" is not inside the zone \"" + zone_ + "\"");
    }

    void read(const std::string &fqdn, int family, adf::RecordSink &sink) {
        wait_while_hung();
        FileLock lock(state_path_ + ".lock");
        json state = load();
        fail_if_set(state, "fail_read");
        for (const auto &record : records_of(state, fqdn, family))
            sink.emit(record.at("address").get<std::string>(), record.value("ttl", 60u),
                      record.value("note", std::string()));
        inject_concurrent_write(state, fqdn, family);
    }

    void add(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
             const adf::Record &record) {
        FileLock lock(state_path_ + ".lock");
        json state = load();
        fail_if_set(state, "fail_write");
        json &set = record_set(state, fqdn, family);
        if (!state.value("ignore_expected", false)) require_expected(set, family, expected);
        if (position(set, family, record.address) != set.end()) return;
        // Keep the set's TTL, as plugin.h asks; a new set (record.ttl 0)
        // gets the default of 60 s.
        const uint32_t ttl = !set.empty() ? set.front().value("ttl", record.ttl)
                             : record.ttl != 0 ? record.ttl
                                               : 60;
        set.push_back({{"address", record.address}, {"ttl", ttl}, {"note", record.note}});
        save(state, "add", fqdn, record.address);
    }

    void remove(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                const std::string &address) {
        FileLock lock(state_path_ + ".lock");
        json state = load();
        fail_if_set(state, "fail_write");
        json &set = record_set(state, fqdn, family);
        if (!state.value("ignore_expected", false)) require_expected(set, family, expected);
        auto found = position(set, family, address);
        if (found == set.end()) return;
        set.erase(found);
        save(state, "remove", fqdn, address);
    }

    void remove_many(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                     const std::vector<std::string> &addresses) {
        FileLock lock(state_path_ + ".lock");
        json state = load();
        fail_if_set(state, "fail_write");
        json &set = record_set(state, fqdn, family);
        require_expected(set, family, expected);
        for (const auto &address : addresses) {
            auto found = position(set, family, address);
            if (found != set.end()) set.erase(found);
        }
        save(state, "remove_many", fqdn, listed(addresses));
    }

   private:
    void wait_while_hung() const {
        while (load().value("hang_read", false)) usleep(50 * 1000);
    }

    void inject_concurrent_write(json state, const std::string &fqdn, int family) {
        ++reads_;
        const auto inject = state.find("inject");
        if (inject == state.end() || inject->value("after_read", 0) != reads_) return;
        const std::string address = inject->at("address").get<std::string>();
        state.erase("inject");
        json &set = record_set(state, fqdn, family);
        const uint32_t ttl = set.empty() ? 60u : set.front().value("ttl", 60u);
        set.push_back({{"address", address}, {"ttl", ttl}, {"note", ""}});
        save(state, "injected", fqdn, address);
    }

    int reads_ = 0;

    static std::string key(const std::string &fqdn, int family) {
        return fqdn + "/" + adf::record_type(family);
    }

    static json records_of(const json &state, const std::string &fqdn, int family) {
        const json records = state.value("records", json::object());
        return records.value(key(fqdn, family), json::array());
    }

    static json &record_set(json &state, const std::string &fqdn, int family) {
        json &set = state["records"][key(fqdn, family)];
        if (set.is_null()) set = json::array();
        return set;
    }

    static std::string canonical(const std::string &text, int family) {
        return adf::canonical_address(text, family).value_or(text);
    }

    static json::iterator position(json &set, int family, const std::string &address) {
        return std::find_if(set.begin(), set.end(), [&](const json &r) {
            return canonical(r.at("address").get<std::string>(), family) == address;
        });
    }

    static std::vector<std::string> sorted(std::vector<std::string> addresses) {
        std::sort(addresses.begin(), addresses.end());
        return addresses;
    }

    static std::string listed(const std::vector<std::string> &addresses) {
        std::string out;
        for (const auto &a : addresses) out += (out.empty() ? "" : ", ") + a;
        return "[" + out + "]";
    }

    void require_expected(const json &set, int family,
                          const std::vector<adf::Record> &expected) const {
        std::vector<std::string> have, want;
        for (const auto &r : set) have.push_back(canonical(r.at("address").get<std::string>(), family));
        for (const auto &r : expected) want.push_back(r.address);
        if (sorted(have) != sorted(want))
            throw adf::Error(ADF_CONFLICT, "the record set in " + state_path_ + " is " +
                                               listed(sorted(have)) + ", not the expected " +
                                               listed(sorted(want)));
    }

    void fail_if_set(json &state, const char *flag) const {
        if (std::string(flag) == "fail_write" && state.value("conflict_next_write", false)) {
            state.erase("conflict_next_write");
            save(state, "conflicted", "", "");
            throw adf::Error(ADF_CONFLICT, "conflict_next_write is set in " + state_path_);
        }
        if (!state.value(flag, false)) return;
        const int status = state.value("transient", false) ? ADF_TRANSIENT : ADF_FAILED;
        throw adf::Error(status, std::string(flag) + " is set in " + state_path_);
    }

    json load() const {
        std::ifstream in(state_path_);
        if (!in)
            throw adf::Error(ADF_FAILED,
                             "cannot read state file " + state_path_ + ": " + std::strerror(errno));
        std::stringstream text;
        text << in.rdbuf();
        try {
            json state = json::parse(text.str());
            if (!state.is_object()) throw adf::Error(ADF_FAILED, state_path_ + " is not a JSON object");
            return state;
        } catch (const json::exception &e) {
            throw adf::Error(ADF_FAILED, state_path_ + " is not valid JSON: " + e.what());
        }
    }

    // Appends the write to the state's log and replaces the file atomically.
    void save(json &state, const char *op, const std::string &fqdn,
              const std::string &address) const {
        if (!state.contains("log") || !state["log"].is_array()) state["log"] = json::array();
        state["log"].push_back({{"op", op}, {"fqdn", fqdn}, {"address", address}});
        const std::string temporary = state_path_ + ".tmp";
        {
            std::ofstream out(temporary, std::ios::trunc);
            out << state.dump(2) << "\n";
            if (!out.flush())
                throw adf::Error(ADF_FAILED, "cannot write " + temporary + ": " + std::strerror(errno));
        }
        if (std::rename(temporary.c_str(), state_path_.c_str()) != 0)
            throw adf::Error(ADF_FAILED, "cannot replace " + state_path_ + ": " + std::strerror(errno));
    }

    std::string state_path_;
    std::string zone_;  // empty: every name is accepted
};

}  // namespace

#ifndef DNS_MEMORY_NAME
#define DNS_MEMORY_NAME "dns-memory"
#endif

ADF_DNS_PLUGIN(DnsMemory, DNS_MEMORY_NAME, "1.0.0",
               "test double: records in a JSON file, with injectable failures");
