#include "storage/rocksdb.h"

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"

namespace ktlog {

absl::Status FromRocksDb(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsAborted() ||
      s.IsTryAgain()) {
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(msg);
}

void DeletePrefix(absl::string_view prefix, rocksdb::WriteBatch* batch) {
  std::string end(prefix);
  while (!end.empty() && static_cast<uint8_t>(end.back()) == 0xff) {
    end.pop_back();
  }
  end.back() += 1;
  batch->DeleteRange(rocksdb::Slice(prefix.data(), prefix.size()), end);
}

absl::StatusOr<std::unique_ptr<RocksDb>> RocksDb::Open(const std::string& dir,
                                                       absl::string_view what) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.IncreaseParallelism(2);
  options.max_open_files = 512;
  // A new manifest at every change of the file set: an old manifest would
  // keep naming the first and last key of files deleted since, which may
  // be an erased account's (Purge). The manifest is a list of the live
  // files: a few KB, written at each flush or compaction.
  options.max_manifest_file_size = 1;
  // Bloom filters: most point reads (duplicate checks by leaf hash) miss.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (s.ok()) {
    return std::unique_ptr<RocksDb>(
        new RocksDb(std::unique_ptr<rocksdb::DB>(raw), std::string(what)));
  }
  std::string why = s.ToString();
  if (s.IsCorruption()) {
    return absl::DataLossError(
        absl::StrCat(what, " ", dir, " is corrupted: ", why));
  }
  if (why.find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " ", dir, " is in use by another process: ", why));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("cannot open ", what, " ", dir, ": ", why));
}

RocksDb::~RocksDb() {
  if (db_ != nullptr) db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::optional<std::string>> RocksDb::Get(
    absl::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(),
                               rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocksDb(s, absl::StrCat("reading the ", what_));
  return std::optional<std::string>(std::move(value));
}

absl::Status RocksDb::PutSynced(absl::string_view key,
                                absl::string_view value) {
  rocksdb::WriteBatch batch;
  batch.Put(rocksdb::Slice(key.data(), key.size()),
            rocksdb::Slice(value.data(), value.size()));
  return WriteSynced(&batch);
}

absl::Status RocksDb::DeleteSynced(absl::string_view key) {
  rocksdb::WriteBatch batch;
  batch.Delete(rocksdb::Slice(key.data(), key.size()));
  return WriteSynced(&batch);
}

absl::Status RocksDb::WriteSynced(rocksdb::WriteBatch* batch) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocksDb(db_->Write(wo, batch),
                     absl::StrCat("writing the ", what_));
}

absl::StatusOr<bool> RocksDb::Empty() const {
  std::unique_ptr<rocksdb::Iterator> it = NewIterator();
  it->SeekToFirst();
  if (!it->status().ok()) {
    return FromRocksDb(it->status(), absl::StrCat("reading the ", what_));
  }
  return !it->Valid();
}

std::unique_ptr<rocksdb::Iterator> RocksDb::NewIterator() const {
  return std::unique_ptr<rocksdb::Iterator>(
      db_->NewIterator(rocksdb::ReadOptions()));
}

absl::Status RocksDb::ForEachWithPrefix(
    absl::string_view prefix,
    const std::function<absl::Status(absl::string_view, absl::string_view)>& f)
    const {
  std::unique_ptr<rocksdb::Iterator> it = NewIterator();
  rocksdb::Slice start(prefix.data(), prefix.size());
  for (it->Seek(start); it->Valid() && it->key().starts_with(start);
       it->Next()) {
    RETURN_IF_ERROR(f(ToView(it->key()), ToView(it->value())));
  }
  return FromRocksDb(it->status(), absl::StrCat("reading ", what_));
}

absl::Status RocksDb::Checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  if (!s.ok()) return FromRocksDb(s, "starting a backup");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  s = checkpoint->CreateCheckpoint(dir);
  if (!s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write backup to ", dir, ": ", s.ToString()));
  }
  return absl::OkStatus();
}

absl::Status RocksDb::Purge(absl::string_view done_key) {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  RETURN_IF_ERROR(FromRocksDb(db_->Flush(flush), "flushing the " + what_));
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  RETURN_IF_ERROR(FromRocksDb(db_->CompactRange(compact, nullptr, nullptr),
                              "compacting the " + what_));
  // The manifest written for the compaction still lists the files it
  // replaced (with their first and last keys); one more change writes a
  // manifest of the compacted files only: a flush of one deletion.
  RETURN_IF_ERROR(DeleteSynced(done_key));
  return FromRocksDb(db_->Flush(flush), "flushing the " + what_);
}

}  // namespace ktlog
