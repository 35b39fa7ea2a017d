// The one adapter between RocksDB and the rest of ktlog: opening a database
// with ktlog's options and clear errors, and converting rocksdb::Status to
// absl::Status. Used by the log's storage and the auditor's state.
#ifndef KTLOG_STORAGE_ROCKSDB_H_
#define KTLOG_STORAGE_ROCKSDB_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"

namespace ktlog {

// Opens (creating) the RocksDB database in `dir` (Bloom filters, paranoid
// checks). `what` names it in errors ("data dir", "auditor state").
// DATA_LOSS if it is corrupted; FAILED_PRECONDITION if another process
// holds it ("in use by another ...") or it cannot be created or opened.
absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenRocksDb(
    const std::string& dir, absl::string_view what);

// OK, or the canonical code for `s` (corruption: DATA_LOSS, not found:
// NOT_FOUND, I/O and busy: UNAVAILABLE, else INTERNAL) with `what` in the
// message.
absl::Status FromRocksDb(const rocksdb::Status& s, absl::string_view what);

}  // namespace ktlog

#endif  // KTLOG_STORAGE_ROCKSDB_H_
