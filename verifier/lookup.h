// Verification of account lookups and histories (docs/verifier.md): every
// answer is checked against one signed checkpoint and the log's pinned VRF
// key, so a client never has to trust the log server.
//
// Status codes: INVALID_ARGUMENT for malformed answers (bad encodings,
// wrong shape, missing pieces); DATA_LOSS for well-formed answers that
// contradict the signed checkpoint, the VRF key, a commitment or the account
// rules: evidence of misbehaviour, to be kept with the checkpoint.
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

struct VerifiedAccount {
  Hash position;                        // the VRF output of the account id
  std::optional<AccountState> state;    // nullopt: the account does not exist
  std::vector<VerifiedDevice> devices;  // in device id order
  // The verified chain of account keys: (the version after which the key
  // is in force, key), oldest first, ending at the current key. The first
  // key (version 0) is the one that signed the oldest records the state
  // carries.
  std::vector<std::pair<uint64_t, std::string>> key_chain;
};

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
// state that the opening opens, and in the state each device's signed
// record and the chain of account keys from the key that signed the oldest
// device to the current key.
absl::StatusOr<VerifiedAccount> VerifyAccountLookup(
    const LogCheckpoint& checkpoint, const VrfPublicKey& vrf_key,
    const std::string& account_id, const AccountLookupAnswer& answer);

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
