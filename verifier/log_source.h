// LogSource: what the verifier needs from a ktlog log; LogSink: where the
// owner's records are written (verifier/own_account.h). The client library
// implements both over gRPC (client/log_client.h); the verifier itself
// never touches the network, so a mobile client can embed it with its own
// transport.
#ifndef KTLOG_VERIFIER_LOG_SOURCE_H_
#define KTLOG_VERIFIER_LOG_SOURCE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/account/owner_access.h"
#include "core/account/record.h"
#include "core/backup/backup.h"
#include "core/crypto/hash.h"
#include "verifier/lookup.h"

namespace ktlog {

class LogSource {
 public:
  virtual ~LogSource() = default;
  // The latest signed checkpoint note (unverified); with
  // min_cosignatures > 0, the newest one that many of `witnesses` (note
  // verifier key strings; empty: all the log accepts) cosigned (NOT_FOUND
  // if none yet).
  virtual absl::StatusOr<std::string> GetCheckpoint(
      uint32_t min_cosignatures, const std::vector<std::string>& witnesses) = 0;
  virtual absl::StatusOr<std::vector<Hash>> GetConsistencyProof(
      uint64_t size1, uint64_t size2) = 0;
  // Lookups and histories at the checkpoint of exactly `tree_size` (0 is
  // the empty tree's); a lookup with the account's first-record anchor
  // when `with_first_record`. A history is served only to the account's
  // owner, whose `owner` proof (core/account/owner_access.h) the request
  // carries.
  virtual absl::StatusOr<AccountLookupAnswer> LookupAccount(
      const std::string& account_id, uint64_t tree_size,
      bool with_first_record) = 0;
  virtual absl::StatusOr<AccountHistoryAnswer> GetAccountHistory(
      const std::string& account_id, uint64_t from_version, uint64_t tree_size,
      const OwnerProof& owner) = 0;
  // Lookups of many accounts at `tree_size`: one answer (or the status
  // LookupAccount would give) per ask, in order. This default asks one by
  // one; a log client sends them in batches (LookupAccounts, at most
  // kMaxLookupsPerCall accounts per call).
  virtual std::vector<absl::StatusOr<AccountLookupAnswer>> LookupAccounts(
      const std::vector<LookupAsk>& asks, uint64_t tree_size) {
    std::vector<absl::StatusOr<AccountLookupAnswer>> out;
    out.reserve(asks.size());
    for (const LookupAsk& ask : asks) {
      out.push_back(
          LookupAccount(ask.account_id, tree_size, ask.with_first_record));
    }
    return out;
  }
};

// Where the app's transport appends a record: it returns where the log put
// it, or the status the log (or the transport) answered with.
class LogSink {
 public:
  struct Appended {
    uint64_t leaf_index = 0;
    Hash leaf_hash;
  };
  virtual ~LogSink() = default;
  // Appends `record` (the canonical bytes of a signed record of
  // `operation`); `credential` is the registration credential for an
  // account's first record on a log that asks for one ("" otherwise). A
  // sink that returns once the log has a checkpoint covering the record
  // lets the writer verify it at once.
  virtual absl::StatusOr<Appended> Append(Operation operation,
                                          const std::string& record,
                                          const std::string& credential) = 0;
};

// The provider's store of trust backups (docs/backup.md, "Storage"):
// PutBackup stores `sealed`, named by the account's record-backup record
// of `record_version`; DeleteBackup deletes the account's copy once that
// record says "deleted"; GetBackup fetches it, with the operator's
// backup-fetch credential where the log needs one. FAILED_PRECONDITION
// when the log holds no such record (or a later one follows it).
class BackupProvider {
 public:
  virtual ~BackupProvider() = default;
  virtual absl::Status PutBackup(const std::string& sealed,
                                 uint64_t record_version) = 0;
  virtual absl::StatusOr<FetchedBackup> GetBackup(
      const std::string& account_id, const std::string& credential) = 0;
  virtual absl::Status DeleteBackup(const std::string& account_id,
                                    uint64_t record_version) = 0;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_LOG_SOURCE_H_
