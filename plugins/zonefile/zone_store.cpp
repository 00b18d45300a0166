#include "zone_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include <ldns/ldns.h>

#include <autodnsfailover/ldns.hpp>
#include <autodnsfailover/plugin.hpp>

#include "file_lock.h"

namespace zonefile {
namespace {

using adf::ldns::RdfPtr;
using adf::ldns::RrPtr;

struct FileClose {
    void operator()(FILE *file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<FILE, FileClose>;

// A parsed zone file: the SOA, then every other record in file order.
struct Zone {
    RrPtr soa;
    std::vector<RrPtr> records;
};

constexpr size_t kSoaSerialField = 2;  // MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM

std::string errno_text() { return std::strerror(errno); }

std::string without_trailing_dot(std::string name) {
    if (name.size() > 1 && name.back() == '.') name.pop_back();
    return name;
}

// An absolute domain name, or null when `text` is not one.
RdfPtr domain_name(const std::string &text) {
    if (text.empty() || text == ".") return nullptr;
    const std::string absolute = text.back() == '.' ? text : text + ".";
    return RdfPtr(ldns_dname_new_frm_str(absolute.c_str()));
}

std::string name_text(const ldns_rdf *name) {
    char *text = ldns_rdf2str(name);
    std::string out = text ? without_trailing_dot(text) : "?";
    std::free(text);
    return out;
}

bool is_in_zone(const ldns_rdf *name, const ldns_rdf *origin) {
    return ldns_dname_compare(name, origin) == 0 || ldns_dname_is_subdomain(name, origin);
}

ldns_rr_type record_type_of(int family) {
    if (family == ADF_FAMILY_IPV4) return LDNS_RR_TYPE_A;
    if (family == ADF_FAMILY_IPV6) return LDNS_RR_TYPE_AAAA;
    throw adf::Error(ADF_FAILED, "unknown address family " + std::to_string(family) +
                                     " (expected 4 or 6)");
}

// The address an A or AAAA record holds, as canonical text.
std::string address_of(const ldns_rr *rr) {
    const ldns_rdf *rdata = ldns_rr_rdf(rr, 0);
    const bool v6 = ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA;
    const size_t size = v6 ? 16 : 4;
    char text[ADF_ADDRESS_MAX];
    if (rdata == nullptr || ldns_rdf_size(rdata) != size ||
        inet_ntop(v6 ? AF_INET6 : AF_INET, ldns_rdf_data(rdata), text, sizeof text) == nullptr)
        throw adf::Error(ADF_FAILED, "a " + std::string(v6 ? "AAAA" : "A") + " record of " +
                                         name_text(ldns_rr_owner(rr)) + " holds no address");
    return text;
}

bool is_record_of(const ldns_rr *rr, const ldns_rdf *owner, ldns_rr_type type) {
    return ldns_rr_get_type(rr) == type && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
           ldns_dname_compare(ldns_rr_owner(rr), owner) == 0;
}

adf::Error parse_error(const std::string &path, int line, const std::string &what) {
    return adf::Error(ADF_FAILED,
                      "zone file " + path + " line " + std::to_string(line) + ": " + what);
}

// Parses `path` with libldns, one record at a time so that every error
// carries its line number. Names are relative to `origin` unless the file
// says otherwise with $ORIGIN. A file that is missing, unreadable, does not
// parse or has no SOA of `origin` is an error: never an empty zone.
Zone parse_zone_file(const std::string &path, const ldns_rdf *origin) {
    FilePtr file(std::fopen(path.c_str(), "re"));
    if (!file) throw adf::Error(ADF_FAILED, "cannot read zone file " + path + ": " + errno_text());

    Zone zone;
    RdfPtr current_origin(ldns_rdf_clone(origin));
    RdfPtr previous_owner(ldns_rdf_clone(origin));
    uint32_t default_ttl = LDNS_DEFAULT_TTL;
    bool ttl_directive_seen = false;
    int line = 0;
    while (!std::feof(file.get())) {
        const int first_line = line + 1;
        ldns_rr *parsed = nullptr;
        ldns_rdf *origin_state = current_origin.release();
        ldns_rdf *previous_state = previous_owner.release();
        const ldns_status status = ldns_rr_new_frm_fp_l(&parsed, file.get(), &default_ttl,
                                                        &origin_state, &previous_state, &line);
        current_origin.reset(origin_state);
        previous_owner.reset(previous_state);
        RrPtr rr(status == LDNS_STATUS_OK ? parsed : nullptr);
        const int error_line = std::max(line, first_line);
        switch (status) {
            case LDNS_STATUS_OK:
                break;
            case LDNS_STATUS_SYNTAX_TTL:
                ttl_directive_seen = true;
                continue;
            case LDNS_STATUS_SYNTAX_EMPTY:
            case LDNS_STATUS_SYNTAX_ORIGIN:
                continue;
            case LDNS_STATUS_SYNTAX_INCLUDE:
                throw parse_error(path, error_line,
                                  "$INCLUDE is not supported: keep the managed records in one file");
            case LDNS_STATUS_SYNTAX_ERR:
                // ldns says this when a trailing comment or blank line ends the file.
                if (std::feof(file.get())) continue;
                throw parse_error(path, error_line, ldns_get_errorstr_by_id(status));
            default:
                throw parse_error(path, error_line, ldns_get_errorstr_by_id(status));
        }
        // ldns turns an unknown type mnemonic into type 0 instead of failing.
        if (ldns_rr_get_type(rr.get()) == 0)
            throw parse_error(path, error_line,
                              "unknown record type for " + name_text(ldns_rr_owner(rr.get())));
        // Without $TTL an omitted TTL is the last one stated (RFC 1035 5.1).
        if (!ttl_directive_seen) default_ttl = ldns_rr_ttl(rr.get());
        if (ldns_rr_get_type(rr.get()) != LDNS_RR_TYPE_SOA) {
            zone.records.push_back(std::move(rr));
        } else if (zone.soa) {
            throw parse_error(path, error_line, "a second SOA record");
        } else {
            zone.soa = std::move(rr);
        }
    }
    if (std::ferror(file.get()))
        throw adf::Error(ADF_FAILED, "cannot read zone file " + path + ": " + errno_text());
    if (!zone.soa)
        throw adf::Error(ADF_FAILED, "zone file " + path +
                                         " has no SOA record: it is not a complete zone");
    if (ldns_dname_compare(ldns_rr_owner(zone.soa.get()), origin) != 0)
        throw adf::Error(ADF_FAILED, "zone file " + path + " holds the zone " +
                                         name_text(ldns_rr_owner(zone.soa.get())) + ", not " +
                                         name_text(origin) + " (the configured \"zone\")");
    return zone;
}

uint32_t serial_of(const Zone &zone) {
    return ldns_rdf2native_int32(ldns_rr_rdf(zone.soa.get(), kSoaSerialField));
}

void set_serial(Zone &zone, uint32_t serial) {
    ldns_rdf *old = ldns_rr_set_rdf(
        zone.soa.get(), ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, serial), kSoaSerialField);
    ldns_rdf_deep_free(old);
}

std::vector<AddressRecord> records_of(const Zone &zone, const ldns_rdf *owner, ldns_rr_type type) {
    std::vector<AddressRecord> out;
    for (const RrPtr &rr : zone.records)
        if (is_record_of(rr.get(), owner, type))
            out.push_back({address_of(rr.get()), ldns_rr_ttl(rr.get())});
    return out;
}

std::string set_text(const std::set<std::string> &addresses) {
    std::string out = "{";
    for (const std::string &address : addresses) out += (out.size() > 1 ? ", " : "") + address;
    return out + "}";
}

// A new A or AAAA record; `owner` is copied.
RrPtr make_address_record(const ldns_rdf *owner, ldns_rr_type type, uint32_t ttl,
                          const std::string &address) {
    const bool v6 = type == LDNS_RR_TYPE_AAAA;
    unsigned char bytes[16];
    if (inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes) != 1)
        throw adf::Error(ADF_FAILED, "\"" + address + "\" is not an IPv" + (v6 ? "6" : "4") +
                                         " address");
    RrPtr rr(ldns_rr_new());
    ldns_rr_set_owner(rr.get(), ldns_rdf_clone(owner));
    ldns_rr_set_type(rr.get(), type);
    ldns_rr_set_class(rr.get(), LDNS_RR_CLASS_IN);
    ldns_rr_set_ttl(rr.get(), ttl);
    ldns_rr_push_rdf(rr.get(),
                     ldns_rdf_new_frm_data(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, v6 ? 16 : 4,
                                           bytes));
    return rr;
}

// Where a new record of `owner`/`type` goes: after its set, else after the
// other records of its owner, else at the end.
size_t insert_position(const Zone &zone, const ldns_rdf *owner, ldns_rr_type type) {
    std::optional<size_t> after_set, after_owner;
    for (size_t i = 0; i < zone.records.size(); ++i) {
        const ldns_rr *rr = zone.records[i].get();
        if (ldns_dname_compare(ldns_rr_owner(rr), owner) != 0) continue;
        after_owner = i + 1;
        if (is_record_of(rr, owner, type)) after_set = i + 1;
    }
    return after_set.value_or(after_owner.value_or(zone.records.size()));
}

// A temporary file beside the zone file, removed unless committed.
class TemporaryFile {
   public:
    explicit TemporaryFile(const std::string &directory, const std::string &base) {
        // mkstemp's template: six of the letter X.
        path_ = directory + "/." + base + ".tmp-" + std::string(6, 'X');
        fd_ = ::mkostemp(path_.data(), O_CLOEXEC);
        if (fd_ < 0)
            throw adf::Error(ADF_FAILED, "cannot create a temporary file in " + directory + ": " +
                                             errno_text());
    }
    ~TemporaryFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(path_.c_str());
    }
    TemporaryFile(const TemporaryFile &) = delete;
    TemporaryFile &operator=(const TemporaryFile &) = delete;

