// The account state machine: how a sequence of device records changes an
// account. One pure function shared by the log server (validation), fsck
// (recomputation) and the verifier (history checks), so that all three
// apply the same rules (docs/protocol.md, "Account rules"):
//
//  - an account does not exist until its first record, which must add a
//    device, have version 1, and sets the account key;
//  - every later record is authorized by the account's current authority
//    (its Ed25519 account key, or one of its security keys, whose
//    signature counter must grow unless it stays zero) and has the next
//    version (current + 1);
//  - add-device needs a device id that is not active; remove-device needs an
//    active device id and its exact key; rotate-account-key replaces the
//    account key (its devices stay); record-backup changes nothing but
//    the version (the owner's history keeps which backup is the latest);
//  - reset-account (every key lost) is the one record not authorized by
//    the current authority: it is signed by the new account key it sets,
//    removes every device, and joins the key chain, where every contact
//    sees it (the log takes it only with the operator's reset credential,
//    log/writes.h); no reset leads back to an earlier authority
//    (ResetRule);
//  - at most kMaxDevicesPerAccount active devices, and at most
//    kMaxKeyChain authority changes and kMaxResets resets in the
//    account's lifetime.
//
// AccountState also has a canonical encoding (docs/formats.md) used for
// state commitments and in lookups: it carries the account's first key,
// every key rotation since (the key chain) and the signed records of the
// active devices, so that a contact can check that every device was
// authorised by a key that descends, by signatures, from the key of the
// account's first record (verifier/lookup.h). The log's data dir stores
// the same encoding with each record replaced by its leaf index (the
// records are stored once, behind their leaves).
#ifndef KTLOG_CORE_ACCOUNT_ACCOUNT_H_
#define KTLOG_CORE_ACCOUNT_ACCOUNT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/account/record.h"

namespace ktlog {

inline constexpr size_t kMaxDevicesPerAccount = 100;
// Whether records of `op` change an account's authority (and join its
// key chain): rotate-account-key, set-security-keys, reset-account.
inline bool ChangesAuthority(Operation op) {
  return op == Operation::kRotateAccountKey ||
         op == Operation::kSetSecurityKeys || op == Operation::kResetAccount;
}

// The most authority changes other than resets an account may make in
// its lifetime: its key chain holds every one, so that contacts can follow
// its authority from its first record.
inline constexpr size_t kMaxKeyChain = 100;
// The most resets in an account's lifetime, counted apart, so that a
// holder of its authority who uses up the other changes cannot keep the
// owner from a reset.
inline constexpr size_t kMaxResets = 10;
// The state's format byte: 3 while the authority is an Ed25519 account
// key, 4 while it is a set of security keys.
inline constexpr uint8_t kAccountStateFormat = 3;
inline constexpr uint8_t kAccountStateOnSecurityKeysFormat = 4;
// The format byte of the encodings whose records are leaf indexes only:
// the state format's | 0x80.
inline constexpr uint8_t kAccountStateByReferenceFormat = 0x83;

struct ActiveDevice {
  std::string key;          // the device identity public key
  uint64_t leaf_index = 0;  // the record that added it
  uint64_t version = 0;     // that record's account version
  std::string record;       // that add-device record (encoded, signed)

  friend bool operator==(const ActiveDevice& a, const ActiveDevice& b) {
    return a.key == b.key && a.leaf_index == b.leaf_index &&
           a.version == b.version && a.record == b.record;
  }
};

// A rotate-account-key record in an account's key chain.
struct ChainedRotation {
  uint64_t leaf_index = 0;
  uint64_t version = 0;
  std::string record;  // encoded, signed

  friend bool operator==(const ChainedRotation& a, const ChainedRotation& b) {
    return a.leaf_index == b.leaf_index && a.version == b.version &&
           a.record == b.record;
  }
};

struct AccountState {
  std::string account_id;
  // The key that signed the account's first record (version 1): the root
  // of its authority. Empty while the account does not exist.
  std::string first_key;
  // The account's authority: its 32-byte Ed25519 account key, or the
  // encoding of its security-key set (IsSecurityKeyAuthority). Empty while
  // the account does not exist.
  std::string account_key;
  // With a security-key set: each key's latest signature counter, in the
  // set's order. Empty otherwise.
  std::vector<uint32_t> key_counters;
  uint64_t version = 0;  // 0 while the account does not exist
  std::map<std::string, ActiveDevice> devices;  // by device id
  // Every rotation of the account, oldest first: each is signed by the
  // key before it (the first by first_key) and the last sets account_key
  // (docs/formats.md, "Account state").
  std::vector<ChainedRotation> key_chain;

