#include "verifier/fido2/fido2_device.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"

namespace ktlog {
namespace {

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { fido_init(FIDO_DISABLE_U2F_FALLBACK); });
}

// libfido2's answer as a status a person can act on (security_key_device.h).
absl::Status FidoError(int r, absl::string_view what, absl::Duration timeout) {
  std::string reason = absl::StrCat(what, ": ", fido_strerr(r));
  switch (r) {
    case FIDO_ERR_RX:
    case FIDO_ERR_TIMEOUT:
    case FIDO_ERR_USER_ACTION_TIMEOUT:
    case FIDO_ERR_ACTION_TIMEOUT:
      return absl::DeadlineExceededError(
          absl::StrCat(what, ": nobody touched the security key within ",
                       absl::FormatDuration(timeout),
                       " (touch it when it blinks; is it still plugged in?)"));
    case FIDO_ERR_TX:
    case FIDO_ERR_INTERNAL:
      return absl::UnavailableError(absl::StrCat(
          what, ": the security key does not answer; plug it in again (",
          fido_strerr(r), ")"));
    case FIDO_ERR_CREDENTIAL_EXCLUDED:
      return absl::AlreadyExistsError(absl::StrCat(
          what,
          ": this security key is one of the account's already (use "
          "another key)"));
    case FIDO_ERR_NO_CREDENTIALS:
      return absl::NotFoundError(absl::StrCat(
          what,
          ": this security key is not one of the account's (try another of "
          "your keys)"));
    case FIDO_ERR_UNSUPPORTED_ALGORITHM:
    case FIDO_ERR_UNSUPPORTED_OPTION:
    case FIDO_ERR_PIN_REQUIRED:
    case FIDO_ERR_PIN_NOT_SET:
    case FIDO_ERR_UV_BLOCKED:
      return absl::FailedPreconditionError(reason);
    case FIDO_ERR_OPERATION_DENIED:
    case FIDO_ERR_NOT_ALLOWED:
      return absl::PermissionDeniedError(reason);
    default:
      return absl::UnknownError(reason);
  }
}

const unsigned char* Bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string Str(const unsigned char* p, size_t n) {
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p), n);
}

