#include "log/memory_trimmer.h"

#include <malloc.h>

namespace ktlog {

MemoryTrimmer::MemoryTrimmer(absl::Duration every)
    : thread_([this, every] {
        while (!stop_.WaitForNotificationWithTimeout(every)) malloc_trim(0);
      }) {}

MemoryTrimmer::~MemoryTrimmer() {
  stop_.Notify();
  thread_.join();
}

}  // namespace ktlog
