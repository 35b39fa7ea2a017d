#include "log/follower.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/merkle/compact_range.h"
#include "core/merkle/merkle.h"
#include "core/merkle/tiles.h"
#include "core/note/checkpoint.h"
#include "core/util/logging.h"
#include "core/util/status_macros.h"
#include "log/private_feed.h"

namespace ktlog {
namespace {

// A private bundle: 256 items, each at most the largest a u16 length
// frames.
constexpr size_t kMaxFeedBundleBytes = kTileWidth * (2 + kMaxBundledEntry);
// More leaves in one of the log's batches than its sequencer allows
// (ktlog-server --batch_size is at most 100000) is the log's fault.
constexpr size_t kMaxBatch = 100000;
constexpr size_t kMaxCosignedBytes = PrivateFeed::kFeedCosigned * 64 * 1024;

}  // namespace

absl::StatusOr<std::unique_ptr<Follower>> Follower::Create(
    const FollowerOptions& options, NoteVerifierKey key, LogWriter* storage,
    CosignatureStore* cosigned, Cosignatures* cosignatures,
    Integrator* integrator, CheckpointPublisher* publisher,
    const Positions* positions) {
  ClientTls tls;
  tls.ca_file = options.ca_file;
  // Public data is checked against the signed checkpoint; ktlog-server
  // refuses a plain-http feed to another host (the records would travel
  // in the clear).
  tls.http_tiles = true;
  ASSIGN_OR_RETURN(std::unique_ptr<TilesClient> tiles,
                   TilesClient::Create(options.log_url, options.timeout, &tls));
  ASSIGN_OR_RETURN(
      std::unique_ptr<TilesClient> feed,
      TilesClient::Create(
          options.feed_url.empty() ? options.log_url : options.feed_url,
          options.timeout, &tls, options.feed_token));
  return std::unique_ptr<Follower>(new Follower(
      options, std::move(key), storage, cosigned, cosignatures, integrator,
      publisher, positions, std::move(tiles), std::move(feed)));
}

Follower::Follower(const FollowerOptions& options, NoteVerifierKey key,
                   LogWriter* storage, CosignatureStore* cosigned,
                   Cosignatures* cosignatures, Integrator* integrator,
                   CheckpointPublisher* publisher, const Positions* positions,
                   std::unique_ptr<TilesClient> tiles,
                   std::unique_ptr<TilesClient> feed)
    : options_(options),
      key_(std::move(key)),
      storage_(storage),
      storage_cosigned_(cosigned),
      cosignatures_(cosignatures),
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
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopped_ || nudged_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&woken), options_.poll_interval);
      nudged_ = false;
    }
  });
}

void Follower::Nudge() {
  absl::MutexLock lock(&mu_);
  nudged_ = true;
}

