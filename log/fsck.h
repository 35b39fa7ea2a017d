// Fsck: rebuilds everything the log derives from its leaves and the records
// behind them and compares it with what is stored, in the manner of
// Tessera's fsck: every leaf and record (signature, account rules,
// commitment openings, VRF positions, versions, timestamps); every stored
// tree node; every leaf-hash and history entry; at every
// stored batch end, the account states and the index root; the latest
// index entries (from which the server rebuilds its index); finally the
// latest checkpoint against the recomputed roots.
//
// Reports the first divergence, naming the tree size and the item.
#ifndef KTLOG_LOG_FSCK_H_
#define KTLOG_LOG_FSCK_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "core/note/note.h"
#include "log/storage/log_storage.h"

namespace ktlog {

struct FsckReport {
  uint64_t records = 0;   // leaves, with the record behind each unless erased
  uint64_t accounts = 0;  // not erased
  // Accounts erased on request: their leaves are checked as public data
  // (order, versions, tree, index) and against the erasure marker.
  uint64_t erased = 0;
  uint64_t index_versions = 0;
  uint64_t index_entries = 0;
  // OK, or DATA_LOSS naming the first divergence (or another code if
  // storage could not be read).
  absl::Status status;
};

// Checks `storage` (which nothing else may write meanwhile); the stored
// latest checkpoint is verified with the log key the data dir records.
// `progress` (optional) is called with (records checked, total) now and
// then.
FsckReport Fsck(LogInspector* storage,
                const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace ktlog

#endif  // KTLOG_LOG_FSCK_H_
