#include "verifier/fido2/soft_authenticator.h"

#include <fido/param.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "core/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace ktlog {

struct SoftAuthenticator::Credential {
  KeyAlgorithm algorithm;
  std::string rp_id_hash;
  std::shared_ptr<EVP_PKEY> key;
  std::string cred_random;   // hmac-secret's per-credential key (32 bytes)
  bool hmac_secret = false;  // made with the hmac-secret extension
};

namespace {

// ---- a small CBOR writer ----
void Head(std::string* out, int major, uint64_t v) {
  uint8_t m = static_cast<uint8_t>(major << 5);
  if (v < 24) {
    out->push_back(static_cast<char>(m | v));
  } else if (v < 256) {
    out->push_back(static_cast<char>(m | 24));
    out->push_back(static_cast<char>(v));
  } else {
    out->push_back(static_cast<char>(m | 25));
    out->push_back(static_cast<char>(v >> 8));
    out->push_back(static_cast<char>(v));
  }
}
void Int(std::string* out, int64_t v) {
  if (v >= 0) {
    Head(out, 0, static_cast<uint64_t>(v));
  } else {
    Head(out, 1, static_cast<uint64_t>(-1 - v));
  }
}
void Bytes(std::string* out, const std::string& b) {
  Head(out, 2, b.size());
  *out += b;
}
void Text(std::string* out, const std::string& t) {
  Head(out, 3, t.size());
  *out += t;
}

// ---- a small CBOR reader: the item tree ----
struct Item {
  int major = -1;  // -1: absent
  uint64_t value = 0;
  std::string bytes;                           // byte and text strings
  std::vector<std::pair<Item, Item>> entries;  // maps
  std::vector<Item> items;                     // arrays
  bool boolean = false;

  // The map value under integer key `k` (negative too), or an absent item.
  const Item& At(int64_t k) const {
    static const Item kAbsent;
    for (const auto& [key, value] : entries) {
      if ((k >= 0 && key.major == 0 && key.value == static_cast<uint64_t>(k)) ||
          (k < 0 && key.major == 1 &&
           key.value == static_cast<uint64_t>(-1 - k))) {
        return value;
      }
    }
    return kAbsent;
  }
  const Item& At(const std::string& k) const {
    static const Item kAbsent;
    for (const auto& [key, value] : entries) {
      if (key.major == 3 && key.bytes == k) return value;
    }
    return kAbsent;
  }
};

std::optional<Item> Parse(const std::string& in, size_t* pos, int depth = 0) {
  if (*pos >= in.size() || depth > 8) return std::nullopt;
  uint8_t first = static_cast<uint8_t>(in[(*pos)++]);
  Item item;
  item.major = first >> 5;
  uint8_t info = first & 31;
  if (info < 24) {
    item.value = info;
  } else if (info >= 24 && info <= 27) {
    size_t n = size_t{1} << (info - 24);
    if (*pos + n > in.size()) return std::nullopt;
    for (size_t i = 0; i < n; ++i) {
      item.value = (item.value << 8) | static_cast<uint8_t>(in[(*pos)++]);
    }
  } else {
    return std::nullopt;
  }
  switch (item.major) {
    case 2:
    case 3:
      if (*pos + item.value > in.size()) return std::nullopt;
      item.bytes = in.substr(*pos, item.value);
      *pos += item.value;
      break;
    case 4:
      for (uint64_t i = 0; i < item.value; ++i) {
        std::optional<Item> e = Parse(in, pos, depth + 1);
        if (!e) return std::nullopt;
        item.items.push_back(*std::move(e));
      }
      break;
    case 5:
      for (uint64_t i = 0; i < item.value; ++i) {
        std::optional<Item> k = Parse(in, pos, depth + 1);
        std::optional<Item> v = Parse(in, pos, depth + 1);
        if (!k || !v) return std::nullopt;
        item.entries.emplace_back(*std::move(k), *std::move(v));
      }
      break;
    case 7:
      item.boolean = info == 21;
      break;
    default:
      break;
  }
  return item;
}

std::string Sha256Bytes(const std::string& s) { return Sha256(s).bytes(); }

std::string Be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string Sign(const SoftAuthenticator::Credential& c,
                 const std::string& message) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* md =
      c.algorithm == KeyAlgorithm::kEs256 ? EVP_sha256() : nullptr;
  std::string sig(80, '\0');
  size_t len = sig.size();
  if (EVP_DigestSignInit(ctx, nullptr, md, nullptr, c.key.get()) != 1 ||
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    abort();
  }
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  return sig;
}

