// The answers of the log's read API in core terms, shared by the server
// (log/queries.h assembles them), the wire mapping (proto/convert.h) and the
// verifier (verifier/lookup.h checks them). Nothing here is verified: these
// are what a log says, to be checked against a signed checkpoint and the
// pinned VRF key.
#ifndef KTLOG_CORE_ACCOUNT_ANSWERS_H_
#define KTLOG_CORE_ACCOUNT_ANSWERS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto/hash.h"

namespace ktlog {

// An RFC 9162 inclusion proof of the leaf at `leaf_index` in the tree of
// `tree_size`.
struct InclusionAnswer {
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  std::vector<Hash> hashes;  // leaf to root
};

// One version of an account: the public leaf with its inclusion proof, and
// what the leaf's commitments hide, with the openings.
struct HistoryEntryAnswer {
  uint64_t leaf_index = 0;
  std::string leaf;  // the public leaf encoding
  std::vector<Hash> inclusion_proof;
  std::string record;
  std::string record_opening;
  std::string state_opening;  // empty in a lookup's first-record anchor
};

// An account lookup (docs/index.md, "Lookups and histories"): what a
// contact needs to learn and check the account's complete state.
struct AccountLookupAnswer {
  std::string checkpoint_note;  // when the latest was asked for
  uint64_t tree_size = 0;
  std::string vrf_proof;      // binds the position to the account id
  std::string index_proof;    // encoded IndexProof at that position
  std::string account_state;  // AccountState encoding; empty: absent
  std::string state_opening;  // opens the state commitment; empty: absent
  // When asked for and the account exists: its version-1 leaf with the
  // inclusion proof, the account's first record and its opening, which
  // anchor the state's first key (docs/index.md).
  std::optional<HistoryEntryAnswer> first_record;
  // Set iff the account was erased on request (docs/operations.md,
  // "Erasure"): its erasure leaf (core/account/leaf.h), which the index
  // holds at the account's position in this tree. account_state,
  // state_opening and first_record are empty then: the log deleted them.
  std::string erased_leaf;
};

// One account of a batched lookup (the LookupAccounts call).
struct LookupAsk {
  std::string account_id;
  bool with_first_record = false;
};
// More than any account's lookup answer can be: 100 devices and 110
// authority changes and resets, each record at most 1767 bytes, with the
// anchor and proofs, are under 400 KB. A client refuses a larger answer.
inline constexpr size_t kMaxLookupAnswerBytes = 1 << 20;
// At most this many accounts in one LookupAccounts call.
inline constexpr size_t kMaxLookupsPerCall = 100;
// A LookupAccounts answer stops growing at about this many bytes: the
// accounts after that are answered ABORTED (not looked up; ask again in
// another call), so that a batch of large accounts never exceeds what a
// client receives (16 MiB).
inline constexpr size_t kMaxLookupsAnswerBytes = 8 << 20;

// One page of an account's history.
struct AccountHistoryAnswer {
  std::string checkpoint_note;  // when the latest was asked for
  uint64_t tree_size = 0;
  std::string vrf_proof;  // binds the position to the account id
  std::vector<HistoryEntryAnswer> entries;
  uint64_t next_version = 0;  // 0 when complete
};

// The answer of a write (AddDevice, RemoveDevice, RotateAccountKey,
// SetSecurityKeys, ResetAccount).
struct WriteAnswer {
  uint64_t leaf_index = 0;
  Hash leaf_hash;
  std::string checkpoint_note;  // when asked to wait for it
};

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_ANSWERS_H_
