// Device records: the leaves of the ktlog Merkle tree. A record is one
// authorized change to an account (add a device, remove a device, rotate
// the account key, set the account's security keys, or the operator's
// reset of an account whose every key is lost, or the record of the
// owner's latest trust backup), encoded canonically
// so that any implementation can parse and hash it. Byte by byte in
// docs/formats.md ("Device record"):
//
//   u8        format version: 0x01 signed by an Ed25519 account key,
//             0x02 authorized by a security key's FIDO2 assertion
//   u8        operation: 0x01 add device, 0x02 remove device,
//                        0x03 rotate account key, 0x04 set security keys,
//                        0x05 reset account, 0x06 record backup
//   u16 + n   account id   (1..256 bytes of printable UTF-8)
//   u16 + n   device id    (add/remove: 1..64 bytes of printable UTF-8;
//                           otherwise empty)
//   u16 + n   key          (add/remove: the device identity public key,
//                           1..128 opaque bytes; rotate: the new 32-byte
//                           Ed25519 account key; set security keys: the
//                           security-key set, core/account/security_key.h;
//                           reset: the new 32-byte Ed25519 account key,
//                           which also signs the record; record backup:
//                           40 bytes, u64 backup version (>= 1) || the
//                           SHA-256 of the sealed backup, or 32 zero
//                           bytes for "no backup": core/backup/backup.h)
//   u64       account version (1 for the account's first record, then +1)
//   u64       timestamp, unix milliseconds
//   format 1:
//     32      account key: the Ed25519 key that signs this record
//     64      signature: Ed25519 by the account key over the signing
//             message, "ktlog/v1 device-record\n" || all preceding bytes
//   format 2:
//     u16 + n credential id of the security key (1..128 bytes)
//     u16 + n authenticator data (37 bytes)
//     u16 + n signature over authenticator data || SHA-256(signing
//             message), the signing message being
//             "ktlog/v1 device-record\n" || all bytes before the credential
//             id (ES256: DER, at most 72 bytes; EdDSA: 64 bytes)
//
// Integers are big-endian. Nothing may follow the signature. The leaf hash
// is RFC 9162's SHA-256(0x00 || record bytes). An account's first record
// is of format 1, and so is a reset: signed by the new key it installs, not
// by the authority it replaces (that is lost); the log takes it only with
// the operator's reset credential (core/account/registration.h), and
// every contact is shown it (docs/security-keys.md, "Every key lost").
#ifndef KTLOG_CORE_ACCOUNT_RECORD_H_
#define KTLOG_CORE_ACCOUNT_RECORD_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/account/security_key.h"
#include "core/crypto/crypto.h"
#include "core/crypto/hash.h"

namespace ktlog {

enum class Operation : uint8_t {
  kAddDevice = 1,
  kRemoveDevice = 2,
  kRotateAccountKey = 3,
  kSetSecurityKeys = 4,
  kResetAccount = 5,
  kRecordBackup = 6,
};

// "add-device", "remove-device", "rotate-account-key", "set-security-keys",
// "reset-account" or "record-backup".
absl::string_view OperationName(Operation op);

inline constexpr uint8_t kRecordFormatVersion = 1;  // by an account key
inline constexpr uint8_t kRecordBySecurityKey = 2;  // by a security key
inline constexpr size_t kMaxAccountIdSize = 256;
inline constexpr size_t kMaxDeviceIdSize = 64;
inline constexpr size_t kMaxDeviceKeySize = 128;
// The largest valid encoding: a set-security-keys record of the largest
// set, authorized by a security key.
inline constexpr size_t kMaxRecordSize =
    2 + 2 + kMaxAccountIdSize + 2 + 2 + kMaxSecurityKeySetSize + 8 + 8 + 2 +
    kMaxCredentialIdSize + 2 + kAuthenticatorDataSize + 2 +
    kMaxAssertionSignatureSize;
// At most this many records go in one AppendRecords call (a front end's
// call of many records, docs/api.md): any such call of valid records fits
// the server's request limit (log/server.cc).
inline constexpr size_t kMaxRecordsPerAppend = 100;

struct DeviceRecord {
  Operation operation = Operation::kAddDevice;
  std::string account_id;
  std::string device_id;  // empty unless adding or removing a device
  std::string key;        // device key, new account key, or security-key set
  uint64_t account_version = 0;
  uint64_t timestamp_ms = 0;
  // Format 1: the 32-byte Ed25519 account key that signs the record.
  // Empty in format 2.
  std::string account_key;
  // Format 2: the security key's credential id and the assertion's
  // authenticator data. Empty in format 1.
  std::string credential_id;
  std::string authenticator_data;
  // Format 1: the Ed25519 signature (64 bytes); format 2: the assertion's.
  std::string signature;

  // True for a record authorized by a security key (format 2).
  bool by_security_key() const { return !credential_id.empty(); }

  // What the signature covers: the domain-separation prefix followed by
  // the encoding of every field before the signature (format 1) or before
  // the credential id (format 2).
  std::string SigningMessage() const;
  // The client data hash a security key signs: SHA-256(SigningMessage()).
  Hash ClientDataHash() const;
  // The canonical encoding. Requires a record that Validate() accepts.
  std::string Encode() const;

  // Checks field sizes and contents (not the signature). INVALID_ARGUMENT
  // with a message naming the field.
  absl::Status Validate() const;
  // Format 1: checks the signature under account_key; INVALID_ARGUMENT if
  // it does not verify. Format 2: OK (an assertion can only be checked
  // against the account's security keys: VerifyAuthorizedBy and
  // ApplyRecord in core/account/account.h do).
  absl::Status VerifySignature() const;

  // Format 1: sets account_key from `key` and signature over
  // SigningMessage().
  void Sign(const Ed25519PrivateKey& key);
};

// What a record-backup record names (its key field): the owner's latest
// trust backup, by its version and the SHA-256 of its sealed bytes, or
// that there is none (deleted: a zero hash). The log commits to it so
// that a restoring client can tell the provider's copy is the latest
// (docs/backup.md, "Freshness").
struct BackupRef {
  uint64_t version = 0;  // >= 1
  Hash hash;             // all zero: no backup (deleted)

  bool deleted() const { return hash == Hash(); }
  std::string Encode() const;  // u64 version || 32-byte hash
  friend bool operator==(const BackupRef& a, const BackupRef& b) {
    return a.version == b.version && a.hash == b.hash;
  }
};
inline constexpr size_t kBackupRefSize = 8 + 32;
// INVALID_ARGUMENT unless `key` is 40 bytes with a version >= 1.
absl::StatusOr<BackupRef> DecodeBackupRef(absl::string_view key);

// OK iff `account_id` is a valid account id (1..256 bytes of UTF-8 without
// control characters); INVALID_ARGUMENT naming the problem otherwise.
absl::Status ValidateAccountId(absl::string_view account_id);

// Decodes and validates a record (fields only; VerifySignature() and
// VerifyAuthorizedBy authenticate it). INVALID_ARGUMENT for anything but a
// canonical
// encoding: unknown format or operation, bad lengths, trailing bytes.
absl::StatusOr<DeviceRecord> DecodeRecord(absl::string_view data);

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_RECORD_H_
