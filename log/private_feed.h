// The private feed: what a read replica (log/follower.h) needs behind the
// public leaves to serve lookups and histories, in immutable bundles at
// the paths of the C2SP entry bundles (docs/scale.md, "The private feed"):
//
//   private/<N>[.p/<W>]   what is behind leaves 256N..256N+W
//
// A bundle is framed as an entry bundle (core/merkle/tiles.h: each item as
// u16 length and bytes); each item is
//
//   u8 flags | [private entry]
//
// flags bit 0: the private entry follows (u16+n record | record opening
// (16) | state opening (16), as stored); without it, the leaf is an
// erasure leaf or a leaf of an account erased since; bit 1: the log ended
// a batch after this leaf (it holds an index version at that size); bit 2:
// it signed a checkpoint of that size; bit 3 (an erasure leaf's, without
// bit 0): the leaf indexes of the erased account's earlier versions follow
// (u16 count, then each as u64, version 1 first). Other bits are refused.
//
// A bundle is served only within the latest checkpoint, to the holder of
// the feed's bearer token; it changes only when an erasure deletes an
// account's entries. Beside the bundles, `private/cosigned` holds the
// log's recent checkpoints with the witnesses' cosignatures (framed the
// same way, newest first), which the replicas serve to clients that
// require cosignatures. Thread-safe.
#ifndef KTLOG_LOG_PRIVATE_FEED_H_
#define KTLOG_LOG_PRIVATE_FEED_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/merkle/tiles.h"
#include "log/publisher.h"
#include "log/storage/log_storage.h"

namespace ktlog {

// What is behind one leaf.
struct FeedItem {
  std::optional<PrivateEntry> entry;  // none: erased, or an erasure leaf
  bool batch_end = false;    // an index version is stored after the leaf
  bool signed_size = false;  // a checkpoint was signed after the leaf
  // An erasure leaf's: the leaf indexes of the account's versions before
  // it, version 1 first.
  std::optional<std::vector<uint64_t>> erased_leaves;

  bool operator==(const FeedItem& o) const;
};

std::string EncodeFeedBundle(const std::vector<FeedItem>& items);
// INVALID_ARGUMENT unless `data` is exactly `width` well-formed items.
absl::StatusOr<std::vector<FeedItem>> DecodeFeedBundle(absl::string_view data,
                                                       uint64_t width);

// The path of a private bundle ("private/" and the tile path of the entry
// bundle `id`).
std::string FeedPath(const TileId& entry_bundle);

class PrivateFeed {
 public:
  // Borrows all three; `token` is the bearer token readers must present
  // (at least 16 bytes, checked by the caller).
  PrivateFeed(LogReader* storage, CosignatureStore* cosigned,
              const CheckpointPublisher* publisher, std::string token)
      : storage_(storage),
        cosigned_(cosigned),
        publisher_(publisher),
        token_(std::move(token)) {}

  // Whether an HTTP Authorization header value presents the token
  // ("Bearer <token>"), compared in constant time.
  bool Authorized(absl::string_view authorization) const;

  // The bundle behind entry bundle `id` in the latest checkpoint's tree;
  // NOT_FOUND if that tree does not hold it at that width, UNAVAILABLE
  // before the first checkpoint.
  absl::StatusOr<std::string> Read(const TileId& id) const;
  // The leaves of the accounts whose erasure leaves are in [begin, end)
  // (every version's, the erasure leaf's included): the bundles an
  // erasure changed.
  absl::StatusOr<std::vector<uint64_t>> ErasedLeavesIn(uint64_t begin,
                                                       uint64_t end) const;
  // private/cosigned: up to kFeedCosigned recent cosigned checkpoint notes.
  absl::StatusOr<std::string> Cosigned() const;
  static constexpr size_t kFeedCosigned = 16;

 private:
  LogReader* const storage_;
  CosignatureStore* const cosigned_;
  const CheckpointPublisher* const publisher_;
  const std::string token_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_PRIVATE_FEED_H_
