#include "verifier/alerts.h"

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"

namespace ktlog {
namespace {

struct Name {
  AlertType type;
  const char* name;
};

constexpr Name kNames[] = {
    {AlertType::kUnexpectedDevice, "UNEXPECTED_DEVICE"},
    {AlertType::kUnexpectedKeyChange, "UNEXPECTED_KEY_CHANGE"},
    {AlertType::kUnexpectedRemoval, "UNEXPECTED_REMOVAL"},
    {AlertType::kUnexpectedBackup, "UNEXPECTED_BACKUP"},
    {AlertType::kContactKeyChanged, "CONTACT_KEY_CHANGED"},
    {AlertType::kContactDeviceUnsigned, "CONTACT_DEVICE_UNSIGNED"},
    {AlertType::kClonedSecurityKey, "CLONED_SECURITY_KEY"},
    {AlertType::kAccountVanished, "ACCOUNT_VANISHED"},
    {AlertType::kAccountReset, "ACCOUNT_RESET"},
    {AlertType::kLogFork, "LOG_FORK"},
    {AlertType::kRollback, "ROLLBACK"},
    {AlertType::kBadSignature, "BAD_SIGNATURE"},
    {AlertType::kInvalidProof, "INVALID_PROOF"},
    {AlertType::kBadTimestamp, "BAD_TIMESTAMP"},
    {AlertType::kStaleLog, "STALE_LOG"},
    {AlertType::kMissingCosignatures, "MISSING_COSIGNATURES"},
};

}  // namespace

absl::string_view AlertTypeName(AlertType type) {
  for (const Name& n : kNames) {
    if (n.type == type) return n.name;
  }
  return "UNKNOWN";
}

bool AlertTypeFromName(absl::string_view name, AlertType* type) {
  for (const Name& n : kNames) {
    if (name == n.name) {
      *type = n.type;
      return true;
    }
  }
  return false;
}

void Alert::SetId(absl::string_view dedup_key) {
  // All 256 bits: alerts are deduplicated by id, and a log that could make
  // a new event's id collide with a stored one (it chooses openings and
  // times, so it can grind) would silence the alert.
  id = Sha256({AlertTypeName(type), "\n", account, "\n", dedup_key}).ToHex();
}

nlohmann::json Alert::ToJson() const {
  return {{"id", id},
          {"type", std::string(AlertTypeName(type))},
          {"raised_at_ms", raised_at_ms},
          {"account", account},
          {"message", message},
          {"evidence", evidence},
          {"acknowledged_at_ms", acknowledged_at_ms}};
}

bool Alert::FromJson(const nlohmann::json& j, Alert* out) {
  if (!j.is_object()) return false;
  try {
    Alert a;
    a.id = j.at("id").get<std::string>();
    if (!AlertTypeFromName(j.at("type").get<std::string>(), &a.type)) {
      return false;
    }
    a.raised_at_ms = j.at("raised_at_ms").get<uint64_t>();
    a.account = j.at("account").get<std::string>();
    a.message = j.at("message").get<std::string>();
    a.evidence = j.at("evidence");
    // Absent in states written before alerts could be acknowledged.
    a.acknowledged_at_ms = j.value("acknowledged_at_ms", uint64_t{0});
    *out = std::move(a);
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

nlohmann::json HashesToJson(const std::vector<Hash>& hashes) {
  nlohmann::json j = nlohmann::json::array();
  for (const Hash& h : hashes) j.push_back(h.ToHex());
  return j;
}

}  // namespace ktlog
