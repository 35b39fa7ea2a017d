// Registration credentials: who may create an account (docs/formats.md,
// "Registration credential"; docs/security.md).
//
// In a deployment the messaging provider's registration front end checks
// that an account id (a phone number, an address) belongs to the person
// registering, then hands their client a credential for that id:
//
//   credential = lowercase hex of HMAC-SHA256(registration key,
//                    "ktlog-registration-v1\n" || account id)
//
// The log, configured with the same 32-byte registration key, requires it
// on an account's first record (version 1) only: later records are
// authorized by the account key alone. A credential is bound to one account
// id, so holding one lets nobody squat any other id.
//
// The key lives in a file of one line, "PRIVATE+REGISTRATION+<base64 of 32
// bytes>", mode 0600 (ktlog-keygen --type=registration).
#ifndef KTLOG_CORE_ACCOUNT_REGISTRATION_H_
#define KTLOG_CORE_ACCOUNT_REGISTRATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ktlog {

inline constexpr size_t kRegistrationKeySize = 32;
// The hex credential's length.
inline constexpr size_t kRegistrationCredentialSize = 64;

// A registration key (kRegistrationKeySize bytes).
class RegistrationKey {
 public:
  static RegistrationKey Generate();
  // Reads a key file. NOT_FOUND if missing; FAILED_PRECONDITION naming the
  // file if it is unreadable, malformed, or readable by others.
  static absl::StatusOr<RegistrationKey> Load(const std::string& path);
  // Writes a new key file (mode 0600). ALREADY_EXISTS if `path` exists.
  absl::Status Save(const std::string& path) const;

  // The credential for `account_id`.
  std::string CredentialFor(absl::string_view account_id) const;
  // OK if `credential` is the one for `account_id` (compared in constant
  // time); UNAUTHENTICATED if it is empty; PERMISSION_DENIED otherwise. The
  // messages never name the account.
  absl::Status Check(absl::string_view account_id,
                     absl::string_view credential) const;

 private:
  explicit RegistrationKey(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string bytes_;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_REGISTRATION_H_
