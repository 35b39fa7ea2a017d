// A slow, obviously-correct RFC 9162 §2.1 Merkle tree: MTH, PATH and PROOF
// computed straight from their recursive definitions over an in-memory list
// of leaf hashes. Test-only: the fast code (CompactRange, proof plans,
// storage) is cross-checked against it.
#ifndef KTLOG_CORE_TESTONLY_REFERENCE_TREE_H_
#define KTLOG_CORE_TESTONLY_REFERENCE_TREE_H_

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "core/crypto/hash.h"

namespace ktlog {

class ReferenceTree {
 public:
  void AppendLeafHash(const Hash& h) { leaves_.push_back(h); }
  uint64_t size() const { return leaves_.size(); }

  // MTH(D[0:size]); requires size <= this->size().
  Hash Root(uint64_t size) const;
  // PATH(index, D[0:size]); requires index < size <= this->size().
  std::vector<Hash> InclusionProof(uint64_t index, uint64_t size) const;
  // PROOF(size1, D[0:size2]); requires 0 < size1 <= size2 <= this->size().
  std::vector<Hash> ConsistencyProof(uint64_t size1, uint64_t size2) const;
  // MTH(D[begin:end]); requires begin < end <= this->size().
  Hash SubtreeRoot(uint64_t begin, uint64_t end) const {
    return Mth(begin, end);
  }

 private:
  Hash Mth(uint64_t begin, uint64_t end) const;
  void Path(uint64_t m, uint64_t begin, uint64_t end,
            std::vector<Hash>* out) const;
  void Subproof(uint64_t m, uint64_t begin, uint64_t end, bool b,
                std::vector<Hash>* out) const;

  std::vector<Hash> leaves_;
  // MTH of a range never changes once its leaves exist: memoised so the
  // exhaustive cross-checks stay fast.
  mutable std::map<std::pair<uint64_t, uint64_t>, Hash> memo_;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_TESTONLY_REFERENCE_TREE_H_
