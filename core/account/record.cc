#include "core/account/record.h"

#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

constexpr absl::string_view kSigningPrefix = "ktlog/v1 device-record\n";

// Every field before the account key (format 1) or the credential id
// (format 2).
std::string EncodeBody(const DeviceRecord& r) {
  std::string out;
  out.push_back(static_cast<char>(r.by_security_key() ? kRecordBySecurityKey
                                                      : kRecordFormatVersion));
  out.push_back(static_cast<char>(r.operation));
  AppendU16Prefixed(r.account_id, &out);
  AppendU16Prefixed(r.device_id, &out);
  AppendU16Prefixed(r.key, &out);
  AppendBigEndian(r.account_version, 8, &out);
  AppendBigEndian(r.timestamp_ms, 8, &out);
  return out;
}

// Every field before the signature (format 1), or the body (format 2).
std::string EncodeSigned(const DeviceRecord& r) {
  return r.by_security_key() ? EncodeBody(r) : EncodeBody(r) + r.account_key;
}

absl::Status CheckId(absl::string_view what, absl::string_view id, size_t max) {
  if (id.empty() || id.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be 1 to ", max, " bytes, got ", id.size()));
  }
  if (!IsPrintableUtf8(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be UTF-8 without control characters"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string BackupRef::Encode() const {
  std::string out;
  AppendBigEndian(version, 8, &out);
  absl::StrAppend(&out, hash.view());
  return out;
}

absl::StatusOr<BackupRef> DecodeBackupRef(absl::string_view key) {
  if (key.size() != kBackupRefSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a record-backup record's key is a u64 backup version and a 32-byte "
        "hash (40 bytes), got ",
        key.size(), " bytes"));
  }
  BackupRef ref;
  ref.version = ReadBigEndian(key, 8);
  if (ref.version == 0) {
    return absl::InvalidArgumentError("backup versions start at 1");
  }
  ref.hash = Hash::FromBytesOrDie(key.substr(8));
  return ref;
}

absl::Status ValidateAccountId(absl::string_view account_id) {
  return CheckId("account id", account_id, kMaxAccountIdSize);
}

absl::string_view OperationName(Operation op) {
  switch (op) {
    case Operation::kAddDevice:
      return "add-device";
    case Operation::kRemoveDevice:
      return "remove-device";
    case Operation::kRotateAccountKey:
      return "rotate-account-key";
    case Operation::kSetSecurityKeys:
      return "set-security-keys";
    case Operation::kResetAccount:
      return "reset-account";
    case Operation::kRecordBackup:
      return "record-backup";
  }
  return "unknown";
}

std::string DeviceRecord::SigningMessage() const {
  return absl::StrCat(kSigningPrefix, EncodeSigned(*this));
}

Hash DeviceRecord::ClientDataHash() const { return Sha256(SigningMessage()); }

std::string DeviceRecord::Encode() const {
  if (!by_security_key()) return EncodeSigned(*this) + signature;
  std::string out = EncodeBody(*this);
  AppendU16Prefixed(credential_id, &out);
  AppendU16Prefixed(authenticator_data, &out);
  AppendU16Prefixed(signature, &out);
  return out;
}

