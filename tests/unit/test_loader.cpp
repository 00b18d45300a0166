#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "plugin/loader.h"

namespace fs = std::filesystem;
using adf::plugin::Loader;
using adf::plugin::PluginError;

namespace {

const std::string kTestPlugins = ADF_TEST_PLUGIN_DIR;

std::string test_plugin(const std::string &name) { return kTestPlugins + "/" + name + ".so"; }

// The message of the PluginError that loading `what` for `kind` throws.
std::string refusal(const std::string &what, int kind, Loader loader = Loader({kTestPlugins})) {
    try {
        loader.load(what, kind);
    } catch (const PluginError &e) {
        return e.what();
    }
    FAIL("loading " << what << " did not throw");
    return {};
}

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

// A private directory (0755) for copies of plugins, removed at scope end.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = "/tmp/adf-loader-test-" + std::string(6, 'X');  // mkstemp template
        path = mkdtemp(pattern.data());
        chmod(path.c_str(), 0755);
    }
    ~TempDir() { fs::remove_all(path); }
    std::string copy_of(const std::string &plugin, const std::string &as) const {
        const fs::path target = path / (as + ".so");
        fs::copy_file(test_plugin(plugin), target);
        chmod(target.c_str(), 0644);
        return target;
    }
};

}  // namespace

TEST_CASE("kind names are the config slot names") {
    CHECK(std::string(adf::plugin::kind_name(ADF_KIND_DNS)) == "dns");
    CHECK(std::string(adf::plugin::kind_name(ADF_KIND_IPADDR)) == "ipaddr");
    CHECK(std::string(adf::plugin::kind_name(ADF_KIND_CHECK)) == "check");
    CHECK(std::string(adf::plugin::kind_name(ADF_KIND_TIMER)) == "timer");
    CHECK(std::string(adf::plugin::kind_name(42)) == "unknown");
}

TEST_CASE("default plugin dirs: the install dir, then plugins/ next to the binary") {
    const auto dirs = adf::plugin::default_plugin_dirs();
    REQUIRE(dirs.size() == 2);
    CHECK(contains(dirs[0], "autodnsfailover/plugins"));
    const fs::path exe = fs::read_symlink("/proc/self/exe");
    CHECK(dirs[1] == (exe.parent_path() / "plugins").string());
}

TEST_CASE("a plugin is loaded by name from the first directory that has it") {
    TempDir empty;
    Loader loader({empty.path.string(), kTestPlugins});
    const auto loaded = loader.load("check-deadlist", ADF_KIND_CHECK);
    CHECK(loaded.path == fs::canonical(test_plugin("check-deadlist")).string());
    REQUIRE(loaded.descriptor != nullptr);
    CHECK(std::string(loaded.descriptor->name) == "check-deadlist");
    CHECK(loaded.descriptor->kind == ADF_KIND_CHECK);

    TempDir first;
    first.copy_of("check-deadlist", "check-deadlist");
    Loader preferring_copy({first.path.string(), kTestPlugins});
    CHECK(preferring_copy.load("check-deadlist", ADF_KIND_CHECK).path ==
          (first.path / "check-deadlist.so").string());
}

TEST_CASE("a plugin is loaded by path, whatever the directories") {
    Loader loader({});
    const auto loaded = loader.load(test_plugin("dns-memory"), ADF_KIND_DNS);
    CHECK(std::string(loaded.descriptor->name) == "dns-memory");
    // By path the file name need not match the declared name.
    const auto renamed = loader.load(test_plugin("name-mismatch"), ADF_KIND_CHECK);
    CHECK(std::string(renamed.descriptor->name) == "declared-elsewhere");
}

TEST_CASE("a file is opened once: by name, by path and through a symlink") {
    Loader loader({kTestPlugins});
    const auto by_name = loader.load("check-deadlist", ADF_KIND_CHECK);
    const auto by_path = loader.load(test_plugin("check-deadlist"), ADF_KIND_CHECK);
    TempDir dir;
    const fs::path link = dir.path / "alias.so";
    fs::create_symlink(fs::canonical(test_plugin("check-deadlist")), link);
    const auto by_link = loader.load(link.string(), ADF_KIND_CHECK);
    CHECK(by_name.descriptor == by_path.descriptor);
    CHECK(by_name.descriptor == by_link.descriptor);
    CHECK(by_link.path == by_name.path);
    // A copy is another file, opened on its own.
    const auto copy = loader.load(dir.copy_of("check-deadlist", "copy"), ADF_KIND_CHECK);
    CHECK(copy.descriptor != by_name.descriptor);
}