    int fd() const { return fd_; }
    const std::string &path() const { return path_; }
    // Hands the descriptor to a FILE that closes it.
    FilePtr open_stream() {
        FILE *stream = ::fdopen(fd_, "w");
        if (stream == nullptr)
            throw adf::Error(ADF_FAILED, "cannot write " + path_ + ": " + errno_text());
        fd_ = -1;
        return FilePtr(stream);
    }
    void committed() { committed_ = true; }

   private:
    std::string path_;
    int fd_ = -1;
    bool committed_ = false;
};

void fail_write(const std::string &path) {
    throw adf::Error(ADF_FAILED, "cannot write " + path + ": " + errno_text());
}

void print_zone(FILE *out, const Zone &zone, const ldns_rdf *origin) {
    std::fprintf(out,
                 "; %s: written by the zonefile plugin of autodnsfailover, which keeps every "
                 "record but not comments or layout\n",
                 name_text(origin).c_str());
    ldns_rr_print(out, zone.soa.get());
    for (const RrPtr &rr : zone.records) ldns_rr_print(out, rr.get());
}

// The file just written must parse back to exactly what was meant.
void verify_written(const std::string &path, const Zone &meant, const ldns_rdf *origin) {
    const Zone written = parse_zone_file(path, origin);
    bool same = written.records.size() == meant.records.size() &&
                ldns_rr_compare(written.soa.get(), meant.soa.get()) == 0;
    for (size_t i = 0; same && i < meant.records.size(); ++i)
        same = ldns_rr_compare(written.records[i].get(), meant.records[i].get()) == 0 &&
               ldns_rr_ttl(written.records[i].get()) == ldns_rr_ttl(meant.records[i].get());
    if (!same)
        throw adf::Error(ADF_FAILED, "the zone written to " + path +
                                         " does not read back as written; the original is kept");
}

void fsync_directory(const std::string &directory) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        const std::string why = errno_text();
        if (fd >= 0) ::close(fd);
        throw adf::Error(ADF_FAILED, "cannot sync directory " + directory + ": " + why);
    }
    ::close(fd);
}

