// LogStorage: the log server's durable state in one RocksDB database.
//
// What is stored (key layout in docs/operations.md, "Data directory"):
// the log identity (origin and verifier key), the tree size, every record
// by leaf index, leaf hash -> leaf index, every perfect-subtree node hash,
// the latest signed checkpoint, and, versioned by the tree size after each
// batch (so lookups work at any checkpoint): every account state, every
// account index node and the index root; plus each account's history
// (version -> leaf index) and the records that set its keys.
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
#include "core/account/account.h"
#include "core/account/index_tree.h"
#include "core/crypto/hash.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/note/checkpoint.h"

namespace rocksdb {
class DB;
}

namespace ktlog {

// Which log a data directory belongs to.
struct LogIdentity {
  std::string origin;
  std::string verifier_key;  // note verifier key string
};

// One record's place in its account's history.
struct HistoryEntry {
  std::string account_id;
  uint64_t version = 0;
  uint64_t leaf_index = 0;
  bool sets_key = false;  // the account's first record, or a rotation
};

// Everything one sequencer batch appends. Versioned data is stored at
// version end() (the tree size after the batch).
struct StorageBatch {
  uint64_t begin = 0;                // index of records[0]; the old size
  std::vector<std::string> records;  // leaf data
  std::vector<Hash> leaf_hashes;     // HashLeaf(records[i])
  std::vector<std::pair<NodeId, Hash>> nodes;  // nodes completed by them
  std::vector<HistoryEntry> history;           // one per record
  std::vector<AccountState> accounts;          // changed accounts, final state
  std::vector<std::pair<IndexPath, IndexNode>> index_nodes;  // changed nodes
  Hash index_root;  // the index after the batch

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

  // The identity recorded by BindIdentity, if any.
  absl::StatusOr<std::optional<LogIdentity>> ReadIdentity();

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

  // The state of `account_id` in the tree of `size` (the latest state
  // stored at a version <= size), if the account existed then.
  absl::StatusOr<std::optional<AccountState>> ReadAccount(
      const std::string& account_id, uint64_t size = UINT64_MAX);

  // The index root of the tree of `size`: NOT_FOUND unless `size` is 0 or
  // the end of a batch (every checkpoint's size is).
  absl::StatusOr<Hash> ReadIndexRoot(uint64_t size);

  // The sizes at which index roots are stored (batch ends), ascending.
  absl::StatusOr<std::vector<uint64_t>> ReadIndexVersions();

  // A reader of the index as it was in the tree of `size` (a batch end).
  // The reader borrows this storage.
  std::unique_ptr<IndexNodeReader> IndexReaderAt(uint64_t size);

  // The stored index node at exactly `path` and `version`, if any (fsck).
  absl::StatusOr<std::optional<IndexNode>> ReadIndexNodeExact(
      const IndexPath& path, uint64_t version);

  // Up to `limit` entries of the account's history with version >=
  // from_version and leaf index < below, ascending by version.
  absl::StatusOr<std::vector<HistoryEntry>> ReadHistory(
      const std::string& account_id, uint64_t from_version, uint64_t below,
      size_t limit);

  // The account's key-setting records (first record, rotations) with leaf
  // index < below, newest first, until one has version <= stop_version
  // (included) or `limit` were read.
  absl::StatusOr<std::vector<HistoryEntry>> ReadKeyRecords(
      const std::string& account_id, uint64_t below, uint64_t stop_version,
      size_t limit);

  // The latest signed checkpoint note, if any.
  absl::StatusOr<std::optional<std::string>> ReadLatestCheckpoint();

  // Replaces the latest signed checkpoint. Returns after it is synced.
  absl::Status WriteLatestCheckpoint(const std::string& note);

  // Cosigned checkpoints: the note (body, the log's signature, witness
  // cosignature lines) of the checkpoint `cp` whose body is `body`, stored
  // by (size, timestamp), synced.
  absl::Status WriteCosignedCheckpoint(const LogCheckpoint& cp,
                                       const std::string& body,
                                       const std::string& note);
  absl::StatusOr<std::optional<std::string>> ReadCosignedCheckpoint(
      const LogCheckpoint& cp, const std::string& body);
  // The newest cosigned checkpoint notes (largest size, then latest
  // timestamp) first.
  absl::StatusOr<std::vector<std::string>> ReadRecentCosignedCheckpoints(
      size_t limit);

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
