#include "core/note/cosignature.h"

#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"

namespace ktlog {
namespace {

std::string SignedMessage(absl::string_view text, uint64_t time_s) {
  return absl::StrCat("cosignature/v1\ntime ", time_s, "\n", text);
}

}  // namespace

NoteSignature Cosign(absl::string_view text, const NoteSigner& witness,
                     uint64_t time_s) {
  std::string sig;
  AppendBigEndian(time_s, 8, &sig);
  sig += witness.private_key().Sign(SignedMessage(text, time_s));
  return NoteSignature{witness.name(), witness.key_id(), sig};
}

absl::StatusOr<uint64_t> VerifyCosignature(const Note& note,
                                           const NoteVerifierKey& witness) {
  if (witness.type != kNoteTypeCosignatureV1) {
    return absl::InvalidArgumentError(
        "a witness key has type 0x04 (Ed25519 cosignature/v1)");
  }
  const NoteSignature* s = FindSignature(note, witness);
  if (s == nullptr) {
    return absl::UnauthenticatedError(
        absl::StrCat("no cosignature by witness ", witness.name));
  }
  if (s->signature.size() != 8 + Ed25519PublicKey::kSignatureSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("cosignature by ", witness.name, " has the wrong length"));
  }
  uint64_t time_s = ReadBigEndian(s->signature, 8);
  if (time_s >= (uint64_t{1} << 63)) {
    return absl::InvalidArgumentError("cosignature time exceeds 2^63 - 1");
  }
  if (!witness.key.Verify(SignedMessage(note.text, time_s),
                          absl::string_view(s->signature).substr(8))) {
    return absl::UnauthenticatedError(
        absl::StrCat("cosignature by ", witness.name, " does not verify"));
  }
  return time_s;
}

}  // namespace ktlog