// Replaces the zone file atomically: a temporary file in the same directory
// with the original's mode, synced, renamed over the original, and the
// directory synced so the rename survives a crash.
void write_zone_file(const std::string &path, const Zone &zone, const ldns_rdf *origin,
                     std::vector<std::string> &warnings) {
    // Through a symbolic link, replace the file it points to, not the link.
    char resolved[PATH_MAX];
    const std::string target = ::realpath(path.c_str(), resolved) ? resolved : path;
    std::string directory_buffer = target, base_buffer = target;
    const std::string directory = ::dirname(directory_buffer.data());
    const std::string base = ::basename(base_buffer.data());

    struct stat original {};
    if (::stat(target.c_str(), &original) != 0)
        throw adf::Error(ADF_FAILED, "cannot stat zone file " + target + ": " + errno_text());

    TemporaryFile temporary(directory, base);
    if (::fchmod(temporary.fd(), original.st_mode & 07777) != 0) fail_write(temporary.path());
    if ((original.st_uid != ::geteuid() || original.st_gid != ::getegid()) &&
        ::fchown(temporary.fd(), original.st_uid, original.st_gid) != 0)
        warnings.push_back("could not keep the owner " + std::to_string(original.st_uid) + ":" +
                           std::to_string(original.st_gid) + " of " + target + " (" +
                           errno_text() + "); it now belongs to " +
                           std::to_string(::geteuid()) + ":" + std::to_string(::getegid()));

    FilePtr out = temporary.open_stream();
    print_zone(out.get(), zone, origin);
    if (std::fflush(out.get()) != 0 || std::ferror(out.get())) fail_write(temporary.path());
    if (::fsync(::fileno(out.get())) != 0) fail_write(temporary.path());
    if (std::fclose(out.release()) != 0) fail_write(temporary.path());

    verify_written(temporary.path(), zone, origin);
    if (::rename(temporary.path().c_str(), target.c_str()) != 0)
        throw adf::Error(ADF_FAILED, "cannot replace zone file " + target + ": " + errno_text());
    temporary.committed();
    fsync_directory(directory);
}

}  // namespace

