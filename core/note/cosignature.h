// Witness cosignatures (c2sp.org/tlog-cosignature, Ed25519 "cosignature/v1",
// note key type 0x04). A cosigner states that, at `time`, the checkpoint is
// the largest consistent tree head it has seen for the log; ktlog's auditor
// additionally states that it replayed every record and recomputed both the
// tree root and the account index root (docs/witness.md).
//
//   signed message: "cosignature/v1\n" "time <unix seconds>\n" || note text
//   signature line: — <name> base64(key ID || u64 time, big-endian || sig)
//   key ID:         SHA-256(name || "\n" || 0x04 || public key)[:4]
#ifndef KTLOG_CORE_NOTE_COSIGNATURE_H_
#define KTLOG_CORE_NOTE_COSIGNATURE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/note/note.h"

namespace ktlog {

// The cosignature of the note text `text` (a checkpoint body) by `witness`
// (type 0x04) at `time_s`.
NoteSignature Cosign(absl::string_view text, const NoteSigner& witness,
                     uint64_t time_s);

// Checks the cosignatures in `note` by `witness` (type 0x04). Returns the
// cosignature's time. UNAUTHENTICATED if there is none by that key or it
// does not verify; INVALID_ARGUMENT if it is malformed (length, a time of
// 2^63 or more).
absl::StatusOr<uint64_t> VerifyCosignature(const Note& note,
                                           const NoteVerifierKey& witness);

}  // namespace ktlog

#endif  // KTLOG_CORE_NOTE_COSIGNATURE_H_