void Follower::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Follower::Stopping() const {
  absl::MutexLock lock(&mu_);
  if (!stopped_) return absl::OkStatus();
  return absl::CancelledError("the replica is shutting down");
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
  publisher_->SawLogSize(cp->size);
  std::shared_ptr<const PublishedCheckpoint> latest = publisher_->Latest();
  bool newer = latest == nullptr || cp->size > latest->checkpoint.size ||
               (cp->size == latest->checkpoint.size &&
                cp->timestamp_ms > latest->checkpoint.timestamp_ms);
  // A checkpoint behind what storage holds already (a cache behind the
  // log after a restart) is waited out.
  if (newer && cp->size >= storage_->size()) {
    absl::Status s = Replicate(*cp);
    if (s.ok() && integrator_->awaiting_erasures()) {
      // The log erased an account after it signed `cp`: its leaves came
      // without records; the checkpoint with the erasure leaf is adopted.
      return absl::UnavailableError(absl::StrCat(
          "leaves up to ", cp->size,
          " came without their records, and the log's checkpoint does not "
          "cover the erasure leaf yet; waiting for the next one"));
    }
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

absl::StatusOr<std::vector<std::string>> Follower::PublicLeaves(
    uint64_t begin, uint64_t tree_size) {
  uint64_t index = begin / kTileWidth;
  uint64_t end = index * kTileWidth + TileWidthAt(0, index, tree_size);
  absl::StatusOr<std::vector<std::string>> leaves =
      tiles_->Entries(begin, end, tree_size);
  if (!leaves.ok()) {
    // A cache, a CDN or the network, not necessarily the log: retried.
    return absl::UnavailableError(leaves.status().message());
  }
  if (leaves->size() != end - begin) {
    return absl::UnavailableError(
        absl::StrCat("the tiles gave ", leaves->size(), " leaves from ", begin,
                     "; asked for ", end - begin));
  }
  return leaves;
}

absl::StatusOr<std::vector<FeedItem>> Follower::FeedBundle(
    const TileId& bundle) {
  TileId read = bundle;
  absl::StatusOr<std::string> data =
      feed_->Fetch(FeedPath(read), kMaxFeedBundleBytes);
  if (absl::IsNotFound(data.status()) && !bundle.full()) {
    // A feed written as files (--private_feed_dir) keeps only the widths
    // it wrote, and none once the full bundle exists: its first items are
    // the partial bundle's.
    read.width = kTileWidth;
    data = feed_->Fetch(FeedPath(read), kMaxFeedBundleBytes);
  }
  RETURN_IF_ERROR(data.status());
  absl::StatusOr<std::vector<FeedItem>> items =
      DecodeFeedBundle(*data, read.width);
  if (!items.ok()) {
    return absl::DataLossError(absl::StrCat(
        FeedPath(read), " is malformed: ", items.status().message()));
  }
  items->resize(bundle.width);
  return items;
}

absl::Status Follower::Replicate(const LogCheckpoint& cp) {
  // First the public leaves, which must give the signed root: nothing of a
  // tree the log did not sign is stored.
  // One digest per read of a bundle's leaves (32 bytes per 256 leaves)
  // tells the second read from the first.
  auto digest = [](const std::vector<std::string>& leaves) {
    std::string hashes;
    for (const std::string& leaf : leaves) {
      absl::StrAppend(&hashes, HashLeaf(leaf).view());
    }
    return Sha256(hashes);
  };
  const uint64_t begin = storage_->size();
  CompactRange range = integrator_->range();
  std::vector<Hash> digests;
  for (uint64_t size = begin; size < cp.size;) {
    RETURN_IF_ERROR(Stopping());
    ASSIGN_OR_RETURN(std::vector<std::string> leaves,
                     PublicLeaves(size, cp.size));
    for (const std::string& leaf : leaves) range.Append(HashLeaf(leaf));
    digests.push_back(digest(leaves));
    size += leaves.size();
  }
  if (range.Root() != cp.root) {
    return absl::UnavailableError(absl::StrCat(
        "the leaves from ", options_.log_url,
        " do not hash to the root of the log's checkpoint of size ", cp.size,
        " (a cache or the network changed them?)"));
  }
  // Then each batch with what is behind its leaves.
  std::vector<std::string> leaves;
  std::vector<FeedItem> items;
  for (uint64_t size = begin, read = 0; size < cp.size; ++read) {
    RETURN_IF_ERROR(Stopping());
    ASSIGN_OR_RETURN(std::vector<std::string> public_leaves,
                     PublicLeaves(size, cp.size));
    if (digest(public_leaves) != digests[read]) {
      return absl::UnavailableError(absl::StrCat(
          "the leaves from ", size, " changed between two reads of the tiles"));
    }
    TileId bundle{true, 0, size / kTileWidth,
                  TileWidthAt(0, size / kTileWidth, cp.size)};
    uint64_t first = bundle.index * kTileWidth;
    ASSIGN_OR_RETURN(std::vector<FeedItem> feed, FeedBundle(bundle));
    for (size_t i = 0; i < public_leaves.size(); ++i, ++size) {
      leaves.push_back(std::move(public_leaves[i]));
      items.push_back(std::move(feed[size - first]));
      if (items.size() > kMaxBatch) {
        return absl::DataLossError(absl::StrCat(
            "the log's private feed ends no batch in ", kMaxBatch, " leaves"));
      }
      if (!items.back().batch_end) continue;
      RETURN_IF_ERROR(integrator_->Replicate(leaves, items, *positions_));
      leaves.clear();
      items.clear();
    }
  }
  if (!leaves.empty()) {
    return absl::DataLossError(
        absl::StrCat("the log's checkpoint of size ", cp.size,
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
    // Each cosignature is checked and merged with those held, as the log
    // does when a witness sends it: none is lost, no bad one is kept (a
    // note with one is skipped). One held already as it is is skipped.
    ASSIGN_OR_RETURN(Note note, ParseNote(text));
    ASSIGN_OR_RETURN(std::optional<std::string> held,
                     storage_cosigned_->ReadCosignedCheckpoint(*cp, note.text));
    if (held == text) continue;
    absl::StatusOr<uint32_t> added = cosignatures_->Copy(text);
    if (!added.ok() && !absl::IsPermissionDenied(added.status()) &&
        !absl::IsInvalidArgument(added.status())) {
      return absl::UnavailableError(
          absl::StrCat("a cosigned checkpoint from private/cosigned: ",
                       added.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace ktlog
