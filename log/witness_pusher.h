// WitnessPusher: pushes each checkpoint the log signs to the witnesses that
// serve C2SP tlog-witness add-checkpoint (https://c2sp.org/tlog-witness;
// docs/witness.md, "Pushed to"), and adds the cosignatures they answer
// with (Cosignatures::Add checks each against the witness's key), so that
// a checkpoint is cosigned by its quorum a moment after it is signed.
//
// One thread per witness: a slow, down or refusing witness holds up
// neither the log's writes nor the other witnesses. Each thread sends the
// newest checkpoint (skipping any signed while it waited) with a
// consistency proof from the size that witness cosigned last, learned from
// its 409 answers; failures are logged (at most once a minute) and the
// next checkpoint is tried.
//
// Thread-safe; runs until Stop() or destruction.
#ifndef KTLOG_LOG_WITNESS_PUSHER_H_
#define KTLOG_LOG_WITNESS_PUSHER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/note/note.h"
#include "log/cosignatures.h"
#include "log/publisher.h"
#include "log/queries.h"

namespace ktlog {

// A witness the log pushes to: its key (one of the log's witness keys)
// and the URL prefix of its add-checkpoint endpoint.
struct PushedWitness {
  NoteVerifierKey key;
  std::string url;  // http[s]://host:port[/prefix]
};

struct PusherOptions {
  // How long one add-checkpoint may take.
  absl::Duration timeout = absl::Seconds(5);
  // PEM roots for https:// witnesses; empty: the system's.
  std::string ca_file;
};

class WitnessPusher {
 public:
  // Borrows the publisher, queries and cosignatures (they must outlive it).
  // INVALID_ARGUMENT for a URL that is not http[s]://host:port[/prefix].
  static absl::StatusOr<std::unique_ptr<WitnessPusher>> Start(
      const CheckpointPublisher* publisher, LogQueries* queries,
      Cosignatures* cosignatures, std::vector<PushedWitness> witnesses,
      PusherOptions options);
  ~WitnessPusher();  // Stop()s.

  // Ends the threads (after the push in flight, at most the timeout).
  void Stop();

  // Cosignatures received and accepted, in all.
  uint64_t accepted() const { return accepted_.load(); }

 private:
  WitnessPusher(const CheckpointPublisher* publisher, LogQueries* queries,
                Cosignatures* cosignatures, PusherOptions options);
  void Run(const PushedWitness& witness);

  const CheckpointPublisher* const publisher_;
  LogQueries* const queries_;
  Cosignatures* const cosignatures_;
  const PusherOptions options_;
  std::vector<PushedWitness> witnesses_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::vector<std::thread> threads_;
};

// Parses --witness_urls, "NAME=URL,NAME=URL", against the log's witness
// keys (each NAME the name of exactly one of them). INVALID_ARGUMENT
// saying what is wrong.
absl::StatusOr<std::vector<PushedWitness>> ParseWitnessUrls(
    absl::string_view flag, const std::vector<NoteVerifierKey>& witnesses);

}  // namespace ktlog

#endif  // KTLOG_LOG_WITNESS_PUSHER_H_
