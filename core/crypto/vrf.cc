#include "core/crypto/vrf.h"

#include <decaf/decaf/ed255.h>
#include <decaf/decaf/point_255.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

// Edwards25519 points and scalars as their 32-byte encodings
// (little-endian, RFC 8032).
using Bytes32 = std::array<uint8_t, 32>;
using Point = Bytes32;
using Scalar = Bytes32;

constexpr uint8_t kSuite = 0x03;  // ECVRF-EDWARDS25519-SHA512-TAI
constexpr Point kIdentity = {1};
// The group order L = 2^252 + 27742317777372353535851937790883648493.
constexpr Scalar kOrder = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                           0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                           0,    0,    0,    0,    0,    0,    0,    0,
                           0,    0,    0,    0,    0,    0,    0,    0x10};

void InitSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) abort();  // no safe way to go on
  });
}

absl::string_view View(const Bytes32& b) {
  return absl::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

Bytes32 ToBytes32(absl::string_view s) {
  Bytes32 b{};
  memcpy(b.data(), s.data(), 32);
  return b;
}

bool IsZero(const Bytes32& b) { return sodium_is_zero(b.data(), 32) == 1; }

// RFC 8032 §5.1.3: y < p, and no x = 0 with the sign bit set (y = 1 or
// y = p - 1 with the top bit set). libsodium's decoder checks neither.
bool IsCanonicalPoint(const uint8_t* s) {
  uint8_t top = s[31] & 0x7f;
  bool ones = true, zeros = true;
  for (int i = 1; i < 31; ++i) {
    ones &= s[i] == 0xff;
    zeros &= s[i] == 0;
  }
  if (top == 0x7f && ones && s[0] >= 0xed) return false;  // y >= p
  if (s[31] & 0x80) {
    bool y_is_one = top == 0 && zeros && s[0] == 1;
    bool y_is_minus_one = top == 0x7f && ones && s[0] == 0xec;
    if (y_is_one || y_is_minus_one) return false;
  }
  return true;
}

// Decodes a canonical encoding of any point on the curve (in the prime
// order subgroup or not). Point addition accepts any point on the curve,
// where libsodium's validity check and scalar multiplication do not.
bool Decode(absl::string_view encoding, Point* out) {
  const uint8_t* s = reinterpret_cast<const uint8_t*>(encoding.data());
  if (encoding.size() != 32 || !IsCanonicalPoint(s)) return false;
  return crypto_core_ed25519_add(out->data(), s, kIdentity.data()) == 0;
}

Point Add(const Point& p, const Point& q) {
  Point r;
  if (crypto_core_ed25519_add(r.data(), p.data(), q.data()) != 0) abort();
  return r;
}

Point Sub(const Point& p, const Point& q) {
  Point r;
  if (crypto_core_ed25519_sub(r.data(), p.data(), q.data()) != 0) abort();
  return r;
}

Point MulByCofactor(const Point& p) {
  Point r = Add(p, p);
  r = Add(r, r);
  return Add(r, r);
}

// s * B. Requires s < 2^255.
Point MulBase(const Scalar& s) {
  Point r;
  if (IsZero(s) ||
      crypto_scalarmult_ed25519_base_noclamp(r.data(), s.data()) != 0) {
    return kIdentity;  // libsodium reports the identity as a failure
  }
  return r;
}

// s * p for p in the prime-order subgroup and not the identity. Requires
// s < 2^255.
Point MulSubgroup(const Scalar& s, const Point& p) {
  Point r;
  if (IsZero(s) ||
      crypto_scalarmult_ed25519_noclamp(r.data(), s.data(), p.data()) != 0) {
    return kIdentity;  // s * p is the identity
  }
  return r;
}

// m * t for a small m (< 8).
Point MulSmall(int m, const Point& t) {
  Point r = kIdentity;
  for (int i = 0; i < m; ++i) r = Add(r, t);
  return r;
}

// s * p for any point p on the curve: p = g + t with g in the prime-order
// subgroup (g = 8^-1 * 8p) and t of small order, so s*p = s*g + (s mod 8)*t.
// Requires s < L.
Point MulAny(const Scalar& s, const Point& p) {
  // The common case (honest keys and proofs): p in the subgroup, where
  // libsodium multiplies directly. It refuses other points (and a product
  // that is the identity), which the exact decomposition below handles.
  Point direct;
  if (crypto_scalarmult_ed25519_noclamp(direct.data(), s.data(), p.data()) ==
      0) {
    return direct;
  }
  Point p8 = MulByCofactor(p);
  if (p8 == kIdentity) return MulSmall(s[0] & 7, p);
  static const Scalar kInverseOf8 = [] {
    Scalar eight{8}, inv;
    crypto_core_ed25519_scalar_invert(inv.data(), eight.data());
    return inv;
  }();
  Point g = MulSubgroup(kInverseOf8, p8);
  Point t = Sub(p, g);
  return Add(MulSubgroup(s, g), MulSmall(s[0] & 7, t));
}

bool LessThanOrder(const Scalar& s) {
  for (int i = 31; i >= 0; --i) {
    if (s[i] != kOrder[i]) return s[i] < kOrder[i];
  }
  return false;
}

Scalar Reduce64(const std::array<uint8_t, 64>& wide) {
  Scalar r;
  crypto_core_ed25519_scalar_reduce(r.data(), wide.data());
  return r;
}

absl::string_view Byte(const uint8_t& b) {
  return absl::string_view(reinterpret_cast<const char*>(&b), 1);
}

// RFC 9381 §5.4.1.1 try-and-increment, salt = the public key's encoding:
// the first candidate that is a point, before the cofactor is cleared.
absl::StatusOr<Point> HashToCurveCandidate(absl::string_view public_key,
                                           absl::string_view alpha) {
  static const uint8_t kFront = 0x01, kBack = 0x00;
  for (int ctr = 0; ctr < 256; ++ctr) {
    uint8_t c = static_cast<uint8_t>(ctr);
    std::array<uint8_t, 64> hash = Sha512(
        {Byte(kSuite), Byte(kFront), public_key, alpha, Byte(c), Byte(kBack)});
    Point candidate;
    if (Decode(
            absl::string_view(reinterpret_cast<const char*>(hash.data()), 32),
            &candidate)) {
      return candidate;
    }
  }
  return absl::InternalError("hash to curve found no point in 256 tries");
}

absl::Status CheckNotSmall(const Point& h) {
  if (h == kIdentity) {
    return absl::InternalError("hash to curve met a small-order point");
  }
  return absl::OkStatus();
}

// H = 8 * the candidate.
absl::StatusOr<Point> HashToCurve(absl::string_view public_key,
                                  absl::string_view alpha) {
  ASSIGN_OR_RETURN(Point candidate, HashToCurveCandidate(public_key, alpha));
  Point h = MulByCofactor(candidate);
  RETURN_IF_ERROR(CheckNotSmall(h));
  return h;
}

// Prove's multiplications through libdecaf (Debian's libdecaf-dev):
// constant-time, and without the subgroup check libsodium's public API
// makes on every variable-base multiplication (a second multiplication).
// A point decoded "like EdDSA" is 2 * P with P's small-order part
// dropped, and encoding multiplies by 4: encode(s * decode(P)) is 8 s P
// for any point P on the curve but the two with x = 0 (small-order
// points, which it refuses), which is what the VRF needs (H = 8 * the
// candidate, Gamma = x H, V = k H).
class DecafPoint {
 public:
  DecafPoint() = default;
  ~DecafPoint() { decaf_255_point_destroy(p_); }
  DecafPoint(const DecafPoint&) = delete;
  DecafPoint& operator=(const DecafPoint&) = delete;
  decaf_255_point_t& get() { return p_; }
  // Its encoding like EdDSA (times 4, as above).
  Point Encode() const {
    Point out;
    decaf_255_point_mul_by_ratio_and_encode_like_eddsa(out.data(), p_);
    return out;
  }

 private:
  decaf_255_point_t p_;
};

class DecafScalar {
 public:
  explicit DecafScalar(const Scalar& s) {
    decaf_255_scalar_decode_long(s_, s.data(), s.size());  // mod L
  }
  ~DecafScalar() { decaf_255_scalar_destroy(s_); }
  DecafScalar(const DecafScalar&) = delete;
  DecafScalar& operator=(const DecafScalar&) = delete;
  const decaf_255_scalar_t& get() const { return s_; }

 private:
  decaf_255_scalar_t s_;
};

// RFC 9381 §5.4.3, cLen = 16.
std::string Challenge(absl::string_view y, const Point& h, const Point& gamma,
                      const Point& u, const Point& v) {
  static const uint8_t kFront = 0x02, kBack = 0x00;
  std::array<uint8_t, 64> c =
      Sha512({Byte(kSuite), Byte(kFront), y, View(h), View(gamma), View(u),
              View(v), Byte(kBack)});
  return std::string(reinterpret_cast<const char*>(c.data()), 16);
}

// RFC 9381 §5.2, truncated to 32 bytes, from 8 * Gamma.
Hash ProofToHashOf(const Point& eight_gamma) {
  static const uint8_t kFront = 0x03, kBack = 0x00;
  std::array<uint8_t, 64> beta =
      Sha512({Byte(kSuite), Byte(kFront), View(eight_gamma), Byte(kBack)});
  return Hash::FromBytesOrDie(
      absl::string_view(reinterpret_cast<const char*>(beta.data()), 32));
}

}  // namespace

