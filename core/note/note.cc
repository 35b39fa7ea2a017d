#include "core/note/note.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

constexpr absl::string_view kEmDashSpace = "\xe2\x80\x94 ";
constexpr absl::string_view kPrivateKeyPrefix = "PRIVATE+KEY+";

absl::StatusOr<uint32_t> ParseKeyIdHex(absl::string_view hex) {
  if (hex.size() != 8) {
    return absl::InvalidArgumentError("key ID must be 8 hex digits");
  }
  ASSIGN_OR_RETURN(std::string bytes, HexDecode(hex));
  return static_cast<uint32_t>(ReadBigEndian(bytes, 4));
}

// Splits "<name>+<hex id>+<base64(type||key)>" and checks name and type.
absl::Status SplitKeyString(absl::string_view s, std::string* name,
                            uint32_t* key_id, uint8_t* type, std::string* key) {
  // The name and ID contain no '+'; the base64 key may.
  std::vector<absl::string_view> parts =
      absl::StrSplit(s, absl::MaxSplits('+', 2));
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(
        "note key must have the form <name>+<key ID hex>+<base64 key>");
  }
  RETURN_IF_ERROR(ValidateKeyName(parts[0]));
  ASSIGN_OR_RETURN(*key_id, ParseKeyIdHex(parts[1]));
  ASSIGN_OR_RETURN(std::string raw, Base64Decode(parts[2]));
  if (raw.size() != 33) {
    return absl::InvalidArgumentError(
        "note key must be a type byte and a 32-byte Ed25519 key");
  }
  *type = static_cast<uint8_t>(raw[0]);
  if (*type != kNoteTypeEd25519 && *type != kNoteTypeCosignatureV1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "note key type 0x%02x is not supported (0x01 Ed25519 or 0x04 "
        "Ed25519 cosignature)",
        *type));
  }
  *name = std::string(parts[0]);
  *key = raw.substr(1);
  return absl::OkStatus();
}

}  // namespace

uint32_t NoteKeyId(absl::string_view name, uint8_t type,
                   absl::string_view public_key) {
  char t = static_cast<char>(type);
  Hash h = Sha256({name, "\n", absl::string_view(&t, 1), public_key});
  return static_cast<uint32_t>(ReadBigEndian(h.view(), 4));
}

absl::Status ValidateKeyName(absl::string_view name) {
  if (name.empty() || name.size() > 256) {
    return absl::InvalidArgumentError("key name must be 1 to 256 bytes long");
  }
  if (!IsPrintableUtf8WithoutSpaces(name) ||
      name.find('+') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key name \"", absl::CHexEscape(name),
        "\" must be UTF-8 without spaces, '+' or control characters"));
  }
  return absl::OkStatus();
}

absl::StatusOr<NoteVerifierKey> NoteVerifierKey::Parse(absl::string_view vkey) {
  std::string name, key;
  uint32_t key_id;
  uint8_t type;
  RETURN_IF_ERROR(SplitKeyString(vkey, &name, &key_id, &type, &key));
  ASSIGN_OR_RETURN(Ed25519PublicKey pub, Ed25519PublicKey::FromBytes(key));
  if (NoteKeyId(name, type, key) != key_id) {
    return absl::InvalidArgumentError(
        "note verifier key ID does not match its name and key");
  }
  return NoteVerifierKey{name, type, key_id, std::move(pub)};
}

std::string NoteVerifierKey::ToString() const {
  std::string raw(1, static_cast<char>(type));
  raw += key.bytes();
  return absl::StrFormat("%s+%08x+%s", name, key_id, Base64Encode(raw));
}

NoteSigner::NoteSigner(std::string name, uint8_t type, Ed25519PrivateKey key)
    : name_(std::move(name)),
      type_(type),
      key_id_(NoteKeyId(name_, type, key.public_key().bytes())),
      key_(std::move(key)) {}

absl::StatusOr<NoteSigner> NoteSigner::Generate(absl::string_view name,
                                                uint8_t type) {
  RETURN_IF_ERROR(ValidateKeyName(name));
  if (type != kNoteTypeEd25519 && type != kNoteTypeCosignatureV1) {
    return absl::InvalidArgumentError("unsupported note key type");
  }
  return NoteSigner(std::string(name), type, Ed25519PrivateKey::Generate());
}

