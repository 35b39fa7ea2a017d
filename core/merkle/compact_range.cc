#include "core/merkle/compact_range.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ktlog {

absl::StatusOr<CompactRange> CompactRange::FromHashes(
    uint64_t size, std::vector<Hash> hashes) {
  size_t want = static_cast<size_t>(__builtin_popcountll(size));
  if (hashes.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("compact range of size ", size, " needs ", want,
                     " hashes, got ", hashes.size()));
  }
  CompactRange r;
  r.size_ = size;
  r.hashes_ = std::move(hashes);
  return r;
}

void CompactRange::Append(const Hash& leaf_hash, const NodeVisitor& visit) {
  Hash h = leaf_hash;
  NodeId id{0, size_};
  if (visit) visit(id, h);
  while (id.index & 1) {
    h = HashChildren(hashes_.back(), h);
    hashes_.pop_back();
    id = NodeId{static_cast<uint8_t>(id.level + 1), id.index >> 1};
    if (visit) visit(id, h);
  }
  hashes_.push_back(h);
  ++size_;
}

Hash CompactRange::Root() const {
  if (hashes_.empty()) return EmptyRoot();
  return FoldRange(hashes_);
}

}  // namespace ktlog
