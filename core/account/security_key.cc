#include "core/account/security_key.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

size_t PublicKeySize(KeyAlgorithm algorithm) {
  return algorithm == KeyAlgorithm::kEs256 ? P256PublicKey::kSize
                                           : Ed25519PublicKey::kSize;
}

absl::Status CheckPublicKey(const SecurityKey& key) {
  absl::Status valid;
  switch (key.algorithm) {
    case KeyAlgorithm::kEs256:
      valid = P256PublicKey::FromUncompressed(key.public_key).status();
      break;
    case KeyAlgorithm::kEdDsa:
      valid = Ed25519PublicKey::FromBytes(key.public_key).status();
      if (valid.ok() && !IsEd25519CurvePoint(key.public_key)) {
        valid = absl::InvalidArgumentError("not a point of the curve");
      }
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown security key algorithm ", static_cast<int>(key.algorithm)));
  }
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("security key ", HexEncode(key.credential_id),
                     " has an invalid public key: ", valid.message()));
  }
  return absl::OkStatus();
}

bool VerifySignature(const SecurityKey& key, absl::string_view message,
                     absl::string_view signature) {
  if (key.algorithm == KeyAlgorithm::kEs256) {
    absl::StatusOr<P256PublicKey> k =
        P256PublicKey::FromUncompressed(key.public_key);
    return k.ok() && k->Verify(message, signature);
  }
  absl::StatusOr<Ed25519PublicKey> k =
      Ed25519PublicKey::FromBytes(key.public_key);
  return k.ok() && k->Verify(message, signature);
}

}  // namespace

std::string SecurityKeySet::Encode() const {
  std::string out(1, require_user_verification ? '\x01' : '\x00');
  AppendBigEndian(rp_id.size(), 2, &out);
  out += rp_id;
  out.push_back(static_cast<char>(keys.size()));
  for (const SecurityKey& k : keys) {
    AppendBigEndian(k.credential_id.size(), 2, &out);
    out += k.credential_id;
    out.push_back(static_cast<char>(k.algorithm));
    out += k.public_key;
  }
  return out;
}

absl::Status SecurityKeySet::Validate() const {
  if (rp_id.empty() || rp_id.size() > kMaxRpIdSize ||
      !IsPrintableUtf8WithoutSpaces(rp_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the relying party id must be 1 to ", kMaxRpIdSize,
                     " bytes of printable UTF-8 without spaces"));
  }
  if (keys.size() < kMinSecurityKeys || keys.size() > kMaxSecurityKeys) {
    return absl::InvalidArgumentError(
        absl::StrCat("an account has ", kMinSecurityKeys, " to ",
                     kMaxSecurityKeys, " security keys, not ", keys.size()));
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    const SecurityKey& k = keys[i];
    if (k.credential_id.empty() ||
        k.credential_id.size() > kMaxCredentialIdSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("a credential id is 1 to ", kMaxCredentialIdSize,
                       " bytes, not ", k.credential_id.size()));
    }
    if (i > 0 && k.credential_id <= keys[i - 1].credential_id) {
      return absl::InvalidArgumentError(
          "the security keys are not sorted by credential id, or one is "
          "listed twice");
    }
    RETURN_IF_ERROR(CheckPublicKey(k));
  }
  return absl::OkStatus();
}

const SecurityKey* SecurityKeySet::Find(absl::string_view credential_id) const {
  for (const SecurityKey& k : keys) {
    if (k.credential_id == credential_id) return &k;
  }
  return nullptr;
}

absl::StatusOr<SecurityKeySet> DecodeSecurityKeySet(absl::string_view data) {
  ByteReader r(data);
  SecurityKeySet set;
  uint8_t flags = 0, count = 0;
  absl::string_view rp_id;
  r.ReadU8(&flags);
  r.ReadU16Prefixed(&rp_id);
  r.ReadU8(&count);
  if (!r.failed() && (flags & ~1u) != 0) {
    return absl::InvalidArgumentError(
        "the security-key set has unknown flags set");
  }
  set.require_user_verification = (flags & 1) != 0;
  set.rp_id = std::string(rp_id);
  for (uint8_t i = 0; i < count && i <= kMaxSecurityKeys && !r.failed(); ++i) {
    SecurityKey k;
    absl::string_view id, key;
    uint8_t algorithm = 0;
    r.ReadU16Prefixed(&id);
    r.ReadU8(&algorithm);
    k.credential_id = std::string(id);
    k.algorithm = static_cast<KeyAlgorithm>(algorithm);
    if (algorithm != 1 && algorithm != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown security key algorithm ", static_cast<int>(algorithm)));
    }
    r.ReadBytes(PublicKeySize(k.algorithm), &key);
    k.public_key = std::string(key);
    set.keys.push_back(std::move(k));
  }
  if (r.failed()) {
    return absl::InvalidArgumentError("the security-key set is truncated");
  }
  if (!r.empty()) {
    return absl::InvalidArgumentError(
        "the security-key set has bytes after its last key");
  }
  RETURN_IF_ERROR(set.Validate());
  return set;
}

