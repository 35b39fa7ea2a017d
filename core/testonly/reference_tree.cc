#include "core/testonly/reference_tree.h"

#include "core/merkle/merkle.h"

namespace ktlog {
namespace {

uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

}  // namespace

Hash ReferenceTree::Mth(uint64_t begin, uint64_t end) const {
  uint64_t n = end - begin;
  if (n == 0) return EmptyRoot();
  if (n == 1) return leaves_[begin];
  auto it = memo_.find({begin, end});
  if (it != memo_.end()) return it->second;
  uint64_t k = SplitPoint(n);
  Hash h = HashChildren(Mth(begin, begin + k), Mth(begin + k, end));
  memo_[{begin, end}] = h;
  return h;
}

Hash ReferenceTree::Root(uint64_t size) const { return Mth(0, size); }

void ReferenceTree::Path(uint64_t m, uint64_t begin, uint64_t end,
                         std::vector<Hash>* out) const {
  uint64_t n = end - begin;
  if (n == 1) return;
  uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, begin, begin + k, out);
    out->push_back(Mth(begin + k, end));
  } else {
    Path(m - k, begin + k, end, out);
    out->push_back(Mth(begin, begin + k));
  }
}

std::vector<Hash> ReferenceTree::InclusionProof(uint64_t index,
                                                uint64_t size) const {
  std::vector<Hash> out;
  Path(index, 0, size, &out);
  return out;
}

void ReferenceTree::Subproof(uint64_t m, uint64_t begin, uint64_t end, bool b,
                             std::vector<Hash>* out) const {
  uint64_t n = end - begin;
  if (m == n) {
    if (!b) out->push_back(Mth(begin, end));
    return;
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    Subproof(m, begin, begin + k, b, out);
    out->push_back(Mth(begin + k, end));
  } else {
    Subproof(m - k, begin + k, end, false, out);
    out->push_back(Mth(begin, begin + k));
  }
}

std::vector<Hash> ReferenceTree::ConsistencyProof(uint64_t size1,
                                                  uint64_t size2) const {
  std::vector<Hash> out;
  if (size1 < size2) Subproof(size1, 0, size2, true, &out);
  return out;
}

}  // namespace ktlog
