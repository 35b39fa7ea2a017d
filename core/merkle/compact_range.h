// CompactRange: the Merkle tree state of [0, size) held as the hashes of its
// perfect subtrees (at most 64), so that appending never re-reads old leaves
// and the root is available in O(log size). This is the "compact range" of
// transparency-dev/merkle, restricted to ranges that start at 0.
//
// Thread-compatible.
#ifndef KTLOG_CORE_MERKLE_COMPACT_RANGE_H_
#define KTLOG_CORE_MERKLE_COMPACT_RANGE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/crypto/hash.h"
#include "core/merkle/merkle.h"

namespace ktlog {

class CompactRange {
 public:
  // Receives every node that becomes complete: the leaf itself (level 0)
  // and each parent it completes, bottom-up.
  using NodeVisitor = std::function<void(const NodeId&, const Hash&)>;

  // The empty tree.
  CompactRange() = default;

  // The tree of `size` leaves whose perfect subtrees PerfectSubtrees(0, size)
  // have `hashes` (left to right). INVALID_ARGUMENT if the count is wrong.
  static absl::StatusOr<CompactRange> FromHashes(uint64_t size,
                                                 std::vector<Hash> hashes);

  // Appends one leaf hash; calls `visit` (if set) for each completed node.
  void Append(const Hash& leaf_hash, const NodeVisitor& visit = nullptr);

  // RFC 9162 MTH of the leaves so far; EmptyRoot() when size() == 0.
  Hash Root() const;

  uint64_t size() const { return size_; }
  const std::vector<Hash>& hashes() const { return hashes_; }

 private:
  uint64_t size_ = 0;
  std::vector<Hash> hashes_;  // perfect subtrees, largest (leftmost) first
};

}  // namespace ktlog

#endif  // KTLOG_CORE_MERKLE_COMPACT_RANGE_H_
