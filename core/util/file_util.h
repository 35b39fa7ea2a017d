// Files that must not be lost or half-written: bounded reads, atomic
// replacement (write a temporary file, fsync, rename, fsync the directory)
// and exclusive creation of secret files with mode 0600.
#ifndef KTLOG_CORE_UTIL_FILE_UTIL_H_
#define KTLOG_CORE_UTIL_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ktlog {

// The whole file. NOT_FOUND if it does not exist; FAILED_PRECONDITION if it
// is larger than max_size or unreadable (the message names path and cause).
absl::StatusOr<std::string> ReadFileBounded(const std::string& path,
                                            size_t max_size);

// The same for a secret file (a private key): the one rule for every
// secret ktlog reads (docs/security.md) is that only its owner may access
// it, so FAILED_PRECONDITION, naming the file, its mode and the chmod that
// fixes it, if group or others have any permission bit (read, write or
// execute). The caller should WipeSecret (core/util/bytes.h) the text
// once parsed.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path,
                                           size_t max_size);

// Replaces `path` with `data` atomically: after a crash the file holds the
// old or the new contents, never a mix. `mode` applies to the new file.
// FAILED_PRECONDITION with the cause on error.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data, int mode);

// Creates `path` with mode 0600 and writes `data`, failing with
// ALREADY_EXISTS if it exists (a key is never overwritten by accident).
absl::Status CreateSecretFile(const std::string& path, absl::string_view data);

// Creates `dir` (and parents) with `mode` if missing.
absl::Status MakeDirs(const std::string& dir, int mode);

}  // namespace ktlog

#endif  // KTLOG_CORE_UTIL_FILE_UTIL_H_