  bool exists() const { return version > 0; }

  // Canonical encoding (docs/formats.md), format 3 with an account key:
  //   u8 0x03 | u16+n account id | 32 first key | 32 account key |
  //   u64 version | u16 device count | per device, sorted by id: u64 leaf
  //   index | u16+n add-device record | u16 chain length | per authority
  //   change, oldest first: u64 leaf index | u16+n its record
  // and format 4 on security keys: u8 0x04 and, in place of the account
  // key, u16+n security-key set | per key, in the set's order: u32
  // signature counter.
  std::string Encode() const;
  // The same with format kAccountStateByReferenceFormat and each record
  // (u16+n) left out: its leaf index says where it is stored.
  std::string EncodeByReference() const;

  friend bool operator==(const AccountState& a, const AccountState& b) {
    return a.account_id == b.account_id && a.first_key == b.first_key &&
           a.account_key == b.account_key && a.key_counters == b.key_counters &&
           a.version == b.version && a.devices == b.devices &&
           a.key_chain == b.key_chain;
  }
};

// INVALID_ARGUMENT unless `data` is a canonical encoding whose records
// decode and fit it: each device entry an add-device of this account with
// that device id, in device id order; each chain entry a rotation of this
// account, in version order; no version above the state's. Signatures are
// not checked here (verifier/lookup.h does).
absl::StatusOr<AccountState> DecodeAccountState(absl::string_view data);

// Decodes EncodeByReference() of the account `account_id`, reading each
// record with `record_at(leaf index)`, and checks it as DecodeAccountState
// does. Errors: record_at's, or INVALID_ARGUMENT.
using RecordAt = std::function<absl::StatusOr<std::string>(uint64_t)>;
absl::StatusOr<AccountState> DecodeAccountStateByReference(
    absl::string_view data, const RecordAt& record_at);

// The rules over an account's key chain, change by change: at most
// kMaxKeyChain changes other than resets and kMaxResets resets; and the
// reset rule: a reset sets a key that was never the account's authority
// (its first key included), and after a reset no change sets an authority
// that was in force before it. So a reset can never lead back to keys the
// contacts verified before it (a breached operator cannot reset, add its
// device and hand the account back to its old key with codes that still
// match), and a reset credential serves one reset.
class ResetRule {
 public:
  explicit ResetRule(const std::string& first_key) { seen_.insert(first_key); }
  // FAILED_PRECONDITION naming `version` if the authority change of
  // operation `op` to `authority` breaks a rule; otherwise remembers it.
  absl::Status Next(Operation op, const std::string& authority,
                    uint64_t version);

 private:
  std::set<std::string> seen_;    // every authority so far
  std::set<std::string> barred_;  // those in force before the latest reset
  size_t changes_ = 0, resets_ = 0;
};

// Checks that `authority` (an account key, or a security-key set
// encoding) authorized `record`: format 1 signed by that very account key;
// format 2 an assertion by one of the set's keys (VerifyAssertion), over
// the record's client data hash. PERMISSION_DENIED naming the check, or
// INVALID_ARGUMENT for a malformed authority or authenticator data. The
// signature counter is ApplyRecord's to check.
absl::Status VerifyAuthorizedBy(const DeviceRecord& record,
                                absl::string_view authority);

// Applies `record`, stored at `leaf_index`, to `state` (the record's
// account; a default state for an account that does not exist yet).
// Requires: the record decoded, a format-1 record's signature verified
// (VerifySignature; a format-2 record's assertion is verified here,
// against the account's security keys), and record.account_id ==
// state->account_id when the account exists. On error `state` is
// unchanged. A reset-account record needs no authority (VerifySignature
// checked that its new key signed it). Errors:
//   NOT_FOUND            the account does not exist and the record is not
//                        its first (an add-device of version 1), whatever
//                        the operation; remove-device of an inactive device
//   PERMISSION_DENIED    not authorized by the current authority: signed by
//                        another key, by an account key while the account
//                        is on security keys (or the reverse), or an
//                        assertion that VerifyAssertion refuses
//   FAILED_PRECONDITION  wrong version of an existing account (stale,
//                        replayed or skipping ahead); an authority change
//                        that breaks the ResetRule (one past the limits,
//                        or a way back past a reset);
//                        device key mismatch on removal; too many devices;
//                        a security key's signature counter that did not
//                        grow (a cloned key)
//   ALREADY_EXISTS       add-device of an already active device id
absl::Status ApplyRecord(const DeviceRecord& record, uint64_t leaf_index,
                         AccountState* state);

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_ACCOUNT_H_
