// SecurityKeyDevice: what the client library needs from a FIDO2
// authenticator (a security key). verifier/fido2/fido2_device.h drives a
// real one through libfido2 (USB HID, or custom I/O); an app on a
// platform with its own FIDO2 API implements this interface over it.
//
// Errors every implementation returns, for the app to tell the user:
//   DEADLINE_EXCEEDED  nobody touched the key in time
//   UNAVAILABLE        the key is gone (unplugged, lost)
//   ALREADY_EXISTS     the key already holds one of the credentials
//                      excluded (it is one of the account's keys already)
//   NOT_FOUND          the key holds none of the credentials asked for
//                      (another of the user's keys, or a stranger's)
//   FAILED_PRECONDITION the key cannot do what is asked (user verification
//                      without a PIN or biometric set up, an algorithm it
//                      lacks)
#ifndef KTLOG_VERIFIER_SECURITY_KEY_DEVICE_H_
#define KTLOG_VERIFIER_SECURITY_KEY_DEVICE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/account/security_key.h"
#include "core/crypto/hash.h"

namespace ktlog {

// A CTAP2 assertion (core/account/security_key.h): which credential, its
// 37-byte authenticator data and its signature.
struct KeyAssertion {
  std::string credential_id;
  std::string authenticator_data;
  std::string signature;
};

// An hmac-secret output (32 bytes) and the credential that made it.
struct KeySecret {
  std::string credential_id;
  std::string secret;
};

class SecurityKeyDevice {
 public:
  virtual ~SecurityKeyDevice() = default;

  // Makes a new credential for relying party `rp_id` and user `account_id`
  // (the user touches the key). Returns its id and public key.
  // ALREADY_EXISTS if the key holds one of `exclude` (credential ids): it
  // is already one of the account's keys.
  virtual absl::StatusOr<SecurityKey> MakeCredential(
      const std::string& rp_id, const std::string& account_id,
      KeyAlgorithm algorithm, const std::vector<std::string>& exclude) = 0;

  // An assertion over `client_data_hash` for `rp_id` by whichever of
  // `credential_ids` the key holds (the user touches it; with
  // `user_verification`, also enters the PIN or a biometric).
  virtual absl::StatusOr<KeyAssertion> GetAssertion(
      const std::string& rp_id, const std::vector<std::string>& credential_ids,
      const Hash& client_data_hash, bool user_verification) = 0;

  // The hmac-secret extension (CTAP2): the 32-byte secret that whichever
  // of `credential_ids` (of `rp_id`) the key holds derives from `salt` (32
  // bytes): HMAC-SHA-256 under a key that never leaves the security key
  // (and its clones), the same for the same salt every time (the user
  // touches it once; user verification is never asked for, which would
  // give another secret). The trust backup's security-key wraps are opened
  // with it (verifier/trust_backup.h). NOT_FOUND if the key holds none of
  // the credentials; FAILED_PRECONDITION if it cannot do hmac-secret.
  virtual absl::StatusOr<KeySecret> HmacSecret(
      const std::string& rp_id, const std::vector<std::string>& credential_ids,
      absl::string_view salt) = 0;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_SECURITY_KEY_DEVICE_H_