absl::string_view SecurityKeySetRpId(absl::string_view data) {
  ByteReader r(data);
  uint8_t flags = 0;
  absl::string_view rp_id;
  r.ReadU8(&flags);
  r.ReadU16Prefixed(&rp_id);
  return r.failed() ? absl::string_view() : rp_id;
}

std::string RpIdForOrigin(absl::string_view origin) {
  return std::string(origin.substr(0, origin.find('/')));
}

absl::StatusOr<AuthenticatorData> ParseAuthenticatorData(
    absl::string_view data) {
  if (data.size() != kAuthenticatorDataSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "authenticator data must be ", kAuthenticatorDataSize,
        " bytes (no attested credential, no extensions), got ", data.size()));
  }
  AuthenticatorData out;
  out.rp_id_hash = Hash::FromBytes(data.substr(0, 32)).value();
  out.flags = static_cast<uint8_t>(data[32]);
  if ((out.flags & 0xc0) != 0) {
    return absl::InvalidArgumentError(
        "authenticator data announces attested credential data or "
        "extensions, which an assertion for ktlog does not carry");
  }
  for (int i = 0; i < 4; ++i) {
    out.sign_count = (out.sign_count << 8) | static_cast<uint8_t>(data[33 + i]);
  }
  return out;
}

absl::StatusOr<AuthenticatorData> VerifyAssertion(
    const SecurityKeySet& set, absl::string_view credential_id,
    absl::string_view authenticator_data, const Hash& client_data_hash,
    absl::string_view signature) {
  const SecurityKey* key = set.Find(credential_id);
  if (key == nullptr) {
    RETURN_IF_ERROR(ParseAuthenticatorData(authenticator_data).status());
    return absl::PermissionDeniedError(
        absl::StrCat("security key ", HexEncode(credential_id),
                     " is not one of the account's"));
  }
  return VerifyKeyAssertion(*key, set.rp_id, set.require_user_verification,
                            authenticator_data, client_data_hash, signature);
}

absl::StatusOr<AuthenticatorData> VerifyKeyAssertion(
    const SecurityKey& key, absl::string_view rp_id,
    bool require_user_verification, absl::string_view authenticator_data,
    const Hash& client_data_hash, absl::string_view signature) {
  ASSIGN_OR_RETURN(AuthenticatorData data,
                   ParseAuthenticatorData(authenticator_data));
  if (data.rp_id_hash != Sha256(rp_id)) {
    return absl::PermissionDeniedError(
        absl::StrCat("the assertion was made for another relying party than \"",
                     rp_id, "\""));
  }
  if ((data.flags & kFlagUserPresent) == 0) {
    return absl::PermissionDeniedError(
        "the assertion lacks user presence: nobody touched the security key");
  }
  if (require_user_verification && (data.flags & kFlagUserVerified) == 0) {
    return absl::PermissionDeniedError(
        "the account requires user verification (PIN or biometric) and the "
        "assertion lacks it");
  }
  std::string message(authenticator_data);
  absl::StrAppend(&message, client_data_hash.view());
  if (!VerifySignature(key, message, signature)) {
    return absl::PermissionDeniedError(
        absl::StrCat("the assertion's signature does not verify under "
                     "security key ",
                     HexEncode(key.credential_id)));
  }
  return data;
}

std::string AuthorityText(absl::string_view authority) {
  absl::StatusOr<SecurityKeySet> set = IsSecurityKeyAuthority(authority)
                                           ? DecodeSecurityKeySet(authority)
                                           : absl::NotFoundError("");
  if (!set.ok()) return absl::StrCat("account key ", HexEncode(authority));
  std::vector<std::string> ids;
  for (const SecurityKey& k : set->keys) {
    ids.push_back(HexEncode(k.credential_id).substr(0, 16) + "…");
  }
  return absl::StrCat("on ", set->keys.size(), " security keys (",
                      absl::StrJoin(ids, ", "), ")");
}

}  // namespace ktlog
