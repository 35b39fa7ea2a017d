// LogStorage: the log server's durable state in one RocksDB database.
//
// What is stored (key layout in docs/operations.md, "Data directory"):
// the log identity (origin and verifier key), the tree size, every record
// by leaf index, leaf hash -> leaf index, every perfect-subtree node hash,
// each account's current state, and the latest signed checkpoint.
//
// Contract for writers: there is exactly one writer (the sequencer), and a
// batch is written with one synced RocksDB WriteBatch, so after a crash the
// database holds either all of a batch or none of it. Readers may run
// concurrently with the writer; they only read data below a size that was
// committed before (the published checkpoint's size), which never changes.
//
// Thread-safe.
#ifndef KTLOG_LOG_STORAGE_H_
#define KTLOG_LOG_STORAGE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/account.h"
#include "core/hash.h"
#include "core/merkle.h"
#include "core/proof.h"

namespace rocksdb {
class DB;
}

namespace ktlog {

// Which log a data directory belongs to.
struct LogIdentity {
  std::string origin;
  std::string verifier_key;  // note verifier key string
};

// Everything one sequencer batch appends.
struct StorageBatch {
  uint64_t begin = 0;                // index of records[0]; the old size
  std::vector<std::string> records;  // leaf data
  std::vector<Hash> leaf_hashes;     // HashLeaf(records[i])
  std::vector<std::pair<NodeId, Hash>> nodes;  // nodes completed by them
  std::vector<AccountState> accounts;          // changed accounts, final state

  uint64_t end() const { return begin + records.size(); }
};

class LogStorage {
 public:
  // Opens the database in `dir`, creating it if missing. Errors:
  // FAILED_PRECONDITION if another process has it open or it cannot be
  // created or opened (the message names the directory and the cause);
  // DATA_LOSS if it is corrupted.
  static absl::StatusOr<std::unique_ptr<LogStorage>> Open(
      const std::string& dir);

  ~LogStorage();
  LogStorage(const LogStorage&) = delete;
  LogStorage& operator=(const LogStorage&) = delete;

  // Records `identity` in a new data directory, or checks that an existing
  // one belongs to the same log: FAILED_PRECONDITION if it was made with
  // another origin or key.
  absl::Status BindIdentity(const LogIdentity& identity);

  // The committed tree size (0 for a new log).
  uint64_t size() const;

  // Appends a batch. Requires batch.begin == size(). Returns after the batch
  // is synced to disk. UNAVAILABLE (with RocksDB's reason) if the write
  // failed; the batch is then not committed and the storage should be
  // considered failed.
  absl::Status CommitBatch(const StorageBatch& batch);

  // The hashes of `ids`, in order. NOT_FOUND if a node is beyond the
  // committed tree, DATA_LOSS if a node that must exist is missing or bad.
  absl::StatusOr<std::vector<Hash>> ReadNodes(const std::vector<NodeId>& ids);

  // The proof hashes for `plan` (core/proof.h), read from stored nodes.
  // Errors as ReadNodes.
  absl::StatusOr<std::vector<Hash>> ReadProof(const ProofPlan& plan);

  // Records [begin, end). Requires begin <= end <= size(); DATA_LOSS if one
  // is missing.
  absl::StatusOr<std::vector<std::string>> ReadRecords(uint64_t begin,
                                                       uint64_t end);

  // The leaf index of the record with `leaf_hash`, if any.
  absl::StatusOr<std::optional<uint64_t>> FindLeafIndex(const Hash& leaf_hash);

  // The current state of `account_id`, if the account exists.
  absl::StatusOr<std::optional<AccountState>> ReadAccount(
      const std::string& account_id);

  // The latest signed checkpoint note, if any.
  absl::StatusOr<std::optional<std::string>> ReadLatestCheckpoint();

  // Replaces the latest signed checkpoint. Returns after it is synced.
  absl::Status WriteLatestCheckpoint(const std::string& note);

  // Writes a consistent online copy of the database (a RocksDB checkpoint:
  // hard links where possible) to `dir`, which must not exist. The copy is
  // a complete data dir: a server started on it serves the tree as it was.
  // FAILED_PRECONDITION if `dir` exists or cannot be written.
  absl::Status CreateBackup(const std::string& dir);

  // The compact range of the committed tree, read from stored nodes.
  absl::StatusOr<std::vector<Hash>> ReadCompactRange(uint64_t size);

 private:
  explicit LogStorage(std::unique_ptr<rocksdb::DB> db, uint64_t size);

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key);
  absl::Status PutSynced(const std::string& key, const std::string& value);

  std::unique_ptr<rocksdb::DB> db_;
  std::atomic<uint64_t> size_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_STORAGE_H_