// libfido2 1.12 hands out the authenticator data as a CBOR byte string;
// the bytes the signature covers are its contents.
absl::StatusOr<std::string> UnwrapCborBytes(const std::string& cbor) {
  if (cbor.empty() || (static_cast<uint8_t>(cbor[0]) >> 5) != 2) {
    return absl::InternalError("authenticator data is not a CBOR byte string");
  }
  uint8_t info = static_cast<uint8_t>(cbor[0]) & 31;
  size_t header = info < 24 ? 1 : info == 24 ? 2 : info == 25 ? 3 : 0;
  if (header == 0 || cbor.size() < header) {
    return absl::InternalError("authenticator data has a bad CBOR header");
  }
  size_t length = info < 24    ? info
                  : info == 24 ? static_cast<uint8_t>(cbor[1])
                               : (size_t{static_cast<uint8_t>(cbor[1])} << 8) |
                                     static_cast<uint8_t>(cbor[2]);
  if (cbor.size() != header + length) {
    return absl::InternalError("authenticator data has a bad CBOR length");
  }
  return cbor.substr(header);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> Fido2Device::List() {
  InitOnce();
  constexpr size_t kMax = 16;
  fido_dev_info_t* infos = fido_dev_info_new(kMax);
  if (infos == nullptr)
    return absl::ResourceExhaustedError("fido_dev_info_new");
  size_t found = 0;
  int r = fido_dev_info_manifest(infos, kMax, &found);
  std::vector<std::string> out;
  for (size_t i = 0; r == FIDO_OK && i < found; ++i) {
    const fido_dev_info_t* d = fido_dev_info_ptr(infos, i);
    out.push_back(absl::StrCat(fido_dev_info_path(d), "\t",
                               fido_dev_info_manufacturer_string(d), " ",
                               fido_dev_info_product_string(d)));
  }
  fido_dev_info_free(&infos, kMax);
  if (r != FIDO_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot list security keys: ", fido_strerr(r)));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Fido2Device>> Fido2Device::Open(
    const std::string& path, absl::Duration touch_timeout) {
  InitOnce();
  fido_dev_t* dev = fido_dev_new();
  if (dev == nullptr) return absl::ResourceExhaustedError("fido_dev_new");
  return Opened(dev, path, touch_timeout);
}

absl::StatusOr<std::unique_ptr<Fido2Device>> Fido2Device::OpenWith(
    const fido_dev_io_t& io, const std::string& path,
    absl::Duration touch_timeout) {
  InitOnce();
  fido_dev_t* dev = fido_dev_new();
  if (dev == nullptr) return absl::ResourceExhaustedError("fido_dev_new");
  if (fido_dev_set_io_functions(dev, &io) != FIDO_OK) {
    fido_dev_free(&dev);
    return absl::InternalError("fido_dev_set_io_functions");
  }
  return Opened(dev, path, touch_timeout);
}

absl::StatusOr<std::unique_ptr<Fido2Device>> Fido2Device::Opened(
    fido_dev_t* dev, const std::string& path, absl::Duration touch_timeout) {
  int r = fido_dev_open(dev, path.c_str());
  if (r != FIDO_OK) {
    fido_dev_free(&dev);
    return absl::UnavailableError(absl::StrCat(
        "cannot open the security key at ", path, ": ", fido_strerr(r)));
  }
  if (!fido_dev_is_fido2(dev)) {
    fido_dev_close(dev);
    fido_dev_free(&dev);
    return absl::FailedPreconditionError(
        absl::StrCat("the security key at ", path,
                     " speaks only U2F; ktlog needs a FIDO2 (CTAP2) key"));
  }
  int ms = static_cast<int>(absl::ToInt64Milliseconds(touch_timeout));
  fido_dev_set_timeout(dev, ms > 0 ? ms : -1);
  return std::unique_ptr<Fido2Device>(new Fido2Device(dev, touch_timeout));
}

Fido2Device::~Fido2Device() {
  fido_dev_close(dev_);
  fido_dev_free(&dev_);
}

absl::StatusOr<SecurityKey> Fido2Device::MakeCredential(
    const std::string& rp_id, const std::string& account_id,
    KeyAlgorithm algorithm, const std::vector<std::string>& exclude) {
  fido_cred_t* cred = fido_cred_new();
  if (cred == nullptr) return absl::ResourceExhaustedError("fido_cred_new");
  // The client data hash of a credential ktlog does not check (it trusts
  // the key's public key as the owner's app read it): random.
  std::string cdh = RandomBytes(32);
  std::string user_id = Sha256(account_id).bytes();
  int cose = algorithm == KeyAlgorithm::kEs256 ? COSE_ES256 : COSE_EDDSA;
  int r = fido_cred_set_type(cred, cose);
  if (r == FIDO_OK) r = fido_cred_set_clientdata_hash(cred, Bytes(cdh), 32);
  if (r == FIDO_OK) r = fido_cred_set_rp(cred, rp_id.c_str(), "ktlog");
  if (r == FIDO_OK) {
    r = fido_cred_set_user(cred, Bytes(user_id), user_id.size(),
                           account_id.c_str(), nullptr, nullptr);
  }
  for (const std::string& id : exclude) {
    if (r == FIDO_OK) r = fido_cred_exclude(cred, Bytes(id), id.size());
  }
  if (r == FIDO_OK) r = fido_cred_set_extensions(cred, FIDO_EXT_HMAC_SECRET);
  if (r == FIDO_OK) r = fido_dev_make_cred(dev_, cred, nullptr);
  if (r != FIDO_OK) {
    fido_cred_free(&cred);
    return FidoError(r, "making a credential on the security key",
                     touch_timeout_);
  }
  SecurityKey key;
  key.credential_id = Str(fido_cred_id_ptr(cred), fido_cred_id_len(cred));
  key.algorithm = algorithm;
  std::string pub = Str(fido_cred_pubkey_ptr(cred), fido_cred_pubkey_len(cred));
  // libfido2 gives ES256 keys as x || y.
  key.public_key = algorithm == KeyAlgorithm::kEs256 ? "\x04" + pub : pub;
  fido_cred_free(&cred);
  if (key.credential_id.empty() ||
      key.credential_id.size() > kMaxCredentialIdSize) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the security key made a credential id of ", key.credential_id.size(),
        " bytes; ktlog takes 1 to ", kMaxCredentialIdSize));
  }
  return key;
}

