// How long the log's start-up takes to rebuild the account index from the
// stored entries (IndexVersions::Load), what one batch update costs, and the
// longest batch while the index's table grows, at 10^5 to 10^7 accounts.
// Results in docs/benchmarks.md (tools/dev bench).
#include <sys/resource.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "core/crypto/crypto.h"
#include "log/index_versions.h"

namespace ktlog {
namespace {

std::vector<std::pair<Hash, Hash>> Entries(int64_t n, int64_t salt) {
  std::vector<std::pair<Hash, Hash>> e;
  e.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    e.emplace_back(Sha256(absl::StrCat(salt, " ", i)),
                   Sha256(absl::StrCat("value ", i)));
  }
  return e;
}

// The process's peak resident memory so far, in MB.
double PeakRssMb() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// Timed: the rebuild (a copy of the entries in, as start-up reads them),
// not the index's destruction, which a start-up does not do.
void BM_IndexLoad(benchmark::State& state) {
  std::vector<std::pair<Hash, Hash>> entries = Entries(state.range(0), 0);
  for (auto _ : state) {
    auto v = std::make_unique<IndexVersions>();
    if (!v->Load(entries, 1, 0).ok()) abort();
    state.PauseTiming();
    state.counters["nodes"] = static_cast<double>(v->node_versions());
    v.reset();
    state.ResumeTiming();
  }
  state.counters["peak_rss_mb"] = PeakRssMb();
}
BENCHMARK(BM_IndexLoad)
    ->Arg(100000)
    ->Arg(1000000)
    ->Arg(10000000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// A batch of 512 new accounts into an index of N, then its commit.
void BM_IndexBatch(benchmark::State& state) {
  IndexVersions v;
  if (!v.Load(Entries(state.range(0), 0), 1, 0).ok()) abort();
  uint64_t version = 1;
  int64_t salt = 1;
  for (auto _ : state) {
    auto update = v.Prepare(Entries(512, salt++));
    if (!update.ok()) abort();
    v.Commit(*update, ++version, 0);
  }
  state.SetItemsProcessed(state.iterations() * 512);
}
BENCHMARK(BM_IndexBatch)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);

// Batches of 512 new accounts into an index of N until it holds 3 N, so
// that its table grows at least once whatever room the rebuild left: the
// longest Commit is how long lookups and the writer wait at the batches
// where it grows; the mean is the ordinary batch. Each version is forgotten
// once the next is made (the server keeps its lookup window instead).
void BM_IndexGrowth(benchmark::State& state) {
  const int64_t n = state.range(0);
  IndexVersions v;
  if (!v.Load(Entries(n, 0), 1, 0).ok()) abort();
  uint64_t version = 1;
  int64_t salt = 1;
  absl::Duration longest, total;
  int64_t batches = 0;
  for (auto _ : state) {
    for (int64_t added = 0; added < 2 * n; added += 512) {
      auto update = v.Prepare(Entries(512, salt++));
      if (!update.ok()) abort();
      ++version;
      absl::Time t0 = absl::Now();
      v.Commit(*update, version, version);  // made at "time" `version`
      absl::Duration took = absl::Now() - t0;
      v.Forget(version);
      longest = std::max(longest, took);
      total += took;
      ++batches;
    }
  }
  state.counters["longest_commit_ms"] = absl::ToDoubleMilliseconds(longest);
  state.counters["mean_commit_ms"] =
      absl::ToDoubleMilliseconds(total / batches);
}
BENCHMARK(BM_IndexGrowth)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace ktlog

BENCHMARK_MAIN();
