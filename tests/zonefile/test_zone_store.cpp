#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <ldns/ldns.h>

#include <autodnsfailover/plugin.hpp>

#include "file_lock.h"
#include "zone_store.h"

namespace fs = std::filesystem;
using zonefile::AddressRecord;
using zonefile::StoreOptions;
using zonefile::ZoneStore;

namespace {

const char *const kZone = R"($TTL 300
$ORIGIN example.test.
; the pool and its neighbours
@       IN SOA ns1 hostmaster ( 2024010101 3600 600 86400 60 )
        IN NS  ns1
ns1     IN A   127.0.0.1
www 120 IN A   192.0.2.1      ; web-1
WWW 120 IN A   192.0.2.2
www     IN AAAA 2001:db8::1
sub.www IN A   192.0.2.99
other   IN A   192.0.2.50
txt     IN TXT "hello; world" "two"
mx      IN MX  10 mail
)";

// A zone file in a fresh directory, removed at the end of the test.
struct ZoneDir {
    fs::path dir;
    fs::path file;
    explicit ZoneDir(const std::string &content = kZone) {
        std::string pattern = "/tmp/zonefile-test-" + std::string(6, 'X');  // mkdtemp's template
        dir = ::mkdtemp(pattern.data());
        file = dir / "example.test.db";
        write(content);
    }
    ~ZoneDir() { fs::remove_all(dir); }
    void write(const std::string &content) const { std::ofstream(file) << content; }
    std::string content() const {
        std::ifstream in(file);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }
    ZoneStore store(uint32_t ttl = 60) const {
        StoreOptions options;
        options.path = file.string();
        options.zone = "example.test";
        options.default_ttl = ttl;
        return ZoneStore(options);
    }
};

std::vector<std::string> addresses(const std::vector<AddressRecord> &records) {
    std::vector<std::string> out;
    for (const auto &record : records) out.push_back(record.address);
    std::sort(out.begin(), out.end());
    return out;
}

// Every record of the file as text, parsed by ldns's own zone reader (not
// ours), names lower-cased, SOA left out, sorted.
std::vector<std::string> records_by_ldns(const fs::path &file) {
    FILE *in = std::fopen(file.c_str(), "r");
    REQUIRE(in != nullptr);
    ldns_rdf *origin = ldns_dname_new_frm_str("example.test.");
    ldns_zone *zone = nullptr;
    const ldns_status status =
        ldns_zone_new_frm_fp_l(&zone, in, origin, 3600, LDNS_RR_CLASS_IN, nullptr);
    std::fclose(in);
    ldns_rdf_deep_free(origin);
    REQUIRE(status == LDNS_STATUS_OK);
    std::vector<std::string> out;
    const ldns_rr_list *rrs = ldns_zone_rrs(zone);
    for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); ++i) {
        ldns_rr *rr = ldns_rr_clone(ldns_rr_list_rr(rrs, i));
        ldns_dname2canonical(ldns_rr_owner(rr));
        char *text = ldns_rr2str(rr);
        out.emplace_back(text);
        std::free(text);
        ldns_rr_free(rr);
    }
    ldns_zone_deep_free(zone);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> without(std::vector<std::string> records, const std::string &prefix) {
    records.erase(std::remove_if(records.begin(), records.end(),
                                 [&](const std::string &r) { return r.rfind(prefix, 0) == 0; }),
                  records.end());
    return records;
}

