// The answers of the log's read API in core terms, shared by the server
// (log/queries.h assembles them), the wire mapping (proto/convert.h) and the
// verifier (verifier/lookup.h checks them). Nothing here is verified: these
// are what a log says, to be checked against a signed checkpoint.
#ifndef KTLOG_CORE_ACCOUNT_ANSWERS_H_
#define KTLOG_CORE_ACCOUNT_ANSWERS_H_

#include <cstdint>
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

// A record with its inclusion proof in the tree of some size.
struct ProvedRecord {
  uint64_t leaf_index = 0;
  std::string record;  // encoded
  std::vector<Hash> inclusion_proof;
};

// An account lookup (docs/index.md, "Lookups and histories").
struct AccountLookupAnswer {
  std::string checkpoint_note;  // when the latest was asked for
  uint64_t tree_size = 0;
  std::string index_proof;    // encoded IndexProof
  std::string account_state;  // encoded AccountState; empty: absent
  std::vector<ProvedRecord> devices;
  std::vector<ProvedRecord> key_records;
};

// One page of an account's history.
struct AccountHistoryAnswer {
  std::string checkpoint_note;  // when the latest was asked for
  uint64_t tree_size = 0;
  std::vector<ProvedRecord> records;
  uint64_t next_version = 0;  // 0 when complete
};

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_ANSWERS_H_
