#include "log/private_feed.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/account/leaf.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

constexpr uint8_t kHasEntry = 1, kBatchEnd = 2, kSignedSize = 4,
                  kErasedLeaves = 8;
// An erasure leaf's earlier versions fit a u16 count (an account has at
// most a few thousand versions: 100 devices, 110 key changes).
constexpr size_t kMaxErasedLeaves = 65535;

}  // namespace

bool FeedItem::operator==(const FeedItem& o) const {
  auto same_entry = [&] {
    if (entry.has_value() != o.entry.has_value()) return false;
    if (!entry.has_value()) return true;
    return entry->record == o.entry->record &&
           entry->record_opening == o.entry->record_opening &&
           entry->state_opening == o.entry->state_opening;
  };
  return same_entry() && batch_end == o.batch_end &&
         signed_size == o.signed_size && erased_leaves == o.erased_leaves;
}

std::string EncodeFeedBundle(const std::vector<FeedItem>& items) {
  std::vector<std::string> encoded;
  encoded.reserve(items.size());
  for (const FeedItem& item : items) {
    uint8_t flags = (item.entry.has_value() ? kHasEntry : 0) |
                    (item.batch_end ? kBatchEnd : 0) |
                    (item.signed_size ? kSignedSize : 0) |
                    (item.erased_leaves.has_value() ? kErasedLeaves : 0);
    std::string out(1, static_cast<char>(flags));
    if (item.entry.has_value()) out += EncodePrivateEntry(*item.entry);
    if (item.erased_leaves.has_value()) {
      AppendBigEndian(item.erased_leaves->size(), 2, &out);
      for (uint64_t leaf : *item.erased_leaves) AppendBigEndian(leaf, 8, &out);
    }
    encoded.push_back(std::move(out));
  }
  return EncodeEntryBundle(encoded);
}

absl::StatusOr<std::vector<FeedItem>> DecodeFeedBundle(absl::string_view data,
                                                       uint64_t width) {
  ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                   DecodeEntryBundle(data, width));
  std::vector<FeedItem> items;
  items.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    absl::string_view item = encoded[i];
    if (item.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("item ", i, " is empty"));
    }
    uint8_t flags = static_cast<uint8_t>(item[0]);
    if ((flags & ~(kHasEntry | kBatchEnd | kSignedSize | kErasedLeaves)) != 0 ||
        (flags & (kHasEntry | kErasedLeaves)) == (kHasEntry | kErasedLeaves)) {
      return absl::InvalidArgumentError(
          absl::StrCat("item ", i, " has unknown flags ", int{flags}));
    }
    FeedItem out;
    out.batch_end = (flags & kBatchEnd) != 0;
    out.signed_size = (flags & kSignedSize) != 0;
    if ((flags & kHasEntry) != 0) {
      out.entry = DecodePrivateEntry(item.substr(1));
      if (!out.entry.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("item ", i, " has a malformed private entry"));
      }
    } else if ((flags & kErasedLeaves) != 0) {
      ByteReader r(absl::string_view(item).substr(1));
      uint16_t count = 0;
      std::vector<uint64_t> leaves;
      if (r.ReadU16(&count)) {
        for (uint16_t k = 0; k < count; ++k) {
          uint64_t leaf = 0;
          if (!r.ReadU64(&leaf)) break;
          leaves.push_back(leaf);
        }
      }
      if (r.failed() || !r.empty() || leaves.size() != count) {
        return absl::InvalidArgumentError(
            absl::StrCat("item ", i, " has a malformed list of erased leaves"));
      }
      out.erased_leaves = std::move(leaves);
    } else if (item.size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("item ", i, " has bytes after flags without an entry"));
    }
    items.push_back(std::move(out));
  }
  return items;
}

std::string FeedPath(const TileId& entry_bundle) {
  return absl::StrCat("private/",
                      entry_bundle.Path().substr(sizeof("tile/entries/") - 1));
}

bool PrivateFeed::Authorized(absl::string_view authorization) const {
  if (token_.empty()) return false;  // served as files only
  if (!absl::ConsumePrefix(&authorization, "Bearer ")) return false;
  return ConstantTimeEquals(authorization, token_);
}

absl::StatusOr<std::string> PrivateFeed::Read(const TileId& id) const {
  std::shared_ptr<const PublishedCheckpoint> cp = publisher_->Latest();
  if (cp == nullptr) return absl::UnavailableError("no checkpoint yet");
  uint64_t have = TileWidthAt(0, id.index, cp->checkpoint.size);
  if (!id.entries || id.width == 0 || id.width > have) {
    return absl::NotFoundError(absl::StrCat(
        FeedPath(id), " is not in the tree of size ", cp->checkpoint.size));
  }
  std::vector<FeedItem> items(id.width);
  uint64_t first = id.index * kTileWidth;
  for (uint64_t i = 0; i < id.width; ++i) {
    uint64_t index = first + i;
    absl::StatusOr<PrivateEntry> entry = storage_->ReadEntry(index);
    if (entry.ok()) {
      items[i].entry = *std::move(entry);
    } else if (!absl::IsDataLoss(entry.status())) {
      return entry.status();
    } else {
      // Only a leaf without its record is read (a rare erasure's).
      ASSIGN_OR_RETURN(std::vector<std::string> leaves,
                       storage_->ReadLeaves(index, index + 1));
      absl::StatusOr<Leaf> leaf = DecodeLeaf(leaves[0]);
      if (!leaf.ok()) return absl::DataLossError("a stored leaf is malformed");
      ASSIGN_OR_RETURN(std::optional<ErasedAccount> erased,
                       storage_->ReadErased(leaf->position));
      if (!erased.has_value()) {
        // Missing or malformed, yet not erased: storage is broken.
        return absl::DataLossError(
            absl::StrCat("the record behind leaf ", index,
                         " is missing or malformed; run ktlog-admin fsck"));
      }
      if (IsErasure(*leaf)) {
        if (erased->leaf_indexes.empty() ||
            erased->leaf_indexes.back() != index ||
            erased->leaf_indexes.size() > kMaxErasedLeaves + 1) {
          return absl::DataLossError(
              absl::StrCat("the erasure marker of the erasure leaf ", index,
                           " does not name it; run ktlog-admin fsck"));
        }
        erased->leaf_indexes.pop_back();
        items[i].erased_leaves = std::move(erased->leaf_indexes);
      }
    }
    absl::StatusOr<Hash> root = storage_->ReadIndexRoot(index + 1);
    if (!root.ok() && !absl::IsNotFound(root.status())) return root.status();
    items[i].batch_end = root.ok();
    ASSIGN_OR_RETURN(items[i].signed_size, storage_->IsSignedSize(index + 1));
  }
  return EncodeFeedBundle(items);
}

absl::StatusOr<std::vector<uint64_t>> PrivateFeed::ErasedLeavesIn(
    uint64_t begin, uint64_t end) const {
  std::vector<uint64_t> out;
  RETURN_IF_ERROR(storage_->ReadErasures([&](const ErasedAccount& erased) {
    uint64_t erasure = erased.leaf_indexes.back();
    if (erasure >= begin && erasure < end) {
      out.insert(out.end(), erased.leaf_indexes.begin(),
                 erased.leaf_indexes.end());
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::string> PrivateFeed::Cosigned() const {
  ASSIGN_OR_RETURN(std::vector<std::string> notes,
                   cosigned_->ReadRecentCosignedCheckpoints(kFeedCosigned));
  return EncodeEntryBundle(notes);
}

}  // namespace ktlog
