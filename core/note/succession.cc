#include "core/note/succession.h"

#include "absl/strings/str_cat.h"
#include "core/merkle/proof.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::StatusOr<SuccessionCheck> CheckConsistent(const LogCheckpoint& a,
                                                const LogCheckpoint& b,
                                                ConsistencyProofSource fetch) {
  const LogCheckpoint& smaller = a.size <= b.size ? a : b;
  const LogCheckpoint& larger = a.size <= b.size ? b : a;
  SuccessionCheck c;
  if (smaller.size == larger.size) {
    if (smaller.root != larger.root ||
        smaller.index_root != larger.index_root) {
      c.verdict = Succession::kFork;
      c.message =
          absl::StrCat("fork: two different trees of size ", larger.size);
    }
    return c;
  }
  if (smaller.size == 0) return c;  // every tree extends the empty one
  ASSIGN_OR_RETURN(c.proof, fetch(smaller.size, larger.size));
  absl::Status s = VerifyConsistency(smaller.size, larger.size, c.proof,
                                     smaller.root, larger.root);
  if (!s.ok()) {
    bool fork = absl::IsDataLoss(s);
    c.verdict = fork ? Succession::kFork : Succession::kInvalidProof;
    c.message = absl::StrCat(
        fork ? "fork: the tree of size " : "invalid consistency proof: size ",
        larger.size, " does not extend size ", smaller.size, ": ", s.message());
  }
  return c;
}

absl::StatusOr<SuccessionCheck> CheckSuccession(const LogCheckpoint& previous,
                                                const LogCheckpoint& next,
                                                ConsistencyProofSource fetch) {
  bool older =
      next.size < previous.size ||
      (next.size == previous.size && next.timestamp_ms < previous.timestamp_ms);
  if (older && next.timestamp_ms <= previous.timestamp_ms) {
    absl::StatusOr<SuccessionCheck> consistent =
        CheckConsistent(next, previous, fetch);
    if (absl::IsOutOfRange(consistent.status())) {
      // The log says it has no tree of the size it signed before.
      SuccessionCheck c;
      c.verdict = Succession::kRollback;
      c.message = absl::StrCat(
          "rollback: the log cannot prove its checkpoint of size ", next.size,
          " consistent with the one of size ", previous.size, " it signed (",
          consistent.status().message(), ")");
      return c;
    }
    ASSIGN_OR_RETURN(SuccessionCheck c, std::move(consistent));
    if (c.verdict == Succession::kOk) {
      c.verdict = Succession::kBehind;
      c.message = absl::StrCat("the checkpoint of size ", next.size,
                               " is older than the one of size ", previous.size,
                               " held already");
    }
    return c;
  }
  if (next.size < previous.size) {
    SuccessionCheck c;
    c.verdict = Succession::kRollback;
    c.message = absl::StrCat("rollback: the tree went from size ",
                             previous.size, " back to ", next.size);
    return c;
  }
  ASSIGN_OR_RETURN(SuccessionCheck c, CheckConsistent(previous, next, fetch));
  if (c.verdict == Succession::kOk &&
      next.timestamp_ms < previous.timestamp_ms) {
    c.verdict = Succession::kTimeGoesBack;
    c.message = absl::StrCat("the checkpoint is dated ", next.timestamp_ms,
                             " ms, before the previous one (",
                             previous.timestamp_ms, " ms)");
  }
  return c;
}

}  // namespace ktlog