uint32_t next_serial(uint32_t serial) { return serial + 1u; }  // unsigned: wraps mod 2^32

ZoneStore::ZoneStore(StoreOptions options) : options_(std::move(options)) {
    options_.zone = without_trailing_dot(options_.zone);
    if (!domain_name(options_.zone))
        throw adf::Error(ADF_BAD_CONFIG, "\"" + options_.zone + "\" is not a domain name");
    if (options_.lock_path.empty()) options_.lock_path = options_.path + ".lock";
}

namespace {

struct Names {
    RdfPtr origin;
    RdfPtr owner;
};

// Why `fqdn` is not a name of the zone, or nothing.
std::optional<std::string> name_problem(const StoreOptions &options, const Names &names,
                                        const std::string &fqdn) {
    if (!names.owner) return "\"" + fqdn + "\" is not a domain name";
    if (!is_in_zone(names.owner.get(), names.origin.get()))
        return without_trailing_dot(fqdn) + " is outside the zone " + options.zone +
               " of zone file " + options.path;
    return std::nullopt;
}

Names names_for(const StoreOptions &options, const std::string &fqdn) {
    Names names{domain_name(options.zone), domain_name(fqdn)};
    if (const std::optional<std::string> problem = name_problem(options, names, fqdn))
        throw adf::Error(ADF_FAILED, *problem);
    return names;
}

}  // namespace

std::optional<std::string> ZoneStore::name_problem(const std::string &fqdn) const {
    return zonefile::name_problem(options_, {domain_name(options_.zone), domain_name(fqdn)}, fqdn);
}

namespace {

std::set<std::string> canonical_set(const std::vector<std::string> &addresses, int family,
                                    const std::string &what) {
    std::set<std::string> out;
    for (const std::string &text : addresses) {
        const std::optional<std::string> canonical = adf::canonical_address(text, family);
        if (!canonical)
            throw adf::Error(ADF_FAILED, what + " holds \"" + text + "\", which is not an IPv" +
                                             std::to_string(family) + " address");
        out.insert(*canonical);
    }
    return out;
}

std::set<std::string> address_set(const std::vector<AddressRecord> &records) {
    std::set<std::string> out;
    for (const AddressRecord &record : records) out.insert(record.address);
    return out;
}

}  // namespace

