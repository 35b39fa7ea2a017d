// Follower: what makes a ktlog-server a read replica (docs/scale.md). It
// follows the log it replicates: every poll it reads the log's latest
// signed checkpoint and public leaves from its C2SP tiles (through any HTTP
// cache or CDN) and what is behind them from its private feed
// (log/private_feed.h, with a bearer token), replays them through the
// Integrator's Replicate (every record, signature, account rule,
// commitment and VRF position checked, in the log's own batches), and
// adopts the checkpoint once its storage holds the tree and index root
// the checkpoint signs (CheckpointPublisher::Adopt). Reads are served only
// at adopted checkpoints, so nothing it serves was not signed by the log.
// It also copies the log's recent cosigned checkpoints that it holds the
// tree of.
//
// Nothing it stores is unverified: the public leaves of a step must hash
// to the checkpoint's root before the first batch is committed (they are
// read twice: first to check, then with the private feed, each compared
// with the first read). A log whose data does not hold up (a record that
// breaks the rules, a private feed that does not open the leaves, an
// index root that is not the one signed, a checkpoint that does not
// follow the last) halts following with DATA_LOSS: the replica keeps
// serving what it adopted and says why in its log and in halted().
// Anything else (the log or a cache unreachable, tiles that do not give the
// signed root, a checkpoint a cache holds back) is retried at the next
// poll.
//
// Thread-safe: one thread polls; Step may be called by tests instead.
#ifndef KTLOG_LOG_FOLLOWER_H_
#define KTLOG_LOG_FOLLOWER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/tiles_client.h"
#include "core/note/note.h"
#include "log/cosignatures.h"
#include "log/integrator.h"
#include "log/positions.h"
#include "log/publisher.h"
#include "log/storage/log_storage.h"

namespace ktlog {

struct FollowerOptions {
  // The followed log's tiles, http[s]://host:port[/prefix] (its
  // --http_listen, or a cache or CDN in front of it).
  std::string log_url;
  // Its private feed (its --http_listen, or an access-controlled copy);
  // empty: log_url.
  std::string feed_url;
  std::string feed_token;
  // PEM roots for https:// URLs (empty: the system's).
  std::string ca_file;
  absl::Duration poll_interval = absl::Milliseconds(200);
  absl::Duration timeout = absl::Seconds(30);  // per HTTP request
};

class Follower {
 public:
  // Borrows everything. Does not poll until Run().
  static absl::StatusOr<std::unique_ptr<Follower>> Create(
      const FollowerOptions& options, NoteVerifierKey key, LogWriter* storage,
      CosignatureStore* cosigned, Cosignatures* cosignatures,
      Integrator* integrator, CheckpointPublisher* publisher,
      const Positions* positions);
  ~Follower();  // Stop()s.

  // Polls on a thread of its own, each poll_interval, until Stop().
  void Run();
  void Stop();
  // Polls now rather than at the next interval (a read asked for a tree
  // size this replica has not seen the log sign); calls made while a poll
  // runs ask for one more.
  void Nudge();

  // One poll: replicate up to the log's latest checkpoint and adopt it
  // (OK also when there is nothing new). Errors as in the file comment;
  // after DATA_LOSS every Step returns that error.
  absl::Status Step();

  // The error that halted following, OK if none.
  absl::Status halted() const;

 private:
  Follower(const FollowerOptions& options, NoteVerifierKey key,
           LogWriter* storage, CosignatureStore* cosigned,
           Cosignatures* cosignatures, Integrator* integrator,
           CheckpointPublisher* publisher, const Positions* positions,
           std::unique_ptr<TilesClient> tiles,
           std::unique_ptr<TilesClient> feed);
  // Steps of Step: replicate up to `cp` (the leaves hash to its root,
  // then each batch through the integrator); copy the cosigned notes.
  absl::Status Replicate(const LogCheckpoint& cp);
  absl::Status CopyCosigned();
  // CANCELLED once Stop() was called (a long catch-up ends early).
  absl::Status Stopping() const;
  // The public leaves from `begin` to the end of its entry bundle in the
  // tree of `tree_size`; a source that gives anything else is UNAVAILABLE.
  absl::StatusOr<std::vector<std::string>> PublicLeaves(uint64_t begin,
                                                        uint64_t tree_size);
  // What the private feed has behind entry bundle `bundle` (from the full
  // bundle if the partial one is gone).
  absl::StatusOr<std::vector<FeedItem>> FeedBundle(const TileId& bundle);

  const FollowerOptions options_;
  const NoteVerifierKey key_;
  LogWriter* const storage_;
  CosignatureStore* const storage_cosigned_;
  Cosignatures* const cosignatures_;
  Integrator* const integrator_;
  CheckpointPublisher* const publisher_;
  const Positions* const positions_;
  const std::unique_ptr<TilesClient> tiles_, feed_;

  absl::Mutex step_mu_;  // one Step at a time
  mutable absl::Mutex mu_;
  absl::Status halted_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool nudged_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_FOLLOWER_H_
