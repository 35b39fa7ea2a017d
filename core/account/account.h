// The account state machine: how a sequence of device records changes an
// account. One pure function shared by the log server (validation), the
// auditor (replay) and the verifier (history checks), so that all three
// apply the same rules (docs/protocol.md, "Account rules"):
//
//  - an account does not exist until its first record, which must add a
//    device, have version 1, and sets the account key;
//  - every later record is signed by the current account key and has the
//    next version (current + 1);
//  - add-device needs a device id that is not active; remove-device needs an
//    active device id and its exact key; rotate-account-key replaces the
//    account key (its devices stay);
//  - at most kMaxDevicesPerAccount active devices.
//
// AccountState also has a canonical encoding (docs/formats.md) used for
// storage and for commitments.
#ifndef KTLOG_CORE_ACCOUNT_ACCOUNT_H_
#define KTLOG_CORE_ACCOUNT_ACCOUNT_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/account/record.h"

namespace ktlog {

inline constexpr size_t kMaxDevicesPerAccount = 100;

struct ActiveDevice {
  std::string key;          // the device identity public key
  uint64_t leaf_index = 0;  // the record that added it

  friend bool operator==(const ActiveDevice& a, const ActiveDevice& b) {
    return a.key == b.key && a.leaf_index == b.leaf_index;
  }
};

struct AccountState {
  std::string account_id;
  std::string account_key;  // empty while the account does not exist
  uint64_t version = 0;     // 0 while the account does not exist
  std::map<std::string, ActiveDevice> devices;  // by device id

  bool exists() const { return version > 0; }

  // Canonical encoding:
  //   u8 0x01 | u16+n account id | 32 account key | u64 version |
  //   u16 device count | per device, sorted by id:
  //   u16+n device id | u16+n device key | u64 leaf index
  std::string Encode() const;

  friend bool operator==(const AccountState& a, const AccountState& b) {
    return a.account_id == b.account_id && a.account_key == b.account_key &&
           a.version == b.version && a.devices == b.devices;
  }
};

// INVALID_ARGUMENT (or DATA_LOSS-worthy corruption for callers reading
// storage) unless `data` is a canonical encoding.
absl::StatusOr<AccountState> DecodeAccountState(absl::string_view data);

// Applies `record`, stored at `leaf_index`, to `state` (the record's
// account; a default state for an account that does not exist yet).
// Requires: the record decoded and its signature verified, and
// record.account_id == state->account_id when the account exists. On error
// `state` is unchanged. Errors:
//   NOT_FOUND            the account does not exist and the record is not
//                        its first (an add-device of version 1), whatever
//                        the operation; remove-device of an inactive device
//   PERMISSION_DENIED    signed by a key that is not the current account key
//   FAILED_PRECONDITION  wrong version of an existing account (stale,
//                        replayed or skipping ahead);
//                        device key mismatch on removal; too many devices
//   ALREADY_EXISTS       add-device of an already active device id
absl::Status ApplyRecord(const DeviceRecord& record, uint64_t leaf_index,
                         AccountState* state);

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_ACCOUNT_H_
