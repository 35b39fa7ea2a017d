#ifndef KTLOG_CORE_NOTE_SUCCESSION_H_
#define KTLOG_CORE_NOTE_SUCCESSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/crypto/hash.h"
#include "core/note/checkpoint.h"

namespace ktlog {

// The one rule for "may checkpoint `next` follow checkpoint `previous` of the
// same log": the log applies it before it signs, clients before they trust a
// new checkpoint, auditors before they replay one.
enum class Succession {
  kOk,
  kRollback,      // next is smaller
  kFork,          // same size with another tree, or a valid-shaped
                  // consistency proof that does not link the two roots
  kInvalidProof,  // the consistency proof is malformed (wrong length)
  kTimeGoesBack,  // next is dated before previous
  kBehind,        // next is an older checkpoint of the same history: not
                  // dated after previous, no larger, and consistent with
                  // it (a read replica or cache that has not caught up;
                  // no evidence against the log: keep previous)
};

struct SuccessionCheck {
  Succession verdict = Succession::kOk;
  std::string message;      // for a person; empty when kOk
  std::vector<Hash> proof;  // the consistency proof checked (evidence)
};

// Returns the consistency proof from tree size `old_size` to `new_size`.
using ConsistencyProofSource =
    absl::FunctionRef<absl::StatusOr<std::vector<Hash>>(uint64_t old_size,
                                                        uint64_t new_size)>;

// Checks that two checkpoints of one log, in either order, can both be
// heads of one history: at equal size the same root and index root; else a
// consistency proof from the smaller to the larger (from `fetch`, called
// only then) links their roots. Never kRollback or kTimeGoesBack. Used
// against a checkpoint a client saw but no longer trusts (after its witness
// policy changed), where an older cosigned checkpoint is no rollback.
absl::StatusOr<SuccessionCheck> CheckConsistent(const LogCheckpoint& a,
                                                const LogCheckpoint& b,
                                                ConsistencyProofSource fetch);

// Checks, in this order: not smaller; at equal size the same root and index
// root; when larger (and previous is not empty) a consistency proof from
// `fetch`, called only then; not dated earlier. A verdict describes the log;
// an error from `fetch` is returned as is (a transport failure is not one).
//
// A checkpoint dated no later than `previous` and no larger is kBehind if
// it is consistent with `previous` (a proof from it to `previous`), else
// kFork: an honest log's checkpoints grow with their timestamps, and its
// read replicas (docs/scale.md) may serve one they adopted before the one
// a client trusts. If `fetch` answers OUT_OF_RANGE for that proof (the log
// has no tree of the size it signed), or the smaller checkpoint is dated
// after `previous` (the log signed a smaller tree later), it is kRollback.
absl::StatusOr<SuccessionCheck> CheckSuccession(const LogCheckpoint& previous,
                                                const LogCheckpoint& next,
                                                ConsistencyProofSource fetch);

}  // namespace ktlog

#endif  // KTLOG_CORE_NOTE_SUCCESSION_H_
