// For tests that check what a data dir holds on disk (erasure): which of
// its files contain some bytes.
#ifndef KTLOG_CORE_TESTONLY_FILES_HOLDING_H_
#define KTLOG_CORE_TESTONLY_FILES_HOLDING_H_

#include <string>
#include <vector>

namespace ktlog {

// The names (relative to `dir`) of the regular files under `dir` whose
// bytes contain `needle`, in directory order. A file that disappears while
// it is read (RocksDB removing an obsolete one) is skipped.
std::vector<std::string> FilesHolding(const std::string& dir,
                                      const std::string& needle);

}  // namespace ktlog

#endif  // KTLOG_CORE_TESTONLY_FILES_HOLDING_H_
