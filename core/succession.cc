#include "core/succession.h"

#include "absl/strings/str_cat.h"
#include "core/proof.h"
#include "core/status_macros.h"

namespace ktlog {

absl::StatusOr<SuccessionCheck> CheckSuccession(const LogCheckpoint& previous,
                                                const LogCheckpoint& next,
                                                ConsistencyProofSource fetch) {
  SuccessionCheck c;
  if (next.size < previous.size) {
    c.verdict = Succession::kRollback;
    c.message = absl::StrCat("rollback: the tree went from size ",
                             previous.size, " back to ", next.size);
    return c;
  }
  if (next.size == previous.size &&
      (next.root != previous.root || next.index_root != previous.index_root)) {
    c.verdict = Succession::kFork;
    c.message = absl::StrCat("fork: two different trees of size ", next.size);
    return c;
  }
  if (next.size > previous.size && previous.size > 0) {
    ASSIGN_OR_RETURN(c.proof, fetch(previous.size, next.size));
    absl::Status s = VerifyConsistency(previous.size, next.size, c.proof,
                                       previous.root, next.root);
    if (!s.ok()) {
      bool fork = absl::IsDataLoss(s);
      c.verdict = fork ? Succession::kFork : Succession::kInvalidProof;
      c.message = absl::StrCat(
          fork ? "fork: the tree of size " : "invalid consistency proof: size ",
          next.size, " does not extend size ", previous.size, ": ",
          s.message());
      return c;
    }
  }
  if (next.timestamp_ms < previous.timestamp_ms) {
    c.verdict = Succession::kTimeGoesBack;
    c.message = absl::StrCat("the checkpoint is dated ", next.timestamp_ms,
                             " ms, before the previous one (",
                             previous.timestamp_ms, " ms)");
  }
  return c;
}

}  // namespace ktlog
