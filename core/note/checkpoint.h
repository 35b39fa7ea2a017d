// Checkpoints: the C2SP tlog-checkpoint note body (c2sp.org/tlog-checkpoint
// v1.0.0), parsed strictly, and ktlog's own checkpoint, which is a C2SP
// checkpoint whose extension lines are exactly, in this order
// (docs/formats.md):
//
//   index-root <base64 of the 32-byte account index root>
//   timestamp-ms <unix time in milliseconds, decimal>
//
// A ktlog checkpoint is signed as a C2SP signed note by the log's Ed25519
// key, whose name is the origin.
#ifndef KTLOG_CORE_NOTE_CHECKPOINT_H_
#define KTLOG_CORE_NOTE_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"
#include "core/note/note.h"

namespace ktlog {

// A C2SP checkpoint body.
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root;
  std::vector<std::string> extensions;  // non-empty lines, without "\n"

  // "<origin>\n<size>\n<base64 root>\n" then each extension line.
  std::string ToBody() const;
};

// Parses a C2SP checkpoint body strictly: at least three lines, each ending
// in "\n"; a non-empty printable origin; a decimal size without sign or
// leading zeros that fits in 64 bits; a root that is canonical padded
// base64 of exactly 32 bytes; non-empty extension lines. INVALID_ARGUMENT
// otherwise.
absl::StatusOr<Checkpoint> ParseCheckpointBody(absl::string_view text);

// ktlog's checkpoint: the tree head, the account index root of the same
// log prefix, and the time the log signed it.
struct LogCheckpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root;
  Hash index_root;
  uint64_t timestamp_ms = 0;

  std::string ToBody() const;
  friend bool operator==(const LogCheckpoint& a, const LogCheckpoint& b) {
    return a.origin == b.origin && a.size == b.size && a.root == b.root &&
           a.index_root == b.index_root && a.timestamp_ms == b.timestamp_ms;
  }
};

// Parses a ktlog checkpoint body: a C2SP body whose extension lines are
// exactly ktlog's. INVALID_ARGUMENT otherwise.
absl::StatusOr<LogCheckpoint> ParseLogCheckpointBody(absl::string_view text);

// The signed note for `checkpoint`, signed by `signer` (type 0x01), whose
// name must be the checkpoint's origin.
std::string SignLogCheckpoint(const LogCheckpoint& checkpoint,
                              const NoteSigner& signer);

// Opens a signed checkpoint note from the log with key `log_key`:
// INVALID_ARGUMENT if the note or body is malformed or its origin is not
// log_key.name; UNAUTHENTICATED if the log's signature is missing or does not
// verify. Signatures by other keys (witnesses) are ignored here.
absl::StatusOr<LogCheckpoint> OpenLogCheckpoint(absl::string_view note,
                                                const NoteVerifierKey& log_key);

}  // namespace ktlog

#endif  // KTLOG_CORE_NOTE_CHECKPOINT_H_
