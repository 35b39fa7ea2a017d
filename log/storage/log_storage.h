// The log server's durable state: the views its components get (LogReader,
// LogWriter, LogInspector, CosignatureStore) and LogStorage, which
// implements them over one RocksDB database.
//
// What is stored (key layout in log/storage/layout.h and docs/operations.md,
// "Data directory"): the log identity (origin and log key), the tree size;
// by leaf index, every public leaf and the private entry behind it (the
// record and both openings); leaf hash -> leaf index; every perfect-subtree
// node hash above the leaves; the latest signed checkpoint; each account's
// position and VRF proof; each position's latest account index entry (the
// index itself is held in memory: log/index_versions.h); versioned by the
// tree size after each batch: every account state (its records by
// reference to the entries) and the index root; each
// account's history (version -> leaf index); checkpoints with witness
// cosignatures; each account's trust backup.
#ifndef KTLOG_LOG_STORAGE_LOG_STORAGE_H_
#define KTLOG_LOG_STORAGE_LOG_STORAGE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/account/account.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/crypto/hash.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/note/checkpoint.h"
#include "storage/rocksdb.h"

namespace rocksdb {
class Iterator;
class WriteBatch;
}  // namespace rocksdb

namespace ktlog {

// Which log a data directory belongs to.
struct LogIdentity {
  std::string origin;
  std::string log_key;  // the log key string (core/note/log_key.h)
};

// What stays private behind a public leaf: the record it commits to and the
// openings of its two commitments.
struct PrivateEntry {
  std::string record;
  std::string record_opening;  // kOpeningSize bytes
  std::string state_opening;   // kOpeningSize bytes
};

// The stored private entry: u16+n record | record opening | state opening.
// Decode: nullopt unless exactly that, with openings of kOpeningSize.
std::string EncodePrivateEntry(const PrivateEntry& e);
std::optional<PrivateEntry> DecodePrivateEntry(absl::string_view data);

// An account's position (the VRF output of its id) and the VRF proof.
struct AccountPosition {
  Hash position;
  std::string proof;  // VrfPublicKey::kProofSize bytes
};

// One record's place in its account's history.
struct HistoryEntry {
  std::string account_id;
  uint64_t version = 0;
  uint64_t leaf_index = 0;
};

// An account erased on request (StorageBatch::erasures): its position and
// the leaves of its versions, which stay public, the last its erasure leaf;
// everything private about it is gone.
struct ErasedAccount {
  Hash position;
  std::vector<uint64_t> leaf_indexes;  // of versions 1, 2, ..., in order

  // The erasure leaf's version.
  uint64_t version() const { return leaf_indexes.size(); }
};

// Everything one integrator batch appends. Versioned data is stored at
// version end() (the tree size after the batch).
struct StorageBatch {
  uint64_t begin = 0;               // index of leaves[0]; the old size
  std::vector<std::string> leaves;  // public leaf encodings
  std::vector<Hash> leaf_hashes;    // HashLeaf(leaves[i])
  // Behind leaves[i]; one with an empty record is none (an erasure leaf,
  // or in a replica a leaf of an account erased since).
  std::vector<PrivateEntry> entries;
  std::vector<std::pair<NodeId, Hash>> nodes;  // nodes completed by them
  std::vector<HistoryEntry> history;           // one per leaf
  std::vector<AccountState> accounts;          // changed accounts, final state
  // Accounts whose position is stored for the first time.
  std::vector<std::pair<std::string, AccountPosition>> positions;
  std::vector<IndexEntry> index_entries;  // changed positions
  Hash index_root;                        // the index after the batch
  // A read replica's batch (log/follower.h): the log it follows signed a
  // checkpoint of size end(), so lookups may be asked at it.
  bool end_signed = false;
  // Accounts erased on request in this batch, each with its erasure leaf
  // (docs/operations.md, "Erasure"): the batch deletes every record
  // entry, state, history entry and position of the account, stored
  // before or in this batch (so `accounts` and `positions` hold none of
  // it), and marks its position erased (LogReader::ReadErased).
  struct Erasure {
    std::string account_id;
    Hash position;
    uint64_t leaf_index = 0;  // of its erasure leaf, in this batch
    // A read replica's (log/follower.h), which may hold none of the
    // account's records (then account_id is empty): the leaves of the
    // account's versions before the erasure leaf, which the marker names
    // instead of those found in the account's stored history.
    std::optional<std::vector<uint64_t>> earlier_leaves;
  };
  std::vector<Erasure> erasures;