// The credential public key as a COSE_Key.
std::string CoseKey(const SoftAuthenticator::Credential& c) {
  std::string out;
  if (c.algorithm == KeyAlgorithm::kEs256) {
    unsigned char pub[65];
    size_t len = 0;
    EVP_PKEY_get_octet_string_param(c.key.get(), OSSL_PKEY_PARAM_PUB_KEY, pub,
                                    sizeof(pub), &len);
    Head(&out, 5, 5);
    Int(&out, 1), Int(&out, 2);   // kty: EC2
    Int(&out, 3), Int(&out, -7);  // alg: ES256
    Int(&out, -1), Int(&out, 1);  // crv: P-256
    Int(&out, -2),
        Bytes(&out, std::string(reinterpret_cast<char*>(pub + 1), 32));
    Int(&out, -3),
        Bytes(&out, std::string(reinterpret_cast<char*>(pub + 33), 32));
  } else {
    unsigned char pub[32];
    size_t len = sizeof(pub);
    EVP_PKEY_get_raw_public_key(c.key.get(), pub, &len);
    Head(&out, 5, 4);
    Int(&out, 1), Int(&out, 1);   // kty: OKP
    Int(&out, 3), Int(&out, -8);  // alg: EdDSA
    Int(&out, -1), Int(&out, 6);  // crv: Ed25519
    Int(&out, -2), Bytes(&out, std::string(reinterpret_cast<char*>(pub), 32));
  }
  return out;
}

// ---- hmac-secret (CTAP 2.1, PIN/UV auth protocol 1) ----

// A P-256 public key from its coordinates, or null.
std::shared_ptr<EVP_PKEY> P256Public(const std::string& x,
                                     const std::string& y) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  std::string point = "\x04" + x + y;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  char group[] = "P-256";
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                   point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* k = nullptr;
  if (EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    k = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return k == nullptr ? nullptr : std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
}

// HKDF-SHA-256 with 32 zero bytes of salt, 32 bytes out (protocol 2).
std::string Hkdf(const std::string& ikm, const char* info) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  std::string salt(32, '\0'), out(32, '\0');
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                        const_cast<char*>(info), strlen(info)),
      OSSL_PARAM_construct_end()};
  if (ctx == nullptr ||
      EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()),
                     out.size(), params) != 1) {
    abort();
  }
  EVP_KDF_CTX_free(ctx);
  return out;
}

// The ECDH x coordinate; "" if the platform's key is not on the curve.
std::string SharedSecret(EVP_PKEY* mine, EVP_PKEY* theirs) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(mine, nullptr);
  std::string z(32, '\0');
  size_t len = z.size();
  bool ok = ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
            EVP_PKEY_derive_set_peer(ctx, theirs) == 1 &&
            EVP_PKEY_derive(ctx, reinterpret_cast<unsigned char*>(z.data()),
                            &len) == 1 &&
            len == 32;
  EVP_PKEY_CTX_free(ctx);
  return ok ? z : std::string();
}

// AES-256-CBC without padding (whole blocks) under a 16-byte `iv`.
std::string AesCbc(const std::string& key, const std::string& iv,
                   const std::string& in, bool encrypt) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(in.size(), '\0');
  int len = 0;
  if (EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), nullptr,
                        reinterpret_cast<const unsigned char*>(key.data()),
                        reinterpret_cast<const unsigned char*>(iv.data()),
                        encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
      EVP_CipherUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                       reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) != 1) {
    abort();
  }
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

// A PIN/UV auth protocol's keys (CTAP 2.1, 6.5.6 and 6.5.7) from the ECDH
// x coordinate: protocol 1 uses SHA-256 of it for both, a zero IV and
// 16-byte MACs; protocol 2 derives each by HKDF, prefixes a random IV and
// uses whole MACs.
struct PinProtocol {
  int version = 1;
  std::string hmac_key, aes_key;

