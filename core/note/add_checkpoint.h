// The body of a C2SP tlog-witness add-checkpoint request
// (https://c2sp.org/tlog-witness): "old <size>\n", zero to 63 lines of one
// base64 hash each (an RFC 6962 consistency proof from that size), an
// empty line, then the checkpoint note. The log writes it
// (log/witness_pusher.h), a witness reads it (auditor/witness_http.h).
#ifndef KTLOG_CORE_NOTE_ADD_CHECKPOINT_H_
#define KTLOG_CORE_NOTE_ADD_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"

namespace ktlog {

// The most proof lines a request may carry (the spec's bound).
inline constexpr size_t kMaxAddCheckpointProof = 63;
// The largest body a witness reads: the proof, and a checkpoint with room
// for many cosignatures.
inline constexpr size_t kMaxAddCheckpointBody = 64 * 1024;

struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<Hash> proof;
  std::string checkpoint;  // the signed note, as sent
};

// Parses a body; INVALID_ARGUMENT saying what is wrong (a missing or
// malformed old line, a size with leading zeros, a line that is not one
// base64 hash, more than 63 of them, no empty line, a body over
// kMaxAddCheckpointBody).
absl::StatusOr<AddCheckpointRequest> ParseAddCheckpoint(absl::string_view body);

// The body for `request`.
std::string FormatAddCheckpoint(const AddCheckpointRequest& request);

}  // namespace ktlog

#endif  // KTLOG_CORE_NOTE_ADD_CHECKPOINT_H_
