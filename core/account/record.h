// Device records: the leaves of the ktlog Merkle tree. A record is one signed
// change to an account (add a device, remove a device, rotate the account
// key), encoded canonically so that any implementation can parse and hash
// it. Format version 1, byte by byte (docs/formats.md, "Device record"):
//
//   u8        format version = 0x01
//   u8        operation: 0x01 add device, 0x02 remove device,
//                        0x03 rotate account key
//   u16 + n   account id   (1..256 bytes of printable UTF-8)
//   u16 + n   device id    (add/remove: 1..64 bytes of printable UTF-8;
//                           rotate: empty)
//   u16 + n   key          (add/remove: the device identity public key,
//                           1..128 opaque bytes; rotate: the new 32-byte
//                           Ed25519 account key)
//   u64       account version (1 for the account's first record, then +1)
//   u64       timestamp, unix milliseconds
//   32        account key: the Ed25519 key that signs this record
//   64        signature: Ed25519 by the account key over
//             "ktlog/v1 device-record\n" || all preceding bytes
//
// Integers are big-endian. Nothing may follow the signature. The leaf hash
// is RFC 9162's SHA-256(0x00 || record bytes).
#ifndef KTLOG_CORE_ACCOUNT_RECORD_H_
#define KTLOG_CORE_ACCOUNT_RECORD_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/crypto.h"

namespace ktlog {

enum class Operation : uint8_t {
  kAddDevice = 1,
  kRemoveDevice = 2,
  kRotateAccountKey = 3,
};

// "add-device", "remove-device" or "rotate-account-key".
absl::string_view OperationName(Operation op);

inline constexpr uint8_t kRecordFormatVersion = 1;
inline constexpr size_t kMaxAccountIdSize = 256;
inline constexpr size_t kMaxDeviceIdSize = 64;
inline constexpr size_t kMaxDeviceKeySize = 128;
// The largest valid encoding.
inline constexpr size_t kMaxRecordSize = 2 + 2 + kMaxAccountIdSize + 2 +
                                         kMaxDeviceIdSize + 2 +
                                         kMaxDeviceKeySize + 8 + 8 + 32 + 64;
// At most this many records go in one AppendRecords call (a front end's
// call of many records, docs/api.md): any such call of valid records fits
// the server's 64 KiB request limit.
inline constexpr size_t kMaxRecordsPerAppend = 100;

struct DeviceRecord {
  Operation operation = Operation::kAddDevice;
  std::string account_id;
  std::string device_id;  // empty for kRotateAccountKey
  std::string key;        // device key, or the new account key (rotate)
  uint64_t account_version = 0;
  uint64_t timestamp_ms = 0;
  std::string account_key;  // 32-byte Ed25519 public key
  std::string signature;    // 64 bytes

  // The bytes the signature covers: the domain-separation prefix followed by
  // the encoding of every field but the signature.
  std::string SigningMessage() const;
  // The canonical encoding. Requires a record that Validate() accepts.
  std::string Encode() const;

  // Checks field sizes and contents (not the signature). INVALID_ARGUMENT
  // with a message naming the field.
  absl::Status Validate() const;
  // Checks the signature under account_key. INVALID_ARGUMENT if it does not
  // verify.
  absl::Status VerifySignature() const;

  // Sets account_key from `key` and signature over SigningMessage().
  void Sign(const Ed25519PrivateKey& key);
};

// OK iff `account_id` is a valid account id (1..256 bytes of UTF-8 without
// control characters); INVALID_ARGUMENT naming the problem otherwise.
absl::Status ValidateAccountId(absl::string_view account_id);

// Decodes and validates a record (fields only; call VerifySignature() to
// authenticate it). INVALID_ARGUMENT for anything but a canonical version-1
// encoding: unknown version or operation, bad lengths, trailing bytes.
absl::StatusOr<DeviceRecord> DecodeRecord(absl::string_view data);

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_RECORD_H_
