// Fuzzes the signed-note and checkpoint parsers: an accepted note prints back
// to the same text, an accepted body too, and verification never crashes.
// Also the log key (with its witness policy), which users paste.
#include <cstdlib>
#include <string>

#include "core/note/checkpoint.h"
#include "core/note/cosignature.h"
#include "core/note/log_key.h"
#include "core/note/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ktlog::NoteVerifierKey* key =
      new ktlog::NoteVerifierKey(*ktlog::NoteVerifierKey::Parse(
          "ktlog.example/"
          "log+48972bde+AT9iCn4SmL+UrNVOVMsjeSQg50lDEEh0cLGWNlUiDXo5"));
  static const ktlog::NoteVerifierKey* witness =
      new ktlog::NoteVerifierKey(*ktlog::NoteVerifierKey::Parse(
          "witness.ktlog.example/"
          "w1+86f68f2b+BIq7TCXCJOjL0ExSzlHso4kpMqPKKGIkMb4+a0fyP06w"));
  std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ktlog::Note> note = ktlog::ParseNote(input);
  if (note.ok()) {
    if (note->ToString() != input) abort();
    (void)ktlog::VerifyNoteSignature(*note, *key);
    (void)ktlog::VerifyCosignature(*note, *witness);
    (void)ktlog::OpenLogCheckpoint(input, *key);
  }
  absl::StatusOr<ktlog::Checkpoint> body = ktlog::ParseCheckpointBody(input);
  if (body.ok() && body->ToBody() != input) abort();
  absl::StatusOr<ktlog::LogCheckpoint> cp =
      ktlog::ParseLogCheckpointBody(input);
  if (cp.ok() && cp->ToBody() != input) abort();
  (void)ktlog::NoteVerifierKey::Parse(input);
  (void)ktlog::NoteSigner::Parse(input);
  absl::StatusOr<ktlog::LogPublicKey> log_key =
      ktlog::LogPublicKey::Parse(input);
  if (log_key.ok()) {
    // The canonical form parses back to the same key.
    absl::StatusOr<ktlog::LogPublicKey> again =
        ktlog::LogPublicKey::Parse(log_key->ToString());
    if (!again.ok() || again->ToString() != log_key->ToString()) abort();
  }
  return 0;
}
