// Verification of account lookups and histories (docs/verifier.md): every
// answer is checked against one signed checkpoint and the log's pinned VRF
// key, so a client never has to trust the log server.
//
// Status codes: INVALID_ARGUMENT for malformed answers (bad encodings,
// wrong shape, missing pieces); DATA_LOSS for well-formed answers that
// contradict the signed checkpoint, the VRF key, a commitment or the account
// rules: evidence of misbehaviour, to be kept with the checkpoint. Every
// error names its reason (verifier/refusal.h: kMalformedAnswer for the
// first kind, the evidence's own for the second).
#ifndef KTLOG_VERIFIER_LOOKUP_H_
#define KTLOG_VERIFIER_LOOKUP_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/account/account.h"
#include "core/account/answers.h"
#include "core/account/record.h"
#include "core/crypto/hash.h"
#include "core/crypto/vrf.h"
#include "core/note/checkpoint.h"

namespace ktlog {

// A device record as verified: the record and the leaf that commits to it.
struct VerifiedDevice {
  DeviceRecord record;
  uint64_t leaf_index = 0;
};

// A reset-account record in an account's key chain (every key lost): the
// operator vouched for the new key, not the authority before it. Contacts
// are shown it as an alert (docs/security-keys.md, "Every key lost").
struct VerifiedReset {
  uint64_t version = 0;     // the reset's account version
  uint64_t leaf_index = 0;  // its leaf
  Hash record_hash;         // SHA-256 of the reset record
  std::string new_key;      // the account key it set

  friend bool operator==(const VerifiedReset& a, const VerifiedReset& b) {
    return a.version == b.version && a.leaf_index == b.leaf_index &&
           a.record_hash == b.record_hash && a.new_key == b.new_key;
  }
};

struct VerifiedAccount {
  Hash position;                        // the VRF output of the account id
  std::optional<AccountState> state;    // nullopt: the account does not exist
  std::vector<VerifiedDevice> devices;  // in device id order
  // The verified chain of account keys: (the version after which the key
  // is in force, key), oldest first, from the account's first key (version
  // 0: it signed the account's first record) to the current key.
  std::vector<std::pair<uint64_t, std::string>> key_chain;
  // The hash (SHA-256) of the rotation record that put the current key in
  // force; all zero when the current key is the first key.
  Hash current_key_record;
  // The resets in the key chain, oldest first (usually none).
  std::vector<VerifiedReset> resets;
  // Set iff the account was erased on request: the index proves that its
  // position holds its erasure leaf, of this version (one more than the
  // account's last); state is nullopt then (docs/operations.md,
  // "Erasure").
  std::optional<uint64_t> erased_version;
};

// What a state's signatures establish (VerifyAccountAuthority).
struct VerifiedAuthority {
  // (version after which each key is in force, key), oldest first, from
  // the first key (version 0) to the current key.
  std::vector<std::pair<uint64_t, std::string>> key_chain;
  Hash current_key_record;              // as in VerifiedAccount
  std::vector<VerifiedReset> resets;    // as in VerifiedAccount
  std::vector<VerifiedDevice> devices;  // in device id order
};

// Checks that `state`'s authority descends by signatures from its first
// key: the first rotation in the key chain is signed by the first key, each
// later one by the key the one before set, the last sets the account key;
// every device's add-device record is signed by the key in force at its
// version. A reset in the chain is signed by the key it sets instead
// (returned in `resets`, for the caller to show), and no device may date
// from before the latest reset (a reset removes every device). Says nothing
// about whether the first key is the account's (VerifyFirstRecordAnchor, or a
// key verified before). DATA_LOSS if not (a key the log made up),
// INVALID_ARGUMENT for a malformed record.
absl::StatusOr<VerifiedAuthority> VerifyAccountAuthority(
    const AccountState& state);

// Checks the first-record anchor of `state`'s account at `position`: the
// leaf is in `checkpoint`'s tree, at the position, with version 1, and
// its record commitment opens to a signed add-device record of version 1
// of this account by state.first_key. INVALID_ARGUMENT for a malformed
// anchor or another version's; DATA_LOSS for evidence (a record that does
// not open the commitment, or was not signed by the state's first key).
absl::Status VerifyFirstRecordAnchor(const LogCheckpoint& checkpoint,
                                     const Hash& position,
                                     const AccountState& state,
                                     const HistoryEntryAnswer& anchor);

// The account's position: the VRF output of its id, which `vrf_proof`
// must prove under `vrf_key`. INVALID_ARGUMENT for a malformed proof;
// DATA_LOSS for one that does not verify.
absl::StatusOr<Hash> VerifyPosition(const VrfPublicKey& vrf_key,
                                    const std::string& account_id,
                                    const std::string& vrf_proof);

// Checks that `answer` proves the complete device set of `account_id` (or
// its absence) in `checkpoint`, which the caller verified (signature,
// consistency): the VRF proof of the account's position, the index proof
// at that position against checkpoint.index_root for the commitment to the
// state that the opening opens, and that the state's authority descends
// from the account's first record: its first key is the one that signed
// the record of the account's version-1 leaf, each rotation in the key
// chain is signed by the key before it and the last sets the account key,
// and each device's record is signed by the key in force at its version.
//
// `known_first_key` is the account's first key as this client verified it
// before (an earlier lookup's anchor, or the owner's own history), or
// empty. Without it the answer must carry the first-record anchor
// (AccountLookupAnswer::first_record), which is then checked: the leaf in
// the checkpoint's tree at the account's position with version 1, its
// record commitment opening to a signed add-device of version 1 by the
// state's first key. With it, the state's first key must be that one (an
// anchor, if sent, is checked too).
//
// An answer for an erased account (AccountLookupAnswer::erased_leaf) is
// checked the same way up to the index: the VRF proof, and the index proof
// for the erasure leaf it carries (IsErasure, at the position); the result
// has no state and its erased_version set.
//
// Errors: INVALID_ARGUMENT for a malformed answer or a missing anchor;
// DATA_LOSS for evidence: a VRF or index proof that fails, a state whose
// authority does not descend from the first record, a first key other
// than `known_first_key`.
absl::StatusOr<VerifiedAccount> VerifyAccountLookup(
    const LogCheckpoint& checkpoint, const VrfPublicKey& vrf_key,
    const std::string& account_id, const AccountLookupAnswer& answer,
    const std::string& known_first_key);

// Checks that `answer`'s entries are the account's versions that follow
// `state` (state.version + 1, + 2, ...): the VRF proof of the position;
// each leaf included in `checkpoint`'s tree, at the account's position,
// with the next version; each record signed, opening the leaf's record
// commitment, and applied with the account rules; the state after it
// opening the leaf's state commitment. Returns the records in order;
// `state` is advanced.
absl::StatusOr<std::vector<VerifiedDevice>> VerifyAccountHistory(
    const LogCheckpoint& checkpoint, const VrfPublicKey& vrf_key,
    const std::string& account_id, const AccountHistoryAnswer& answer,
    AccountState* state);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_LOOKUP_H_
