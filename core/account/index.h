// The verifiable account index (docs/index.md): a sparse Merkle tree over
// 256-bit keys, key = the account's position (the VRF output of its id),
// value = IndexValueHash(version, state commitment) (core/account/leaf.h).
// Each checkpoint commits to its root, so a lookup proves an account's
// complete state (membership) or that the account does not exist (absence)
// in O(log n) hashes.
//
// Tree shape (unique for a given set of keys): a subtree holding exactly
// one leaf is that leaf's hash, at the shallowest depth where the leaf is
// alone; a subtree holding none is kEmptyIndexHash; a subtree holding two or
// more is an internal node over its two halves (next key bit 0 = left).
// Key bits are taken most significant first.
//
// Hashing, domain-separated from the log's 0x00/0x01 (RFC 9162):
//   leaf     SHA-256(0x10 || key || value hash)
//   internal SHA-256(0x11 || left || right)
//   value    SHA-256(0x12 || u64 version || state commitment)
//   empty    32 zero bytes (also the root of the empty index)
#ifndef KTLOG_CORE_ACCOUNT_INDEX_H_
#define KTLOG_CORE_ACCOUNT_INDEX_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"

namespace ktlog {

Hash IndexLeafHash(const Hash& key, const Hash& value_hash);
Hash IndexNodeHash(const Hash& left, const Hash& right);
extern const Hash kEmptyIndexHash;

// Bit `depth` (0 = most significant bit of byte 0) of `key`.
inline int KeyBit(const Hash& key, int depth) {
  return (key.data()[depth / 8] >> (7 - depth % 8)) & 1;
}

// A proof about one key, from the root down: siblings[i] is the hash of the
// other child at depth i (kEmptyIndexHash for an empty subtree). The path
// ends at depth siblings.size() in:
//   kMembership      the key's own leaf (value hash given by the verifier)
//   kAbsentEmpty     an empty subtree
//   kAbsentOtherLeaf a leaf of another key (other_key, other_value_hash)
//                    that shares the path's prefix
//
// Encoding (docs/index.md): u8 kind (1, 2, 3) | u16 depth | bitmap of
// ceil(depth / 8) bytes, bit i (MSB first) set iff siblings[i] is not empty |
// the non-empty siblings in order | for kind 3: other key (32) and other
// value hash (32). Nothing may follow.
struct IndexProof {
  enum class Kind : uint8_t {
    kMembership = 1,
    kAbsentEmpty = 2,
    kAbsentOtherLeaf = 3
  };
  Kind kind = Kind::kAbsentEmpty;
  std::vector<Hash> siblings;
  Hash other_key;         // kAbsentOtherLeaf only
  Hash other_value_hash;  // kAbsentOtherLeaf only

  std::string Encode() const;
};

// INVALID_ARGUMENT unless `data` is a canonical encoding (depth <= 256,
// bitmap bits beyond depth clear, no empty hash marked present, no trailing
// bytes).
absl::StatusOr<IndexProof> DecodeIndexProof(absl::string_view data);

// Checks `proof` for `key` against `root`. With `value_hash` set it must be
// a membership proof of exactly that value; without, an absence proof.
// INVALID_ARGUMENT for a malformed proof or the wrong kind (membership
// offered where absence is claimed, a kAbsentOtherLeaf whose other key is
// `key` or does not share the path); DATA_LOSS if a well-formed proof does
// not lead to `root`.
absl::Status VerifyIndexProof(const Hash& root, const Hash& key,
                              const std::optional<Hash>& value_hash,
                              const IndexProof& proof);

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_INDEX_H_
