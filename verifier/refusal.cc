#include "verifier/refusal.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"

namespace ktlog {
namespace {

constexpr char kPayload[] = "type.ktlog.dev/refusal";

struct Row {
  Refusal refusal;
  absl::string_view name;
  AlertType alert;
};

constexpr Row kRows[] = {
    {Refusal::kNone, "NONE", AlertType::kInvalidProof},
    {Refusal::kMalformedAnswer, "MALFORMED_ANSWER", AlertType::kInvalidProof},
    {Refusal::kBadVrfProof, "BAD_VRF_PROOF", AlertType::kInvalidProof},
    {Refusal::kBadIndexProof, "BAD_INDEX_PROOF", AlertType::kInvalidProof},
    {Refusal::kBadInclusionProof, "BAD_INCLUSION_PROOF",
     AlertType::kInvalidProof},
    {Refusal::kBadLeaf, "BAD_LEAF", AlertType::kInvalidProof},
    {Refusal::kBadCommitment, "BAD_COMMITMENT", AlertType::kInvalidProof},
    {Refusal::kBadRecordSignature, "BAD_RECORD_SIGNATURE",
     AlertType::kInvalidProof},
    {Refusal::kBrokenKeyChain, "BROKEN_KEY_CHAIN", AlertType::kInvalidProof},
    {Refusal::kUnauthorizedDevice, "UNAUTHORIZED_DEVICE",
     AlertType::kInvalidProof},
    {Refusal::kBrokenAccountRules, "BROKEN_ACCOUNT_RULES",
     AlertType::kInvalidProof},
    {Refusal::kInconsistentAccount, "INCONSISTENT_ACCOUNT",
     AlertType::kInvalidProof},
    {Refusal::kBadSignature, "BAD_SIGNATURE", AlertType::kBadSignature},
    {Refusal::kMissingCosignatures, "MISSING_COSIGNATURES",
     AlertType::kMissingCosignatures},
    {Refusal::kBadTimestamp, "BAD_TIMESTAMP", AlertType::kBadTimestamp},
    {Refusal::kStaleLog, "STALE_LOG", AlertType::kStaleLog},
    {Refusal::kFork, "FORK", AlertType::kLogFork},
    {Refusal::kRollback, "ROLLBACK", AlertType::kRollback},
    {Refusal::kBadConsistencyProof, "BAD_CONSISTENCY_PROOF",
     AlertType::kInvalidProof},
    {Refusal::kAccountVanished, "ACCOUNT_VANISHED",
     AlertType::kAccountVanished},
    {Refusal::kContactKeyChanged, "CONTACT_KEY_CHANGED",
     AlertType::kContactKeyChanged},
    {Refusal::kContactDeviceUnsigned, "CONTACT_DEVICE_UNSIGNED",
     AlertType::kContactDeviceUnsigned},
    {Refusal::kClonedSecurityKey, "CLONED_SECURITY_KEY",
     AlertType::kClonedSecurityKey},
    {Refusal::kAccountReset, "ACCOUNT_RESET", AlertType::kAccountReset},
    // Raises no alert (AlertFor is never asked for it).
    {Refusal::kAccountErased, "ACCOUNT_ERASED", AlertType::kInvalidProof},
};

const Row& RowOf(Refusal refusal) {
  for (const Row& row : kRows) {
    if (row.refusal == refusal) return row;
  }
  return kRows[0];
}

}  // namespace

absl::string_view RefusalName(Refusal refusal) { return RowOf(refusal).name; }

absl::Status WithRefusal(absl::Status status, Refusal refusal) {
  if (!status.ok()) {
    status.SetPayload(kPayload,
                      absl::Cord(std::to_string(static_cast<int>(refusal))));
  }
  return status;
}

Refusal RefusalOf(const absl::Status& status) {
  auto payload = status.GetPayload(kPayload);
  int n = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &n)) {
    return Refusal::kNone;
  }
  return RowOf(static_cast<Refusal>(n)).refusal;
}

AlertType AlertFor(Refusal refusal) { return RowOf(refusal).alert; }

bool IsVerificationFailure(Refusal refusal) {
  return refusal != Refusal::kNone && refusal != Refusal::kMalformedAnswer &&
         refusal != Refusal::kAccountErased;
}

}  // namespace ktlog
