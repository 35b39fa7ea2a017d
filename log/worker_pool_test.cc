#include "log/worker_pool.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

TEST(WorkerPoolTest, RefusesTasksBeyondItsQueueAndRunsTheRest) {
  absl::Notification release;
  std::atomic<int> ran{0};
  {
    WorkerPool pool(/*threads=*/1, /*max_queued=*/2);
    absl::Notification started;
    ASSERT_TRUE(pool.TrySubmit([&] {
      started.Notify();
      release.WaitForNotification();
      ran.fetch_add(1);
    }));
    started.WaitForNotification();  // the one thread is busy
    EXPECT_TRUE(pool.TrySubmit([&] { ran.fetch_add(1); }));
    EXPECT_TRUE(pool.TrySubmit([&] { ran.fetch_add(1); }));
    EXPECT_EQ(pool.queued(), 2u);
    EXPECT_FALSE(pool.TrySubmit([&] { ran.fetch_add(100); }));
    release.Notify();
  }  // the destructor runs what is queued, then joins
  EXPECT_EQ(ran.load(), 3);
}

TEST(WorkerPoolTest, RunsTasksOnEveryThreadAtOnce) {
  constexpr int kThreads = 4;
  WorkerPool pool(kThreads, kThreads);
  // Each task waits until all four are running: only possible if the pool
  // runs them on four threads concurrently.
  std::atomic<int> running{0};
  absl::Notification all;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&] {
      if (running.fetch_add(1) + 1 == kThreads) all.Notify();
      all.WaitForNotification();
    }));
  }
  all.WaitForNotification();
  EXPECT_EQ(running.load(), kThreads);
}

}  // namespace
}  // namespace ktlog
