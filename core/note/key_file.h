// Note signing keys on disk: one line, the signer key string
// ("PRIVATE+KEY+<name>+<id>+<base64>"), in a file of mode 0600.
#ifndef KTLOG_CORE_NOTE_KEY_FILE_H_
#define KTLOG_CORE_NOTE_KEY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/note/note.h"

namespace ktlog {

// Reads and parses a key file. NOT_FOUND if missing; FAILED_PRECONDITION
// if unreadable or malformed (the message names the file).
absl::StatusOr<NoteSigner> LoadSignerKeyFile(const std::string& path);

// Writes a new key file (mode 0600); ALREADY_EXISTS if `path` exists.
absl::Status WriteSignerKeyFile(const std::string& path,
                                const NoteSigner& signer);

}  // namespace ktlog

#endif  // KTLOG_CORE_NOTE_KEY_FILE_H_
