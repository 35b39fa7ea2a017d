// The public log leaf of the private directory (docs/formats.md, "Log leaf,
// format 2"): an account's position (the VRF output of its id), its version,
// the log's timestamp and two commitments; no account id, device or key.
// Also what the account index maps a leaf to (docs/index.md).
#ifndef KTLOG_CORE_ACCOUNT_LEAF_H_
#define KTLOG_CORE_ACCOUNT_LEAF_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"

namespace ktlog {

inline constexpr uint8_t kLeafFormat = 2;
inline constexpr size_t kLeafSize = 1 + 32 + 8 + 8 + 32 + 32;

struct Leaf {
  Hash position;  // VRF output of the account id
  uint64_t version = 0;
  uint64_t timestamp_ms = 0;
  Hash record_commitment;
  Hash state_commitment;

  std::string Encode() const;
  friend bool operator==(const Leaf& a, const Leaf& b) {
    return a.position == b.position && a.version == b.version &&
           a.timestamp_ms == b.timestamp_ms &&
           a.record_commitment == b.record_commitment &&
           a.state_commitment == b.state_commitment;
  }
};

// INVALID_ARGUMENT unless `data` is a canonical leaf encoding (format byte,
// exactly kLeafSize bytes, version >= 1).
absl::StatusOr<Leaf> DecodeLeaf(absl::string_view data);

// The commitment an erasure leaf holds in both places (docs/formats.md,
// "Erasure leaf"): SHA-256("ktlog erased account v1\n"). A record or state
// commitment (HMAC-SHA256 under a fresh random opening) equals it with
// negligible probability only.
const Hash& ErasedCommitment();
// Whether `leaf` records the erasure of its account on request: both
// commitments are ErasedCommitment(). It is the position's last leaf.
bool IsErasure(const Leaf& leaf);

// The VRF input of an account id: "ktlog/v1 account\n" || account id.
std::string AccountVrfInput(absl::string_view account_id);

// The account index value of an account at `version` whose state commits
// to `state_commitment`: SHA-256(0x12 || u64 version || state commitment).
Hash IndexValueHash(uint64_t version, const Hash& state_commitment);

// The index entry a leaf sets: (position, IndexValueHash(...)).
inline std::pair<Hash, Hash> IndexEntryOf(const Leaf& leaf) {
  return {leaf.position, IndexValueHash(leaf.version, leaf.state_commitment)};
}

// A position's latest index entry as stored: the version and state
// commitment of its latest leaf. The log (log/storage/) and the auditor keep
// one per position and rebuild the account index from them at start.
struct IndexEntry {
  Hash position;
  uint64_t version = 0;
  Hash state_commitment;

  Hash value_hash() const { return IndexValueHash(version, state_commitment); }
};

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_LEAF_H_
