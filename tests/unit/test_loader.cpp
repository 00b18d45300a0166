#include <doctest/doctest.h>

#include <elf.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "plugin/elf_check.h"
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

TEST_CASE("an installed daemon finds its plugins relative to its own binary") {
    TempDir prefix;
    fs::create_directories(prefix.path / "sbin");
    const auto dirs = adf::plugin::plugin_dirs_for((prefix.path / "sbin/autodnsfailover").string());
    REQUIRE(dirs.size() == 1);
    // <prefix>/sbin/../<libdir>/autodnsfailover/plugins, spelled without "..".
    CHECK(dirs[0].rfind(prefix.path.string() + "/lib", 0) == 0);
    CHECK(contains(dirs[0], "/autodnsfailover/plugins"));
    CHECK_FALSE(contains(dirs[0], ".."));
}

TEST_CASE("a build tree's daemon uses its own plugins/ and nothing installed") {
    TempDir build;
    fs::create_directories(build.path / "plugins");
    CHECK(adf::plugin::plugin_dirs_for((build.path / "autodnsfailover").string()) ==
          std::vector<std::string>{(build.path / "plugins").string()});
    const fs::path exe = fs::read_symlink("/proc/self/exe");
    CHECK(adf::plugin::default_plugin_dirs() == adf::plugin::plugin_dirs_for(exe.string()));
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

TEST_CASE("a missing plugin names every directory searched, calling missing ones so") {
    const std::string message = refusal("no-such-plugin", ADF_KIND_CHECK,
                                        Loader({"/nonexistent/a", kTestPlugins}));
    CHECK(contains(message, "\"no-such-plugin\" not found"));
    CHECK(contains(message, "no-such-plugin.so"));
    CHECK(contains(message, "/nonexistent/a (missing)"));
    CHECK(contains(message, kTestPlugins + ";"));
    CHECK_FALSE(contains(message, kTestPlugins + " (missing)"));
    CHECK(contains(refusal("x", ADF_KIND_CHECK, Loader({})), "no plugin directories"));
    const std::string by_path = refusal("/nonexistent/thing.so", ADF_KIND_CHECK);
    CHECK(contains(by_path, "/nonexistent/thing.so"));
    CHECK(contains(by_path, "No such file or directory"));
}

TEST_CASE("a missing plugin's message lists the installed names and the closest one") {
    const std::string message = refusal("check_deadlsit", ADF_KIND_CHECK);
    CHECK(contains(message, "installed: "));
    CHECK(contains(message, "check-deadlist, "));
    CHECK(contains(message, "dns-memory"));
    CHECK(contains(message, "did you mean \"check-deadlist\"?"));
    // Nothing close: no guess.
    CHECK_FALSE(contains(refusal("zzzzzzzz", ADF_KIND_CHECK), "did you mean"));
    TempDir empty;
    CHECK(contains(refusal("x", ADF_KIND_CHECK, Loader({empty.path.string()})),
                   "there are no plugins there"));
}

TEST_CASE("missing_dirs() names the directories that are not there") {
    TempDir dir;
    const Loader loader({dir.path.string(), "/nonexistent/b", test_plugin("dns-memory")});
    CHECK(loader.missing_dirs() ==
          std::vector<std::string>{"/nonexistent/b", test_plugin("dns-memory")});
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
    CHECK(contains(not_elf, "not a loadable shared object: not an ELF file"));
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

TEST_CASE("a descriptor whose kind and ops table disagree is called a kind mismatch") {
    struct Case {
        const char *plugin;
        int kind;
        const char *says;
    };
    // Declared check with an adf_dns_ops table (it would have been accepted,
    // and its read() called as check()), and declared dns with check ops.
    for (const Case &c : {
             Case{"kind-check-dns-ops", ADF_KIND_CHECK,
                  "kind mismatch: its descriptor declares a check plugin, but its ops table is 48 "
                  "bytes, the size of adf_dns_ops, not of adf_check_ops (16 bytes): make the "
                  "descriptor's kind and ops agree (ADF_KIND_CHECK with an adf_check_ops table)"},
             Case{"kind-dns-check-ops", ADF_KIND_DNS,
                  "kind mismatch: its descriptor declares a dns plugin, but its ops table is 16 "
                  "bytes, the size of adf_ipaddr_ops or adf_check_ops, not of adf_dns_ops (48 "
                  "bytes)"},
         }) {
        CAPTURE(c.plugin);
        const std::string message = refusal(c.plugin, c.kind);
        CHECK(contains(message, std::string(c.plugin) + ".so: " + c.says));
        CHECK_FALSE(contains(message, "rebuild"));
    }
    // The same in the listing, whatever slot it would go to.
    const auto rows = Loader({kTestPlugins}).list();
    const auto mismatch = std::find_if(rows.begin(), rows.end(), [](const auto &row) {
        return contains(row.path, "kind-check-dns-ops.so");
    });
    REQUIRE(mismatch != rows.end());
    CHECK(contains(mismatch->refusal, "kind mismatch"));
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

namespace {

std::string file_content(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// `image` with the bytes of `value` written at `offset`.
template <class T>
std::string patched(std::string image, size_t offset, T value) {
    std::memcpy(image.data() + offset, &value, sizeof value);
    return image;
}

}  // namespace

TEST_CASE("elf: a whole plugin passes, and every shorter prefix of it is refused") {
    const std::string image = file_content(test_plugin("check-deadlist"));
    REQUIRE(image.size() > 4096);
    CHECK(adf::plugin::elf::check_image(image).empty());
    // Pure and cheap: every length from 0 to one byte short.
    size_t accepted = 0;
    for (size_t length = 0; length < image.size(); ++length)
        if (adf::plugin::elf::check_image(std::string_view(image).substr(0, length)).empty())
            ++accepted;
    CHECK(accepted == 0);
    CHECK(adf::plugin::elf::check_image("") == "the file is empty");
    CHECK(adf::plugin::elf::check_image(image.substr(0, 3)).rfind(
              "the file is truncated or damaged: it has 3 bytes, but its ELF header reaches "
              "byte 64", 0) == 0);
    CHECK(contains(adf::plugin::elf::check_image(image.substr(0, 4096)),
                   "the file is truncated or damaged: it has 4096 bytes, but program header"));
}

TEST_CASE("elf: damaged headers are refused with what is wrong") {
    using adf::plugin::elf::check_image;
    using Ehdr = ElfW(Ehdr);
    using Phdr = ElfW(Phdr);
    const std::string image = file_content(test_plugin("check-deadlist"));
    Ehdr header{};
    std::memcpy(&header, image.data(), sizeof header);

    CHECK(check_image("#!/bin/sh\n") == "not an ELF file (it does not start with \\x7fELF)");
    CHECK(contains(check_image(patched<unsigned char>(image, EI_CLASS, ELFCLASS32)),
                   "it is a 32-bit ELF file; this autodnsfailover loads 64-bit plugins"));
    CHECK(check_image(patched<unsigned char>(image, EI_DATA, ELFDATA2MSB)) ==
          "its ELF byte order is not this machine's");
    CHECK(contains(check_image(patched<uint16_t>(image, offsetof(Ehdr, e_type), ET_EXEC)),
                   "it is an executable, not a shared object"));
    CHECK(contains(check_image(patched<uint16_t>(image, offsetof(Ehdr, e_machine), 0x1234)),
                   "it is built for ELF machine 4660"));
    CHECK(check_image(patched<uint16_t>(image, offsetof(Ehdr, e_phentsize), 0)) ==
          "the file is damaged: its program headers are 0 bytes each, not 56");
    CHECK(check_image(patched<uint16_t>(image, offsetof(Ehdr, e_phnum), 0)) ==
          "the file is damaged: it declares no program headers");
    CHECK(check_image(patched<uint64_t>(image, offsetof(Ehdr, e_phoff), ~0ull)) ==
          "the file is damaged: its program header table lies beyond the end of any file");
    CHECK(contains(check_image(patched<uint64_t>(image, offsetof(Ehdr, e_shoff), image.size())),
                   "but its section header table reaches byte"));

    // A segment claiming more of the file than there is.
    const size_t first = header.e_phoff;
    const std::string long_segment =
        patched<uint64_t>(image, first + offsetof(Phdr, p_filesz), image.size() + 1);
    CHECK(contains(check_image(long_segment), "but program header 0 ("));
    const std::string wrapping = patched<uint64_t>(
        patched<uint64_t>(image, first + offsetof(Phdr, p_offset), ~0ull - 1),
        first + offsetof(Phdr, p_filesz), 16);
    CHECK(contains(check_image(wrapping), "the file is damaged: program header 0 ("));
    CHECK(contains(check_image(wrapping), "lies beyond the end of any file"));
}

TEST_CASE("a truncated plugin file is a refusal naming it, never a signal inside dlopen") {
    TempDir dir;
    const std::string image = file_content(test_plugin("check-deadlist"));
    for (const size_t length : {size_t{0}, size_t{3}, size_t{63}, size_t{64}, size_t{200},
                                size_t{4096}, image.size() / 2, image.size() - 1}) {
        CAPTURE(length);
        const fs::path path = dir.path / ("cut-" + std::to_string(length) + ".so");
        std::ofstream(path, std::ios::binary).write(image.data(), std::streamsize(length));
        chmod(path.c_str(), 0644);
        const std::string message = refusal(path.string(), ADF_KIND_CHECK);
        CHECK(contains(message, "plugin " + path.string() + ": not a loadable shared object: "));
        CHECK((contains(message, "truncated") || contains(message, "empty")));
    }
    // The listing refuses them one by one and goes on.
    const auto rows = Loader({dir.path.string()}).list();
    CHECK(rows.size() == 8);
    for (const auto &row : rows) {
        CAPTURE(row.path);
        CHECK(contains(row.refusal, "not a loadable shared object"));
    }
}
