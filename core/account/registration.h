// Registration credentials: who may create an account (docs/formats.md,
// "Registration credential"; docs/security.md).
//
// In a deployment the messaging provider's registration front end checks
// that an account id (a phone number, an address) belongs to the person
// registering, takes the account key their client made, and hands the
// client a credential for that id, that key, until an expiry time:
//
//   credential = "v2." || decimal expiry (unix seconds) || "." ||
//                lowercase hex of HMAC-SHA256(registration key,
//                    "ktlog-registration-v2\n" || u16+n account id ||
//                    32-byte account key || u64 expiry)
//
// The log, configured with the same 32-byte registration key, requires it
// on an account's first record (version 1) only, signed by that account
// key and before the expiry: later records are authorized by the account
// key alone. A credential is useless to anyone but the holder of that
// account key (one who reads it in a process list or a log cannot create
// the account with a key of its own), names one account id, and expires.
//
// The same key vouches for a reset of an account whose every key is lost
// (a reset-account record, core/account/record.h): once the operator has
// checked, as at registration, who is asking, it issues a reset
// credential for the account id and the new account key:
//
//   credential = "r1." || decimal expiry || "." || lowercase hex of
//                HMAC-SHA256(registration key, "ktlog-reset-v1\n" ||
//                    u16+n account id || 32-byte new account key ||
//                    u64 expiry)
//
// And it vouches for the erasure of an account on request (docs/operations.md,
// "Erasure") through the log's EraseAccount RPC, with no account key:
//
//   credential = "e1." || decimal expiry || "." || lowercase hex of
//                HMAC-SHA256(registration key, "ktlog-erase-v1\n" ||
//                    u16+n account id || u64 expiry)
//
// And it vouches for a new phone's fetch of the account's trust backup
// (docs/backup.md) through the log's GetBackup RPC, once the operator's
// sign-in has checked who is asking, with no account key:
//
//   credential = "b1." || decimal expiry || "." || lowercase hex of
//                HMAC-SHA256(registration key, "ktlog-backup-fetch-v1\n" ||
//                    u16+n account id || u64 expiry)
//
// No credential of one purpose is valid for another.
//
// The key lives in a file of one line, "PRIVATE+REGISTRATION+<base64 of 32
// bytes>", mode 0600 (ktlog-keygen --type=registration).
#ifndef KTLOG_CORE_ACCOUNT_REGISTRATION_H_
#define KTLOG_CORE_ACCOUNT_REGISTRATION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ktlog {

inline constexpr size_t kRegistrationKeySize = 32;

// What a credential vouches for: an account's creation, its reset, or
// (with an empty account key) its erasure or the fetch of its backup.
enum class CredentialPurpose { kRegistration, kReset, kErase, kFetchBackup };
// The longest credential ("v2." or "r1." + 20 digits + "." + 64 hex
// digits).
inline constexpr size_t kRegistrationCredentialSize = 88;

// A registration key (kRegistrationKeySize bytes).
class RegistrationKey {
 public:
  static RegistrationKey Generate();
  // Reads a key file. NOT_FOUND if missing; FAILED_PRECONDITION naming the
  // file if it is unreadable, malformed, or readable by others.
  static absl::StatusOr<RegistrationKey> Load(const std::string& path);
  // Writes a new key file (mode 0600). ALREADY_EXISTS if `path` exists.
  absl::Status Save(const std::string& path) const;

  ~RegistrationKey();  // wipes the key
  RegistrationKey(const RegistrationKey&) = default;
  RegistrationKey& operator=(const RegistrationKey&) = default;

  // The credential for the account `account_id` created (or reset) with
  // `account_key` (32 bytes), valid until `expiry_s` (unix seconds).
  std::string CredentialFor(
      absl::string_view account_id, absl::string_view account_key,
      uint64_t expiry_s,
      CredentialPurpose purpose = CredentialPurpose::kRegistration) const;
  // OK if `credential` is one of `purpose` for `account_id` and
  // `account_key` (its MAC compared in constant time) and not expired at
  // `now_s`;
  // UNAUTHENTICATED if it is empty; PERMISSION_DENIED if it is malformed,
  // for another id or key, or expired (checked only once the MAC holds).
  // The messages never name the account.
  absl::Status Check(
      absl::string_view account_id, absl::string_view account_key,
      absl::string_view credential, uint64_t now_s,
      CredentialPurpose purpose = CredentialPurpose::kRegistration) const;

 private:
  explicit RegistrationKey(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string Mac(CredentialPurpose purpose, absl::string_view account_id,
                  absl::string_view account_key, uint64_t expiry_s) const;
  std::string bytes_;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_REGISTRATION_H_
