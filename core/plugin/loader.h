// Finds plugin files, dlopen()s them and checks their descriptors before any
// plugin code is called. Libraries are never unloaded: descriptors and their
// ops stay valid for the life of the process.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <autodnsfailover/plugin.h>

namespace adf::plugin {

// A plugin that cannot be used; what() names the file and the reason.
class PluginError : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
};

struct Loaded {
    std::string path;  // the real path of the file
    const adf_plugin_descriptor *descriptor = nullptr;
};

// One row of `autodnsfailover plugins`.
struct Listing {
    std::string path;
    std::string name, version, summary;  // empty when refused
    int kind = 0;
    int abi_major = 0, abi_minor = 0;
    std::string refusal;  // empty when usable
};

// "dns", "ipaddr", "check", "timer" (and "unknown").
const char *kind_name(int kind);

// The directory searched when the config names none, found from the
// running binary (see plugin_dirs_for).
std::vector<std::string> default_plugin_dirs();

// The plugin directory of the daemon at `executable`: plugins/ next to it
// when that exists (a build tree uses its own plugins, never installed
// ones), else the install directory at its place relative to the binary
// (<prefix>/sbin -> <prefix>/<libdir>/autodnsfailover/plugins), so that an
// installed tree keeps working wherever it is moved.
std::vector<std::string> plugin_dirs_for(const std::string &executable);

// Why the daemon must not run code from `path`: someone other than root or
// the daemon's user could change it (owner, group or world write bit).
// Empty when it may. `what` names the file or directory in the message.
std::string unsafe_file(const std::string &path, const std::string &what);

class Loader {
   public:
    explicit Loader(std::vector<std::string> dirs);

    // Loads `name_or_path` (a name searched as <dir>/<name>.so in order, or a
    // path when it contains a '/') for a slot of `kind`. Throws PluginError:
    // not found (listing the directories searched, which of them are
    // missing, the plugins they do hold and the closest name), not a shared object,
    // missing entry symbol, ABI major mismatch or newer minor, wrong kind,
    // declared name differing from the requested one, file or directory
    // writable by others than root or its owner. Kind 0 accepts any kind.
    Loaded load(const std::string &name_or_path, int kind);

    // Every *.so in the directories, usable or not, in directory order.
    std::vector<Listing> list();

    // The directories that do not exist (or are not directories).
    std::vector<std::string> missing_dirs() const;

    const std::vector<std::string> &dirs() const { return dirs_; }

   private:
    std::vector<std::string> dirs_;
};

}  // namespace adf::plugin
