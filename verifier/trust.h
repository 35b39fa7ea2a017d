// Monotonic trust in a log's checkpoints (docs/verifier.md): a client
// accepts a new checkpoint only if it is signed by the pinned log key and
// a consistency proof links it to the checkpoint it trusted before.
//
// No gRPC: the caller fetches the note and the proof and hands them in.
#ifndef KTLOG_VERIFIER_TRUST_H_
#define KTLOG_VERIFIER_TRUST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/checkpoint.h"
#include "core/hash.h"
#include "core/note.h"

namespace ktlog {

// The outcome of checking a candidate checkpoint against the trusted one.
struct CheckpointUpdate {
  LogCheckpoint checkpoint;  // the candidate, opened
  std::string note;          // its signed note
  bool advanced = false;     // larger than the trusted one
};

// Checks `note` (signed by `log_key`) against `trusted` (nullopt on first
// use: trust on first use, no proof needed) with `proof`, the consistency
// proof from trusted->size to the candidate's size (ignored when the sizes
// are equal or nothing is trusted). Errors:
//   INVALID_ARGUMENT   malformed note or proof
//   UNAUTHENTICATED    not signed by the pinned key
//   DATA_LOSS          well-formed evidence of misbehaviour: a smaller tree
//                      than trusted (rollback), the same size with another
//                      root or a consistency proof that fails (fork)
absl::StatusOr<CheckpointUpdate> CheckCheckpoint(
    const NoteVerifierKey& log_key, const std::optional<LogCheckpoint>& trusted,
    const std::string& note, const std::vector<Hash>& proof);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_TRUST_H_