  PinProtocol(int v, const std::string& z) : version(v) {
    if (v == 1) {
      hmac_key = aes_key = Sha256Bytes(z);
    } else {
      hmac_key = Hkdf(z, "CTAP2 HMAC key");
      aes_key = Hkdf(z, "CTAP2 AES key");
    }
  }
  std::string Authenticate(const std::string& message) const {
    std::string mac = HmacSha256(hmac_key, {message}).bytes();
    return version == 1 ? mac.substr(0, 16) : mac;
  }
  std::string Encrypt(const std::string& plain) const {
    std::string iv = version == 1 ? std::string(16, '\0') : RandomBytes(16);
    std::string out = AesCbc(aes_key, iv, plain, true);
    return version == 1 ? out : iv + out;
  }
  // "" if `sealed` has no whole blocks after its IV.
  std::string Decrypt(const std::string& sealed) const {
    size_t iv_size = version == 1 ? 0 : 16;
    if (sealed.size() <= iv_size || (sealed.size() - iv_size) % 16 != 0) {
      return "";
    }
    std::string iv =
        version == 1 ? std::string(16, '\0') : sealed.substr(0, 16);
    return AesCbc(aes_key, iv, sealed.substr(iv_size), false);
  }
};

constexpr uint8_t kStatusOk = 0x00;
constexpr uint8_t kStatusInvalidParameter = 0x02;
constexpr uint8_t kStatusPinAuthInvalid = 0x33;
constexpr uint8_t kFlagExtensions = 0x80;  // ED: extension data follows
constexpr uint8_t kStatusInvalidCbor = 0x12;
constexpr uint8_t kStatusUnsupportedAlgorithm = 0x26;
constexpr uint8_t kStatusCredentialExcluded = 0x19;
constexpr uint8_t kStatusNoCredentials = 0x2e;
constexpr uint8_t kStatusUserActionTimeout = 0x2f;
constexpr uint8_t kStatusInvalidCommand = 0x01;
constexpr size_t kReport = 64;

std::mutex registry_mu;
std::map<std::string, SoftAuthenticator*>& Registry() {
  static auto* r = new std::map<std::string, SoftAuthenticator*>();
  return *r;
}

}  // namespace

struct SoftIo {
  static void* Open(const char* path) {
    std::lock_guard<std::mutex> l(registry_mu);
    auto it = Registry().find(path);
    if (it == Registry().end() || it->second->lost_) return nullptr;
    it->second->channel_ = 0xffffffff;
    it->second->have_out_ = false;
    return it->second;
  }
  static void Close(void*) {}
  static int Read(void* h, unsigned char* buf, size_t len, int ms) {
    return static_cast<SoftAuthenticator*>(h)->Read(buf, len, ms);
  }
  static int Write(void* h, const unsigned char* buf, size_t len) {
    return static_cast<SoftAuthenticator*>(h)->Write(buf, len);
  }
};

SoftAuthenticator::SoftAuthenticator() {
  static int next = 0;
  std::lock_guard<std::mutex> l(registry_mu);
  path_ = absl::StrCat("soft:", next++);
  Registry()[path_] = this;
}

SoftAuthenticator::~SoftAuthenticator() {
  std::lock_guard<std::mutex> l(registry_mu);
  Registry().erase(path_);
}

const fido_dev_io_t& SoftAuthenticator::Io() {
  static const fido_dev_io_t io = {SoftIo::Open, SoftIo::Close, SoftIo::Read,
                                   SoftIo::Write};
  return io;
}

absl::StatusOr<std::unique_ptr<Fido2Device>> SoftAuthenticator::Open(
    absl::Duration touch_timeout) {
  return Fido2Device::OpenWith(Io(), path_, touch_timeout);
}

std::unique_ptr<SoftAuthenticator> SoftAuthenticator::Clone() const {
  auto copy = std::make_unique<SoftAuthenticator>();
  copy->credentials_ = credentials_;
  copy->counter_ = counter_;
  copy->counterless_ = counterless_;
  copy->pin_protocol_ = pin_protocol_;
  return copy;
}

