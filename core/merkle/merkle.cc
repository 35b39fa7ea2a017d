#include "core/merkle/merkle.h"

#include <cstdlib>

#include "core/crypto/crypto.h"

namespace ktlog {

Hash HashLeaf(absl::string_view leaf_data) {
  static constexpr char kPrefix[1] = {0x00};
  return Sha256({absl::string_view(kPrefix, 1), leaf_data});
}

Hash HashChildren(const Hash& left, const Hash& right) {
  static constexpr char kPrefix[1] = {0x01};
  return Sha256({absl::string_view(kPrefix, 1), left.view(), right.view()});
}

Hash EmptyRoot() {
  static const Hash kEmpty = Sha256(absl::string_view());
  return kEmpty;
}

uint64_t LargestPowerOfTwoBelow(uint64_t n) {
  if (n < 2) abort();
  return uint64_t{1} << (63 - __builtin_clzll(n - 1));
}

std::vector<NodeId> PerfectSubtrees(uint64_t begin, uint64_t end) {
  std::vector<NodeId> out;
  while (begin < end) {
    int align = begin == 0 ? 63 : __builtin_ctzll(begin);
    int fit = 63 - __builtin_clzll(end - begin);
    int level = align < fit ? align : fit;
    out.push_back(NodeId{static_cast<uint8_t>(level), begin >> level});
    begin += uint64_t{1} << level;
  }
  return out;
}

Hash FoldRange(const std::vector<Hash>& hashes) {
  if (hashes.empty()) abort();
  Hash h = hashes.back();
  for (size_t i = hashes.size() - 1; i-- > 0;) h = HashChildren(hashes[i], h);
  return h;
}

}  // namespace ktlog
