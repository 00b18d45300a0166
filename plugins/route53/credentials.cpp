#include "credentials.hpp"

#include <autodnsfailover/json.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <sstream>

namespace route53 {
namespace {

using adf::json::string_member;

constexpr const char *kRolesPath = "/latest/meta-data/iam/security-credentials/";

// EC2 makes new role credentials available at least five minutes before the
// old ones expire; fetching them then leaves room for slow rounds.
constexpr std::chrono::minutes kRefreshMargin{5};
// When Expiration cannot be read, ask again after this long.
constexpr std::chrono::minutes kRefreshFallback{5};

// "2026-11-26T18:08:30Z" -> a point in time (UTC). Years outside 2000-2199
// are no expiry of credentials issued now (and far ones would overflow the
// clock's nanoseconds): unreadable, so refreshed after the fallback delay.
std::optional<std::chrono::system_clock::time_point> parse_expiration(const std::string &text) {
    std::tm parts{};
    std::istringstream in(text);
    in >> std::get_time(&parts, "%Y-%m-%dT%H:%M:%S");
    if (in.fail() || parts.tm_year < 100 || parts.tm_year >= 300) return std::nullopt;
    const time_t seconds = timegm(&parts);
    if (seconds == static_cast<time_t>(-1)) return std::nullopt;
    return std::chrono::system_clock::from_time_t(seconds);
}

// Credential values go into request headers: anything but printable ASCII
// would let the metadata service's answer inject a header.
bool is_header_safe(const std::string &value) {
    return std::all_of(value.begin(), value.end(),
                       [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

adf::Result<RoleCredentials> role_credentials(std::string_view body) {
    using Out = adf::Result<RoleCredentials>;
    const adf::Result<nlohmann::json> parsed = adf::json::parse(body);
    if (!parsed || !parsed->is_object())
        return Out::failure("are not a JSON object" + (parsed ? "" : ": " + parsed.reason()));
    const nlohmann::json &document = *parsed;
    const std::string code = string_member(document, "Code");
    if (!code.empty() && code != "Success")
        return Out::failure("say Code " + adf::excerpt(code, 60) + " instead of Success");
    RoleCredentials out;
    out.credentials = {string_member(document, "AccessKeyId"),
                       string_member(document, "SecretAccessKey"), string_member(document, "Token")};
    const Credentials &c = out.credentials;
    if (c.access_key_id.empty() || c.secret_access_key.empty())
        return Out::failure("lack AccessKeyId or SecretAccessKey");
    for (const auto &[name, value] : {std::pair{"AccessKeyId", &c.access_key_id},
                                      std::pair{"SecretAccessKey", &c.secret_access_key},
                                      std::pair{"Token", &c.session_token}})
        if (!is_header_safe(*value))
            return Out::failure(std::string("hold a ") + name +
                                " with characters no AWS credential has (white space, control "
                                "or non-ASCII characters)");
    out.expiration = parse_expiration(string_member(document, "Expiration"));
    return out;
}

CredentialSource::CredentialSource(Credentials fixed, std::string origin)
    : credentials_(std::move(fixed)), origin_(std::move(origin)) {}

CredentialSource::CredentialSource(adf_aws::ImdsSettings metadata)
    : origin_("the EC2 instance role"),
      metadata_(std::make_unique<adf_aws::ImdsClient>(std::move(metadata))) {}

const Credentials &CredentialSource::current() {
    if (metadata_ && (!credentials_ || std::chrono::system_clock::now() >= refresh_at_))
        fetch_instance_role();
    return *credentials_;
}

bool CredentialSource::forget_expired() {
    if (!metadata_) return false;
    credentials_.reset();
    return true;
}

std::vector<std::string> CredentialSource::secrets() const {
    if (!credentials_) return {};
    return {credentials_->secret_access_key, credentials_->session_token};
}

void CredentialSource::fetch_instance_role() {
    const std::string roles_url = metadata_->endpoint() + kRolesPath;
    const auto no_credentials = [&](const std::string &why) {
        return adf::Error(ADF_FAILED,
                          "no AWS credentials: access_key_id/secret_access_key are not set, "
                          "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not in the environment, "
                          "and " + why);
    };
    const std::optional<std::string> roles = metadata_->get(kRolesPath);
    if (!roles) throw no_credentials("the instance has no IAM role (404 from " + roles_url + ")");
    const std::string role = roles->substr(0, roles->find_first_of("\r\n"));
    if (role.empty())
        throw no_credentials("the instance has no IAM role (" + roles_url + " is empty)");
    // IAM role names: letters, digits and +=,.@_- (it goes into the next URL).
    if (role.size() > 64 || role.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
                                                   "rstuvwxyz0123456789+=,.@_-") != std::string::npos)
        throw adf::Error(ADF_FAILED, "instance metadata " + roles_url + " answered " +
                                         adf::excerpt(role, 80) + ", which is not an IAM role name");

    const std::string role_url = roles_url + role;
    const std::optional<std::string> body = metadata_->get(kRolesPath + role);
    if (!body)
        throw no_credentials("the IAM role \"" + role + "\" has no credentials (404 from " +
                             role_url + ")");
    adf::Result<RoleCredentials> fresh = role_credentials(*body);
    if (!fresh)
        throw adf::Error(ADF_FAILED,
                         "the instance role credentials from " + role_url + " " + fresh.reason());
    const auto now = std::chrono::system_clock::now();
    refresh_at_ = fresh->expiration ? *fresh->expiration - kRefreshMargin : now + kRefreshFallback;
    credentials_ = std::move(fresh->credentials);
    origin_ = "the EC2 instance role \"" + role + "\"";
}

std::string redacted(std::string text, const std::vector<std::string> &secrets) {
    for (const std::string &secret : secrets) {
        if (secret.empty()) continue;
        for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
            text.replace(at, secret.size(), "[redacted]");
    }
    return text;
}

}  // namespace route53