int status_of(const std::function<void()> &action, std::string *message = nullptr) {
    try {
        action();
    } catch (const adf::Error &e) {
        if (message) *message = e.what();
        return e.status();
    }
    return ADF_OK;
}

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("read: the A and AAAA records of exactly that name, any case, with their TTL") {
    ZoneDir zone;
    const ZoneStore store = zone.store();
    const auto a = store.read("www.example.test", ADF_FAMILY_IPV4);
    REQUIRE(a.size() == 2);
    CHECK(addresses(a) == std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
    CHECK(a[0].ttl == 120);
    CHECK(a[1].ttl == 120);
    const auto aaaa = store.read("Www.Example.Test", ADF_FAMILY_IPV6);
    REQUIRE(aaaa.size() == 1);
    CHECK(aaaa[0].address == "2001:db8::1");
    CHECK(aaaa[0].ttl == 300);
    CHECK(store.read("nothing.example.test", ADF_FAMILY_IPV4).empty());
    CHECK(store.read("example.test", ADF_FAMILY_IPV4).empty());
}

TEST_CASE("read: a file without $TTL or $ORIGIN uses the configured zone and the last TTL") {
    ZoneDir zone(
        "@ 3600 IN SOA ns1 hostmaster 7 3600 600 86400 60\n"
        "www 30 IN A 192.0.2.1\n"
        "www IN A 192.0.2.2\n");
    const auto records = zone.store().read("www.example.test", ADF_FAMILY_IPV4);
    REQUIRE(records.size() == 2);
    CHECK(records[1].ttl == 30);
}

TEST_CASE("read: a name outside the zone is an error naming both") {
    ZoneDir zone;
    std::string message;
    CHECK(status_of([&] { zone.store().read("www.other.test", 4); }, &message) == ADF_FAILED);
    CHECK(contains(message, "www.other.test"));
    CHECK(contains(message, "example.test"));
}

TEST_CASE("read: a missing file is an error, never an empty set") {
    ZoneDir zone;
    fs::remove(zone.file);
    std::string message;
    CHECK(status_of([&] { zone.store().read("www.example.test", 4); }, &message) == ADF_FAILED);
    CHECK(contains(message, zone.file.string()));
    CHECK(contains(message, "No such file"));
}

TEST_CASE("read: a file that does not parse is an error with its line number") {
    ZoneDir zone;
    std::string message;
    SUBCASE("bad rdata") {
        zone.write("$TTL 60\n@ IN SOA a b 1 2 3 4 5\nwww IN A 192.0.2.1\nbad IN A 999.1.1.1\n");
        CHECK(status_of([&] { zone.store().read("www.example.test", 4); }, &message) ==
              ADF_FAILED);
        CHECK(contains(message, "line 4"));
    }
    SUBCASE("bad last line without newline") {
        zone.write("$TTL 60\n@ IN SOA a b 1 2 3 4 5\nbad IN A 999.1.1.1");
        CHECK(status_of([&] { zone.store().read("www.example.test", 4); }, &message) ==
              ADF_FAILED);
        CHECK(contains(message, "line 3"));
    }
    SUBCASE("words that are no record") {
        zone.write("$TTL 60\n@ IN SOA a b 1 2 3 4 5\ngarbage here\n");
        CHECK(status_of([&] { zone.store().read("www.example.test", 4); }, &message) ==
              ADF_FAILED);
        CHECK(contains(message, "line 3"));
        CHECK(contains(message, "unknown record type"));
    }
    SUBCASE("binary junk") {
        zone.write(std::string("\x01\x02\x03 junk\n", 9));
        CHECK(status_of([&] { zone.store().read("www.example.test", 4); }, &message) ==
              ADF_FAILED);
        CHECK(contains(message, "line 1"));
    }
    SUBCASE("$INCLUDE") {
        zone.write("$TTL 60\n@ IN SOA a b 1 2 3 4 5\n$INCLUDE other.db\n");
        CHECK(status_of([&] { zone.store().read("www.example.test", 4); }, &message) ==
              ADF_FAILED);
        CHECK(contains(message, "$INCLUDE"));
    }
    CHECK(contains(message, zone.file.string()));
}

TEST_CASE("read: an empty file or one without SOA is an error") {
    ZoneDir zone("");
    std::string message;
    CHECK(status_of([&] { zone.store().read("www.example.test", 4); }, &message) == ADF_FAILED);
    CHECK(contains(message, "no SOA"));
    zone.write("$TTL 60\nwww IN A 192.0.2.1\n");
    CHECK(status_of([&] { zone.store().read("www.example.test", 4); }) == ADF_FAILED);
}

TEST_CASE("read: a file of another zone is an error") {
    ZoneDir zone("$ORIGIN other.test.\n@ 60 IN SOA a b 1 2 3 4 5\nwww 60 IN A 192.0.2.1\n");
    std::string message;
    CHECK(status_of([&] { zone.store().read("www.example.test", 4); }, &message) == ADF_FAILED);
    CHECK(contains(message, "other.test"));
}

TEST_CASE("read: a trailing comment ends the file fine") {
    ZoneDir zone(std::string(kZone) + "; the end\n");
    CHECK(zone.store().read("www.example.test", 4).size() == 2);
}

TEST_CASE("add: joins the existing set with its TTL, bumps the serial, leaves the rest alone") {
    ZoneDir zone;
    const ZoneStore store = zone.store(45);
    const auto before = records_by_ldns(zone.file);
    const auto result = store.add("www.example.test", 4, {"192.0.2.2", "192.0.2.1"}, "192.0.2.3");
    CHECK(result.old_serial == 2024010101u);
    CHECK(result.new_serial == 2024010102u);
    CHECK(store.serial() == 2024010102u);
    const auto records = store.read("www.example.test", 4);
    CHECK(addresses(records) == std::vector<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.3"});
    for (const auto &record : records) CHECK(record.ttl == 120);
    const auto after = records_by_ldns(zone.file);
    CHECK(without(after, "www.example.test.\t120\tIN\tA\t") ==
          without(before, "www.example.test.\t120\tIN\tA\t"));
    CHECK(after.size() == before.size() + 1);
    CHECK(std::count(after.begin(), after.end(), "www.example.test.\t120\tIN\tA\t192.0.2.3\n") ==
          1);
}

TEST_CASE("add: a new set gets the configured TTL, or the one the host passes") {
    ZoneDir zone;
    const ZoneStore store = zone.store(45);
    store.add("new.example.test", 4, {}, "192.0.2.10");
    auto records = store.read("new.example.test", 4);
    REQUIRE(records.size() == 1);
    CHECK(records[0].ttl == 45);
    store.add("new.example.test", 6, {}, "2001:DB8:0::10", 90);
    records = store.read("new.example.test", 6);
    REQUIRE(records.size() == 1);
    CHECK(records[0].address == "2001:db8::10");
    CHECK(records[0].ttl == 90);
    CHECK(store.serial() == 2024010103u);
}

TEST_CASE("add: the apex can hold addresses too") {
    ZoneDir zone;
    zone.store().add("example.test", 4, {}, "192.0.2.77");
    CHECK(addresses(zone.store().read("example.test", 4)) ==
          std::vector<std::string>{"192.0.2.77"});
}

TEST_CASE("remove: takes the address out, bumps the serial, leaves the rest alone") {
    ZoneDir zone;
    const ZoneStore store = zone.store();
    const auto before = records_by_ldns(zone.file);
    const auto result = store.remove("www.example.test", 4, {"192.0.2.1", "192.0.2.2"}, {"192.0.2.1"});
    CHECK(result.new_serial == 2024010102u);
    CHECK(addresses(store.read("www.example.test", 4)) == std::vector<std::string>{"192.0.2.2"});
    auto expected = before;
    expected.erase(std::find(expected.begin(), expected.end(),
                             "www.example.test.\t120\tIN\tA\t192.0.2.1\n"));
    CHECK(records_by_ldns(zone.file) == expected);
}

TEST_CASE("remove: several addresses go in one rewrite, never the whole set") {
    ZoneDir zone;
    const ZoneStore store = zone.store();
    store.add("www.example.test", 4, {"192.0.2.1", "192.0.2.2"}, "192.0.2.3");
    const uint32_t serial = store.serial();
    store.remove("www.example.test", 4, {"192.0.2.1", "192.0.2.2", "192.0.2.3"},
                 {"192.0.2.3", "192.0.2.1"});
    CHECK(addresses(store.read("www.example.test", 4)) == std::vector<std::string>{"192.0.2.2"});
    CHECK(store.serial() == zonefile::next_serial(serial));  // one write
    const std::string before = zone.content();
    std::string message;
    CHECK(status_of([&] { store.remove("www.example.test", 4, {"192.0.2.2"}, {"192.0.2.2"}); },
                    &message) == ADF_FAILED);
    CHECK(contains(message, "never emptied"));
    CHECK(zone.content() == before);
}

TEST_CASE("conflict: a set that changed since the caller read it is not touched") {
    ZoneDir zone;
    const ZoneStore store = zone.store();
    const std::string original = zone.content();
    std::string message;
    CHECK(status_of([&] { store.add("www.example.test", 4, {"192.0.2.1"}, "192.0.2.3"); },
                    &message) == ADF_CONFLICT);
    CHECK(contains(message, "{192.0.2.1, 192.0.2.2}"));
    CHECK(contains(message, "{192.0.2.1}"));
    CHECK(status_of([&] {
              store.remove("www.example.test", 4, {"192.0.2.1", "192.0.2.2", "192.0.2.9"},
                           {"192.0.2.1"});
          }) == ADF_CONFLICT);
    CHECK(status_of([&] { store.add("new.example.test", 4, {"192.0.2.5"}, "192.0.2.6"); }) ==
          ADF_CONFLICT);
    CHECK(zone.content() == original);
}

TEST_CASE("conflict: removing an absent address, adding a present one; the last one stays") {
    ZoneDir zone;
    const ZoneStore store = zone.store();
    const std::string original = zone.content();
    const std::vector<std::string> set = {"192.0.2.1", "192.0.2.2"};
    CHECK(status_of([&] { store.remove("www.example.test", 4, set, {"192.0.2.9"}); }) ==
          ADF_CONFLICT);
    CHECK(status_of([&] { store.add("www.example.test", 4, set, "192.0.2.2"); }) == ADF_CONFLICT);
    std::string message;
    CHECK(status_of([&] { store.remove("www.example.test", 6, {"2001:db8::1"}, {"2001:db8::1"}); },
                    &message) == ADF_FAILED);
    CHECK(contains(message, "last"));
    CHECK(zone.content() == original);
}

TEST_CASE("serial: RFC 1982 arithmetic wraps from 4294967295 to 0") {
    CHECK(zonefile::next_serial(1) == 2);
    CHECK(zonefile::next_serial(4294967295u) == 0);
    ZoneDir zone("$TTL 60\n@ IN SOA a b 4294967295 2 3 4 5\nwww IN A 192.0.2.1\n");
    const auto result = zone.store().add("www.example.test", 4, {"192.0.2.1"}, "192.0.2.2");
    CHECK(result.old_serial == 4294967295u);
    CHECK(result.new_serial == 0u);
    CHECK(zone.store().serial() == 0u);
}

TEST_CASE("write: a zone without SOA is an error and stays as it was") {
    ZoneDir zone("$TTL 60\nwww IN A 192.0.2.1\n");
    const std::string original = zone.content();
    CHECK(status_of([&] { zone.store().add("www.example.test", 4, {"192.0.2.1"}, "192.0.2.2"); }) ==
          ADF_FAILED);
    CHECK(zone.content() == original);
}

TEST_CASE("write: keeps the file's mode, leaves no temporary file, follows a symlink") {
    ZoneDir zone;
    ::chmod(zone.file.c_str(), 0640);
    zone.store().add("www.example.test", 4, {"192.0.2.1", "192.0.2.2"}, "192.0.2.3");
    struct stat info {};
    REQUIRE(::stat(zone.file.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0640);
    const fs::path link = zone.dir / "link.db";
    fs::create_symlink(zone.file.filename(), link);
    StoreOptions options;
    options.path = link.string();
    options.zone = "example.test";
    ZoneStore(options).add("www.example.test", 4, {"192.0.2.1", "192.0.2.2", "192.0.2.3"},
                           "192.0.2.4");
    CHECK(fs::is_symlink(link));
    CHECK(zone.store().read("www.example.test", 4).size() == 4);
    std::vector<std::string> names;
    for (const auto &entry : fs::directory_iterator(zone.dir))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"example.test.db", "example.test.db.lock", "link.db",
                                            "link.db.lock"});
}

TEST_CASE("lock: a writer waits for the lock and gives up as transient") {
    ZoneDir zone;
    StoreOptions options;
    options.path = zone.file.string();
    options.zone = "example.test";
    options.lock_timeout = 0.2;
    const ZoneStore store(options);
    zonefile::ExclusiveFileLock held(zone.file.string() + ".lock", 1.0);
    std::string message;
    CHECK(status_of([&] { store.add("www.example.test", 4, {"192.0.2.1", "192.0.2.2"}, "192.0.2.3"); },
                    &message) == ADF_TRANSIENT);
    CHECK(contains(message, ".lock"));
}

TEST_CASE("concurrency: processes adding at once all succeed, one serial step each") {
    constexpr int kWriters = 8;
    ZoneDir zone;
    const uint32_t serial_before = zone.store().serial();
    int start_gate[2];
    REQUIRE(::pipe(start_gate) == 0);
    std::vector<pid_t> children;
    for (int i = 0; i < kWriters; ++i) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(start_gate[1]);
            char byte;
            (void)!::read(start_gate[0], &byte, 1);  // returns at EOF: all start together
            const ZoneStore store = zone.store();
            const std::string mine = "198.51.100." + std::to_string(i + 1);
            // What the daemon does: read, add conditionally, on conflict read again.
            for (int attempt = 0; attempt < 200; ++attempt) {
                try {
                    std::vector<std::string> expected;
                    for (const auto &r : store.read("pool.example.test", 4))
                        expected.push_back(r.address);
                    store.add("pool.example.test", 4, expected, mine);
                    ::_exit(0);
                } catch (const adf::Error &e) {
                    if (e.status() != ADF_CONFLICT) ::_exit(2);
                }
            }
            ::_exit(3);
        }
        children.push_back(pid);
    }
    ::close(start_gate[0]);
    ::close(start_gate[1]);
    for (pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    const auto records = zone.store().read("pool.example.test", 4);
    CHECK(records.size() == kWriters);
    CHECK(zone.store().serial() == serial_before + kWriters);
    CHECK(zone.store().read("www.example.test", 4).size() == 2);
}