absl::StatusOr<VrfPublicKey> VrfPublicKey::FromBytes(absl::string_view key) {
  InitSodium();
  Point y;
  if (!Decode(key, &y)) {
    return absl::InvalidArgumentError(
        "VRF public key is not the canonical encoding of a curve point");
  }
  if (MulByCofactor(y) == kIdentity) {
    return absl::InvalidArgumentError("VRF public key is of small order");
  }
  return VrfPublicKey(std::string(key));
}

absl::StatusOr<Hash> VrfPublicKey::Verify(absl::string_view alpha,
                                          absl::string_view proof) const {
  if (proof.size() != kProofSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a VRF proof is ", kProofSize, " bytes, not ", proof.size()));
  }
  Point gamma;
  if (!Decode(proof.substr(0, 32), &gamma)) {
    return absl::InvalidArgumentError(
        "the VRF proof's Gamma is not the canonical encoding of a curve point");
  }
  Scalar c{}, s = ToBytes32(proof.substr(48, 32));
  memcpy(c.data(), proof.data() + 32, 16);
  if (!LessThanOrder(s)) {
    return absl::InvalidArgumentError("the VRF proof's s is not below L");
  }
  Point y;
  if (!Decode(bytes_, &y)) {
    return absl::InvalidArgumentError("no VRF public key to verify with");
  }
  ASSIGN_OR_RETURN(Point h, HashToCurve(bytes_, alpha));
  Point u = Sub(MulBase(s), MulAny(c, y));
  Point v = Sub(MulSubgroup(s, h), MulAny(c, gamma));
  if (Challenge(bytes_, h, gamma, u, v) != proof.substr(32, 16)) {
    return absl::DataLossError("the VRF proof does not verify");
  }
  return ProofToHashOf(MulByCofactor(gamma));
}