TEST_CASE("a missing plugin names every directory searched") {
    const std::string message = refusal("no-such-plugin", ADF_KIND_CHECK,
                                        Loader({"/nonexistent/a", kTestPlugins}));
    CHECK(contains(message, "\"no-such-plugin\" not found"));
    CHECK(contains(message, "no-such-plugin.so"));
    CHECK(contains(message, "/nonexistent/a"));
    CHECK(contains(message, kTestPlugins));
    CHECK(contains(refusal("x", ADF_KIND_CHECK, Loader({})), "no plugin directories"));
    const std::string by_path = refusal("/nonexistent/thing.so", ADF_KIND_CHECK);
    CHECK(contains(by_path, "/nonexistent/thing.so"));
    CHECK(contains(by_path, "No such file or directory"));
}

TEST_CASE("an ABI major mismatch is refused naming the file and both versions") {
    const std::string message = refusal("abi-major", ADF_KIND_CHECK);
    CHECK(contains(message, "plugin " + fs::canonical(test_plugin("abi-major")).string() + ": "));
    CHECK(contains(message, "ABI version 99.1 is not supported"));
    CHECK(contains(message, "(ABI 1.1)"));
    CHECK(contains(message, "rebuild it against this SDK"));
}

TEST_CASE("a plugin built against a newer minor ABI is refused") {
    const std::string message = refusal("abi-minor-newer", ADF_KIND_CHECK);
    CHECK(contains(message, "abi-minor-newer.so"));
    CHECK(contains(message, "ABI 1.99"));
    CHECK(contains(message, "ABI 1.1"));
}

TEST_CASE("a plugin built against the next minor ABI (1.2) is refused") {
    const std::string message = refusal("abi-minor-next", ADF_KIND_CHECK);
    CHECK(contains(message, "abi-minor-next.so"));
    CHECK(contains(message, "built against ABI 1.2, newer than this autodnsfailover's ABI 1.1"));
}

TEST_CASE("a dns plugin built against ABI 1.0 loads, its missing 1.1 ops absent") {
    const auto loaded = Loader({kTestPlugins}).load("dns-memory-abi10", ADF_KIND_DNS);
    CHECK(loaded.descriptor->abi_major == 1);
    CHECK(loaded.descriptor->abi_minor == 0);
    const auto *ops = static_cast<const adf_dns_ops *>(loaded.descriptor->ops);
    CHECK(ops->struct_size == offsetof(adf_dns_ops, validate_name));  // ends at remove
}

TEST_CASE("a plugin of another kind is refused for the slot") {
    const std::string message = refusal("wrong-kind", ADF_KIND_DNS);
    CHECK(contains(message, "wrong-kind.so"));
    CHECK(contains(message, "is a check plugin, but the dns slot needs a dns plugin"));
    // Kind 0 accepts any kind.
    CHECK(Loader({kTestPlugins}).load("wrong-kind", 0).descriptor->kind == ADF_KIND_CHECK);
}

TEST_CASE("a declared name differing from the requested one is refused when loaded by name") {
    const std::string message = refusal("name-mismatch", ADF_KIND_CHECK);
    CHECK(contains(message, "name-mismatch.so"));
    CHECK(contains(message, "declares the name \"declared-elsewhere\", not \"name-mismatch\""));
}

TEST_CASE("files that are not plugins are refused before any of their code is called") {
    const std::string no_symbol = refusal("no-symbol", ADF_KIND_CHECK);
    CHECK(contains(no_symbol, "no-symbol.so"));
    CHECK(contains(no_symbol, "does not export the symbol autodnsfailover_plugin"));

    const std::string not_elf = refusal("not-elf", ADF_KIND_CHECK);
    CHECK(contains(not_elf, "not-elf.so"));
    CHECK(contains(not_elf, "not a loadable shared object"));
    CHECK(contains(not_elf, "invalid ELF header"));  // dlopen's own words
}

TEST_CASE("only regular files are plugins") {
    TempDir dir;
    fs::create_directory(dir.path / "folder.so");
    const std::string message = refusal("folder", ADF_KIND_CHECK, Loader({dir.path.string()}));
    CHECK(contains(message, "folder.so: not a regular file"));
}

