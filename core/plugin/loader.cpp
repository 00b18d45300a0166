#include "plugin/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <autodnsfailover/posix.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "plugin/elf_check.h"
#include "util/text.h"

namespace adf::plugin {

namespace {

// The longest name, version or summary `plugins` shows of a plugin.
constexpr size_t kMaxListedField = 200;

// The bytes every descriptor version shares: struct_size, abi_major, abi_minor.
constexpr size_t kDescriptorHeader = offsetof(adf_plugin_descriptor, kind);

// Bytes of an ops table up to and including its last required function.
#define ADF_END_OF(type, member) (offsetof(type, member) + sizeof(((type *)nullptr)->member))

// A library this process has dlopen()ed, by real path. Libraries are never
// closed, so a file is opened once and its descriptor stays valid forever.
struct Opened {
    void *handle = nullptr;
    const adf_plugin_descriptor *descriptor = nullptr;  // null: no entry symbol
    std::string symbol_problem;                          // why the symbol is unusable
};

std::mutex g_opened_mutex;
std::map<std::string, Opened> g_opened;

// The outcome of examining one file, before any slot-specific rule.
struct Inspection {
    std::string path;  // real path when it could be resolved, else as given
    const adf_plugin_descriptor *descriptor = nullptr;  // set when its header was readable
    std::string refusal;                                 // the reason; empty: usable

