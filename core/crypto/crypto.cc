#include "core/crypto/crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ktlog {
namespace {

[[noreturn]] void Fatal(const char* what) {
  fprintf(stderr, "ktlog: fatal OpenSSL failure in %s\n", what);
  abort();
}

const EVP_MD* FetchedDigest(const char* name) {
  const EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr) Fatal("EVP_MD_fetch");
  return md;
}

// Digest with a per-thread context and a digest fetched once: EVP's implicit
// fetch and context allocation would otherwise dominate 65-byte node hashes.
template <size_t N, class Parts>
std::array<uint8_t, N> DigestOf(const EVP_MD* md, const Parts& parts) {
  struct CtxHolder {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~CtxHolder() { EVP_MD_CTX_free(ctx); }
  };
  thread_local CtxHolder holder;
  EVP_MD_CTX* ctx = holder.ctx;
  std::array<uint8_t, N> out;
  unsigned int len = 0;
  if (ctx == nullptr || EVP_DigestInit_ex2(ctx, md, nullptr) != 1) {
    Fatal("EVP_DigestInit_ex2");
  }
  for (absl::string_view p : parts) {
    if (EVP_DigestUpdate(ctx, p.data(), p.size()) != 1) {
      Fatal("EVP_DigestUpdate");
    }
  }
  if (EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != N) {
    Fatal("EVP_DigestFinal_ex");
  }
  return out;
}

template <size_t N>
std::array<uint8_t, N> Digest(const EVP_MD* md,
                              std::initializer_list<absl::string_view> parts) {
  return DigestOf<N>(md, parts);
}

}  // namespace

Hash Sha256(std::initializer_list<absl::string_view> parts) {
  static const EVP_MD* md = FetchedDigest("SHA256");
  std::array<uint8_t, 32> d = Digest<32>(md, parts);
  Hash h;
  memcpy(h.mutable_data(), d.data(), d.size());
  return h;
}

std::array<uint8_t, 64> Sha512(std::initializer_list<absl::string_view> parts) {
  static const EVP_MD* md = FetchedDigest("SHA512");
  return Digest<64>(md, parts);
}

Hash HmacSha256(absl::string_view key,
                std::initializer_list<absl::string_view> parts) {
  // RFC 2104 over SHA-256 (block size 64): keys longer than a block are
  // hashed first.
  constexpr size_t kBlock = 64;
  std::string k(key);
  if (k.size() > kBlock) k = Sha256(key).bytes();
  k.resize(kBlock, '\0');
  std::string ipad(kBlock, '\0'), opad(kBlock, '\0');
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = static_cast<char>(k[i] ^ 0x36);
    opad[i] = static_cast<char>(k[i] ^ 0x5c);
  }
  static const EVP_MD* md = FetchedDigest("SHA256");
  std::vector<absl::string_view> inner = {ipad};
  inner.insert(inner.end(), parts.begin(), parts.end());
  std::array<uint8_t, 32> h = DigestOf<32>(md, inner);
  std::array<uint8_t, 32> mac = Digest<32>(
      md, {opad, absl::string_view(reinterpret_cast<char*>(h.data()), 32)});
  // The padded key and the inner hash are as good as the key.
  OPENSSL_cleanse(k.data(), k.size());
  OPENSSL_cleanse(ipad.data(), ipad.size());
  OPENSSL_cleanse(opad.data(), opad.size());
  OPENSSL_cleanse(h.data(), h.size());
  return Hash::FromBytesOrDie(
      absl::string_view(reinterpret_cast<char*>(mac.data()), 32));
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    Fatal("RAND_bytes");
  }
  return out;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<CertificateValidity> CertificateValidityOf(
    absl::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      bio == nullptr ? nullptr
                     : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
      &X509_free);
  if (cert == nullptr) {
    return absl::InvalidArgumentError("no readable X.509 certificate");
  }
  auto seconds = [](const ASN1_TIME* t) -> std::optional<int64_t> {
    struct tm tm {};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    return static_cast<int64_t>(timegm(&tm));
  };
  std::optional<int64_t> from = seconds(X509_get0_notBefore(cert.get()));
  std::optional<int64_t> until = seconds(X509_get0_notAfter(cert.get()));
  if (!from.has_value() || !until.has_value()) {
    return absl::InvalidArgumentError(
        "the certificate's validity is malformed");
  }
  return CertificateValidity{*from, *until};
}

void EvpPkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

