// The host side of plugin.h: the services table handed to plugins, and an
// Instance that owns one created plugin instance and its adf_host.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <autodnsfailover/plugin.h>

#include "config/config.h"
#include "config/string_source.h"
#include "net/address.h"
#include "plugin/loader.h"

namespace adf::plugin {

using config::kMaxSecretFileBytes;

// What a plugin's calls are about, added to the lines it logs.
struct CallContext {
    std::string fqdn;
    std::string peer;
};

// One live plugin instance. create() runs the plugin's create() with the
// section's settings, and fails with a ConfigError naming every bad or
// unknown key (with its full JSON path) when the plugin rejects them.
class Instance {
   public:
    static std::unique_ptr<Instance> create(const Loaded &plugin,
                                            const config::PluginSection &section);
    ~Instance();  // calls the plugin's destroy()
    Instance(const Instance &) = delete;
    Instance &operator=(const Instance &) = delete;

    const adf_plugin_descriptor &descriptor() const;
    const std::string &name() const;  // the plugin's declared name
    void *handle() const;             // the plugin's instance pointer
    const adf_host_services *services() const;
    adf_host *host() const;

    // Sets what the next calls are about (for the plugin's log lines).
    void set_context(const CallContext &context);
    // The message of the last set_error() since the last take (then cleared).
    std::string take_error();

    struct State;  // defined in host.cpp

   private:
    explicit Instance(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

// A record sink for one adf_dns_ops.read call: collects validated records.
struct ReadRecord {
    Address address;
    uint32_t ttl = 0;
    std::string note;
};

class RecordCollector {
   public:
    explicit RecordCollector(int family);
    adf_record_sink *sink();
    // False when the plugin emitted something that is not an address of the
    // family; invalid() then names it.
    bool valid() const;
    const std::string &invalid() const;
    // The records, sorted numerically, duplicates merged.
    std::vector<ReadRecord> take();

   private:
    struct Sink;
    std::shared_ptr<Sink> sink_;
};

}  // namespace adf::plugin
