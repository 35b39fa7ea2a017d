// The verifiable random function of the private directory (docs/privacy.md):
// ECVRF-EDWARDS25519-SHA512-TAI of RFC 9381 (suite_string 0x03), with the
// output truncated to 32 bytes as in the IETF keytrans suite
// KT_128_SHA256_Ed25519, AKD and libsignal.
//
// Built on libsodium's edwards25519 point and scalar API, with the checks
// that API leaves to its caller: libsodium's scalar multiplication refuses
// points outside the prime-order subgroup, so hash-to-curve candidates are
// decoded by point addition (which accepts any point on the curve) and then
// multiplied by the cofactor; canonical encodings (y < p; no "negative
// zero" x) and s < L are checked here (RFC 8032 §5.1.3, RFC 9381 §5.3).
// Public keys and Gamma outside the subgroup are handled exactly (split into
// a subgroup part and a small-order part), so every proof RFC 9381 accepts
// is accepted.
//
// Thread-safety: keys are immutable after construction and may be shared.
// Security: proving uses the secret scalar in libsodium's constant-time
// scalar multiplication; the rest of this file is not constant-time in
// public data only.
#ifndef KTLOG_CORE_CRYPTO_VRF_H_
#define KTLOG_CORE_CRYPTO_VRF_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"

namespace ktlog {

// The intermediates of one proof, as RFC 9381 Appendix B lists them (hex
// vectors, tests).
struct VrfTrace {
  std::string x;  // the secret scalar (clamped, as RFC 8032 derives it)
  std::string h;  // the hash-to-curve point H
  std::string k;  // the 64-byte nonce hash, before reduction mod L
  std::string u;  // k*B
  std::string v;  // k*H
};

class VrfPublicKey {
 public:
  static constexpr size_t kSize = 32;
  static constexpr size_t kProofSize = 80;   // Gamma (32) || c (16) || s (32)
  static constexpr size_t kOutputSize = 32;  // beta truncated

  // An empty placeholder: verifies nothing. Use FromBytes for a real key.
  VrfPublicKey() = default;

  // INVALID_ARGUMENT unless `key` is the canonical encoding of a point on
  // the curve that is not of small order (RFC 9381 ECVRF_validate_key).
  static absl::StatusOr<VrfPublicKey> FromBytes(absl::string_view key);

  // Verifies `proof` that `output` is the VRF output of `alpha`, and
  // returns that output. INVALID_ARGUMENT for a malformed proof (length, a
  // Gamma that is no canonical point on the curve, s >= L); DATA_LOSS for a
  // well-formed proof that does not verify (evidence).
  absl::StatusOr<Hash> Verify(absl::string_view alpha,
                              absl::string_view proof) const;

  const std::string& bytes() const { return bytes_; }

  friend bool operator==(const VrfPublicKey& a, const VrfPublicKey& b) {
    return a.bytes_ == b.bytes_;
  }

 private:
  friend class VrfPrivateKey;
  explicit VrfPublicKey(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string bytes_;
};

// A VRF private key, held as its 32-byte seed (an Ed25519 secret key: the
// public key is the seed's Ed25519 public key). Move-only; the seed is
// wiped on destruction.
class VrfPrivateKey {
 public:
  static constexpr size_t kSeedSize = 32;

  static VrfPrivateKey Generate();
  // INVALID_ARGUMENT unless `seed` is 32 bytes.
  static absl::StatusOr<VrfPrivateKey> FromSeed(absl::string_view seed);

  VrfPrivateKey(VrfPrivateKey&&) = default;
  VrfPrivateKey& operator=(VrfPrivateKey&&) = default;
  ~VrfPrivateKey();

  struct Evaluation {
    std::string proof;  // kProofSize bytes
    Hash output;        // beta[0..32)
  };
  // The proof and output for `alpha` (deterministic), filling `trace` if
  // given. INTERNAL only if hash-to-curve finds no point in 256 tries or
  // lands on a small-order point (probability about 2^-250).
  absl::StatusOr<Evaluation> Prove(absl::string_view alpha,
                                   VrfTrace* trace = nullptr) const;

  const VrfPublicKey& public_key() const { return public_key_; }
  // The secret seed. Handle with care (key files only).
  const std::string& seed() const { return seed_; }

 private:
  VrfPrivateKey(std::string seed, std::string scalar, std::string nonce_key,
                VrfPublicKey public_key);

  std::string seed_;
  std::string scalar_;     // x, clamped (32 bytes)
  std::string nonce_key_;  // SHA-512(seed)[32..64)
  VrfPublicKey public_key_;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_CRYPTO_VRF_H_
