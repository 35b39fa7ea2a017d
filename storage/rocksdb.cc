#include "storage/rocksdb.h"

#include "absl/strings/str_cat.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"

namespace ktlog {

absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenRocksDb(
    const std::string& dir, absl::string_view what) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.IncreaseParallelism(2);
  options.max_open_files = 512;
  // Bloom filters: most point reads (duplicate checks by leaf hash) miss.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (s.ok()) return std::unique_ptr<rocksdb::DB>(raw);
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

}  // namespace ktlog
