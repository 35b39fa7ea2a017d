// The one adapter between RocksDB and the rest of ktlog: opening a database
// with ktlog's options and clear errors, synced reads and writes, iteration,
// online checkpoints, and converting rocksdb::Status to absl::Status. Used by
// the log's storage (log/storage/) and the auditor's state.
#ifndef KTLOG_STORAGE_ROCKSDB_H_
#define KTLOG_STORAGE_ROCKSDB_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace ktlog {

// OK, or the canonical code for `s` (corruption: DATA_LOSS, not found:
// NOT_FOUND, I/O and busy: UNAVAILABLE, else INTERNAL) with `what` in the
// message.
absl::Status FromRocksDb(const rocksdb::Status& s, absl::string_view what);

// A view of RocksDB's bytes.
inline absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

// Adds to `batch` the deletion of every key that starts with `prefix`
// (non-empty, not all 0xff bytes).
void DeletePrefix(absl::string_view prefix, rocksdb::WriteBatch* batch);

// One RocksDB database. Thread-safe (as RocksDB is).
class RocksDb {
 public:
  // Opens (creating) the database in `dir` (Bloom filters, paranoid
  // checks). `what` names it in errors ("data dir", "auditor state").
  // DATA_LOSS if it is corrupted; FAILED_PRECONDITION if another process
  // holds it ("in use by another ...") or it cannot be created or opened.
  static absl::StatusOr<std::unique_ptr<RocksDb>> Open(const std::string& dir,
                                                       absl::string_view what);
  ~RocksDb();  // closes the database
  RocksDb(const RocksDb&) = delete;
  RocksDb& operator=(const RocksDb&) = delete;

  // The value of `key`, or nullopt. Errors as FromRocksDb.
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const;
  // Writes one key, or a batch, and returns after it is synced to disk.
  absl::Status PutSynced(absl::string_view key, absl::string_view value);
  absl::Status DeleteSynced(absl::string_view key);
  absl::Status WriteSynced(rocksdb::WriteBatch* batch);
  // True iff the database holds no key at all.
  absl::StatusOr<bool> Empty() const;
  // An iterator over a consistent view (check status() after use).
  std::unique_ptr<rocksdb::Iterator> NewIterator() const;
  // Calls f(key, value) for every key starting with `prefix`, in key order,
  // over a consistent view; stops at f's first error and returns it, or the
  // iterator's error (as FromRocksDb).
  absl::Status ForEachWithPrefix(
      absl::string_view prefix,
      const std::function<absl::Status(absl::string_view, absl::string_view)>&
          f) const;
  // Writes a consistent online copy (hard links where possible) to `dir`,
  // which must not exist; FAILED_PRECONDITION otherwise.
  absl::Status Checkpoint(const std::string& dir);
  // Flushes the memtable and compacts the whole database into its last
  // level, so that deleted keys and values are gone from every live file
  // (the write-ahead logs that held them are dropped by the flush; Open
  // sets RocksDB to start a new manifest at every change, and one more
  // change after the compaction leaves a manifest of the compacted files
  // only: the deletion of `done_key`, which is how a caller marks a purge
  // as owed until it is done). Slow on a large database.
  absl::Status Purge(absl::string_view done_key);

  rocksdb::DB* db() const { return db_.get(); }
  const std::string& what() const { return what_; }

 private:
  RocksDb(std::unique_ptr<rocksdb::DB> db, std::string what)
      : db_(std::move(db)), what_(std::move(what)) {}

  std::unique_ptr<rocksdb::DB> db_;
  const std::string what_;
};

}  // namespace ktlog

#endif  // KTLOG_STORAGE_ROCKSDB_H_
