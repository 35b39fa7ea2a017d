// Refusal: why the verifier refused a checkpoint, an answer or an
// account's change, as a name (as akd's VerificationError), carried on the
// returned absl::Status as a payload next to its code and message. Apps,
// the C API and tests act on the name, never on the message text; the
// alert a refusal raises (AlertFor) and ktctl's exit code (every refusal
// but kMalformedAnswer is a verification failure) are mapped from it here
// and nowhere else.
#ifndef KTLOG_VERIFIER_REFUSAL_H_
#define KTLOG_VERIFIER_REFUSAL_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "verifier/alerts.h"

namespace ktlog {

// The numbers are part of the C API (verifier/c/ktlog_client.h): append
// only.
enum class Refusal : int {
  kNone = 0,
  // An answer that is malformed or incomplete (INVALID_ARGUMENT): not
  // evidence; the log or the network is broken.
  kMalformedAnswer = 1,
  // Evidence in a lookup or history answer (DATA_LOSS, alert
  // INVALID_PROOF):
  kBadVrfProof = 2,           // the account's position is not the VRF's
  kBadIndexProof = 3,         // the index does not commit to what was opened
  kBadInclusionProof = 4,     // a leaf is not in the checkpoint's tree
  kBadLeaf = 5,               // a leaf malformed or at another position
  kBadCommitment = 6,         // a record or state does not open its leaf's
  kBadRecordSignature = 7,    // a committed record's signature fails
  kBrokenKeyChain = 8,        // a key that does not descend from the first
  kUnauthorizedDevice = 9,    // a device not signed by the key in force
  kBrokenAccountRules = 10,   // committed records that break the rules
  kInconsistentAccount = 11,  // histories, index and what was seen disagree
  // Checkpoints:
  kBadSignature = 12,         // not signed by the pinned key or a witness
  kMissingCosignatures = 13,  // fewer than the quorum of witnesses
  kBadTimestamp = 14,         // dated ahead, or going back in time
  kStaleLog = 15,             // too old, or the own account kept unchecked
  kFork = 16,                 // two signed trees no history joins
  kRollback = 17,             // smaller than one trusted before
  kBadConsistencyProof = 18,  // a proof that does not verify
  // Accounts:
  kAccountVanished = 19,        // an account seen before proved absent
  kContactKeyChanged = 20,      // not the key the user verified
  kContactDeviceUnsigned = 21,  // a device the verified key did not sign
  kClonedSecurityKey = 22,      // an own security key's counter went back
  kAccountReset = 23,           // a verified contact was reset since
  // Not evidence, no alert (NOT_FOUND): the log proved that the account
  // existed and says it erased it on request (docs/operations.md,
  // "Erasure"); its devices can no longer be verified.
  kAccountErased = 24,
};

// One more than the largest Refusal.
inline constexpr int kRefusalCount = 25;

// "BAD_VRF_PROOF" and so on; "NONE" (views of string literals: NUL-
// terminated).
absl::string_view RefusalName(Refusal refusal);

// `status` (not OK) carrying `refusal`.
absl::Status WithRefusal(absl::Status status, Refusal refusal);
// The refusal `status` carries; kNone if none (OK, or an error that is no
// verification's: the log unreachable, a bad argument...).
Refusal RefusalOf(const absl::Status& status);

// The alert a refusal raises. kMalformedAnswer is no evidence by itself,
// but ClientVerifier raises INVALID_PROOF for it when the log answered a
// lookup or history at a checkpoint it signed (or sent a checkpoint) with
// something malformed: the answer is kept, and the call's alerts say so.
AlertType AlertFor(Refusal refusal);

// Whether `refusal` is evidence that the log (or a witness) misbehaved or
// that an account changed against the user's verification: everything but
// kNone, kMalformedAnswer and kAccountErased.
bool IsVerificationFailure(Refusal refusal);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_REFUSAL_H_