int SoftAuthenticator::Write(const unsigned char* report, size_t len) {
  if (lost_ || len != kReport + 1) return -1;
  const unsigned char* f = report + 1;  // after the report id
  if (f[4] & 0x80) {                    // an initialization packet
    in_cmd_ = f[4] & 0x7f;
    in_need_ = (size_t{f[5]} << 8) | f[6];
    in_.assign(reinterpret_cast<const char*>(f + 7),
               std::min<size_t>(in_need_, kReport - 7));
  } else {
    in_.append(reinterpret_cast<const char*>(f + 5),
               std::min<size_t>(in_need_ - in_.size(), kReport - 5));
  }
  if (in_.size() == in_need_) Handle(in_cmd_, in_);
  return static_cast<int>(len);
}

int SoftAuthenticator::Read(unsigned char* report, size_t len, int ms) {
  if (lost_ || len != kReport) return -1;
  memset(report, 0, len);
  uint32_t cid = out_cmd_ == CTAP_CMD_INIT ? 0xffffffff : channel_;
  for (int i = 0; i < 4; ++i)
    report[i] = static_cast<uint8_t>(cid >> (24 - 8 * i));
  if (!have_out_) {
    if (!waiting_for_touch_) return -1;
    // Waiting for a touch that does not come: a keepalive every 100 ms
    // (status 2, user presence needed) until the caller's time is up.
    if (ms >= 0 && ms < 100) {
      usleep(static_cast<useconds_t>(ms) * 1000);
      return -1;
    }
    usleep(100 * 1000);
    report[4] = 0x80 | CTAP_KEEPALIVE;
    report[6] = 1;
    report[7] = 2;
    return static_cast<int>(len);
  }
  size_t offset;
  if (out_reports_ == 0) {
    report[4] = 0x80 | out_cmd_;
    report[5] = static_cast<uint8_t>(out_.size() >> 8);
    report[6] = static_cast<uint8_t>(out_.size());
    size_t n = std::min<size_t>(out_.size(), kReport - 7);
    memcpy(report + 7, out_.data(), n);
    offset = n;
  } else {
    offset = (kReport - 7) + (out_reports_ - 1) * (kReport - 5);
    report[4] = static_cast<uint8_t>(out_reports_ - 1);
    size_t n = std::min<size_t>(out_.size() - offset, kReport - 5);
    memcpy(report + 5, out_.data() + offset, n);
    offset += n;
  }
  ++out_reports_;
  if (offset >= out_.size()) have_out_ = false;
  return static_cast<int>(len);
}

void SoftAuthenticator::Handle(uint8_t cmd, const std::string& payload) {
  waiting_for_touch_ = false;
  out_cmd_ = cmd;
  out_.clear();
  out_reports_ = 0;
  have_out_ = false;
  if (cmd == CTAP_CMD_INIT) {
    if (payload.size() != 8) return;
    uint8_t id[4];
    RAND_bytes(id, 4);
    channel_ = (uint32_t{id[0]} << 24) | (uint32_t{id[1]} << 16) |
               (uint32_t{id[2]} << 8) | id[3];
    out_ = payload + Be32(channel_);
    out_ += std::string{2, 1, 0, 0,
                        static_cast<char>(FIDO_CAP_CBOR | FIDO_CAP_NMSG)};
    have_out_ = true;
  } else if (cmd == CTAP_CMD_CBOR && !payload.empty()) {
    HandleCbor(payload);
  }
  // CTAP_CMD_CANCEL and anything else: no answer.
}

