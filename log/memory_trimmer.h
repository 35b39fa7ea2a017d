// MemoryTrimmer: gives memory the process freed back to the system, every
// few seconds (glibc's malloc_trim). glibc keeps freed memory in its arenas:
// after a burst (a flood of calls, answers buffered for clients that did
// not read them) the server would otherwise stay at its peak size
// (docs/operations.md, "Limits").
//
// Thread-safe; runs its own thread until destroyed.
#ifndef KTLOG_LOG_MEMORY_TRIMMER_H_
#define KTLOG_LOG_MEMORY_TRIMMER_H_

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace ktlog {

class MemoryTrimmer {
 public:
  explicit MemoryTrimmer(absl::Duration every);
  ~MemoryTrimmer();
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

 private:
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_MEMORY_TRIMMER_H_