absl::Status DeviceRecord::Validate() const {
  RETURN_IF_ERROR(CheckId("account id", account_id, kMaxAccountIdSize));
  switch (operation) {
    case Operation::kAddDevice:
    case Operation::kRemoveDevice:
      RETURN_IF_ERROR(CheckId("device id", device_id, kMaxDeviceIdSize));
      if (key.empty() || key.size() > kMaxDeviceKeySize) {
        return absl::InvalidArgumentError(
            absl::StrCat("device key must be 1 to ", kMaxDeviceKeySize,
                         " bytes, got ", key.size()));
      }
      break;
    case Operation::kRotateAccountKey:
      if (!device_id.empty()) {
        return absl::InvalidArgumentError(
            "a rotate-account-key record has an empty device id");
      }
      if (absl::Status k = Ed25519PublicKey::FromBytes(key).status(); !k.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("the new account key must be an Ed25519 public key: ",
                         k.message()));
      }
      if (key == account_key) {
        return absl::InvalidArgumentError(
            "the new account key equals the current one");
      }
      break;
    case Operation::kResetAccount:
      if (!device_id.empty()) {
        return absl::InvalidArgumentError(
            "a reset-account record has an empty device id");
      }
      if (by_security_key() || key != account_key) {
        return absl::InvalidArgumentError(
            "a reset-account record is signed by the new account key it "
            "sets");
      }
      break;
    case Operation::kRecordBackup:
      if (!device_id.empty()) {
        return absl::InvalidArgumentError(
            "a record-backup record has an empty device id");
      }
      RETURN_IF_ERROR(DecodeBackupRef(key).status());
      break;
    case Operation::kSetSecurityKeys:
      if (!device_id.empty()) {
        return absl::InvalidArgumentError(
            "a set-security-keys record has an empty device id");
      }
      if (absl::Status k = DecodeSecurityKeySet(key).status(); !k.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the record's security-key set is invalid: ", k.message()));
      }
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown operation ", static_cast<int>(operation)));
  }
  if (account_version == 0) {
    return absl::InvalidArgumentError("account version starts at 1");
  }
  if (!by_security_key()) {
    if (account_key.size() != Ed25519PublicKey::kSize) {
      return absl::InvalidArgumentError(
          "account key must be a 32-byte Ed25519 public key");
    }
    if (signature.size() != Ed25519PublicKey::kSignatureSize) {
      return absl::InvalidArgumentError("signature must be 64 bytes");
    }
    return absl::OkStatus();
  }
  if (!account_key.empty()) {
    return absl::InvalidArgumentError(
        "a record authorized by a security key has no account key");
  }
  if (account_version == 1) {
    return absl::InvalidArgumentError(
        "an account's first record is signed by an account key, not a "
        "security key");
  }
  if (credential_id.size() > kMaxCredentialIdSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a credential id is 1 to ", kMaxCredentialIdSize,
                     " bytes, not ", credential_id.size()));
  }
  RETURN_IF_ERROR(ParseAuthenticatorData(authenticator_data).status());
  if (signature.empty() || signature.size() > kMaxAssertionSignatureSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an assertion's signature is 1 to ", kMaxAssertionSignatureSize,
        " bytes, not ", signature.size()));
  }
  return absl::OkStatus();
}

absl::Status DeviceRecord::VerifySignature() const {
  if (by_security_key()) return absl::OkStatus();
  absl::StatusOr<Ed25519PublicKey> key =
      Ed25519PublicKey::FromBytes(account_key);
  if (!key.ok() || !key->Verify(SigningMessage(), signature)) {
    return absl::InvalidArgumentError(
        "record signature does not verify under its account key");
  }
  return absl::OkStatus();
}

void DeviceRecord::Sign(const Ed25519PrivateKey& key) {
  account_key = key.public_key().bytes();
  signature = key.Sign(SigningMessage());
}

absl::StatusOr<DeviceRecord> DecodeRecord(absl::string_view data) {
  if (data.size() > kMaxRecordSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record is ", data.size(), " bytes; the maximum is ", kMaxRecordSize));
  }
  ByteReader r(data);
  uint8_t version = 0, op = 0;
  absl::string_view account_id, device_id, key, account_key, signature;
  absl::string_view credential_id, authenticator_data;
  DeviceRecord rec;
  r.ReadU8(&version);
  if (!r.failed() && version != kRecordFormatVersion &&
      version != kRecordBySecurityKey) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record format version ", version, " is not supported (want 1 or 2)"));
  }
  r.ReadU8(&op);
  r.ReadU16Prefixed(&account_id);
  r.ReadU16Prefixed(&device_id);
  r.ReadU16Prefixed(&key);
  r.ReadU64(&rec.account_version);
  r.ReadU64(&rec.timestamp_ms);
  if (version == kRecordFormatVersion) {
    r.ReadBytes(Ed25519PublicKey::kSize, &account_key);
    r.ReadBytes(Ed25519PublicKey::kSignatureSize, &signature);
  } else {
    r.ReadU16Prefixed(&credential_id);
    r.ReadU16Prefixed(&authenticator_data);
    r.ReadU16Prefixed(&signature);
    if (!r.failed() && credential_id.empty()) {
      return absl::InvalidArgumentError(
          "a record authorized by a security key needs its credential id");
    }
  }
  if (r.failed()) {
    return absl::InvalidArgumentError("record is truncated");
  }
  if (!r.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record has ", r.remaining(), " trailing bytes after the signature"));
  }
  if (op < 1 || op > 6) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown record operation ", op));
  }
  rec.operation = static_cast<Operation>(op);
  rec.account_id = std::string(account_id);
  rec.device_id = std::string(device_id);
  rec.key = std::string(key);
  rec.account_key = std::string(account_key);
  rec.credential_id = std::string(credential_id);
  rec.authenticator_data = std::string(authenticator_data);
  rec.signature = std::string(signature);
  RETURN_IF_ERROR(rec.Validate());
  return rec;
}

}  // namespace ktlog
