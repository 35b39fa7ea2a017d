#include "core/account/owner_access.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/account/record.h"
#include "core/account/security_key.h"
#include "core/crypto/crypto.h"
#include "core/crypto/hash.h"
#include "core/util/bytes.h"

namespace ktlog {
namespace {

constexpr absl::string_view kGrantPrefix = "ktlog/v1 owner-access\n";
constexpr absl::string_view kRequestPrefix = "ktlog/v1 history-request\n";

absl::Status NotGranted(absl::string_view why) {
  return absl::PermissionDeniedError(
      absl::StrCat("the owner-access grant does not verify: ", why));
}

}  // namespace

std::string OwnerGrantMessage(absl::string_view origin,
                              absl::string_view account_id,
                              absl::string_view access_key) {
  std::string out(kGrantPrefix);
  AppendU16Prefixed(origin, &out);
  AppendU16Prefixed(account_id, &out);
  out.append(access_key.data(), access_key.size());
  return out;
}

std::string EncodeAssertionGrant(absl::string_view credential_id,
                                 absl::string_view authenticator_data,
                                 absl::string_view signature) {
  std::string out;
  AppendU16Prefixed(credential_id, &out);
  AppendU16Prefixed(authenticator_data, &out);
  AppendU16Prefixed(signature, &out);
  return out;
}

std::string HistoryRequestMessage(absl::string_view origin,
                                  absl::string_view account_id,
                                  uint64_t from_version,
                                  std::optional<uint64_t> tree_size,
                                  uint64_t timestamp_ms) {
  std::string out(kRequestPrefix);
  AppendU16Prefixed(origin, &out);
  AppendU16Prefixed(account_id, &out);
  AppendBigEndian(from_version, 8, &out);
  AppendBigEndian(tree_size.has_value() ? 1 : 0, 1, &out);
  AppendBigEndian(tree_size.value_or(0), 8, &out);
  AppendBigEndian(timestamp_ms, 8, &out);
  return out;
}

OwnerProof SignHistoryRequest(const Ed25519PrivateKey& access,
                              std::string grant, absl::string_view origin,
                              absl::string_view account_id,
                              uint64_t from_version,
                              std::optional<uint64_t> tree_size,
                              uint64_t timestamp_ms) {
  OwnerProof proof{access.public_key().bytes(), std::move(grant), timestamp_ms,
                   ""};
  proof.signature = access.Sign(HistoryRequestMessage(
      origin, account_id, from_version, tree_size, timestamp_ms));
  return proof;
}

absl::Status CheckOwnerProofShape(const OwnerProof& proof) {
  absl::Status key = Ed25519PublicKey::FromBytes(proof.access_key).status();
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the owner proof's access key: ", key.message()));
  }
  if (proof.signature.size() != Ed25519PublicKey::kSignatureSize) {
    return absl::InvalidArgumentError(
        "the owner proof's signature must be 64 bytes (Ed25519)");
  }
  if (proof.grant.empty() || proof.grant.size() > kMaxOwnerGrantSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the owner proof's grant must be 1..", kMaxOwnerGrantSize, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status VerifyHistoryRequest(const OwnerProof& proof,
                                  absl::string_view origin,
                                  absl::string_view account_id,
                                  uint64_t from_version,
                                  std::optional<uint64_t> tree_size) {
  absl::StatusOr<Ed25519PublicKey> key =
      Ed25519PublicKey::FromBytes(proof.access_key);
  if (!key.ok() ||
      !key->Verify(HistoryRequestMessage(origin, account_id, from_version,
                                         tree_size, proof.timestamp_ms),
                   proof.signature)) {
    return absl::PermissionDeniedError(
        "the history request's signature does not verify under its access "
        "key (it signs the origin, account id, from version, tree size and "
        "timestamp: docs/formats.md, \"Owner access\")");
  }
  return absl::OkStatus();
}

std::vector<std::string> GrantingAuthorities(const AccountState& state) {
  std::vector<std::string> out;
  if (!state.exists()) return out;
  out.push_back(state.first_key);
  for (const ChainedRotation& change : state.key_chain) {
    absl::StatusOr<DeviceRecord> record = DecodeRecord(change.record);
    if (!record.ok()) continue;  // states are decoded whole: unreachable
    if (record->operation == Operation::kResetAccount) out.clear();
    out.push_back(record->key);
  }
  return out;
}

absl::Status VerifyOwnerGrant(const AccountState& state,
                              absl::string_view origin,
                              absl::string_view access_key,
                              absl::string_view grant) {
  // Only authorities that could have made this grant are tried (a stranger
  // must not make the log verify it under every one): an account key for a
  // signature-sized grant, a set that holds the assertion's credential id.
  absl::string_view credential_id;
  ByteReader r(grant);
  bool assertion = r.ReadU16Prefixed(&credential_id) && !credential_id.empty();
  for (const std::string& authority : GrantingAuthorities(state)) {
    bool could = IsSecurityKeyAuthority(authority)
                     ? assertion && absl::StrContains(authority, credential_id)
                     : grant.size() == Ed25519PublicKey::kSignatureSize;
    if (could &&
        VerifyGrantBy(authority, origin, state.account_id, access_key, grant)
            .ok()) {
      return absl::OkStatus();
    }
  }
  return NotGranted(
      "no authority the account has had since its latest reset signed it");
}

absl::Status VerifyGrantBy(absl::string_view authority,
                           absl::string_view origin,
                           absl::string_view account_id,
                           absl::string_view access_key,
                           absl::string_view grant) {
  std::string message = OwnerGrantMessage(origin, account_id, access_key);
  if (!IsSecurityKeyAuthority(authority)) {
    absl::StatusOr<Ed25519PublicKey> key =
        Ed25519PublicKey::FromBytes(authority);
    if (!key.ok() || !key->Verify(message, grant)) {
      return NotGranted("not the account key's signature");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<SecurityKeySet> set = DecodeSecurityKeySet(authority);
  if (!set.ok()) return NotGranted("the account's security keys do not decode");
  ByteReader r(grant);
  absl::string_view credential_id, authenticator_data, signature;
  if (!r.ReadU16Prefixed(&credential_id) ||
      !r.ReadU16Prefixed(&authenticator_data) ||
      !r.ReadU16Prefixed(&signature) || !r.empty()) {
    return NotGranted(
        "not an assertion (credential id, authenticator data, "
        "signature)");
  }
  absl::Status verified =
      VerifyAssertion(*set, credential_id, authenticator_data, Sha256(message),
                      signature)
          .status();
  if (!verified.ok()) return NotGranted(verified.message());
  return absl::OkStatus();
}

}  // namespace ktlog
