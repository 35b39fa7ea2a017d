// Verification codes (safety numbers) that two people compare in person or
// by QR, with the algorithm of Signal's and WhatsApp's safety numbers
// (libsignal NumericFingerprintGenerator, 5200 iterations):
//
//   per party:  h = SHA-512(0x0000 || key || id || key)
//               repeat 5199 times: h = SHA-512(h || key)
//   digits:     the first 30 bytes of h in six 5-byte big-endian chunks,
//               each mod 100000, written as 5 digits (30 digits)
//   pairwise:   the two parties' 30-digit strings sorted and concatenated:
//               60 digits, the same on both phones, shown as 12 groups of 5
//
// In ktlog the key is the account key (32-byte Ed25519) and the id the
// account id (UTF-8), so adding or removing devices never changes a code,
// and an account-key change always does. The scannable form carries a
// version and both 32-byte fingerprints in libsignal's CombinedFingerprints
// encoding (docs/codes.md).
#ifndef KTLOG_VERIFIER_CODES_H_
#define KTLOG_VERIFIER_CODES_H_

#include <array>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ktlog {

inline constexpr int kCodeIterations = 5200;
inline constexpr uint32_t kScannableCodeVersion = 1;

using Fingerprint = std::array<uint8_t, 64>;

// One party's iterated SHA-512 fingerprint of (key, id). Works for any key
// bytes, so the algorithm can be checked against other implementations.
Fingerprint PartyFingerprint(absl::string_view key, absl::string_view id,
                             int iterations = kCodeIterations);

// The 30 digits of a fingerprint.
std::string FingerprintDigits(const Fingerprint& fingerprint);

// Digits in groups of five separated by spaces, `per_line` groups a line.
std::string GroupDigits(absl::string_view digits, int per_line = 4);

class SafetyCode {
 public:
  // The code between "me" (local) and "them" (remote).
  static SafetyCode Compute(absl::string_view local_key,
                            absl::string_view local_id,
                            absl::string_view remote_key,
                            absl::string_view remote_id,
                            int iterations = kCodeIterations);

  // The 60 digits, identical for both parties.
  std::string Digits() const;
  // The scannable bytes: CombinedFingerprints {version, local[:32],
  // remote[:32]} in protobuf encoding (74 bytes).
  std::string Scannable() const;
  // What the QR code holds: "ktlog-code:" + base64url(Scannable()), no
  // padding.
  std::string ScannableText() const;

  // Compares `theirs`, either the 60 digits typed in (spaces and line
  // breaks ignored) or the other party's scanned text, with this code in
  // constant time. True iff it matches. INVALID_ARGUMENT if it is neither
  // form, FAILED_PRECONDITION for a scannable code of another version.
  absl::StatusOr<bool> Matches(absl::string_view theirs) const;

 private:
  std::string local_digits_, remote_digits_;
  std::string local_fp_, remote_fp_;  // first 32 bytes of each
};

// One's own 30-digit public verification code, grouped (6 groups of 5).
std::string PublicCode(absl::string_view key, absl::string_view id);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_CODES_H_
