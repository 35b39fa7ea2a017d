// Key files made by ktlog-keygen (docs/formats.md, "Key files"):
//
//   log:     PRIVATE+KEY+<name>+<id>+<base64>   (the note signer key)
//            PRIVATE+VRF+<base64 32-byte VRF seed>
//   witness: PRIVATE+KEY+<name>+<id>+<base64>
//
// in files of mode 0600.
#ifndef KTLOG_CORE_NOTE_KEY_FILE_H_
#define KTLOG_CORE_NOTE_KEY_FILE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/crypto/vrf.h"
#include "core/note/log_key.h"
#include "core/note/note.h"

namespace ktlog {

// A key file made by ktlog-keygen: a note signer key, and for a log (not a
// witness) its VRF key. Move-only.
struct KeyFile {
  NoteSigner signer;
  std::optional<VrfPrivateKey> vrf;
};

// Reads and parses a key file. NOT_FOUND if missing; FAILED_PRECONDITION if
// unreadable or malformed (the message names the file).
absl::StatusOr<KeyFile> LoadKeyFile(const std::string& path);

// Writes a new key file (mode 0600): the signer and, if given, the VRF key.
// ALREADY_EXISTS if `path` exists.
absl::Status WriteKeyFile(const std::string& path, const NoteSigner& signer,
                          const VrfPrivateKey* vrf);

// A read replica's key file (docs/scale.md): only the log's VRF key, one
// line PRIVATE+VRF+<base64 seed>, mode 0600. Load: NOT_FOUND if missing;
// FAILED_PRECONDITION if malformed or if it holds a checkpoint signing key
// (a replica must not hold one).
absl::Status WriteReplicaKeyFile(const std::string& path,
                                 const VrfPrivateKey& vrf);
absl::StatusOr<VrfPrivateKey> LoadReplicaKeyFile(const std::string& path);

// The public log key of a log's key file. FAILED_PRECONDITION if it has no
// VRF key (a witness key, or a log key made by an older ktlog-keygen).
absl::StatusOr<LogPublicKey> LogPublicKeyOf(const KeyFile& keys);

}  // namespace ktlog

#endif  // KTLOG_CORE_NOTE_KEY_FILE_H_
