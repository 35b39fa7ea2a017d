// C2SP signed notes (c2sp.org/signed-note v1.0.0) with Ed25519 keys, and the
// note key strings of golang.org/x/mod/sumdb/note:
//
//   verifier key: <name>+<8 hex key ID>+<base64(type byte || public key)>
//   signer key:   PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || seed)>
//
// key ID = SHA-256(name || "\n" || type || public key)[:4], big-endian.
// Type 0x01 is a log's Ed25519 note signature; type 0x04 is an Ed25519
// witness cosignature (c2sp.org/tlog-cosignature), whose signed message and
// signature layout differ (see core/cosignature.h).
//
// Parsing is strict and bounded (kMaxNoteSize, kMaxSignatures); every error
// is INVALID_ARGUMENT with a message that names the problem.
#ifndef KTLOG_CORE_NOTE_NOTE_H_
#define KTLOG_CORE_NOTE_NOTE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/crypto.h"

namespace ktlog {

inline constexpr size_t kMaxNoteSize = 64 * 1024;
inline constexpr size_t kMaxSignatures = 64;
inline constexpr uint8_t kNoteTypeEd25519 = 0x01;
inline constexpr uint8_t kNoteTypeCosignatureV1 = 0x04;

// SHA-256(name || "\n" || type || public_key)[:4] as a big-endian integer.
uint32_t NoteKeyId(absl::string_view name, uint8_t type,
                   absl::string_view public_key);

// OK iff `name` is a valid key name: non-empty, valid UTF-8, no Unicode
// space, no '+', no control characters, at most 256 bytes.
absl::Status ValidateKeyName(absl::string_view name);

// A public key as configured in a verifier: name, type and key.
struct NoteVerifierKey {
  std::string name;
  uint8_t type = kNoteTypeEd25519;
  uint32_t key_id = 0;
  Ed25519PublicKey key;

  // Parses "<name>+<hex id>+<base64(type||key)>"; checks that the ID matches.
  static absl::StatusOr<NoteVerifierKey> Parse(absl::string_view vkey);
  std::string ToString() const;
};

// An Ed25519 note signer (type 0x01) or cosigner (type 0x04). Move-only.
class NoteSigner {
 public:
  // A fresh key for `name`. INVALID_ARGUMENT for a bad name.
  static absl::StatusOr<NoteSigner> Generate(absl::string_view name,
                                             uint8_t type = kNoteTypeEd25519);
  // Parses "PRIVATE+KEY+<name>+<hex id>+<base64(type||seed)>".
  static absl::StatusOr<NoteSigner> Parse(absl::string_view skey);

  const std::string& name() const { return name_; }
  uint8_t type() const { return type_; }
  uint32_t key_id() const { return key_id_; }
  const Ed25519PrivateKey& private_key() const { return key_; }
  NoteVerifierKey verifier_key() const;
  // The secret key string; write only to files of mode 0600.
  std::string ToString() const;

 private:
  NoteSigner(std::string name, uint8_t type, Ed25519PrivateKey key);

  std::string name_;
  uint8_t type_;
  uint32_t key_id_;
  Ed25519PrivateKey key_;
};

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // the bytes after the key ID

  // "— <name> <base64(key ID || signature)>\n"
  std::string ToLine() const;
};

struct Note {
  std::string text;  // ends with "\n"
  std::vector<NoteSignature> signatures;

  // text || "\n" || signature lines.
  std::string ToString() const;
};

// Strict C2SP parse. INVALID_ARGUMENT if the note is too large, not UTF-8,
// has control characters other than newline, has no blank line before the
// signatures, no signature, more than kMaxSignatures, or a malformed line.
absl::StatusOr<Note> ParseNote(absl::string_view note);

// The type-0x01 signature of `text` by `signer` (Ed25519 over the text).
NoteSignature SignNote(absl::string_view text, const NoteSigner& signer);

// The first signature on `note` whose name and key ID are `key`'s (by type
// 0x01 or 0x04 keys alike), or null. Not verified.
const NoteSignature* FindSignature(const Note& note,
                                   const NoteVerifierKey& key);

// Checks `note` against the type-0x01 `key` per C2SP: signatures from other
// keys are ignored; the note must carry a signature with key's name and ID
// and it must verify. UNAUTHENTICATED otherwise (no signature by the key, or
// a signature by the key that does not verify).
absl::Status VerifyNoteSignature(const Note& note, const NoteVerifierKey& key);

}  // namespace ktlog

#endif  // KTLOG_CORE_NOTE_NOTE_H_