namespace {

// RFC 8032 §5.1.3: the y coordinate is below p = 2^255 - 19, and x = 0 (y =
// 1 or y = p - 1) does not come with the sign bit set. OpenSSL's decoder
// checks neither.
bool IsCanonicalEd25519Point(absl::string_view key) {
  const auto* s = reinterpret_cast<const uint8_t*>(key.data());
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

// The canonical encodings of the eight points of small order (the
// curve's 8-torsion: the identity, one point of order 2, two of order 4,
// four of order 8). Under such a key the signature (R = identity, S = 0),
// and others, verify for any message.
constexpr const char* kSmallOrderPoints[] = {
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
};

bool IsSmallOrderEd25519Point(absl::string_view key) {
  std::string hex = absl::BytesToHexString(key);
  for (const char* p : kSmallOrderPoints) {
    if (hex == p) return true;
  }
  return false;
}

}  // namespace

bool IsEd25519CurvePoint(absl::string_view key) {
  if (key.size() != Ed25519PublicKey::kSize || !IsCanonicalEd25519Point(key)) {
    return false;
  }
  // x^2 = (y^2 - 1) / (d y^2 + 1) mod p must be a square (or zero):
  // Euler's criterion, (x^2)^((p-1)/2) is 1 or 0.
  unsigned char be[32];
  for (int i = 0; i < 32; ++i) be[i] = static_cast<uint8_t>(key[31 - i]);
  be[0] &= 0x7f;
  BN_CTX* ctx = BN_CTX_new();
  if (ctx == nullptr) Fatal("BN_CTX_new");
  BN_CTX_start(ctx);
  BIGNUM* p = BN_CTX_get(ctx);
  BIGNUM* y = BN_CTX_get(ctx);
  BIGNUM* y2 = BN_CTX_get(ctx);
  BIGNUM* u = BN_CTX_get(ctx);
  BIGNUM* v = BN_CTX_get(ctx);
  BIGNUM* d = BN_CTX_get(ctx);
  BIGNUM* t = BN_CTX_get(ctx);
  BIGNUM* e = BN_CTX_get(ctx);
  if (e == nullptr) Fatal("BN_CTX_get");
  // p = 2^255 - 19; d = -121665 / 121666 mod p.
  bool ok = BN_set_bit(p, 255) == 1 && BN_sub_word(p, 19) == 1 &&
            BN_bin2bn(be, 32, y) != nullptr && BN_mod_sqr(y2, y, p, ctx) == 1 &&
            BN_copy(u, y2) != nullptr && BN_sub_word(u, 1) == 1 &&
            BN_set_word(t, 121666) == 1 &&
            BN_mod_inverse(t, t, p, ctx) != nullptr &&
            BN_set_word(d, 121665) == 1 && BN_mod_mul(d, d, t, p, ctx) == 1 &&
            BN_sub(d, p, d) == 1 && BN_mod_mul(v, d, y2, p, ctx) == 1 &&
            BN_add_word(v, 1) == 1 && BN_mod_inverse(v, v, p, ctx) != nullptr &&
            BN_mod_mul(t, u, v, p, ctx) == 1 && BN_copy(e, p) != nullptr &&
            BN_sub_word(e, 1) == 1 && BN_rshift1(e, e) == 1 &&
            BN_mod_exp(e, t, e, p, ctx) == 1;
  if (!ok) Fatal("Ed25519 point decoding");
  bool on_curve = BN_is_one(e) || BN_is_zero(t);
  BN_CTX_end(ctx);
  BN_CTX_free(ctx);
  return on_curve;
}

absl::StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromBytes(
    absl::string_view key) {
  if (key.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("Ed25519 public key must be 32 bytes, got ", key.size()));
  }
  if (!IsCanonicalEd25519Point(key)) {
    return absl::InvalidArgumentError(
        "Ed25519 public key is not a canonical point encoding (RFC 8032 "
        "5.1.3)");
  }
  if (IsSmallOrderEd25519Point(key)) {
    return absl::InvalidArgumentError(
        "Ed25519 public key is a point of small order, under which "
        "signatures can be forged");
  }
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(key.data()), key.size());
  if (pkey == nullptr) {
    return absl::InvalidArgumentError("invalid Ed25519 public key");
  }
  return Ed25519PublicKey(std::string(key),
                          std::shared_ptr<EVP_PKEY>(pkey, EvpPkeyDeleter()));
}

