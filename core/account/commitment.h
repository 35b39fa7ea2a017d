// Commitments of the private directory (docs/formats.md, "Commitments"):
// HMAC-SHA256 under a fixed public key (IETF keytrans's Kc) over a fresh
// 16-byte opening and a value bound to one account and version. The public
// log carries commitments; the log reveals openings only to someone who
// names the account.
#ifndef KTLOG_CORE_ACCOUNT_COMMITMENT_H_
#define KTLOG_CORE_ACCOUNT_COMMITMENT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"

namespace ktlog {

inline constexpr size_t kOpeningSize = 16;

enum class CommitmentKind : uint8_t {
  kRecord = 1,  // value: a record's bytes
  kState = 2,   // value: the account state encoding after a record
};

// HMAC-SHA256(K, opening || kind || u16+n account_id || u64 version ||
// u32 length || value). Requires opening.size() == kOpeningSize.
Hash Commit(absl::string_view opening, CommitmentKind kind,
            absl::string_view account_id, uint64_t version,
            absl::string_view value);

// A fresh opening from the CSPRNG.
std::string NewOpening();

// OK iff `opening` opens `commitment` to the other arguments.
// INVALID_ARGUMENT if the opening is not 16 bytes; DATA_LOSS if it does not
// open the commitment (evidence against whoever sent both).
absl::Status CheckOpening(const Hash& commitment, absl::string_view opening,
                          CommitmentKind kind, absl::string_view account_id,
                          uint64_t version, absl::string_view value);

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_COMMITMENT_H_