  uint64_t end() const { return begin + leaves.size(); }
};

// What every reader may call: the service's queries, the publisher and the
// integrator's reads. Reads below a committed size are stable: they never
// change once committed. Thread-safe.
class LogReader {
 public:
  virtual ~LogReader() = default;

  // The committed tree size (0 for a new log).
  virtual uint64_t size() const = 0;

  // The hashes of `ids`, in order. NOT_FOUND if a node is beyond the
  // committed tree, DATA_LOSS if a node that must exist is missing or bad.
  virtual absl::StatusOr<std::vector<Hash>> ReadNodes(
      const std::vector<NodeId>& ids) = 0;
  // The proof hashes for `plan` (core/merkle/proof.h), read from stored
  // nodes. Errors as ReadNodes.
  virtual absl::StatusOr<std::vector<Hash>> ReadProof(
      const ProofPlan& plan) = 0;
  // The compact range of the tree of `size` (<= size()), from stored nodes.
  virtual absl::StatusOr<std::vector<Hash>> ReadCompactRange(uint64_t size) = 0;

  // Public leaves [begin, end). OUT_OF_RANGE unless begin <= end <=
  // size(); DATA_LOSS if one is missing.
  virtual absl::StatusOr<std::vector<std::string>> ReadLeaves(uint64_t begin,
                                                              uint64_t end) = 0;
  // The private entry behind leaf `index` (< size()); DATA_LOSS if missing
  // or malformed.
  virtual absl::StatusOr<PrivateEntry> ReadEntry(uint64_t index) = 0;
  // The leaf index of the leaf with `leaf_hash`, if any.
  virtual absl::StatusOr<std::optional<uint64_t>> FindLeafIndex(
      const Hash& leaf_hash) = 0;
  // The leaf index of the record with `record_hash` (SHA-256 of its bytes),
  // of `account_id` at `version`, if the log holds it: the record the
  // account's history holds at that version, if it is this one.
  virtual absl::StatusOr<std::optional<uint64_t>> FindRecord(
      const std::string& account_id, uint64_t version,
      const Hash& record_hash) = 0;
  // The account's position and VRF proof, if the account was ever written.
  virtual absl::StatusOr<std::optional<AccountPosition>> ReadPosition(
      const std::string& account_id) = 0;

  // The state of `account_id` in the tree of `size` (the latest state
  // stored at a version <= size), if the account existed then.
  virtual absl::StatusOr<std::optional<AccountState>> ReadAccount(
      const std::string& account_id, uint64_t size) = 0;
  // The index root of the tree of `size`: NOT_FOUND unless `size` is 0 or
  // the end of a batch (every checkpoint's size is).
  virtual absl::StatusOr<Hash> ReadIndexRoot(uint64_t size) = 0;
  // The latest index entry at `position`, if any leaf has it. DATA_LOSS if
  // malformed.
  virtual absl::StatusOr<std::optional<IndexEntry>> ReadIndexEntry(
      const Hash& position) = 0;
  // Calls `f` with every position's latest index entry, in position
  // order; stops at the first error `f` returns. DATA_LOSS if one is
  // malformed.
  virtual absl::Status ReadIndexEntries(
      const std::function<absl::Status(const IndexEntry&)>& f) = 0;
  // Up to `limit` entries of the account's history with version >=
  // from_version and leaf index < below, ascending by version.
  virtual absl::StatusOr<std::vector<HistoryEntry>> ReadHistory(
      const std::string& account_id, uint64_t from_version, uint64_t below,
      size_t limit) = 0;

  // Calls `f` with every erased account (one per erasure; few), stopping at
  // the first error it returns. DATA_LOSS if a marker is malformed.
  virtual absl::Status ReadErasures(
      const std::function<absl::Status(const ErasedAccount&)>& f) = 0;
  // The account erased at `position`, if one was (its id is not kept).
  // DATA_LOSS if the stored marker is malformed.
  virtual absl::StatusOr<std::optional<ErasedAccount>> ReadErased(
      const Hash& position) = 0;