    std::string message() const { return "plugin " + path + ": " + refusal; }
};

std::string user_name(uid_t uid) {
    const struct passwd *pw = getpwuid(uid);
    return pw != nullptr ? fmt::format("uid {} ({})", uid, pw->pw_name)
                         : fmt::format("uid {}", uid);
}

std::string directory_of(const std::string &path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string upper(std::string text) {
    for (char &c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

std::string kind_list_name(uint32_t kind) {
    const std::string name = kind_name(static_cast<int>(kind));
    return name == "unknown" ? fmt::format("unknown kind {}", kind) : name;
}

// The checks of a descriptor's ops table for its declared kind.
template <class Ops>
std::string check_ops_size(const void *ops, size_t required, const char *kind) {
    const uint32_t size = static_cast<const Ops *>(ops)->struct_size;
    if (size < required)
        return fmt::format("its {} ops table is {} bytes, too small for the required functions "
                           "({} bytes): rebuild it against this SDK",
                           kind, size, required);
    return {};
}

// The ops table sizes of each kind, as a plugin built against an older
// minor of this ABI major declares them (index: the minor); the current
// minor's are sizeof(). When a minor bump appends to an ops table, add a row
// for the minor it leaves behind.
struct OpsSizes {
    uint32_t dns, ipaddr, check, timer;
};
constexpr OpsSizes kOlderOpsSizes[] = {
    {32, 16, 16, 32},  // ABI 1.0
};
static_assert(std::size(kOlderOpsSizes) + 1 > ADF_ABI_MINOR,
              "add the ops table sizes of the previous ABI minor to kOlderOpsSizes");
#if ADF_ABI_MINOR == 0
static_assert(kOlderOpsSizes[0].dns == sizeof(adf_dns_ops) &&
                  kOlderOpsSizes[0].ipaddr == sizeof(adf_ipaddr_ops) &&
                  kOlderOpsSizes[0].check == sizeof(adf_check_ops) &&
                  kOlderOpsSizes[0].timer == sizeof(adf_timer_ops),
              "the ABI 1.0 row of kOlderOpsSizes must match plugin.h");
#endif

constexpr uint32_t kKinds[] = {ADF_KIND_DNS, ADF_KIND_IPADDR, ADF_KIND_CHECK, ADF_KIND_TIMER};

// The struct_size a plugin built against `minor` gives its ops table of `kind`.
uint32_t ops_size(uint32_t kind, uint32_t minor) {
    const OpsSizes current = {sizeof(adf_dns_ops), sizeof(adf_ipaddr_ops), sizeof(adf_check_ops),
                              sizeof(adf_timer_ops)};
    const bool older = minor + 1 <= ADF_ABI_MINOR;  // "minor < 0" would warn while it is 0
    const OpsSizes &sizes = older ? kOlderOpsSizes[minor] : current;
    switch (kind) {
        case ADF_KIND_DNS: return sizes.dns;
        case ADF_KIND_IPADDR: return sizes.ipaddr;
        case ADF_KIND_CHECK: return sizes.check;
        case ADF_KIND_TIMER: return sizes.timer;
        default: return 0;
    }
}

// A descriptor whose kind says one thing and whose ops table another (a
// check plugin pointing at adf_dns_ops, often a copy-paste slip): told as
// such, since "too small, rebuild it" would send its author the wrong way.
// Only a size that fits another kind and not the declared one is a sure
// sign; ipaddr and check tables (and dns and timer ones) are alike in size.
std::string kind_mismatch(const adf_plugin_descriptor &d) {
    // Every ops table starts with its uint32_t struct_size.
    const uint32_t size = *static_cast<const uint32_t *>(d.ops);
    const uint32_t expected = ops_size(d.kind, d.abi_minor);
    if (size == expected) return {};
    std::string fitting;
    for (const uint32_t other : kKinds)
        if (other != d.kind && ops_size(other, d.abi_minor) == size)
            fitting += fmt::format("{}adf_{}_ops", fitting.empty() ? "" : " or ",
                                   kind_name(static_cast<int>(other)));
    if (fitting.empty()) return {};
    const char *kind = kind_name(static_cast<int>(d.kind));
    return fmt::format("kind mismatch: its descriptor declares a {0} plugin, but its ops table is "
                       "{1} bytes, the size of {2}, not of adf_{0}_ops ({3} bytes): make the "
                       "descriptor's kind and ops agree (ADF_KIND_{4} with an adf_{0}_ops table)",
                       kind, size, fitting, expected, upper(kind));
}

std::string null_function(const char *kind, const char *function) {
    return fmt::format("its {} ops function {} is NULL", kind, function);
}

std::string check_ops(const adf_plugin_descriptor &d) {
    if (d.ops == nullptr) return "its ops table is NULL";
    std::string problem = kind_mismatch(d);
    if (!problem.empty()) return problem;
    switch (d.kind) {
        case ADF_KIND_DNS: {
            problem = check_ops_size<adf_dns_ops>(d.ops, ADF_END_OF(adf_dns_ops, remove), "dns");
            if (!problem.empty()) return problem;
            const auto *ops = static_cast<const adf_dns_ops *>(d.ops);
            if (ops->read == nullptr) return null_function("dns", "read");
            if (ops->add == nullptr) return null_function("dns", "add");
            if (ops->remove == nullptr) return null_function("dns", "remove");
            return {};
        }
        case ADF_KIND_IPADDR: {
            problem = check_ops_size<adf_ipaddr_ops>(
                d.ops, ADF_END_OF(adf_ipaddr_ops, own_address), "ipaddr");
            if (!problem.empty()) return problem;
            const auto *ops = static_cast<const adf_ipaddr_ops *>(d.ops);
            if (ops->own_address == nullptr) return null_function("ipaddr", "own_address");
            return {};
        }
        case ADF_KIND_CHECK: {
            problem =
                check_ops_size<adf_check_ops>(d.ops, ADF_END_OF(adf_check_ops, check), "check");
            if (!problem.empty()) return problem;
            const auto *ops = static_cast<const adf_check_ops *>(d.ops);
            if (ops->check == nullptr) return null_function("check", "check");
            return {};
        }
        case ADF_KIND_TIMER: {
            problem = check_ops_size<adf_timer_ops>(d.ops, ADF_END_OF(adf_timer_ops, retry),
                                                    "timer");
            if (!problem.empty()) return problem;
            const auto *ops = static_cast<const adf_timer_ops *>(d.ops);
            if (ops->next_check_time == nullptr) return null_function("timer", "next_check_time");
            if (ops->check_timeout == nullptr) return null_function("timer", "check_timeout");
            if (ops->retry == nullptr) return null_function("timer", "retry");
            return {};
        }
        default:
            return fmt::format("it declares {}; known kinds are dns, ipaddr, check and timer",
                               kind_list_name(d.kind));
    }
}

// Everything about a descriptor that does not depend on the slot. Reads
// fields in order of trust: the shared header, then the versioned rest.
std::string check_descriptor(const adf_plugin_descriptor &d) {
    if (d.struct_size < kDescriptorHeader)
        return fmt::format("its descriptor claims to be {} bytes, too small to hold even a version",
                           d.struct_size);
    if (d.abi_major != ADF_ABI_MAJOR)
        return fmt::format(
            "ABI version {}.{} is not supported by this autodnsfailover (ABI {}.{}): "
            "rebuild it against this SDK",
            d.abi_major, d.abi_minor, ADF_ABI_MAJOR, ADF_ABI_MINOR);
    if (d.abi_minor > ADF_ABI_MINOR)
        return fmt::format(
            "built against ABI {}.{}, newer than this autodnsfailover's ABI {}.{}: upgrade "
            "autodnsfailover or rebuild the plugin against this SDK",
            d.abi_major, d.abi_minor, ADF_ABI_MAJOR, ADF_ABI_MINOR);
    if (d.struct_size < ADF_END_OF(adf_plugin_descriptor, ops))
        return fmt::format("its descriptor is {} bytes, smaller than ABI {}.{} requires ({} bytes)",
                           d.struct_size, d.abi_major, d.abi_minor,
                           ADF_END_OF(adf_plugin_descriptor, ops));
    if (d.name == nullptr || d.name[0] == '\0') return "its descriptor declares no name";
    if (d.create == nullptr) return "its descriptor's create function is NULL";
    if (d.destroy == nullptr) return "its descriptor's destroy function is NULL";
    return check_ops(d);
}

// Why the file at `path` must not be handed to dlopen(), or "": a file cut
// short would make dlopen() raise SIGBUS when it touches a mapped page past
// the end. (The file is owned by root or us and writable by no one else, so
// only they could shorten it between this check and dlopen().)
std::string elf_problem(const std::string &path) {
    // O_NONBLOCK: S_ISREG was checked on the path, but opening must never
    // wait on a FIFO swapped in meanwhile.
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) return fmt::format("cannot open it: {}", std::strerror(errno));
    return elf::check_file(fd.get());
}

// dlopen()s `real_path` once and finds its descriptor; null with `refusal`
// set when the file cannot be loaded at all. Caller holds the lock.
const Opened *open_library(const std::string &real_path, std::string &refusal) {
    auto found = g_opened.find(real_path);
    if (found != g_opened.end()) return &found->second;

    dlerror();
    void *handle = dlopen(real_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char *why = dlerror();
        refusal = fmt::format("not a loadable shared object: {}", why ? why : "dlopen failed");
        return nullptr;
    }
    Opened opened;
    opened.handle = handle;
    dlerror();
    void *symbol = dlsym(handle, ADF_PLUGIN_SYMBOL);
    if (symbol == nullptr) {
        opened.symbol_problem = fmt::format(
            "it does not export the symbol {}: it is not an autodnsfailover plugin (or was "
            "built without ADF_PLUGIN_DESCRIPTOR)",
            ADF_PLUGIN_SYMBOL);
    } else {
        // The symbol table knows the object's size: never read past it.
        Dl_info info{};
        void *symbol_entry = nullptr;
        const bool known = dladdr1(symbol, &info, &symbol_entry, RTLD_DL_SYMENT) != 0;
        const auto *entry = static_cast<const ElfW(Sym) *>(symbol_entry);
        if (known &&
            entry != nullptr && entry->st_size != 0 && entry->st_size < kDescriptorHeader)
            opened.symbol_problem = fmt::format(
                "its symbol {} is {} bytes, too small to be a plugin descriptor",
                ADF_PLUGIN_SYMBOL, static_cast<size_t>(entry->st_size));
        else
            opened.descriptor = static_cast<const adf_plugin_descriptor *>(symbol);
    }
    return &g_opened.emplace(real_path, std::move(opened)).first->second;
}

// Examines the file at `path` without throwing: safety, loadability, and the
// descriptor's slot-independent rules.
Inspection inspect(const std::string &path) {
    Inspection result;
    result.path = path;
    char resolved[PATH_MAX];
    if (realpath(path.c_str(), resolved) == nullptr) {
        result.refusal = fmt::format("cannot open it: {}", std::strerror(errno));
        return result;
    }
    result.path = resolved;

    std::lock_guard<std::mutex> lock(g_opened_mutex);
    if (g_opened.count(result.path) == 0) {
        // Checked before the first dlopen(), which already runs the file's code.
        struct stat st {};
        if (stat(result.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
            result.refusal = "not a regular file";
            return result;
        }
        std::string problem = unsafe_file(result.path, "the file");
        if (problem.empty()) {
            const std::string dir = directory_of(result.path);
            problem = unsafe_file(dir, "its directory " + dir);
        }
        if (!problem.empty()) {
            result.refusal = "refused: " + problem;
            return result;
        }
        problem = elf_problem(result.path);
        if (!problem.empty()) {
            result.refusal = "not a loadable shared object: " + problem;
            return result;
        }
    }
    std::string problem;
    const Opened *opened = open_library(result.path, problem);
    if (opened != nullptr) problem = opened->symbol_problem;
    if (opened != nullptr && problem.empty()) {
        result.descriptor = opened->descriptor;
        problem = check_descriptor(*opened->descriptor);
    }
    result.refusal = problem;
    return result;
}

bool ends_with(const std::string &text, const std::string &suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string joined(const std::vector<std::string> &items) {
    std::string out;
    for (const auto &item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

bool is_directory(const std::string &path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The *.so file names in `dir`, sorted; none when it cannot be read.
std::vector<std::string> plugin_files_in(const std::string &dir) {
    std::vector<std::string> files;
    if (DIR *stream = opendir(dir.c_str())) {
        while (const dirent *entry = readdir(stream)) {
            const std::string file = entry->d_name;
            if (ends_with(file, ".so") && file.size() > 3) files.push_back(file);
        }
        closedir(stream);
    }
    std::sort(files.begin(), files.end());
    return files;
}

// Lower case, '_' as '-': the spellings people mix up in plugin names.
std::string name_key(const std::string &name) {
    std::string key = name;
    for (char &c : key) {
        if (c == '_') c = '-';
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return key;
}

// Levenshtein distance: insertions, deletions and substitutions.
size_t edit_distance(const std::string &a, const std::string &b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// The name in `names` that `wanted` most likely misspells, or "" when none
// is close: at most a third of its letters (and one) differ.
std::string closest_name(const std::string &wanted, const std::vector<std::string> &names) {
    const std::string key = name_key(wanted);
    const size_t limit = std::max<size_t>(1, key.size() / 3);
    std::string best;
    size_t best_distance = limit + 1;
    for (const auto &name : names) {
        const size_t distance = edit_distance(key, name_key(name));
        if (distance < best_distance) {
            best = name;
            best_distance = distance;
        }
    }
    return best;
}

// Why `name` was not found in `dirs`: each directory (missing ones called
// so), the plugins they hold and the closest of those names.
std::string not_found_message(const std::string &name, const std::vector<std::string> &dirs) {
    if (dirs.empty())
        return fmt::format("plugin \"{}\" not found: no plugin directories to search", name);
    std::vector<std::string> searched, installed;
    for (const auto &dir : dirs) {
        searched.push_back(is_directory(dir) ? dir : dir + " (missing)");
        for (const auto &file : plugin_files_in(dir)) {
            const std::string stem = file.substr(0, file.size() - 3);
            if (std::find(installed.begin(), installed.end(), stem) == installed.end())
                installed.push_back(stem);
        }
    }
    std::string message =
        fmt::format("plugin \"{}\" not found: no {}.so in {}", name, name, joined(searched));
    std::sort(installed.begin(), installed.end());
    message += installed.empty() ? "; there are no plugins there"
                                 : fmt::format("; installed: {}", joined(installed));
    const std::string closest = closest_name(name, installed);
    if (!closest.empty()) message += fmt::format("; did you mean \"{}\"?", closest);
    return message;
}

}  // namespace

const char *kind_name(int kind) {
    switch (kind) {
        case ADF_KIND_DNS: return "dns";
        case ADF_KIND_IPADDR: return "ipaddr";
        case ADF_KIND_CHECK: return "check";
        case ADF_KIND_TIMER: return "timer";
        default: return "unknown";
    }
}

std::vector<std::string> plugin_dirs_for(const std::string &executable) {
    const std::string bin = directory_of(executable);
    const std::string build_tree = bin + "/plugins";
    if (is_directory(build_tree)) return {build_tree};
    return {std::filesystem::path(bin + "/" ADF_PLUGIN_DIR_FROM_SBIN).lexically_normal().string()};
}

std::string unsafe_file(const std::string &path, const std::string &what) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0)
        return fmt::format("cannot stat {}: {}", what, std::strerror(errno));
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return fmt::format("{} is owned by {}, not by root or the user running "
                           "autodnsfailover ({}): a plugin runs with the daemon's rights",
                           what, user_name(st.st_uid), user_name(geteuid()));
    const unsigned mode = st.st_mode & 07777;
    if (st.st_mode & S_IWOTH)
        return fmt::format("{} is writable by others (mode {:04o}): run chmod go-w {}", what,
                           mode, path);
    if (st.st_mode & S_IWGRP)
        return fmt::format("{} is writable by its group (mode {:04o}): run chmod go-w {}", what,
                           mode, path);
    return {};
}

std::vector<std::string> default_plugin_dirs() {
    char exe[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return {};
    return plugin_dirs_for(std::string(exe, static_cast<size_t>(n)));
}

Loader::Loader(std::vector<std::string> dirs) : dirs_(std::move(dirs)) {}

Loaded Loader::load(const std::string &name_or_path, int kind) {
    const bool by_name = name_or_path.find('/') == std::string::npos;
    std::string path = name_or_path;
    if (by_name) {
        if (name_or_path.empty()) throw PluginError("plugin name is empty");
        path.clear();
        for (const auto &dir : dirs_) {
            const std::string candidate = dir + "/" + name_or_path + ".so";
            if (access(candidate.c_str(), F_OK) == 0) {
                path = candidate;
                break;
            }
        }
        if (path.empty()) throw PluginError(not_found_message(name_or_path, dirs_));
    }

    const Inspection found = inspect(path);
    if (!found.refusal.empty()) throw PluginError(found.message());
    const adf_plugin_descriptor &d = *found.descriptor;
    if (kind != 0 && static_cast<int>(d.kind) != kind)
        throw PluginError("plugin " + found.path + ": " +
                          fmt::format("is a {} plugin, but the {} slot needs a {} plugin",
                                      kind_name(static_cast<int>(d.kind)), kind_name(kind),
                                      kind_name(kind)));
    if (by_name && name_or_path != d.name)
        throw PluginError("plugin " + found.path + ": " +
                          fmt::format("declares the name \"{}\", not \"{}\": the file name and "
                                      "the plugin's name must agree",
                                      text::printable(text::bounded(d.name, kMaxListedField)),
                                      name_or_path));
    return Loaded{found.path, found.descriptor};
}

std::vector<Listing> Loader::list() {
    std::vector<Listing> rows;
    for (const auto &dir : dirs_) {
        for (const auto &file : plugin_files_in(dir)) {
            const Inspection found = inspect(dir + "/" + file);
            Listing row;
            row.path = found.path;
            row.refusal = found.refusal;
            if (found.descriptor != nullptr) {
                row.abi_major = found.descriptor->abi_major;
                row.abi_minor = found.descriptor->abi_minor;
            }
            if (found.refusal.empty()) {
                const adf_plugin_descriptor &d = *found.descriptor;
                // A plugin's own strings, shown as one bounded printable line each.
                const auto field = [](const char *value, size_t max) {
                    return text::printable(text::bounded(value, max));
                };
                row.kind = static_cast<int>(d.kind);
                row.name = field(d.name, kMaxListedField);
                row.version = field(d.version, kMaxListedField);
                row.summary = field(d.summary, kMaxListedField);
            }
            rows.push_back(std::move(row));
        }
    }
    return rows;
}

std::vector<std::string> Loader::missing_dirs() const {
    std::vector<std::string> missing;
    for (const auto &dir : dirs_)
        if (!is_directory(dir)) missing.push_back(dir);
    return missing;
}

}  // namespace adf::plugin
