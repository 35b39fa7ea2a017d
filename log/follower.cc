#include "log/follower.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/merkle/tiles.h"
#include "core/note/checkpoint.h"
#include "core/util/logging.h"
#include "core/util/status_macros.h"
#include "log/private_feed.h"

namespace ktlog {
namespace {

// A private bundle: 256 items of at most the largest record with both
// openings and a flag byte, each with its u16 length.
constexpr size_t kMaxFeedBundleBytes = kTileWidth * (2 + 1 + 2 + 1767 + 32);
constexpr size_t kMaxCosignedBytes = PrivateFeed::kFeedCosigned * 64 * 1024;

}  // namespace

absl::StatusOr<std::unique_ptr<Follower>> Follower::Create(
    const FollowerOptions& options, NoteVerifierKey key, LogWriter* storage,
    CosignatureStore* cosigned, Integrator* integrator,
    CheckpointPublisher* publisher, const Positions* positions) {
  ASSIGN_OR_RETURN(std::unique_ptr<TilesClient> tiles,
                   TilesClient::Create(options.log_url, options.timeout));
  ASSIGN_OR_RETURN(
      std::unique_ptr<TilesClient> feed,
      TilesClient::Create(
          options.feed_url.empty() ? options.log_url : options.feed_url,
          options.timeout, nullptr, options.feed_token));
  return std::unique_ptr<Follower>(
      new Follower(options, std::move(key), storage, cosigned, integrator,
                   publisher, positions, std::move(tiles), std::move(feed)));
}

Follower::Follower(const FollowerOptions& options, NoteVerifierKey key,
                   LogWriter* storage, CosignatureStore* cosigned,
                   Integrator* integrator, CheckpointPublisher* publisher,
                   const Positions* positions,
                   std::unique_ptr<TilesClient> tiles,
                   std::unique_ptr<TilesClient> feed)
    : options_(options),
      key_(std::move(key)),
      storage_(storage),
      cosigned_(cosigned),
      integrator_(integrator),
      publisher_(publisher),
      positions_(positions),
      tiles_(std::move(tiles)),
      feed_(std::move(feed)) {}

Follower::~Follower() { Stop(); }

void Follower::Run() {
  thread_ = std::thread([this] {
    std::string last_error;
    absl::MutexLock lock(&mu_);
    while (!stopped_) {
      mu_.Unlock();
      absl::Status s = Step();
      // One line per change of state, not one per poll.
      std::string now = s.ok() ? "" : s.ToString();
      if (now != last_error) {
        if (s.ok()) {
          LogInfo("following the log again");
        } else {
          LogWarning("following the log: ", now);
        }
        last_error = now;
      }
      mu_.Lock();
      mu_.AwaitWithTimeout(absl::Condition(&stopped_), options_.poll_interval);
    }
  });
}

void Follower::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Follower::halted() const {
  absl::MutexLock lock(&mu_);
  return halted_;
}

absl::Status Follower::Step() {
  absl::MutexLock step(&step_mu_);
  RETURN_IF_ERROR(halted());
  ASSIGN_OR_RETURN(std::string note, tiles_->Checkpoint());
  absl::StatusOr<LogCheckpoint> cp = OpenLogCheckpoint(note, key_);
  if (!cp.ok()) {
    // Not the log's: whoever answered at the URL, not the log, is wrong.
    return absl::UnauthenticatedError(absl::StrCat(
        options_.log_url,
        "/checkpoint is not signed by the log: ", cp.status().message()));
  }
  std::shared_ptr<const PublishedCheckpoint> latest = publisher_->Latest();
  bool newer = latest == nullptr || cp->size > latest->checkpoint.size ||
               (cp->size == latest->checkpoint.size &&
                cp->timestamp_ms > latest->checkpoint.timestamp_ms);
  // A checkpoint behind what storage holds already (a cache behind the
  // log after a restart) is waited out.
  if (newer && cp->size >= storage_->size()) {
    absl::Status s = Replicate(cp->size);
    if (s.ok()) s = publisher_->Adopt(note).status();
    if (absl::IsDataLoss(s)) {
      absl::MutexLock lock(&mu_);
      halted_ = absl::DataLossError(absl::StrCat(
          "stopped following the log, whose data does not hold up (serving "
          "its last checkpoint verified; see docs/scale.md): ",
          s.message()));
      return halted_;
    }
    RETURN_IF_ERROR(s);
  }
  return CopyCosigned();
}

absl::Status Follower::Replicate(uint64_t tree_size) {
  std::vector<std::string> leaves;
  std::vector<FeedItem> items;
  for (uint64_t size = storage_->size(); size < tree_size;) {
    TileId bundle{true, 0, size / kTileWidth,
                  TileWidthAt(0, size / kTileWidth, tree_size)};
    uint64_t first = bundle.index * kTileWidth;
    ASSIGN_OR_RETURN(std::vector<std::string> public_leaves,
                     tiles_->Entries(size, first + bundle.width, tree_size));
    ASSIGN_OR_RETURN(std::string data,
                     feed_->Fetch(FeedPath(bundle), kMaxFeedBundleBytes));
    absl::StatusOr<std::vector<FeedItem>> feed =
        DecodeFeedBundle(data, bundle.width);
    if (!feed.ok()) {
      return absl::DataLossError(absl::StrCat(
          FeedPath(bundle), " is malformed: ", feed.status().message()));
    }
    if (public_leaves.size() != first + bundle.width - size) {
      return absl::UnavailableError(
          absl::StrCat("the tiles gave ", public_leaves.size(), " leaves from ",
                       size, "; asked for ", first + bundle.width - size));
    }
    for (size_t i = 0; i < public_leaves.size(); ++i) {
      leaves.push_back(std::move(public_leaves[i]));
      items.push_back(std::move((*feed)[size - first + i]));
      if (!items.back().batch_end) continue;
      RETURN_IF_ERROR(integrator_->Replicate(leaves, items, *positions_));
      leaves.clear();
      items.clear();
    }
    size = first + bundle.width;
  }
  if (!leaves.empty()) {
    return absl::DataLossError(
        absl::StrCat("the log's checkpoint of size ", tree_size,
                     " does not end one of its batches"));
  }
  return absl::OkStatus();
}

absl::Status Follower::CopyCosigned() {
  absl::StatusOr<std::string> data =
      feed_->Fetch("private/cosigned", kMaxCosignedBytes);
  if (absl::IsNotFound(data.status())) return absl::OkStatus();
  RETURN_IF_ERROR(data.status());
  absl::StatusOr<std::vector<std::string>> notes =
      DecodeEntryList(*data, PrivateFeed::kFeedCosigned);
  if (!notes.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "private/cosigned is malformed: ", notes.status().message()));
  }
  std::shared_ptr<const PublishedCheckpoint> latest = publisher_->Latest();
  for (const std::string& text : *notes) {
    absl::StatusOr<LogCheckpoint> cp = publisher_->OpenStored(text);
    if (!cp.ok() || latest == nullptr || cp->size > latest->checkpoint.size) {
      continue;  // not (yet) a checkpoint of the tree this replica holds
    }
    ASSIGN_OR_RETURN(Note note, ParseNote(text));
    ASSIGN_OR_RETURN(std::optional<std::string> stored,
                     cosigned_->ReadCosignedCheckpoint(*cp, note.text));
    if (stored == text) continue;
    RETURN_IF_ERROR(cosigned_->WriteCosignedCheckpoint(*cp, note.text, text));
  }
  return absl::OkStatus();
}

}  // namespace ktlog