VrfPrivateKey::VrfPrivateKey(std::string seed, std::string scalar,
                             std::string nonce_key, VrfPublicKey public_key)
    : seed_(std::move(seed)),
      scalar_(std::move(scalar)),
      nonce_key_(std::move(nonce_key)),
      public_key_(std::move(public_key)) {}

VrfPrivateKey::~VrfPrivateKey() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(scalar_.data(), scalar_.size());
  sodium_memzero(nonce_key_.data(), nonce_key_.size());
}

VrfPrivateKey VrfPrivateKey::Generate() {
  std::string seed = RandomBytes(kSeedSize);
  VrfPrivateKey key = *FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

absl::StatusOr<VrfPrivateKey> VrfPrivateKey::FromSeed(absl::string_view seed) {
  InitSodium();
  if (seed.size() != kSeedSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a VRF seed is ", kSeedSize, " bytes"));
  }
  // RFC 8032 §5.1.5: x = clamp(SHA-512(seed)[0..32)).
  std::array<uint8_t, 64> h = Sha512({seed});
  Scalar x;
  memcpy(x.data(), h.data(), 32);
  x[0] &= 248;
  x[31] &= 127;
  x[31] |= 64;
  Point y = MulBase(x);
  std::string nonce_key(reinterpret_cast<const char*>(h.data()) + 32, 32);
  sodium_memzero(h.data(), h.size());
  VrfPrivateKey key(std::string(seed), std::string(View(x)),
                    std::move(nonce_key), VrfPublicKey(std::string(View(y))));
  sodium_memzero(x.data(), x.size());
  return key;
}

absl::StatusOr<VrfPrivateKey::Evaluation> VrfPrivateKey::Prove(
    absl::string_view alpha, VrfTrace* trace) const {
  const std::string& y = public_key_.bytes();
  ASSIGN_OR_RETURN(Point candidate, HashToCurveCandidate(y, alpha));
  DecafPoint base;  // 2 * the candidate: encoded, H
  if (decaf_255_point_decode_like_eddsa_and_mul_by_ratio(
          base.get(), candidate.data()) != DECAF_SUCCESS) {
    // libdecaf refuses the two points with x = 0, both of small order.
    RETURN_IF_ERROR(CheckNotSmall(MulByCofactor(candidate)));
    return absl::InternalError("libdecaf refused a point libsodium decoded");
  }
  const Point h = base.Encode();
  RETURN_IF_ERROR(CheckNotSmall(h));
  Scalar x = ToBytes32(scalar_);
  // RFC 9381 §5.4.2.2: k = SHA-512(SHA-512(seed)[32..64) || H) mod L.
  std::array<uint8_t, 64> k_hash = Sha512({nonce_key_, View(h)});
  Scalar k = Reduce64(k_hash);
  DecafPoint gamma_point, v_point, eight_gamma;
  {
    DecafScalar xs(x), ks(k);
    decaf_255_point_dual_scalarmul(gamma_point.get(), v_point.get(), base.get(),
                                   xs.get(), ks.get());
  }
  const Point gamma = gamma_point.Encode(), v = v_point.Encode();
  decaf_255_point_double(eight_gamma.get(), gamma_point.get());
  decaf_255_point_double(eight_gamma.get(), eight_gamma.get());
  decaf_255_point_double(eight_gamma.get(), eight_gamma.get());
  Point u = MulBase(k);
  std::string c_bytes = Challenge(y, h, gamma, u, v);
  Scalar c{};
  memcpy(c.data(), c_bytes.data(), 16);
  std::array<uint8_t, 64> x_wide{};
  memcpy(x_wide.data(), x.data(), 32);
  Scalar x_reduced = Reduce64(x_wide), cx, s;
  crypto_core_ed25519_scalar_mul(cx.data(), c.data(), x_reduced.data());
  crypto_core_ed25519_scalar_add(s.data(), k.data(), cx.data());
  if (trace != nullptr) {
    *trace =
        VrfTrace{scalar_, std::string(View(h)),
                 std::string(reinterpret_cast<const char*>(k_hash.data()), 64),
                 std::string(View(u)), std::string(View(v))};
  }
  // Each of these gives the secret scalar with the proof's c and s.
  sodium_memzero(k.data(), k.size());
  sodium_memzero(k_hash.data(), k_hash.size());
  sodium_memzero(x.data(), x.size());
  sodium_memzero(x_wide.data(), x_wide.size());
  sodium_memzero(x_reduced.data(), x_reduced.size());
  sodium_memzero(cx.data(), cx.size());
  Evaluation out;
  out.proof = absl::StrCat(View(gamma), c_bytes, View(s));
  out.output = ProofToHashOf(eight_gamma.Encode());
  return out;
}

}  // namespace ktlog
