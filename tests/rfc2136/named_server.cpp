#include "named_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "ldns_handles.h"

namespace fs = std::filesystem;

namespace rfc2136_test {

namespace {

uint16_t free_port() {
    const adf::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    adf::SocketAddress address = *adf::socket_address("127.0.0.1");
    ::bind(fd.get(), address.get(), address.length);
    ::getsockname(fd.get(), address.get(), &address.length);
    return address.port();
}

std::string zone_text(const std::vector<std::string> &records) {
    std::string text =
        "$TTL 300\n$ORIGIN example.test.\n"
        "@ IN SOA ns1 hostmaster ( 1 3600 600 86400 60 )\n"
        "  IN NS ns1\n"
        "ns1 IN A 127.0.0.1\n";
    for (const std::string &record : records) text += record + "\n";
    return text;
}

}  // namespace

bool named_available() {
    return std::system("command -v named > /dev/null 2>&1") == 0;
}

std::string random_secret(size_t bytes) {
    std::random_device random;
    std::vector<uint8_t> data(bytes);
    for (uint8_t &byte : data) byte = static_cast<uint8_t>(random());
    rfc2136::RdfPtr rdf(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_B64, data.size(), data.data()));
    rfc2136::CharPtr text(ldns_rdf2str(rdf.get()));
    return text.get();
}

NamedServer::NamedServer(const std::vector<std::string> &records)
    : key_{"ddns-key", "hmac-sha256", random_secret()} {
    std::string pattern = "/tmp/rfc2136-named-" + std::string(6, 'X');  // mkdtemp's template
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    directory_ = pattern;
    for (int attempt = 0; attempt < 3; ++attempt) {  // a free port may be taken meanwhile
        if (start(records) && wait_ready()) return;
        stop();
    }
    const std::string text = log();
    fs::remove_all(directory_);
    throw std::runtime_error("named did not start; its log:\n" + text);
}

NamedServer::~NamedServer() {
    stop();
    fs::remove_all(directory_);
}

bool NamedServer::start(const std::vector<std::string> &records) {
    port_ = free_port();
    const std::string dir = directory_.string();
    std::ofstream(directory_ / "example.test.db") << zone_text(records);
    for (const auto &entry : fs::directory_iterator(directory_))
        if (entry.path().extension() == ".jnl") fs::remove(entry.path());
    std::ofstream(directory_ / "named.conf")
        << "key \"" << key_.name << "\" { algorithm " << key_.algorithm << "; secret \""
        << key_.secret << "\"; };\n"
        << "options { directory \"" << dir << "\"; pid-file \"" << dir << "/named.pid\";\n"
        << "  listen-on port " << port_ << " { 127.0.0.1; }; listen-on-v6 { none; };\n"
        << "  recursion no; allow-query { any; }; dnssec-validation no; notify no;\n"
        << "  session-keyfile \"" << dir << "/session.key\"; managed-keys-directory \"" << dir
        << "\"; };\n"
        << "controls { };\n"
        << "zone \"example.test\" { type primary; file \"" << dir
        << "/example.test.db\"; allow-update { key \"" << key_.name << "\"; }; };\n";
    const std::string conf = (directory_ / "named.conf").string();
    const std::string log_path = (directory_ / "named.log").string();
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
        const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        ::execlp("named", "named", "-g", "-c", conf.c_str(), static_cast<char *>(nullptr));
        ::_exit(127);
    }
    return true;
}

// Ready when it answers authoritatively for a name of the zone.
bool NamedServer::wait_ready() {
    rfc2136::ClientOptions quick = unsigned_options();
    quick.timeout = 0.2;
    rfc2136::Client client(quick);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        try {
            if (client.read("ns1.example.test", ADF_FAMILY_IPV4).size() == 1) return true;
        } catch (const adf::Error &) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    return false;
}

void NamedServer::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int waited = 0; waited < 1000; ++waited) {  // up to 10 s
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

rfc2136::ClientOptions NamedServer::options_with_key(const rfc2136::TsigKey &key) const {
    rfc2136::ClientOptions options = unsigned_options();
    options.key = key;
    return options;
}

rfc2136::ClientOptions NamedServer::options() const { return options_with_key(key_); }

rfc2136::ClientOptions NamedServer::unsigned_options() const {
    rfc2136::ClientOptions options;
    options.server = *adf::socket_address("127.0.0.1", port_);
    options.zone = "example.test";
    options.timeout = 3.0;
    return options;
}

std::string NamedServer::log() const {
    std::ifstream in(directory_ / "named.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace rfc2136_test
