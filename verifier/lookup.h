// Verification of account lookups and histories (docs/verifier.md):
// everything a lookup says is checked against one signed checkpoint, so a
// client never has to trust the log server.
//
// Status codes: INVALID_ARGUMENT for malformed answers (bad encodings,
// wrong shape, missing pieces); DATA_LOSS for well-formed answers that
// contradict the signed checkpoint or the account rules: evidence of
// misbehaviour, to be kept with the checkpoint.
#ifndef KTLOG_VERIFIER_LOOKUP_H_
#define KTLOG_VERIFIER_LOOKUP_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/account/account.h"
#include "core/account/answers.h"
#include "core/account/record.h"
#include "core/crypto/hash.h"
#include "core/note/checkpoint.h"

namespace ktlog {

// A device as verified: its record and where it is.
struct VerifiedDevice {
  DeviceRecord record;
  uint64_t leaf_index = 0;
};

struct VerifiedAccount {
  std::optional<AccountState> state;    // nullopt: the account does not exist
  std::vector<VerifiedDevice> devices;  // in device id order
  // The verified chain of account keys: (version from which the key was in
  // force, key), oldest first, ending at the current key.
  std::vector<std::pair<uint64_t, std::string>> key_chain;
};

// Checks that `answer` proves the complete device set of `account_id` (or
// its absence) in `checkpoint`, which the caller verified (signature,
// consistency): the index proof against checkpoint.index_root, the state's
// hash, each device's record (inclusion in the checkpoint's tree, decoding,
// match with the state, signature), and the chain of account keys from the
// key that signed the oldest device record to the current key.
absl::StatusOr<VerifiedAccount> VerifyAccountLookup(
    const LogCheckpoint& checkpoint, const std::string& account_id,
    const AccountLookupAnswer& answer);

// Checks that `records` are the account's records that follow `state`
// (versions state.version + 1, + 2, ...), each included in `checkpoint`'s
// tree, and applies them with the account rules. Returns the records in
// order; `state` is advanced. DATA_LOSS if a record breaks the rules (the
// log holds an invalid history) or a proof fails.
absl::StatusOr<std::vector<VerifiedDevice>> VerifyAccountHistory(
    const LogCheckpoint& checkpoint, const std::string& account_id,
    const std::vector<ProvedRecord>& records, AccountState* state);

// Checks one proved record's inclusion in `checkpoint` and decodes it.
absl::StatusOr<DeviceRecord> VerifyProvedRecord(const LogCheckpoint& checkpoint,
                                                const ProvedRecord& proved);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_LOOKUP_H_
