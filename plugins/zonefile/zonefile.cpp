// zonefile: the A/AAAA records live in an RFC 1035 master file that a DNS
// server (BIND, Knot, NSD...) serves. Changes are compare-and-swaps under an
// flock() shared by every daemon on the host, then an optional reload
// command tells the server to pick the new file up.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <autodnsfailover/plugin.hpp>

#include "reload_command.h"
#include "zone_store.h"

namespace {

constexpr const char *kPath = "/path";
constexpr const char *kZone = "/zone";
constexpr const char *kTtl = "/ttl";
constexpr const char *kLockPath = "/lock_path";
constexpr const char *kReloadCommand = "/reload_command";
constexpr const char *kReloadTimeout = "/reload_timeout";
constexpr const char *kLockTimeout = "/lock_timeout";

std::string directory_of(const std::string &path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

class Zonefile {
   public:
    static constexpr uint32_t capabilities = ADF_DNS_ATOMIC_CAS;

    explicit Zonefile(adf::Host &host) : host_(host) {
        zonefile::StoreOptions options;
        const std::string path = host.required_string(kPath, "the zone file to manage");
        const std::string zone =
            host.required_string(kZone, "the zone's origin, e.g. \"example.test\"");
        options.default_ttl = static_cast<uint32_t>(host.integer(kTtl, 60, 1, 2147483647));
        options.lock_timeout = host.number(kLockTimeout, 10.0, 0.1, 3600.0);
        options.lock_path = host.string(kLockPath, "");
        reload_command_ = reload_command(host);
        reload_timeout_ = host.number(kReloadTimeout, 10.0, 0.1, 3600.0);
        if (path.empty() || zone.empty()) return;  // required_string said why

        options.path = path;
        if (options.lock_path.empty()) options.lock_path = options.path + ".lock";
        require_directory(host, kPath, options.path);
        if (host.has(kLockPath)) require_directory(host, kLockPath, options.lock_path);
        options.zone = zone;
        try {
            store_ = std::make_unique<zonefile::ZoneStore>(options);
        } catch (const adf::Error &e) {
            host.config_error(kZone, e.what());
        }
    }

    void validate_name(const std::string &fqdn) const {
        if (const std::optional<std::string> problem = store_->name_problem(fqdn))
            throw adf::Error(ADF_BAD_CONFIG, *problem);
    }

    void read(const std::string &fqdn, int family, adf::RecordSink &sink) {
        for (const zonefile::AddressRecord &record : store_->read(fqdn, family))
            sink.emit(record.address, record.ttl);
    }

    void add(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
             const adf::Record &record) {
        const zonefile::ChangeResult result =
            store_->add(fqdn, family, addresses(expected), record.address, record.ttl);
        changed("added " + record.address + " to " + fqdn + " " + adf::record_type(family) +
                    " (TTL " + std::to_string(result.ttl) + ")",
                result);
    }

    void remove(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                const std::string &address) {
        remove_many(fqdn, family, expected, {address});
    }

    void remove_many(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                     const std::vector<std::string> &removed) {
        const zonefile::ChangeResult result =
            store_->remove(fqdn, family, addresses(expected), removed);
        std::string listed;
        for (const auto &address : removed) listed += (listed.empty() ? "" : ", ") + address;
        changed("removed " + listed + " from " + fqdn + " " + adf::record_type(family), result);
    }

   private:
    static void require_directory(adf::Host &host, const char *key, const std::string &path) {
        const std::string directory = directory_of(path);
        struct stat info {};
        if (::stat(directory.c_str(), &info) != 0)
            host.config_error(key, "the directory " + directory + " of " + path +
                                       " is not usable: " + std::strerror(errno));
        else if (!S_ISDIR(info.st_mode))
            host.config_error(key, directory + " (the directory of " + path +
                                       ") is not a directory");
    }

    // An argv list: a lone string would invite shell syntax that never runs.
    static std::vector<std::string> reload_command(adf::Host &host) {
        if (!host.has(kReloadCommand)) return {};
        const std::string json = host.json(kReloadCommand).value_or("");
        if (json.empty() || json[0] != '[') {
            host.config_error(kReloadCommand,
                              "expected a list of strings (program and arguments, no shell), "
                              "e.g. [\"knotc\", \"zone-reload\", \"example.test\"]");
            return {};
        }
        std::vector<std::string> argv = host.strings(kReloadCommand);
        if (argv.empty() && !host.config_failed())
            host.config_error(kReloadCommand, "the list is empty: name the program to run");
        else if (!argv.empty() && argv.front().empty())
            host.config_error((std::string(kReloadCommand) + "/0").c_str(),
                              "the program name is empty");
        return argv;
    }

    static std::vector<std::string> addresses(const std::vector<adf::Record> &records) {
        std::vector<std::string> out;
        for (const adf::Record &record : records) out.push_back(record.address);
        return out;
    }

    // After a successful change: say so, then let the server reload. The
    // change stands whatever the reload does.
    void changed(const std::string &what, const zonefile::ChangeResult &result) {
        for (const std::string &warning : result.warnings) host_.warning(warning);
        host_.info(what + " in " + store_->options().path + ", serial " +
                   std::to_string(result.old_serial) + " -> " + std::to_string(result.new_serial));
        if (reload_command_.empty()) return;
        const std::string command = zonefile::describe_command(reload_command_);
        const zonefile::CommandOutcome outcome =
            zonefile::run_command(reload_command_, reload_timeout_);
        if (outcome.ok) {
            host_.debug("reload command " + command + " " + outcome.summary);
            return;
        }
        host_.warning("reload command " + command + " " + outcome.summary +
                      (outcome.stderr_text.empty() ? std::string(", stderr empty")
                                                   : ", stderr: " + outcome.stderr_text) +
                      "; the zone file is changed all the same");
    }

    adf::Host &host_;
    std::unique_ptr<zonefile::ZoneStore> store_;
    std::vector<std::string> reload_command_;
    double reload_timeout_ = 10.0;
};

}  // namespace

ADF_DNS_PLUGIN(Zonefile, "zonefile", "1.0.0",
               "A/AAAA records in an RFC 1035 zone file (libldns), flock-guarded compare-and-swap, "
               "optional reload command");
