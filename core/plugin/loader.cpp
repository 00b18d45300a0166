#include "plugin/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace adf::plugin {

namespace {

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

std::string null_function(const char *kind, const char *function) {
    return fmt::format("its {} ops function {} is NULL", kind, function);
}

std::string check_ops(const adf_plugin_descriptor &d) {
    if (d.ops == nullptr) return "its ops table is NULL";
    std::string problem;
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
    std::vector<std::string> dirs{ADF_PLUGIN_INSTALL_DIR};
    char exe[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) dirs.push_back(directory_of(std::string(exe, static_cast<size_t>(n))) + "/plugins");
    return dirs;
}

Loader::Loader(std::vector<std::string> dirs) : dirs_(std::move(dirs)) {}

Loaded Loader::load(const std::string &name_or_path, int kind) {
    const bool by_name = name_or_path.find('/') == std::string::npos;
    std::string path = name_or_path;
    if (by_name) {
        if (name_or_path.empty()) throw PluginError("plugin name is empty");
        const std::string file = name_or_path + ".so";
        std::vector<std::string> searched;
        path.clear();
        for (const auto &dir : dirs_) {
            const std::string candidate = dir + "/" + file;
            searched.push_back(dir);
            if (access(candidate.c_str(), F_OK) == 0) {
                path = candidate;
                break;
            }
        }
        if (path.empty())
            throw PluginError(
                searched.empty()
                    ? fmt::format("plugin \"{}\" not found: no plugin directories to search",
                                  name_or_path)
                    : fmt::format("plugin \"{}\" not found: no {} in {}", name_or_path, file,
                                  joined(searched)));
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
                                      d.name, name_or_path));
    return Loaded{found.path, found.descriptor};
}

std::vector<Listing> Loader::list() {
    std::vector<Listing> rows;
    for (const auto &dir : dirs_) {
        std::vector<std::string> files;
        if (DIR *stream = opendir(dir.c_str())) {
            while (const dirent *entry = readdir(stream)) {
                const std::string file = entry->d_name;
                if (ends_with(file, ".so") && file.size() > 3) files.push_back(file);
            }
            closedir(stream);
        }
        std::sort(files.begin(), files.end());
        for (const auto &file : files) {
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
                row.kind = static_cast<int>(d.kind);
                row.name = d.name;
                row.version = d.version ? d.version : "";
                row.summary = d.summary ? d.summary : "";
            }
            rows.push_back(std::move(row));
        }
    }
    return rows;
}

}  // namespace adf::plugin