absl::StatusOr<KeyAssertion> Fido2Device::GetAssertion(
    const std::string& rp_id, const std::vector<std::string>& credential_ids,
    const Hash& client_data_hash, bool user_verification) {
  fido_assert_t* a = fido_assert_new();
  if (a == nullptr) return absl::ResourceExhaustedError("fido_assert_new");
  std::string cdh = client_data_hash.bytes();
  int r = fido_assert_set_clientdata_hash(a, Bytes(cdh), cdh.size());
  if (r == FIDO_OK) r = fido_assert_set_rp(a, rp_id.c_str());
  for (const std::string& id : credential_ids) {
    if (r == FIDO_OK) r = fido_assert_allow_cred(a, Bytes(id), id.size());
  }
  if (r == FIDO_OK) r = fido_assert_set_up(a, FIDO_OPT_TRUE);
  if (r == FIDO_OK && user_verification) {
    r = fido_assert_set_uv(a, FIDO_OPT_TRUE);
  }
  if (r == FIDO_OK) r = fido_dev_get_assert(dev_, a, nullptr);
  if (r != FIDO_OK || fido_assert_count(a) != 1) {
    fido_assert_free(&a);
    return FidoError(r == FIDO_OK ? FIDO_ERR_INVALID_PARAM : r,
                     "asking the security key to sign", touch_timeout_);
  }
  KeyAssertion out;
  out.credential_id = Str(fido_assert_id_ptr(a, 0), fido_assert_id_len(a, 0));
  absl::StatusOr<std::string> data = UnwrapCborBytes(
      Str(fido_assert_authdata_ptr(a, 0), fido_assert_authdata_len(a, 0)));
  out.signature = Str(fido_assert_sig_ptr(a, 0), fido_assert_sig_len(a, 0));
  fido_assert_free(&a);
  if (!data.ok()) return data.status();
  out.authenticator_data = *std::move(data);
  if (out.credential_id.empty() && credential_ids.size() == 1) {
    out.credential_id = credential_ids[0];  // CTAP2 may omit it then
  }
  return out;
}

absl::StatusOr<KeySecret> Fido2Device::HmacSecret(
    const std::string& rp_id, const std::vector<std::string>& credential_ids,
    absl::string_view salt) {
  if (salt.size() != 32) {
    return absl::InvalidArgumentError("an hmac-secret salt is 32 bytes");
  }
  fido_assert_t* a = fido_assert_new();
  if (a == nullptr) return absl::ResourceExhaustedError("fido_assert_new");
  // Nothing checks the signature: the secret itself is what is asked for.
  std::string cdh = RandomBytes(32);
  int r = fido_assert_set_clientdata_hash(a, Bytes(cdh), cdh.size());
  if (r == FIDO_OK) r = fido_assert_set_rp(a, rp_id.c_str());
  for (const std::string& id : credential_ids) {
    if (r == FIDO_OK) r = fido_assert_allow_cred(a, Bytes(id), id.size());
  }
  if (r == FIDO_OK) r = fido_assert_set_extensions(a, FIDO_EXT_HMAC_SECRET);
  if (r == FIDO_OK) {
    r = fido_assert_set_hmac_salt(
        a, reinterpret_cast<const unsigned char*>(salt.data()), salt.size());
  }
  if (r == FIDO_OK) r = fido_assert_set_up(a, FIDO_OPT_TRUE);
  if (r == FIDO_OK) r = fido_dev_get_assert(dev_, a, nullptr);
  if (r != FIDO_OK || fido_assert_count(a) != 1) {
    fido_assert_free(&a);
    return FidoError(r == FIDO_OK ? FIDO_ERR_INVALID_PARAM : r,
                     "asking the security key for its backup secret",
                     touch_timeout_);
  }
  KeySecret out;
  out.credential_id = Str(fido_assert_id_ptr(a, 0), fido_assert_id_len(a, 0));
  out.secret =
      Str(fido_assert_hmac_secret_ptr(a, 0), fido_assert_hmac_secret_len(a, 0));
  fido_assert_free(&a);
  if (out.credential_id.empty() && credential_ids.size() == 1) {
    out.credential_id = credential_ids[0];  // CTAP2 may omit it then
  }
  if (out.secret.size() != 32) {
    return absl::FailedPreconditionError(
        "the security key does not support hmac-secret (or made this "
        "credential without it): it cannot open a backup");
  }
  return out;
}

}  // namespace ktlog