TEST_CASE("malformed descriptors and ops tables are refused") {
    const std::string null_ops = refusal("null-ops", ADF_KIND_CHECK);
    CHECK(contains(null_ops, "null-ops.so"));
    CHECK(contains(null_ops, "ops table is NULL"));

    const std::string small = refusal("descriptor-too-small", ADF_KIND_CHECK);
    CHECK(contains(small, "descriptor-too-small.so"));
    CHECK(contains(small, "descriptor is 32 bytes, smaller than ABI 1.1 requires (64 bytes)"));

    const std::string small_ops = refusal("ops-too-small", ADF_KIND_CHECK);
    CHECK(contains(small_ops, "ops-too-small.so"));
    CHECK(contains(small_ops, "check ops table is 4 bytes, too small"));

    const std::string null_function = refusal("null-function", ADF_KIND_CHECK);
    CHECK(contains(null_function, "null-function.so"));
    CHECK(contains(null_function, "check ops function check is NULL"));
}

TEST_CASE("a refused file stays refused when asked again") {
    CHECK(refusal("abi-major", ADF_KIND_CHECK) == refusal("abi-major", ADF_KIND_CHECK));
    CHECK(refusal("no-symbol", ADF_KIND_CHECK) == refusal("no-symbol", ADF_KIND_CHECK));
}

TEST_CASE("files and directories others can write are refused") {
    SUBCASE("a world-writable file") {
        TempDir dir;
        const std::string path = dir.copy_of("check-deadlist", "check-deadlist");
        chmod(path.c_str(), 0666);
        const std::string message = refusal(path, ADF_KIND_CHECK);
        CHECK(contains(message, path));
        CHECK(contains(message, "the file is writable by others (mode 0666)"));
    }
    SUBCASE("a group-writable file") {
        TempDir dir;
        const std::string path = dir.copy_of("check-deadlist", "check-deadlist");
        chmod(path.c_str(), 0664);
        CHECK(contains(refusal(path, ADF_KIND_CHECK), "the file is writable by its group"));
    }
    SUBCASE("a world-writable directory") {
        TempDir dir;
        const std::string path = dir.copy_of("check-deadlist", "check-deadlist");
        chmod(dir.path.c_str(), 0777);
        const std::string message = refusal("check-deadlist", ADF_KIND_CHECK,
                                            Loader({dir.path.string()}));
        CHECK(contains(message, "its directory " + dir.path.string() + " is writable by others"));
    }
    SUBCASE("a file owned by another user") {
        TempDir dir;
        const std::string path = dir.copy_of("check-deadlist", "check-deadlist");
        if (chown(path.c_str(), 65534, 65534) != 0) {
            MESSAGE("not root: cannot give a file away, skipping");
            return;
        }
        const std::string message = refusal(path, ADF_KIND_CHECK);
        CHECK(contains(message, "the file is owned by uid 65534"));
        CHECK(contains(message, "not by root or the user running autodnsfailover"));
    }
}

TEST_CASE("list() shows every .so, sorted, with descriptors or refusals") {
    Loader loader({"/nonexistent/dir", kTestPlugins});
    const auto rows = loader.list();
    REQUIRE(rows.size() >= 10);
    CHECK(std::is_sorted(rows.begin(), rows.end(),
                         [](const auto &a, const auto &b) { return a.path < b.path; }));
    const auto row = [&](const std::string &name) {
        const std::string path = fs::canonical(test_plugin(name)).string();
        auto found = std::find_if(rows.begin(), rows.end(),
                                  [&](const auto &r) { return r.path == path; });
        REQUIRE(found != rows.end());
        return *found;
    };
    const auto deadlist = row("check-deadlist");
    CHECK(deadlist.refusal.empty());
    CHECK(deadlist.name == "check-deadlist");
    CHECK(deadlist.version == "1.0.0");
    CHECK(deadlist.kind == ADF_KIND_CHECK);
    CHECK(deadlist.abi_major == 1);
    CHECK(deadlist.abi_minor == ADF_ABI_MINOR);
    CHECK_FALSE(deadlist.summary.empty());

    const auto abi = row("abi-major");
    CHECK(contains(abi.refusal, "ABI version 99.1"));
    CHECK(abi.name.empty());
    CHECK(abi.abi_major == 99);

    CHECK(contains(row("not-elf").refusal, "not a loadable shared object"));
    CHECK(contains(row("no-symbol").refusal, "autodnsfailover_plugin"));
    CHECK(row("dns-memory").kind == ADF_KIND_DNS);
}

TEST_CASE("every in-tree plugin passes the loader") {
    Loader loader({std::string(ADF_BUILD_DIR) + "/plugins"});
    const auto rows = loader.list();
    if (rows.empty()) MESSAGE("no plugins built in " ADF_BUILD_DIR "/plugins yet");
    for (const auto &row : rows) {
        INFO(row.path);
        CHECK(row.refusal.empty());
        CHECK(row.path.substr(row.path.rfind('/') + 1) == row.name + ".so");
    }
}