void SoftAuthenticator::HandleCbor(const std::string& request) {
  auto status = [&](uint8_t s) {
    out_ = std::string(1, static_cast<char>(s));
    have_out_ = true;
  };
  uint8_t command = static_cast<uint8_t>(request[0]);
  if (command == 0x04) {  // authenticatorGetInfo
    std::string info(1, static_cast<char>(kStatusOk));
    Head(&info, 5, 6);
    Int(&info, 1), Head(&info, 4, 1), Text(&info, "FIDO_2_0");
    Int(&info, 2), Head(&info, 4, 1), Text(&info, "hmac-secret");
    Int(&info, 3), Bytes(&info, std::string(16, '\x6b'));  // aaguid
    Int(&info, 4), Head(&info, 5, 3);
    Text(&info, "rk"), info.push_back('\xf4');
    Text(&info, "up"), info.push_back('\xf5');
    Text(&info, "uv"), info.push_back('\xf5');
    Int(&info, 5), Int(&info, 1200);  // maxMsgSize
    // PIN/UV auth protocols, the one libfido2 picks first.
    Int(&info, 6), Head(&info, 4, 1), Int(&info, pin_protocol_);
    out_ = info;
    have_out_ = true;
    return;
  }
  if (command == 0x06) return ClientPin(request.substr(1));
  if (command != 0x01 && command != 0x02) return status(kStatusInvalidCommand);
  if (touch_ == Touch::kTimesOut) return status(kStatusUserActionTimeout);
  if (touch_ == Touch::kNever) {
    waiting_for_touch_ = true;
    return;
  }
  if (command == 0x01) {
    MakeCredential(request.substr(1));
  } else {
    GetAssertion(request.substr(1));
  }
  if (out_.empty()) status(kStatusInvalidCbor);
}

void SoftAuthenticator::MakeCredential(const std::string& request) {
  size_t pos = 0;
  std::optional<Item> m = Parse(request, &pos);
  if (!m || m->major != 5) return;
  const std::string& cdh = m->At(1).bytes;
  const std::string& rp_id = m->At(2).At("id").bytes;
  for (const Item& excluded : m->At(5).items) {
    if (credentials_.count(excluded.At("id").bytes) > 0) {
      out_ = std::string(1, static_cast<char>(kStatusCredentialExcluded));
      have_out_ = true;
      return;
    }
  }
  auto c = std::make_shared<Credential>();
  c->rp_id_hash = Sha256Bytes(rp_id);
  int64_t alg = 0;
  for (const Item& p : m->At(4).items) {
    const Item& a = p.At("alg");
    if (a.major == 1) alg = -1 - static_cast<int64_t>(a.value);
    if (alg == -7 || alg == -8) break;
  }
  if (alg == -7) {
    c->algorithm = KeyAlgorithm::kEs256;
    c->key.reset(EVP_EC_gen("P-256"), EVP_PKEY_free);
  } else if (alg == -8) {
    c->algorithm = KeyAlgorithm::kEdDsa;
    c->key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  } else {
    out_ = std::string(1, static_cast<char>(kStatusUnsupportedAlgorithm));
    have_out_ = true;
    return;
  }
  c->cred_random = RandomBytes(32);
  bool hmac_secret = m->At(6).At("hmac-secret").boolean;
  c->hmac_secret = hmac_secret;
  std::string id = RandomBytes(32);
  credentials_[id] = c;
  if (!counterless_) ++counter_;
  std::string data = c->rp_id_hash;
  data.push_back(static_cast<char>(kFlagUserPresent | 0x40 |  // AT
                                   (hmac_secret ? kFlagExtensions : 0)));
  data += Be32(counterless_ ? 0 : counter_);
  data += std::string(16, '\x6b');  // aaguid
  data.push_back(0);
  data.push_back(static_cast<char>(id.size()));
  data += id;
  data += CoseKey(*c);
  if (hmac_secret) {
    Head(&data, 5, 1);
    Text(&data, "hmac-secret"), data.push_back('\xf5');
  }
  (void)cdh;
  std::string out(1, static_cast<char>(kStatusOk));
  Head(&out, 5, 3);
  Int(&out, 1), Text(&out, "none");
  Int(&out, 2), Bytes(&out, data);
  Int(&out, 3), Head(&out, 5, 0);
  out_ = out;
  have_out_ = true;
}

