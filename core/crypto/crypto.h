// The one crypto wrapper: SHA-256, HMAC-SHA256, SHA-512, Ed25519 (RFC 8032),
// ECDSA P-256 verification (security keys), randomness and constant-time
// comparison, on OpenSSL 3's EVP API. Nothing else in ktlog
// calls OpenSSL, so a build that bundles BoringSSL (which offers the same EVP
// calls) can swap it here. See docs/build.md for why not Debian's BoringSSL.
//
// Thread-safety: all functions are thread-safe; key objects are immutable
// after construction and may be shared between threads.
#ifndef KTLOG_CORE_CRYPTO_CRYPTO_H_
#define KTLOG_CORE_CRYPTO_CRYPTO_H_

#include <array>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace ktlog {

// SHA-256 of the concatenation of `parts`.
Hash Sha256(std::initializer_list<absl::string_view> parts);
inline Hash Sha256(absl::string_view data) { return Sha256({data}); }

// HMAC-SHA256 (RFC 2104) of the concatenation of `parts` under `key`.
Hash HmacSha256(absl::string_view key,
                std::initializer_list<absl::string_view> parts);

// SHA-512 of the concatenation of `parts`.
std::array<uint8_t, 64> Sha512(std::initializer_list<absl::string_view> parts);

// `n` bytes from the operating system's CSPRNG (aborts if it fails: there is
// no safe way to continue without randomness).
std::string RandomBytes(size_t n);

// Compares in time that depends only on the lengths. Use for secrets and
// verification codes.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// When the first X.509 certificate of a PEM text is valid: [not_before,
// not_after], unix seconds.
struct CertificateValidity {
  int64_t not_before_s = 0;
  int64_t not_after_s = 0;
};
// INVALID_ARGUMENT if `pem` holds no certificate OpenSSL can read.
absl::StatusOr<CertificateValidity> CertificateValidityOf(
    absl::string_view pem);

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};

// Whether the 32 bytes decode to a point of the Ed25519 curve (RFC 8032
// 5.1.3: some x satisfies the curve equation for the encoded y). FromBytes
// below does not check this (OpenSSL refuses such a key when it verifies,
// and the check costs a modular exponentiation); keys installed for later
// use (security-key sets) are checked with it.
bool IsEd25519CurvePoint(absl::string_view key);

// An Ed25519 public key (32 bytes, RFC 8032 encoding). Copyable.
class Ed25519PublicKey {
 public:
  static constexpr size_t kSize = 32;
  static constexpr size_t kSignatureSize = 64;

  // An empty placeholder: verifies nothing. Use FromBytes for a real key.
  Ed25519PublicKey() = default;

  // INVALID_ARGUMENT unless `key` is 32 bytes that OpenSSL accepts as a key,
  // in canonical encoding (RFC 8032 5.1.3: y < p), and not one of the
  // eight points of small order (under which anyone can make signatures
  // that verify). Bytes that decode to no point at all are not caught here:
  // every signature check under them fails. Every Ed25519 key ktlog reads
  // comes through here.
  static absl::StatusOr<Ed25519PublicKey> FromBytes(absl::string_view key);

  // True iff `signature` is a valid Ed25519 signature of `message` under this
  // key (RFC 8032 §5.1.7, with OpenSSL's canonical-S check). False for the
  // empty placeholder.
  bool Verify(absl::string_view message, absl::string_view signature) const;

  const std::string& bytes() const { return bytes_; }

  friend bool operator==(const Ed25519PublicKey& a, const Ed25519PublicKey& b) {
    return a.bytes_ == b.bytes_;
  }
  friend bool operator!=(const Ed25519PublicKey& a, const Ed25519PublicKey& b) {
    return !(a == b);
  }

 private:
  Ed25519PublicKey(std::string bytes, std::shared_ptr<EVP_PKEY> pkey)
      : bytes_(std::move(bytes)), pkey_(std::move(pkey)) {}

  std::string bytes_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

// An ECDSA P-256 public key (FIPS 186-4; the COSE algorithm ES256 of FIDO2
// security keys). Verification only. Copyable.
class P256PublicKey {
 public:
  // The SEC1 uncompressed encoding: 0x04 || x (32) || y (32).
  static constexpr size_t kSize = 65;
  // The longest DER ECDSA signature of P-256.
  static constexpr size_t kMaxSignatureSize = 72;

  P256PublicKey() = default;  // verifies nothing

  // INVALID_ARGUMENT unless `key` is the 65-byte uncompressed encoding of a
  // point on the curve (not the point at infinity).
  static absl::StatusOr<P256PublicKey> FromUncompressed(absl::string_view key);

  // True iff `der_signature` is a DER-encoded ECDSA signature (r, s) of
  // SHA-256(`message`) under this key with s at most n/2 (low S: (r, n-s)
  // is as valid, so only one of the two is accepted and a signature cannot
  // be altered into another valid one). False for the placeholder.
  bool Verify(absl::string_view message, absl::string_view der_signature) const;

  // `der_signature` with s replaced by n - s if s > n/2 (still valid);
  // unchanged if it is not a DER ECDSA signature.
  static std::string LowS(absl::string_view der_signature);

  const std::string& bytes() const { return bytes_; }

 private:
  P256PublicKey(std::string bytes, std::shared_ptr<EVP_PKEY> pkey)
      : bytes_(std::move(bytes)), pkey_(std::move(pkey)) {}

  std::string bytes_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

// An Ed25519 private key, held as its 32-byte seed. Move-only; the seed is
// wiped on destruction.
class Ed25519PrivateKey {
 public:
  static constexpr size_t kSeedSize = 32;

  // A fresh key from the CSPRNG.
  static Ed25519PrivateKey Generate();

  // INVALID_ARGUMENT unless `seed` is 32 bytes.
  static absl::StatusOr<Ed25519PrivateKey> FromSeed(absl::string_view seed);

  Ed25519PrivateKey(Ed25519PrivateKey&&) = default;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&&) = default;
  ~Ed25519PrivateKey();

  // The 64-byte Ed25519 signature of `message` (deterministic).
  std::string Sign(absl::string_view message) const;

  const Ed25519PublicKey& public_key() const { return public_key_; }
  // The secret seed. Handle with care (key files only).
  const std::string& seed() const { return seed_; }

 private:
  Ed25519PrivateKey(std::string seed, std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>,
                    Ed25519PublicKey public_key);

  std::string seed_;
  std::unique_ptr<EVP_PKEY, EvpPkeyDeleter> pkey_;
  Ed25519PublicKey public_key_;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_CRYPTO_CRYPTO_H_
