// The log's identity as clients pin it (docs/formats.md, "The log key"):
//
//   <note verifier key>,vrf=<base64 VRF public key>
//
// The checkpoint key signs checkpoints (core/note/checkpoint.h); the VRF key
// maps account ids to index positions (core/crypto/vrf.h). Both are part of
// the log's identity: a client pins both, the server binds both to its data
// dir.
#ifndef KTLOG_CORE_NOTE_LOG_KEY_H_
#define KTLOG_CORE_NOTE_LOG_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/vrf.h"
#include "core/note/note.h"

namespace ktlog {

struct LogPublicKey {
  NoteVerifierKey checkpoint_key;  // type 0x01; its name is the origin
  VrfPublicKey vrf_key;

  // Parses "<verifier key>,vrf=<base64>". INVALID_ARGUMENT naming the
  // problem: a missing or unknown attribute, a key of the wrong type, a VRF
  // key that is no valid point (say so for a plain verifier key: a log key
  // without its VRF key cannot check lookups).
  static absl::StatusOr<LogPublicKey> Parse(absl::string_view text);
  std::string ToString() const;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_NOTE_LOG_KEY_H_