namespace {

// The hmac-secret extension's output for `input` (the platform's key
// agreement key, the encrypted salt or salts and their MAC) as the
// authenticator data's extensions; a CTAP2 error status if it is bad.
uint8_t HmacSecretExtension(EVP_PKEY* key_agreement,
                            const SoftAuthenticator::Credential& c,
                            const Item& input, std::string* extensions) {
  const Item& platform = input.At(1);
  const std::string& salt_enc = input.At(2).bytes;
  const std::string& salt_auth = input.At(3).bytes;
  const Item& version = input.At(4);  // absent: protocol 1
  if (key_agreement == nullptr) return kStatusInvalidParameter;
  if (!c.hmac_secret) return kStatusOk;  // made without it: no output
  std::shared_ptr<EVP_PKEY> theirs =
      P256Public(platform.At(-2).bytes, platform.At(-3).bytes);
  std::string z =
      theirs == nullptr ? "" : SharedSecret(key_agreement, theirs.get());
  if (z.empty() ||
      (version.major == 0 && version.value != 1 && version.value != 2)) {
    return kStatusInvalidParameter;
  }
  PinProtocol protocol(version.major == 0 ? static_cast<int>(version.value) : 1,
                       z);
  if (protocol.Authenticate(salt_enc) != salt_auth) {
    return kStatusPinAuthInvalid;
  }
  std::string salts = protocol.Decrypt(salt_enc);
  if (salts.size() != 32 && salts.size() != 64) return kStatusInvalidParameter;
  std::string output = HmacSha256(c.cred_random, {salts.substr(0, 32)}).bytes();
  if (salts.size() == 64) {
    output += HmacSha256(c.cred_random, {salts.substr(32)}).bytes();
  }
  Head(extensions, 5, 1);
  Text(extensions, "hmac-secret");
  Bytes(extensions, protocol.Encrypt(output));
  return kStatusOk;
}

}  // namespace

void SoftAuthenticator::GetAssertion(const std::string& request) {
  size_t pos = 0;
  std::optional<Item> m = Parse(request, &pos);
  if (!m || m->major != 5) return;
  std::string rp_hash = Sha256Bytes(m->At(1).bytes);
  const std::string& cdh = m->At(2).bytes;
  bool uv = m->At(5).At("uv").boolean;
  std::string id;
  for (const Item& allowed : m->At(3).items) {
    auto it = credentials_.find(allowed.At("id").bytes);
    if (it != credentials_.end() && it->second->rp_id_hash == rp_hash) {
      id = it->first;
      break;
    }
  }
  if (id.empty() || cdh.size() != 32) {
    out_ = std::string(1, static_cast<char>(kStatusNoCredentials));
    have_out_ = true;
    return;
  }
  const Credential& c = *credentials_[id];
  std::string extensions;
  if (const Item& h = m->At(4).At("hmac-secret"); h.major == 5) {
    uint8_t error =
        HmacSecretExtension(key_agreement_.get(), c, h, &extensions);
    if (error != kStatusOk) {
      out_ = std::string(1, static_cast<char>(error));
      have_out_ = true;
      return;
    }
  }
  if (!counterless_) ++counter_;
  std::string data = rp_hash;
  data.push_back(static_cast<char>(kFlagUserPresent |
                                   (uv ? kFlagUserVerified : 0) |
                                   (extensions.empty() ? 0 : kFlagExtensions)));
  data += Be32(counterless_ ? 0 : counter_);
  data += extensions;
  std::string out(1, static_cast<char>(kStatusOk));
  Head(&out, 5, 3);
  Int(&out, 1), Head(&out, 5, 2), Text(&out, "id"), Bytes(&out, id),
      Text(&out, "type"), Text(&out, "public-key");
  Int(&out, 2), Bytes(&out, data);
  Int(&out, 3), Bytes(&out, Sign(c, data + cdh));
  out_ = out;
  have_out_ = true;
}

