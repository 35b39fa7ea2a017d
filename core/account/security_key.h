// Security keys: an account's authority as a set of FIDO2 credentials
// (docs/security-keys.md). Byte by byte in docs/formats.md ("Security-key
// set", "Device record, format version 2").
//
// A **security-key set** is what a set-security-keys record installs as
// the account's authority, in place of an Ed25519 account key:
//
//   u8        flags: bit 0 = every assertion must carry user verification
//             (UV); the other bits are zero
//   u16 + n   relying party id (1..64 bytes of printable UTF-8): the rp id
//             the credentials were made under (RpIdForOrigin)
//   u8        key count, 2..6
//   per key, sorted by credential id (bytewise), ids unique:
//     u16 + n credential id (1..128 bytes)
//     u8      algorithm: 0x01 ES256 (COSE -7), 0x02 EdDSA (COSE -8)
//     n       public key: ES256 65 bytes 0x04 || x || y (SEC1
//             uncompressed); EdDSA 32 bytes (RFC 8032)
//
// An **assertion** is what a key's authenticator returns for CTAP2
// authenticatorGetAssertion: authenticator data (exactly 37 bytes here:
// SHA-256 of the rp id, flags, a big-endian u32 signature counter; no
// attested credential data, no extensions) and a signature over
// authenticator data || client data hash (ES256: DER; EdDSA: 64 bytes).
// ktlog's client data hash is SHA-256 of the record's signing message
// (core/account/record.h).
#ifndef KTLOG_CORE_ACCOUNT_SECURITY_KEY_H_
#define KTLOG_CORE_ACCOUNT_SECURITY_KEY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"

namespace ktlog {

inline constexpr size_t kMinSecurityKeys = 2;
inline constexpr size_t kMaxSecurityKeys = 6;
inline constexpr size_t kMaxCredentialIdSize = 128;
inline constexpr size_t kMaxRpIdSize = 64;
inline constexpr size_t kAuthenticatorDataSize = 37;
inline constexpr size_t kMaxAssertionSignatureSize = 72;
// The largest set encoding.
inline constexpr size_t kMaxSecurityKeySetSize =
    1 + 2 + kMaxRpIdSize + 1 +
    kMaxSecurityKeys * (2 + kMaxCredentialIdSize + 1 + 65);

// Authenticator data flags (WebAuthn 6.1).
inline constexpr uint8_t kFlagUserPresent = 0x01;
inline constexpr uint8_t kFlagUserVerified = 0x04;
inline constexpr uint8_t kFlagBackupEligible = 0x08;

enum class KeyAlgorithm : uint8_t {
  kEs256 = 1,  // ECDSA P-256 with SHA-256
  kEdDsa = 2,  // Ed25519
};

struct SecurityKey {
  std::string credential_id;
  KeyAlgorithm algorithm = KeyAlgorithm::kEs256;
  std::string public_key;  // 65 bytes (ES256) or 32 (EdDSA)

  friend bool operator==(const SecurityKey& a, const SecurityKey& b) {
    return a.credential_id == b.credential_id && a.algorithm == b.algorithm &&
           a.public_key == b.public_key;
  }
};

struct SecurityKeySet {
  bool require_user_verification = false;
  std::string rp_id;
  std::vector<SecurityKey> keys;  // sorted by credential id

  // The canonical encoding. Requires a set that Validate() accepts.
  std::string Encode() const;
  // INVALID_ARGUMENT naming the problem unless: 2..6 keys with unique
  // credential ids of 1..128 bytes, sorted; each public key valid for its
  // algorithm (on the curve; Ed25519 canonical, not of small order); an rp
  // id of 1..64 printable bytes.
  absl::Status Validate() const;
  // The key with this credential id, or null.
  const SecurityKey* Find(absl::string_view credential_id) const;
};

// Decodes and validates a canonical encoding; INVALID_ARGUMENT otherwise.
absl::StatusOr<SecurityKeySet> DecodeSecurityKeySet(absl::string_view data);

// The rp id of a set encoding (one DecodeSecurityKeySet accepted), without
// decoding its keys again; "" for a truncated encoding.
absl::string_view SecurityKeySetRpId(absl::string_view data);

// An account's authority is either a 32-byte Ed25519 account key or a
// security-key set encoding (at least 74 bytes): true for the second.
inline bool IsSecurityKeyAuthority(absl::string_view authority) {
  return authority.size() > 32;
}

// An authority as a person reads it: "account key <64 hex digits>", or
// "on N security keys (<first 16 hex digits of each credential id>…,
// ...)" (the set's encoding starts with its rp id, the same for every set
// of a log, so a prefix of it tells sets apart no better than nothing).
std::string AuthorityText(absl::string_view authority);

// The signature counter rule: a key's new count must be greater than the
// count the account holds for it, unless both are zero (a key without a
// counter).
inline bool SignCountGrows(uint32_t held, uint32_t count) {
  return (count == 0 && held == 0) || count > held;
}

// The relying party id of a log: its origin up to the first '/', e.g.
// "ktlog.example" for the origin "ktlog.example/log".
std::string RpIdForOrigin(absl::string_view origin);

struct AuthenticatorData {
  Hash rp_id_hash;
  uint8_t flags = 0;
  uint32_t sign_count = 0;
};

// INVALID_ARGUMENT unless `data` is 37 bytes without the AT or ED flags.
absl::StatusOr<AuthenticatorData> ParseAuthenticatorData(
    absl::string_view data);

// Checks an assertion by the key `credential_id` of `set` over
// `client_data_hash`: the key is in the set; the authenticator data is
// for SHA-256(set.rp_id), has the user-present flag (and user verified if
// the set requires it); the signature over authenticator data ||
// client_data_hash verifies under the key. Returns the authenticator
// data. Errors: INVALID_ARGUMENT for malformed authenticator data;
// PERMISSION_DENIED (naming the check) for everything else.
absl::StatusOr<AuthenticatorData> VerifyAssertion(
    const SecurityKeySet& set, absl::string_view credential_id,
    absl::string_view authenticator_data, const Hash& client_data_hash,
    absl::string_view signature);

// The same checks for one key (VerifyAssertion once it found the key).
absl::StatusOr<AuthenticatorData> VerifyKeyAssertion(
    const SecurityKey& key, absl::string_view rp_id,
    bool require_user_verification, absl::string_view authenticator_data,
    const Hash& client_data_hash, absl::string_view signature);

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_SECURITY_KEY_H_