bool Ed25519PublicKey::Verify(absl::string_view message,
                              absl::string_view signature) const {
  if (pkey_ == nullptr || signature.size() != kSignatureSize) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) Fatal("EVP_MD_CTX_new");
  bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
      EVP_DigestVerify(ctx,
                       reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

absl::StatusOr<P256PublicKey> P256PublicKey::FromUncompressed(
    absl::string_view key) {
  if (key.size() != kSize || key[0] != 0x04) {
    return absl::InvalidArgumentError(
        absl::StrCat("a P-256 public key is 65 bytes, 0x04 || x || y; got ",
                     key.size(), " bytes"));
  }
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (bld == nullptr) Fatal("OSSL_PARAM_BLD_new");
  char group[] = "P-256";
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, key.data(),
                                   key.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  if (params == nullptr) Fatal("OSSL_PARAM_BLD_to_param");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  if (ctx == nullptr) Fatal("EVP_PKEY_CTX_new_from_name");
  EVP_PKEY* pkey = nullptr;
  bool made = EVP_PKEY_fromdata_init(ctx) == 1 &&
              EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  OSSL_PARAM_free(params);
  EVP_PKEY_CTX_free(ctx);
  bool on_curve = false;
  if (made) {
    // fromdata decodes the point; the check confirms it is on the curve.
    EVP_PKEY_CTX* check = EVP_PKEY_CTX_new(pkey, nullptr);
    if (check == nullptr) Fatal("EVP_PKEY_CTX_new");
    // P-256 has cofactor 1: a point on the curve is in the group.
    on_curve = EVP_PKEY_public_check_quick(check) == 1;
    EVP_PKEY_CTX_free(check);
  }
  if (!made || !on_curve) {
    EVP_PKEY_free(pkey);
    return absl::InvalidArgumentError(
        "the P-256 public key is not a point on the curve");
  }
  return P256PublicKey(std::string(key),
                       std::shared_ptr<EVP_PKEY>(pkey, EvpPkeyDeleter()));
}

namespace {

// The order n of the P-256 group.
const BIGNUM* P256Order() {
  static const BIGNUM* n = [] {
    BIGNUM* b = nullptr;
    BN_hex2bn(
        &b, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
    return b;
  }();
  return n;
}

// Parses a DER ECDSA signature; null if it is not one.
ECDSA_SIG* ParseEcdsa(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig != nullptr &&
      p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ECDSA_SIG_free(sig);
    return nullptr;
  }
  return sig;
}

// Whether s > n/2.
bool HighS(const ECDSA_SIG* sig) {
  BIGNUM* half = BN_dup(P256Order());
  if (half == nullptr || BN_rshift1(half, half) != 1) Fatal("BN_rshift1");
  bool high = BN_cmp(ECDSA_SIG_get0_s(sig), half) > 0;
  BN_free(half);
  return high;
}

}  // namespace

std::string P256PublicKey::LowS(absl::string_view der_signature) {
  ECDSA_SIG* sig = ParseEcdsa(der_signature);
  if (sig == nullptr) return std::string(der_signature);
  std::string out(der_signature);
  if (HighS(sig)) {
    BIGNUM* r = BN_dup(ECDSA_SIG_get0_r(sig));
    BIGNUM* s = BN_new();
    if (r == nullptr || s == nullptr ||
        BN_sub(s, P256Order(), ECDSA_SIG_get0_s(sig)) != 1 ||
        ECDSA_SIG_set0(sig, r, s) != 1) {
      Fatal("ECDSA_SIG_set0");
    }
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(sig, &der);
    if (len <= 0) Fatal("i2d_ECDSA_SIG");
    out.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  ECDSA_SIG_free(sig);
  return out;
}

bool P256PublicKey::Verify(absl::string_view message,
                           absl::string_view der_signature) const {
  if (pkey_ == nullptr || der_signature.empty() ||
      der_signature.size() > kMaxSignatureSize) {
    return false;
  }
  ECDSA_SIG* parsed = ParseEcdsa(der_signature);
  bool high = parsed == nullptr || HighS(parsed);
  ECDSA_SIG_free(parsed);
  if (high) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) Fatal("EVP_MD_CTX_new");
  bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey_.get()) ==
          1 &&
      EVP_DigestVerify(
          ctx, reinterpret_cast<const unsigned char*>(der_signature.data()),
          der_signature.size(),
          reinterpret_cast<const unsigned char*>(message.data()),
          message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Ed25519PrivateKey::Ed25519PrivateKey(
    std::string seed, std::unique_ptr<EVP_PKEY, EvpPkeyDeleter> pkey,
    Ed25519PublicKey public_key)
    : seed_(std::move(seed)),
      pkey_(std::move(pkey)),
      public_key_(std::move(public_key)) {}

Ed25519PrivateKey::~Ed25519PrivateKey() {
  if (!seed_.empty()) OPENSSL_cleanse(seed_.data(), seed_.size());
}

Ed25519PrivateKey Ed25519PrivateKey::Generate() {
  std::string seed = RandomBytes(kSeedSize);
  absl::StatusOr<Ed25519PrivateKey> key = FromSeed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  if (!key.ok()) Fatal("Ed25519 key generation");
  return std::move(key).value();
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(
    absl::string_view seed) {
  if (seed.size() != kSeedSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Ed25519 private key seed must be 32 bytes, got ", seed.size()));
  }
  std::unique_ptr<EVP_PKEY, EvpPkeyDeleter> pkey(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
  if (pkey == nullptr) Fatal("EVP_PKEY_new_raw_private_key");
  std::string pub(Ed25519PublicKey::kSize, '\0');
  size_t pub_len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(),
                                  reinterpret_cast<unsigned char*>(pub.data()),
                                  &pub_len) != 1 ||
      pub_len != pub.size()) {
    Fatal("EVP_PKEY_get_raw_public_key");
  }
  absl::StatusOr<Ed25519PublicKey> public_key =
      Ed25519PublicKey::FromBytes(pub);
  if (!public_key.ok()) Fatal("Ed25519 public key");
  return Ed25519PrivateKey(std::string(seed), std::move(pkey),
                           std::move(public_key).value());
}

std::string Ed25519PrivateKey::Sign(absl::string_view message) const {
  std::string sig(Ed25519PublicKey::kSignatureSize, '\0');
  size_t sig_len = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) Fatal("EVP_MD_CTX_new");
  if (EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()),
                     &sig_len,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      sig_len != sig.size()) {
    Fatal("EVP_DigestSign");
  }
  EVP_MD_CTX_free(ctx);
  return sig;
}

}  // namespace ktlog