void SoftAuthenticator::ClientPin(const std::string& request) {
  size_t pos = 0;
  std::optional<Item> m = Parse(request, &pos);
  out_ = std::string(1, static_cast<char>(kStatusInvalidParameter));
  have_out_ = true;
  // Only getKeyAgreement (2) of protocol 1: no PIN is ever set.
  if (!m || (m->At(1).value != 1 && m->At(1).value != 2) ||
      m->At(2).value != 2) {
    return;
  }
  if (key_agreement_ == nullptr) {
    key_agreement_.reset(EVP_EC_gen("P-256"), EVP_PKEY_free);
  }
  unsigned char pub[65];
  size_t len = 0;
  EVP_PKEY_get_octet_string_param(key_agreement_.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                  pub, sizeof(pub), &len);
  std::string out(1, static_cast<char>(kStatusOk));
  Head(&out, 5, 1);
  Int(&out, 1), Head(&out, 5, 5);
  Int(&out, 1), Int(&out, 2);    // kty: EC2
  Int(&out, 3), Int(&out, -25);  // alg: ECDH-ES+HKDF-256
  Int(&out, -1), Int(&out, 1);   // crv: P-256
  Int(&out, -2), Bytes(&out, std::string(reinterpret_cast<char*>(pub + 1), 32));
  Int(&out, -3),
      Bytes(&out, std::string(reinterpret_cast<char*>(pub + 33), 32));
  out_ = out;
}

namespace {

// A credential's private key as bytes: the P-256 scalar (32 bytes) and
// public point, or the Ed25519 seed.
nlohmann::json KeyJson(const SoftAuthenticator::Credential& c) {
  if (c.algorithm == KeyAlgorithm::kEdDsa) {
    unsigned char seed[32];
    size_t len = sizeof(seed);
    EVP_PKEY_get_raw_private_key(c.key.get(), seed, &len);
    return {{"alg", "EdDSA"},
            {"private",
             HexEncode(std::string(reinterpret_cast<char*>(seed), len))}};
  }
  unsigned char priv[32], pub[65];
  size_t pub_len = 0;
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(c.key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &bn);
  BN_bn2binpad(bn, priv, sizeof(priv));
  BN_clear_free(bn);
  EVP_PKEY_get_octet_string_param(c.key.get(), OSSL_PKEY_PARAM_PUB_KEY, pub,
                                  sizeof(pub), &pub_len);
  return {
      {"alg", "ES256"},
      {"private", HexEncode(std::string(reinterpret_cast<char*>(priv), 32))},
      {"public",
       HexEncode(std::string(reinterpret_cast<char*>(pub), pub_len))}};
}

absl::StatusOr<std::shared_ptr<EVP_PKEY>> KeyFromJson(const nlohmann::json& j,
                                                      KeyAlgorithm* algorithm) {
  ASSIGN_OR_RETURN(std::string priv,
                   HexDecode(j.at("private").get<std::string>()));
  if (j.at("alg") == "EdDSA") {
    *algorithm = KeyAlgorithm::kEdDsa;
    EVP_PKEY* k = EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr,
        reinterpret_cast<const unsigned char*>(priv.data()), priv.size());
    if (k == nullptr) return absl::InvalidArgumentError("bad EdDSA key");
    return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
  }
  *algorithm = KeyAlgorithm::kEs256;
  ASSIGN_OR_RETURN(std::string pub,
                   HexDecode(j.at("public").get<std::string>()));
  BIGNUM* bn = BN_bin2bn(reinterpret_cast<const unsigned char*>(priv.data()),
                         static_cast<int>(priv.size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  char group[] = "P-256";
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                   pub.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* k = nullptr;
  bool ok = EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_clear_free(bn);
  if (!ok) return absl::InvalidArgumentError("bad ES256 key");
  return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
}

constexpr const char* kTouchNames[] = {"present", "never", "times_out"};

}  // namespace

absl::Status SoftAuthenticator::SaveTo(const std::string& file) const {
  nlohmann::json creds = nlohmann::json::array();
  for (const auto& [id, c] : credentials_) {
    nlohmann::json j = KeyJson(*c);
    j["id"] = HexEncode(id);
    j["rp_id_hash"] = HexEncode(c->rp_id_hash);
    j["cred_random"] = HexEncode(c->cred_random);
    j["hmac_secret"] = c->hmac_secret;
    creds.push_back(j);
  }
  nlohmann::json j = {{"counter", counter_},
                      {"counterless", counterless_},
                      {"touch", kTouchNames[static_cast<int>(touch_)]},
                      {"credentials", creds}};
  return WriteFileAtomically(file, j.dump(1) + "\n", 0600);
}

absl::StatusOr<std::unique_ptr<SoftAuthenticator>> SoftAuthenticator::LoadFrom(
    const std::string& file) {
  absl::StatusOr<std::string> text = ReadFileBounded(file, 1 << 20);
  if (!text.ok()) {
    return absl::UnavailableError(
        absl::StrCat("no security key at ", file, " (lost?)"));
  }
  auto soft = std::make_unique<SoftAuthenticator>();
  try {
    nlohmann::json j = nlohmann::json::parse(*text);
    soft->counter_ = j.at("counter").get<uint32_t>();
    soft->counterless_ = j.value("counterless", false);
    std::string touch = j.value("touch", "present");
    for (int t = 0; t < 3; ++t) {
      if (touch == kTouchNames[t]) soft->touch_ = static_cast<Touch>(t);
    }
    for (const nlohmann::json& c : j.at("credentials")) {
      auto cred = std::make_shared<Credential>();
      ASSIGN_OR_RETURN(cred->key, KeyFromJson(c, &cred->algorithm));
      ASSIGN_OR_RETURN(cred->rp_id_hash,
                       HexDecode(c.at("rp_id_hash").get<std::string>()));
      ASSIGN_OR_RETURN(std::string id,
                       HexDecode(c.at("id").get<std::string>()));
      ASSIGN_OR_RETURN(cred->cred_random,
                       HexDecode(c.value("cred_random", "")));
      cred->hmac_secret = c.value("hmac_secret", false);
      if (cred->cred_random.size() != 32) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad soft security key file ", file, ": a cred_random of ",
            cred->cred_random.size(), " bytes, not 32"));
      }
      soft->credentials_[id] = std::move(cred);
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad soft security key file ", file, ": ", e.what()));
  }
  return soft;
}

