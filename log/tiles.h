// Tiles: the log's public data as C2SP tlog-tiles (core/merkle/tiles.h,
// docs/tiles.md), read from storage and bounded by the latest checkpoint: a
// tile or entry bundle exists at a width only if the latest checkpoint's
// tree holds that much of it. Served over HTTP (log/tiles_http.h) and
// written to a directory (log/tiles_dir.h).
//
// Thread-safe.
#ifndef KTLOG_LOG_TILES_H_
#define KTLOG_LOG_TILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/merkle/tiles.h"
#include "log/publisher.h"
#include "log/storage/log_storage.h"

namespace ktlog {

class Tiles {
 public:
  // Borrows both.
  Tiles(LogReader* storage, const CheckpointPublisher* publisher)
      : storage_(storage), publisher_(publisher) {}

  // The latest signed checkpoint note. UNAVAILABLE before the first.
  absl::StatusOr<std::string> Checkpoint() const;
  // The contents of `id` in the tree of `tree_size` (<= the latest
  // checkpoint's). NOT_FOUND if it does not exist at that width there.
  absl::StatusOr<std::string> Read(const TileId& id, uint64_t tree_size) const;
  // The same in the latest checkpoint's tree.
  absl::StatusOr<std::string> Read(const TileId& id) const;

 private:
  LogReader* const storage_;
  const CheckpointPublisher* const publisher_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_TILES_H_
