// Alerts: what a client raises when the log or an account does something the
// user did not expect (docs/verifier.md, "Alerts"). Typed, structured
// (JSON), persisted in the client state, deduplicated by id, and carrying
// their evidence: the signed checkpoints and records that show someone else
// what happened.
#ifndef KTLOG_VERIFIER_ALERTS_H_
#define KTLOG_VERIFIER_ALERTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"
#include "nlohmann/json.hpp"

namespace ktlog {

enum class AlertType {
  // Own account: a record this client did not sign.
  kUnexpectedDevice,     // a device was added (also if removed again since)
  kUnexpectedKeyChange,  // the account key was rotated
  kUnexpectedRemoval,    // a device was removed
  kUnexpectedBackup,     // a trust backup was recorded that this client
                         // did not make or restore from (a restore from
                         // an older backup than the latest)
  kClonedSecurityKey,    // one of the account's security keys signed with
                         // a counter the account has seen: a copy signed
  // Contacts.
  kContactKeyChanged,      // the contact's account key is not the one seen /
                           // verified before (their safety code changed)
  kContactDeviceUnsigned,  // a verified contact has a device not signed by
                           // the verified key, nor among its devices when
                           // verified
  kAccountVanished,        // an account seen before is proved absent
  // Both: the account was reset by the log's operator (every key lost):
  // its authority no longer descends from its earlier keys. Raised to the
  // owner (unless this client made the reset) and to every contact.
  kAccountReset,
  // The log.
  kLogFork,              // two signed checkpoints that no history can join
  kRollback,             // a signed checkpoint smaller than a trusted one
  kBadSignature,         // a checkpoint not signed by the pinned log key
  kInvalidProof,         // a proof or answer that does not verify
  kBadTimestamp,         // a checkpoint dated in the future or going backwards
  kStaleLog,             // no checkpoint fresher than the allowed age
  kMissingCosignatures,  // not enough witnesses cosigned the checkpoint
};

// "UNEXPECTED_DEVICE", "LOG_FORK", ...
absl::string_view AlertTypeName(AlertType type);
bool AlertTypeFromName(absl::string_view name, AlertType* type);

struct Alert {
  // Stable for the same event, unique for different ones: the lowercase
  // hex SHA-256 of the type, the account and the dedup key (64 digits;
  // ktctl shows the first 16 and takes any unique prefix).
  std::string id;
  AlertType type = AlertType::kInvalidProof;
  uint64_t raised_at_ms = 0;
  std::string account;  // the account concerned; empty for log alerts
  std::string message;  // one line for a person
  nlohmann::json evidence = nlohmann::json::object();
  // When the user acknowledged it (`ktctl alerts ack`, or comparing codes
  // again for a CONTACT_KEY_CHANGED); 0 while it is new. An acknowledged
  // alert is kept, with its evidence, and not raised again.
  uint64_t acknowledged_at_ms = 0;

  // Sets id from the type, account and `dedup_key` (what makes two events
  // the same: e.g. the offending record's leaf hash).
  void SetId(absl::string_view dedup_key);

  nlohmann::json ToJson() const;
  // False if `j` is not an alert.
  static bool FromJson(const nlohmann::json& j, Alert* out);
};

// Evidence: `hashes` as a JSON array of lowercase hex strings (proofs).
nlohmann::json HashesToJson(const std::vector<Hash>& hashes);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_ALERTS_H_