namespace {

class SoftKeyFileDevice : public SecurityKeyDevice {
 public:
  SoftKeyFileDevice(std::string file, std::unique_ptr<SoftAuthenticator> soft,
                    std::unique_ptr<Fido2Device> dev)
      : file_(std::move(file)), soft_(std::move(soft)), dev_(std::move(dev)) {}
  absl::StatusOr<SecurityKey> MakeCredential(
      const std::string& rp_id, const std::string& account_id,
      KeyAlgorithm algorithm,
      const std::vector<std::string>& exclude) override {
    absl::StatusOr<SecurityKey> k =
        dev_->MakeCredential(rp_id, account_id, algorithm, exclude);
    RETURN_IF_ERROR(soft_->SaveTo(file_));
    return k;
  }
  absl::StatusOr<KeyAssertion> GetAssertion(const std::string& rp_id,
                                            const std::vector<std::string>& ids,
                                            const Hash& cdh, bool uv) override {
    absl::StatusOr<KeyAssertion> a = dev_->GetAssertion(rp_id, ids, cdh, uv);
    RETURN_IF_ERROR(soft_->SaveTo(file_));
    return a;
  }
  absl::StatusOr<KeySecret> HmacSecret(const std::string& rp_id,
                                       const std::vector<std::string>& ids,
                                       absl::string_view salt) override {
    absl::StatusOr<KeySecret> s = dev_->HmacSecret(rp_id, ids, salt);
    RETURN_IF_ERROR(soft_->SaveTo(file_));
    return s;
  }

 private:
  std::string file_;
  std::unique_ptr<SoftAuthenticator> soft_;
  std::unique_ptr<Fido2Device> dev_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SecurityKeyDevice>> OpenSoftKeyFile(
    const std::string& file, absl::Duration touch_timeout, bool create) {
  if (create && access(file.c_str(), F_OK) != 0) {
    RETURN_IF_ERROR(SoftAuthenticator().SaveTo(file));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SoftAuthenticator> soft,
                   SoftAuthenticator::LoadFrom(file));
  ASSIGN_OR_RETURN(std::unique_ptr<Fido2Device> dev, soft->Open(touch_timeout));
  return std::make_unique<SoftKeyFileDevice>(file, std::move(soft),
                                             std::move(dev));
}

}  // namespace ktlog