std::vector<AddressRecord> ZoneStore::read(const std::string &fqdn, int family) const {
    const ldns_rr_type type = record_type_of(family);
    const Names names = names_for(options_, fqdn);
    const Zone zone = parse_zone_file(options_.path, names.origin.get());
    return records_of(zone, names.owner.get(), type);
}

uint32_t ZoneStore::serial() const {
    const RdfPtr origin = domain_name(options_.zone);
    return serial_of(parse_zone_file(options_.path, origin.get()));
}

namespace {

// The compare-and-swap shared by add and remove: under the lock, re-read,
// compare the set with `expected`, let `apply` change the zone, bump the
// serial and write.
template <class Apply>
ChangeResult change_zone(const StoreOptions &options, const std::string &fqdn, int family,
                         const std::vector<std::string> &expected, Apply &&apply) {
    const ldns_rr_type type = record_type_of(family);
    const Names names = names_for(options, fqdn);
    const std::set<std::string> wanted = canonical_set(expected, family, "the expected set");

    ExclusiveFileLock lock(options.lock_path, options.lock_timeout);
    Zone zone = parse_zone_file(options.path, names.origin.get());
    const std::vector<AddressRecord> current = records_of(zone, names.owner.get(), type);
    const std::set<std::string> current_set = address_set(current);
    const std::string what = without_trailing_dot(fqdn) + " " + adf::record_type(family);
    if (current_set != wanted)
        throw adf::Error(ADF_CONFLICT, what + " is now " + set_text(current_set) +
                                           " but the change expected " + set_text(wanted) +
                                           ": nothing written");

    ChangeResult result;
    result.ttl = apply(zone, names.owner.get(), type, current, what);
    result.old_serial = serial_of(zone);
    result.new_serial = next_serial(result.old_serial);
    set_serial(zone, result.new_serial);
    write_zone_file(options.path, zone, names.origin.get(), result.warnings);
    return result;
}

}  // namespace

ChangeResult ZoneStore::add(const std::string &fqdn, int family,
                            const std::vector<std::string> &expected, const std::string &address,
                            uint32_t ttl_if_new) const {
    const std::set<std::string> added = canonical_set({address}, family, "the record to add");
    const std::string canonical = *added.begin();
    return change_zone(
        options_, fqdn, family, expected,
        [&](Zone &zone, const ldns_rdf *owner, ldns_rr_type type,
            const std::vector<AddressRecord> &current, const std::string &what) {
            if (address_set(current).count(canonical))
                throw adf::Error(ADF_CONFLICT, what + " already holds " + canonical);
            const uint32_t ttl = !current.empty() ? current.front().ttl
                                 : ttl_if_new != 0 ? ttl_if_new
                                                   : options_.default_ttl;
            const size_t at = insert_position(zone, owner, type);
            zone.records.insert(zone.records.begin() + static_cast<std::ptrdiff_t>(at),
                                make_address_record(owner, type, ttl, canonical));
            return ttl;
        });
}

ChangeResult ZoneStore::remove(const std::string &fqdn, int family,
                               const std::vector<std::string> &expected,
                               const std::vector<std::string> &addresses) const {
    const std::set<std::string> removed =
        canonical_set(addresses, family, "the records to remove");
    return change_zone(
        options_, fqdn, family, expected,
        [&](Zone &zone, const ldns_rdf *owner, ldns_rr_type type,
            const std::vector<AddressRecord> &current, const std::string &what) {
            const std::set<std::string> present = address_set(current);
            for (const std::string &canonical : removed)
                if (!present.count(canonical))
                    throw adf::Error(ADF_CONFLICT, what + " does not hold " + canonical +
                                                       ": nothing to remove");
            if (present.size() <= removed.size())
                throw adf::Error(ADF_FAILED, "refusing to remove " +
                                                 (removed.size() == 1 ? *removed.begin()
                                                                      : "every record") +
                                                 ", the last " + what +
                                                 " record: a pool is never emptied");
            auto &records = zone.records;
            records.erase(std::remove_if(records.begin(), records.end(),
                                         [&](const RrPtr &rr) {
                                             return is_record_of(rr.get(), owner, type) &&
                                                    removed.count(address_of(rr.get()));
                                         }),
                          records.end());
            return current.front().ttl;
        });
}

}  // namespace zonefile
