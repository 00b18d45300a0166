// Where the route53 plugin's AWS credentials come from, in this order: the
// config keys, the AWS_* environment variables, the EC2 instance role
// (through IMDSv2, refreshed before the role's credentials expire).
#pragma once

#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/result.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../aws-common/imds.hpp"

namespace route53 {

struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  // empty for long-term keys
};

// The instance role's credentials document from instance metadata, and
// when they expire (nothing when Expiration cannot be read).
struct RoleCredentials {
    Credentials credentials;
    std::optional<std::chrono::system_clock::time_point> expiration;
};

// `body` read strictly: a JSON object with Code Success (or none), a
// non-empty AccessKeyId and SecretAccessKey, every value printable ASCII
// (they become request headers). The failure reason continues "the
// instance role credentials from URL ...". Pure: no I/O.
adf::Result<RoleCredentials> role_credentials(std::string_view body);

class CredentialSource {
   public:
    // Fixed credentials; `origin` says where they came from, for logs.
    CredentialSource(Credentials fixed, std::string origin);
    // The instance role's credentials, fetched from instance metadata.
    explicit CredentialSource(adf_aws::ImdsSettings metadata);

    // Current credentials; may ask the metadata service (throws adf::Error).
    const Credentials &current();
    // After AWS said ExpiredToken: true when fresh ones can be fetched.
    bool forget_expired();
    const std::string &origin() const { return origin_; }
    // Values that must never appear in a log line or error message.
    std::vector<std::string> secrets() const;

   private:
    void fetch_instance_role();

    std::optional<Credentials> credentials_;
    std::string origin_;
    std::unique_ptr<adf_aws::ImdsClient> metadata_;  // only for the instance role
    std::chrono::system_clock::time_point refresh_at_{};
};

// Replaces every secret in `text` by "[redacted]".
std::string redacted(std::string text, const std::vector<std::string> &secrets);

}  // namespace route53
