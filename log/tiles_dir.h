// TilesDirectory: writes the log's C2SP tlog-tiles to a plain directory
// that any web server or CDN can serve (docs/tiles.md): after each new
// checkpoint, the tiles and entry bundles it adds (full ones once, the
// right edge's partial ones at their width), then the checkpoint file. A
// reader that sees a checkpoint therefore finds every tile it needs. Files
// are written atomically (temporary file and rename) and never changed;
// once a full tile exists its partial ones are removed (a client asks for
// the full tile instead: its first W hashes are the partial tile).
//
// Runs on its own thread, following the publisher. A write error is
// retried with the next checkpoint (not at once), logged when it starts and
// then once a minute; it never affects the log.
#ifndef KTLOG_LOG_TILES_DIR_H_
#define KTLOG_LOG_TILES_DIR_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "log/private_feed.h"
#include "log/publisher.h"
#include "log/tiles.h"

namespace ktlog {

class TilesDirectory {
 public:
  // Writes into `dir` (created if missing) everything up to the latest
  // checkpoint now, then follows the publisher. Borrows both. FAILED_
  // PRECONDITION if `dir` cannot be created.
  // With `feed` (borrowed), it also writes the log's private feed
  // (log/private_feed.h) under `feed_dir`: private/<N>[.p/<W>] beside each
  // entry bundle, rewritten when an erasure removes records from it, and
  // private/cosigned at each checkpoint; files of mode 0600 in directories
  // of 0700, for an access-controlled web server or object store.
  static absl::StatusOr<std::unique_ptr<TilesDirectory>> Start(
      const Tiles* tiles, const CheckpointPublisher* publisher,
      const std::string& dir, const PrivateFeed* feed = nullptr,
      const std::string& feed_dir = "");
  ~TilesDirectory();  // Stop()s.

  // Writes what the checkpoint of `tree_size` (with `note`) adds since the
  // tree of `since`. Used by the thread; public for tests.
  absl::Status Write(uint64_t since, uint64_t tree_size,
                     const std::string& note);

  // Stops following (after the checkpoint being written). Idempotent.
  void Stop();

  // How many times the thread tried to write a checkpoint's tiles.
  uint64_t attempts() const { return attempts_.load(); }

 private:
  TilesDirectory(const Tiles* tiles, const CheckpointPublisher* publisher,
                 std::string dir, const PrivateFeed* feed,
                 std::string feed_dir);
  void Run();
  // Writes `id` (in the tree of `tree_size`) unless it exists.
  absl::Status WriteTile(const TileId& id, uint64_t tree_size);
  // Writes the private bundle behind entry bundle `id` (unless it exists,
  // or always with `again`).
  absl::Status WriteFeedBundle(const TileId& id, bool again);
  // The feed's part of Write.
  absl::Status WriteFeed(uint64_t since, uint64_t tree_size);

  const Tiles* const tiles_;
  const CheckpointPublisher* const publisher_;
  const std::string dir_;
  const PrivateFeed* const feed_;
  const std::string feed_dir_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> attempts_{0};
  std::thread thread_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_TILES_DIR_H_