absl::StatusOr<NoteSigner> NoteSigner::Parse(absl::string_view skey) {
  if (!absl::StartsWith(skey, kPrivateKeyPrefix)) {
    return absl::InvalidArgumentError(
        "note signer key must start with PRIVATE+KEY+");
  }
  std::string name, seed;
  uint32_t key_id;
  uint8_t type;
  RETURN_IF_ERROR(SplitKeyString(skey.substr(kPrivateKeyPrefix.size()), &name,
                                 &key_id, &type, &seed));
  ASSIGN_OR_RETURN(Ed25519PrivateKey key, Ed25519PrivateKey::FromSeed(seed));
  NoteSigner signer(std::move(name), type, std::move(key));
  if (signer.key_id() != key_id) {
    return absl::InvalidArgumentError(
        "note signer key ID does not match its name and key");
  }
  return signer;
}

NoteVerifierKey NoteSigner::verifier_key() const {
  return NoteVerifierKey{name_, type_, key_id_, key_.public_key()};
}

std::string NoteSigner::ToString() const {
  std::string raw(1, static_cast<char>(type_));
  raw += key_.seed();
  return absl::StrFormat("%s%s+%08x+%s", kPrivateKeyPrefix, name_, key_id_,
                         Base64Encode(raw));
}

std::string NoteSignature::ToLine() const {
  std::string raw;
  AppendBigEndian(key_id, 4, &raw);
  raw += signature;
  return absl::StrCat(kEmDashSpace, name, " ", Base64Encode(raw), "\n");
}

std::string Note::ToString() const {
  std::string out = text;
  out += "\n";
  for (const NoteSignature& s : signatures) out += s.ToLine();
  return out;
}

absl::StatusOr<Note> ParseNote(absl::string_view note) {
  if (note.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("note is larger than ", kMaxNoteSize, " bytes"));
  }
  if (!IsValidUtf8(note)) {
    return absl::InvalidArgumentError("note is not valid UTF-8");
  }
  for (char c : note) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) {
      return absl::InvalidArgumentError(
          "note contains a control character other than newline");
    }
  }
  if (note.empty() || note.back() != '\n') {
    return absl::InvalidArgumentError("note does not end with a newline");
  }
  size_t split = note.rfind("\n\n");
  if (split == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "note has no blank line separating text and signatures");
  }
  Note out;
  out.text = std::string(note.substr(0, split + 1));
  absl::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) {
    return absl::InvalidArgumentError("note has no signature lines");
  }
  sigs.remove_suffix(1);  // the final newline
  for (absl::string_view line : absl::StrSplit(sigs, '\n')) {
    if (out.signatures.size() == kMaxSignatures) {
      return absl::InvalidArgumentError(
          absl::StrCat("note has more than ", kMaxSignatures, " signatures"));
    }
    if (!absl::ConsumePrefix(&line, kEmDashSpace)) {
      return absl::InvalidArgumentError(
          "signature line does not start with an em dash and a space");
    }
    size_t space = line.find(' ');
    if (space == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          "signature line has no space between key name and signature");
    }
    NoteSignature sig;
    sig.name = std::string(line.substr(0, space));
    RETURN_IF_ERROR(ValidateKeyName(sig.name));
    absl::StatusOr<std::string> raw = Base64Decode(line.substr(space + 1));
    if (!raw.ok() || raw->size() < 5) {
      return absl::InvalidArgumentError(
          absl::StrCat("signature by ", sig.name,
                       " is not base64 of a key ID followed by a signature"));
    }
    sig.key_id = static_cast<uint32_t>(ReadBigEndian(*raw, 4));
    sig.signature = raw->substr(4);
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

NoteSignature SignNote(absl::string_view text, const NoteSigner& signer) {
  return NoteSignature{signer.name(), signer.key_id(),
                       signer.private_key().Sign(text)};
}

const NoteSignature* FindSignature(const Note& note,
                                   const NoteVerifierKey& key) {
  for (const NoteSignature& sig : note.signatures) {
    if (sig.name == key.name && sig.key_id == key.key_id) return &sig;
  }
  return nullptr;
}

absl::Status VerifyNoteSignature(const Note& note, const NoteVerifierKey& key) {
  if (key.type != kNoteTypeEd25519) {
    return absl::InvalidArgumentError(
        "VerifyNoteSignature needs a type 0x01 (Ed25519) key");
  }
  bool found = false;
  for (const NoteSignature& sig : note.signatures) {
    if (sig.name != key.name || sig.key_id != key.key_id) continue;
    if (!key.key.Verify(note.text, sig.signature)) {
      return absl::UnauthenticatedError(
          absl::StrCat("note signature by ", key.name, " does not verify"));
    }
    found = true;
  }
  if (!found) {
    return absl::UnauthenticatedError(
        absl::StrCat("note carries no signature by key ", key.ToString()));
  }
  return absl::OkStatus();
}

}  // namespace ktlog