  // The latest signed checkpoint note, if any.
  virtual absl::StatusOr<std::optional<std::string>> ReadLatestCheckpoint() = 0;
  // Whether a checkpoint of tree size `size` was ever signed.
  virtual absl::StatusOr<bool> IsSignedSize(uint64_t size) = 0;
};

// What the log's single writer may call besides reads: the integrator
// commits batches, the publisher persists checkpoints. Not for the service.
class LogWriter : public virtual LogReader {
 public:
  // Appends a batch (with its erasures). Requires batch.begin == size()
  // (else INTERNAL). Returns
  // after the batch is synced to disk. UNAVAILABLE (with RocksDB's reason)
  // if the write failed; the batch is then not committed and the storage
  // should be considered failed.
  virtual absl::Status CommitBatch(const StorageBatch& batch) = 0;
  // Replaces the latest signed checkpoint, of tree size `size`, and records
  // that size as signed. Returns after both are synced.
  virtual absl::Status WriteLatestCheckpoint(uint64_t size,
                                             const std::string& note) = 0;
  // Rewrites the database so that nothing deleted (by an erasure) remains
  // in any of its live files (a flush and a full compaction): slow on a
  // large log. May run concurrently with everything else. A batch with
  // erasures marks a purge as owed (PurgeOwed) until one is done.
  virtual absl::Status Purge() = 0;
  // Whether a batch with erasures was committed since the last Purge (a
  // server that stopped before it purged purges at start).
  virtual absl::StatusOr<bool> PurgeOwed() = 0;
};

// What fsck may inspect beyond a reader (log/fsck.h).
class LogInspector : public virtual LogReader {
 public:
  // The identity recorded by BindIdentity, if any.
  virtual absl::StatusOr<std::optional<LogIdentity>> ReadIdentity() = 0;
  // The sizes at which index roots are stored (batch ends), ascending.
  virtual absl::StatusOr<std::vector<uint64_t>> ReadIndexVersions() = 0;
};

// Checkpoints with the witnesses' cosignatures (log/cosignatures.h).
class CosignatureStore {
 public:
  virtual ~CosignatureStore() = default;
  // Stores the note (body, the log's signature, cosignature lines) of the
  // checkpoint `cp` whose body is `body`, by (size, timestamp); synced.
  virtual absl::Status WriteCosignedCheckpoint(const LogCheckpoint& cp,
                                               const std::string& body,
                                               const std::string& note) = 0;
  virtual absl::StatusOr<std::optional<std::string>> ReadCosignedCheckpoint(
      const LogCheckpoint& cp, const std::string& body) = 0;
  // The newest cosigned checkpoint notes (largest size, then latest
  // timestamp) first.
  virtual absl::StatusOr<std::vector<std::string>>
  ReadRecentCosignedCheckpoints(size_t limit) = 0;
};

// Each account's trust backup (log/backups.h): opaque sealed bytes, one
// per account. Writes are synced when they return OK. An erasure of the
// account (StorageBatch::erasures) deletes its backup. Thread-safe.
class BackupStore {
 public:
  virtual ~BackupStore() = default;
  virtual absl::StatusOr<std::optional<std::string>> ReadBackup(
      const std::string& account_id) = 0;
  virtual absl::Status WriteBackup(const std::string& account_id,
                                   const std::string& sealed) = 0;
  // OK also if there is none.
  virtual absl::Status DeleteBackup(const std::string& account_id) = 0;
};

// The log's durable state in one RocksDB database, in the layout of
// log/storage/layout.h. It implements every view; each component is given
// only the view it needs (LogServer wires them). Contract for writers:
// there is exactly one writer (the integrator), and a batch is written with
// one synced RocksDB WriteBatch, so after a crash the database holds either
// all of a batch or none of it. Readers may run concurrently with the
// writer; they only read data below a size that was committed before (the
// published checkpoint's size), which never changes. Thread-safe.
class LogStorage final : public LogWriter,
                         public LogInspector,
                         public CosignatureStore,
                         public BackupStore {
 public:
  // Opens the database in `dir`, creating it if missing. Errors:
  // FAILED_PRECONDITION if another process has it open, it cannot be
  // created or opened, or it holds a data dir of another format (the
  // message names both formats); DATA_LOSS if it is corrupted.
  static absl::StatusOr<std::unique_ptr<LogStorage>> Open(
      const std::string& dir);

  // Records `identity` in a new data directory, or checks that an existing
  // one belongs to the same log: FAILED_PRECONDITION if it was made with
  // another origin or key.
  absl::Status BindIdentity(const LogIdentity& identity);

  // Writes a consistent online copy of the database (a RocksDB checkpoint:
  // hard links where possible) to `dir`, which must not exist. The copy is
  // a complete data dir: a server started on it serves the tree as it was.
  // FAILED_PRECONDITION if `dir` exists or cannot be written.
  absl::Status CreateBackup(const std::string& dir);

  // LogReader.
  uint64_t size() const override;
  absl::StatusOr<std::vector<Hash>> ReadNodes(
      const std::vector<NodeId>& ids) override;
  absl::StatusOr<std::vector<Hash>> ReadProof(const ProofPlan& plan) override;
  absl::StatusOr<std::vector<Hash>> ReadCompactRange(uint64_t size) override;
  absl::StatusOr<std::vector<std::string>> ReadLeaves(uint64_t begin,
                                                      uint64_t end) override;
  absl::StatusOr<PrivateEntry> ReadEntry(uint64_t index) override;
  absl::StatusOr<std::optional<uint64_t>> FindLeafIndex(
      const Hash& leaf_hash) override;
  absl::StatusOr<std::optional<uint64_t>> FindRecord(
      const std::string& account_id, uint64_t version,
      const Hash& record_hash) override;
  absl::StatusOr<std::optional<AccountPosition>> ReadPosition(
      const std::string& account_id) override;
  absl::StatusOr<std::optional<AccountState>> ReadAccount(
      const std::string& account_id, uint64_t size) override;
  absl::StatusOr<Hash> ReadIndexRoot(uint64_t size) override;
  absl::StatusOr<std::optional<IndexEntry>> ReadIndexEntry(
      const Hash& position) override;
  absl::Status ReadIndexEntries(
      const std::function<absl::Status(const IndexEntry&)>& f) override;
  absl::StatusOr<std::vector<HistoryEntry>> ReadHistory(
      const std::string& account_id, uint64_t from_version, uint64_t below,
      size_t limit) override;
  absl::StatusOr<std::optional<ErasedAccount>> ReadErased(
      const Hash& position) override;
  absl::Status ReadErasures(
      const std::function<absl::Status(const ErasedAccount&)>& f) override;
  absl::StatusOr<std::optional<std::string>> ReadLatestCheckpoint() override;
  absl::StatusOr<bool> IsSignedSize(uint64_t size) override;

  // LogWriter.
  absl::Status CommitBatch(const StorageBatch& batch) override;
  absl::Status WriteLatestCheckpoint(uint64_t size,
                                     const std::string& note) override;
  absl::Status Purge() override;
  absl::StatusOr<bool> PurgeOwed() override;

  // LogInspector.
  absl::StatusOr<std::optional<LogIdentity>> ReadIdentity() override;
  absl::StatusOr<std::vector<uint64_t>> ReadIndexVersions() override;

  // CosignatureStore.
  absl::Status WriteCosignedCheckpoint(const LogCheckpoint& cp,
                                       const std::string& body,
                                       const std::string& note) override;
  absl::StatusOr<std::optional<std::string>> ReadCosignedCheckpoint(
      const LogCheckpoint& cp, const std::string& body) override;
  absl::StatusOr<std::vector<std::string>> ReadRecentCosignedCheckpoints(
      size_t limit) override;

  // BackupStore.
  absl::StatusOr<std::optional<std::string>> ReadBackup(
      const std::string& account_id) override;
  absl::Status WriteBackup(const std::string& account_id,
                           const std::string& sealed) override;
  absl::Status DeleteBackup(const std::string& account_id) override;

 private:
  LogStorage(std::unique_ptr<RocksDb> db, uint64_t size);

  // The newest value of `prefix` | version at or below `version`.
  absl::StatusOr<std::optional<std::string>> SeekVersion(
      const std::string& prefix, uint64_t version) const;
  // Adds to `wb` the deletion of what is stored of `e`'s account and its
  // erasure marker, naming its leaves stored before `batch` and in it.
  absl::Status AddErasure(const StorageBatch& batch,
                          const StorageBatch::Erasure& e,
                          rocksdb::WriteBatch* wb);
  // A u64 stored under `key` (a leaf index), if any.
  absl::StatusOr<std::optional<uint64_t>> ReadIndexValue(
      const std::string& key) const;

  std::unique_ptr<RocksDb> db_;
  std::atomic<uint64_t> size_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_STORAGE_LOG_STORAGE_H_
