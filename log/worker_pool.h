// WorkerPool: a fixed number of threads running tasks from a bounded
// queue. The gRPC service hands every call to it (log/service.h): gRPC's
// callback API needs no thread per call, the handlers block (a write waits
// for its group commit, a lookup reads RocksDB), so they run here, and a
// full queue is answered at once (RESOURCE_EXHAUSTED with a retry hint)
// instead of growing without bound.
//
// Thread-safe.
#ifndef KTLOG_LOG_WORKER_POOL_H_
#define KTLOG_LOG_WORKER_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace ktlog {

class WorkerPool {
 public:
  // Starts `threads` (>= 1) threads; at most `max_queued` tasks wait for
  // one.
  WorkerPool(int threads, size_t max_queued);
  // Runs the tasks still queued, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` and returns true, or returns false (and drops it) if
  // `max_queued` tasks are already waiting.
  bool TrySubmit(std::function<void()> task);

  // Tasks waiting for a thread now.
  size_t queued();

 private:
  void Run();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_WORKER_POOL_H_
