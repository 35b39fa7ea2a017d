// The log's identity as clients pin it (docs/formats.md, "The log key"):
//
//   <note verifier key>,vrf=<base64 VRF public key>[,witness=<witness
//   verifier key>]...[,quorum=<k>]
//
// The checkpoint key signs checkpoints (core/note/checkpoint.h); the VRF key
// maps account ids to index positions (core/crypto/vrf.h). Both are the
// log's identity: a client pins both, the server binds both to its data
// dir. The witnesses and quorum are the log's published witness policy: a
// client that pins them trusts only checkpoints that k of those witnesses
// cosigned, which is what defends it against a log that shows it a history
// nobody else sees (docs/threat-model.md).
#ifndef KTLOG_CORE_NOTE_LOG_KEY_H_
#define KTLOG_CORE_NOTE_LOG_KEY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/vrf.h"
#include "core/note/note.h"

namespace ktlog {

// The smallest quorum of `witnesses` that is a majority: n / 2 + 1. Any two
// majorities share a witness, and an honest witness cosigns only one
// history; with a smaller quorum a log that shows some witnesses one
// history and the others another gets both cosigned, and clients can be
// shown either without any witness key (docs/witness.md).
uint32_t MajorityQuorum(size_t witnesses);

// The warning to give when `quorum` of `witnesses` is not a majority
// (empty when it is, or when there are no witnesses).
std::string QuorumWarning(uint32_t quorum, size_t witnesses);

struct LogPublicKey {
  NoteVerifierKey checkpoint_key;  // type 0x01; its name is the origin
  VrfPublicKey vrf_key;
  // The published witness policy: cosigning keys (type 0x04) and how many
  // of them must cosign (1..witnesses.size(); 0 without witnesses).
  std::vector<NoteVerifierKey> witnesses;
  uint32_t quorum = 0;

  // Parses the string. INVALID_ARGUMENT naming the problem: a missing,
  // unknown or repeated attribute, a witness key named twice (under any
  // names), a key of the wrong type, a VRF key that
  // is no valid point (say so for a plain verifier key: a log key without
  // its VRF key cannot check lookups), a quorum without witnesses or above
  // their number, more than 32 witnesses or 8 KiB. Without quorum= the quorum
  // is 1 if witnesses are given.
  static absl::StatusOr<LogPublicKey> Parse(absl::string_view text);
  // The whole string, witness policy included.
  std::string ToString() const;
  // Only the identity (checkpoint and VRF keys): what a data dir is bound
  // to, so that the witness policy can change.
  std::string IdentityString() const;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_NOTE_LOG_KEY_H_
