#include "verifier/trust.h"

#include "absl/strings/str_cat.h"
#include "core/proof.h"
#include "core/status_macros.h"

namespace ktlog {

absl::StatusOr<CheckpointUpdate> CheckCheckpoint(
    const NoteVerifierKey& log_key, const std::optional<LogCheckpoint>& trusted,
    const std::string& note, const std::vector<Hash>& proof) {
  ASSIGN_OR_RETURN(LogCheckpoint cp, OpenLogCheckpoint(note, log_key));
  CheckpointUpdate update{cp, note, false};
  if (!trusted.has_value()) {
    update.advanced = true;
    return update;
  }
  if (cp.size < trusted->size) {
    return absl::DataLossError(
        absl::StrCat("rollback: the log now shows a tree of size ", cp.size,
                     ", smaller than the trusted size ", trusted->size));
  }
  if (cp.size == trusted->size) {
    if (cp.root != trusted->root) {
      return absl::DataLossError(absl::StrCat(
          "fork: the log signed two different roots for tree size ", cp.size));
    }
    return update;
  }
  if (trusted->size > 0) {
    absl::Status s = VerifyConsistency(trusted->size, cp.size, proof,
                                       trusted->root, cp.root);
    if (absl::IsDataLoss(s)) {
      return absl::DataLossError(
          absl::StrCat("fork: the checkpoint of size ", cp.size,
                       " is not consistent with the trusted one of size ",
                       trusted->size, ": ", s.message()));
    }
    RETURN_IF_ERROR(s);
  }
  update.advanced = true;
  return update;
}

}  // namespace ktlog
