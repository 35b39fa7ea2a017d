// RFC 9162 §2.1.1 Merkle tree hashing and the tree math shared by proof
// generation, verification and storage.
//
// Vocabulary: leaves are numbered from 0; `size` is a leaf count; ranges are
// [begin, end). A node is identified by (level, index): it covers leaves
// [index * 2^level, (index + 1) * 2^level); level 0 nodes are leaf hashes.
// Only such perfect (complete) subtrees are ever stored.
#ifndef KTLOG_CORE_MERKLE_MERKLE_H_
#define KTLOG_CORE_MERKLE_MERKLE_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"

namespace ktlog {

// SHA-256(0x00 || leaf_data).
Hash HashLeaf(absl::string_view leaf_data);

// SHA-256(0x01 || left || right).
Hash HashChildren(const Hash& left, const Hash& right);

// The root of the empty tree: SHA-256 of the empty string.
Hash EmptyRoot();

struct NodeId {
  uint8_t level;   // 0..63
  uint64_t index;  // position among nodes of this level

  uint64_t begin() const { return index << level; }
  uint64_t end() const { return (index + 1) << level; }
  friend bool operator==(const NodeId& a, const NodeId& b) {
    return a.level == b.level && a.index == b.index;
  }
};

// The largest power of two strictly less than n. Requires n >= 2.
uint64_t LargestPowerOfTwoBelow(uint64_t n);

// The perfect subtrees that exactly cover [begin, end), left to right,
// choosing at each step the largest aligned subtree that fits. For the ranges
// that occur in RFC 9162 trees (begin aligned to a power of two at least
// end - begin) the sizes strictly decrease, and the range's Merkle tree hash
// is the right-to-left fold of their hashes (see FoldRange). Requires
// begin <= end.
std::vector<NodeId> PerfectSubtrees(uint64_t begin, uint64_t end);

// The Merkle tree hash of a range from the hashes of PerfectSubtrees(range):
// HashChildren(h[0], HashChildren(h[1], ... h[k-1])). Requires !hashes.empty().
Hash FoldRange(const std::vector<Hash>& hashes);

}  // namespace ktlog

#endif  // KTLOG_CORE_MERKLE_MERKLE_H_
