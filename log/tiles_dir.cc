#include "log/tiles_dir.h"

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/util/file_util.h"
#include "core/util/logging.h"
#include "core/util/status_macros.h"

namespace ktlog {

TilesDirectory::TilesDirectory(const Tiles* tiles,
                               const CheckpointPublisher* publisher,
                               std::string dir, const PrivateFeed* feed,
                               std::string feed_dir)
    : tiles_(tiles),
      publisher_(publisher),
      dir_(std::move(dir)),
      feed_(feed),
      feed_dir_(std::move(feed_dir)) {}

absl::StatusOr<std::unique_ptr<TilesDirectory>> TilesDirectory::Start(
    const Tiles* tiles, const CheckpointPublisher* publisher,
    const std::string& dir, const PrivateFeed* feed,
    const std::string& feed_dir) {
  RETURN_IF_ERROR(MakeDirs(dir, 0755));
  if (feed != nullptr) RETURN_IF_ERROR(MakeDirs(feed_dir + "/private", 0700));
  std::unique_ptr<TilesDirectory> d(
      new TilesDirectory(tiles, publisher, dir, feed, feed_dir));
  d->thread_ = std::thread([p = d.get()] { p->Run(); });
  return d;
}

TilesDirectory::~TilesDirectory() { Stop(); }

void TilesDirectory::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void TilesDirectory::Run() {
  // The sequence of the checkpoint written last, or of the one that failed
  // last (a failure is retried with the next checkpoint, not at once: a
  // full disk or no file descriptors must not become a hot loop).
  uint64_t sequence = 0, written = 0;
  bool first = true;
  uint64_t failures = 0;
  absl::Time logged = absl::InfinitePast();
  for (;;) {
    // One more pass after Stop(): the final checkpoint is written too.
    bool stopping = stop_.load();
    std::shared_ptr<const PublishedCheckpoint> cp = publisher_->WaitForNewer(
        sequence, absl::Now() + absl::Milliseconds(200));
    if (cp != nullptr && cp->sequence != sequence) {
      attempts_.fetch_add(1);
      // The first time, check everything: files may be missing from before.
      absl::Status s =
          Write(first ? 0 : written, cp->checkpoint.size, cp->note);
      sequence = cp->sequence;
      if (s.ok()) {
        if (failures > 0) {
          LogInfo("tiles written to ", dir_, " again, after ", failures,
                  " failed attempt(s)");
        }
        failures = 0;
        written = cp->checkpoint.size;
        first = false;
      } else if (++failures == 1 || absl::Now() > logged + absl::Minutes(1)) {
        // One line when it starts failing, then one a minute.
        LogWarning("writing tiles to ", dir_, " failed (", failures,
                   " attempt(s) so far; retried with the next checkpoint): ",
                   s.ToString());
        logged = absl::Now();
      }
    }
    if (stopping) return;
  }
}

absl::Status TilesDirectory::WriteTile(const TileId& id, uint64_t tree_size) {
  std::string path = absl::StrCat(dir_, "/", id.Path());
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string data, tiles_->Read(id, tree_size));
  RETURN_IF_ERROR(
      MakeDirs(std::filesystem::path(path).parent_path().string(), 0755));
  RETURN_IF_ERROR(WriteFileAtomically(path, data, 0644));
  if (id.full()) {
    // The partial tiles of this tile are superseded.
    std::filesystem::remove_all(path + ".p", ec);
  }
  return absl::OkStatus();
}

absl::Status TilesDirectory::Write(uint64_t since, uint64_t tree_size,
                                   const std::string& note) {
  for (int kind = 0; kind <= kTileHeight; ++kind) {
    bool entries = kind == kTileHeight;
    uint8_t level = entries ? 0 : static_cast<uint8_t>(kind);
    uint64_t shift = kTileHeight * level;
    if ((tree_size >> shift) == 0) continue;
    // The tiles the tree grew into: from the one holding the old edge.
    uint64_t first = (since >> shift) / kTileWidth;
    uint64_t last = ((tree_size >> shift) - 1) / kTileWidth;
    for (uint64_t i = first; i <= last; ++i) {
      uint64_t width = TileWidthAt(level, i, tree_size);
      if (width == 0) continue;
      RETURN_IF_ERROR(WriteTile(TileId{entries, level, i, width}, tree_size));
    }
  }
  RETURN_IF_ERROR(WriteFileAtomically(dir_ + "/checkpoint", note, 0644));
  // The feed's failure must not hold the public log back: it is retried
  // with the next checkpoint.
  return feed_ != nullptr ? WriteFeed(since, tree_size) : absl::OkStatus();
}

absl::Status TilesDirectory::WriteFeedBundle(const TileId& id, bool again) {
  std::string path = absl::StrCat(feed_dir_, "/", FeedPath(id));
  std::string partials = absl::StrCat(
      feed_dir_, "/", FeedPath(TileId{true, 0, id.index, 256}), ".p");
  std::error_code ec;
  // Partial bundles are superseded by the full one, and by a rewrite (an
  // erasure took records out of the older ones too).
  if (id.full() || again) std::filesystem::remove_all(partials, ec);
  if (!again && std::filesystem::exists(path, ec)) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string data, feed_->Read(id));
  RETURN_IF_ERROR(
      MakeDirs(std::filesystem::path(path).parent_path().string(), 0700));
  return WriteFileAtomically(path, data, 0600);
}

absl::Status TilesDirectory::WriteFeed(uint64_t since, uint64_t tree_size) {
  if (tree_size > 0) {
    for (uint64_t i = since / kTileWidth; i <= (tree_size - 1) / kTileWidth;
         ++i) {
      RETURN_IF_ERROR(WriteFeedBundle(
          TileId{true, 0, i, TileWidthAt(0, i, tree_size)}, false));
    }
  }
  // An erasure since took records out of bundles written before.
  ASSIGN_OR_RETURN(std::vector<uint64_t> erased,
                   feed_->ErasedLeavesIn(since, tree_size));
  std::set<uint64_t> bundles;
  for (uint64_t leaf : erased) bundles.insert(leaf / kTileWidth);
  // The last first: a replica reading meanwhile sees the erasure leaf's
  // bundle before the earlier ones lose their records, never the reverse.
  for (auto it = bundles.rbegin(); it != bundles.rend(); ++it) {
    uint64_t i = *it;
    RETURN_IF_ERROR(WriteFeedBundle(
        TileId{true, 0, i, TileWidthAt(0, i, tree_size)}, true));
  }
  ASSIGN_OR_RETURN(std::string cosigned, feed_->Cosigned());
  return WriteFileAtomically(feed_dir_ + "/private/cosigned", cosigned, 0600);
}

}  // namespace ktlog
