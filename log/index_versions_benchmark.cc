// The log's account index at 10^5 to 10^8 accounts (synthetic positions):
// how long a start-up's rebuild takes (IndexVersions::Load), the memory the
// index then holds per account, what a batch of 512 new accounts costs
// (Prepare and Commit, as the integrator does them), and a proof. Results
// in docs/benchmarks.md (tools/dev bench). 10^8 needs ~14 GB at its peak
// (the entries as a start-up reads them, beside the index).
#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "core/account/index_tree.h"
#include "log/index_versions.h"

namespace ktlog {
namespace {

// `n` random (position, value hash) pairs: positions are VRF outputs,
// uniformly random; no hashing, so that 10^8 are made in seconds.
std::vector<std::pair<Hash, Hash>> Entries(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<Hash, Hash>> e(n);
  for (auto& [key, value] : e) {
    for (Hash* h : {&key, &value}) {
      for (int i = 0; i < 32; i += 8) {
        uint64_t r = rng();
        std::memcpy(h->mutable_data() + i, &r, 8);
      }
    }
  }
  return e;
}

// The bytes malloc has handed out and not taken back (mallinfo2: in use
// in its arenas and mapped on their own), headers included: what the index
// holds, whatever the process held before.
double AllocatedBytes() {
  struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
}

// One row per size: the rebuild (timed), then 100 batches of 512 new
// accounts, each version forgotten once the next is made (the server keeps
// its lookup window instead: memory per version is reported apart).
void BM_Index(benchmark::State& state) {
  const int64_t n = state.range(0);
  for (auto _ : state) {
    const double before = AllocatedBytes();
    std::vector<std::pair<Hash, Hash>> entries = Entries(n, 1);
    auto versions = std::make_unique<IndexVersions>();
    absl::Time t0 = absl::Now();
    if (!versions->Load(std::move(entries), 1, 0).ok()) abort();
    const absl::Duration build = absl::Now() - t0;
    // Load consumed the entries: what is allocated now is the index.
    state.counters["build_s"] = absl::ToDoubleSeconds(build);
    state.counters["bytes_per_account"] = (AllocatedBytes() - before) / n;

    absl::StatusOr<IndexSnapshot> latest = versions->At(1);
    IndexSnapshot::Shape shape = latest->Measure();
    state.counters["keys_per_bucket"] =
        static_cast<double>(shape.keys) / shape.buckets;

    absl::Duration longest, total;
    const int kBatches = 100;
    for (int b = 0; b < kBatches; ++b) {
      std::vector<std::pair<Hash, Hash>> batch = Entries(512, 100 + b);
      absl::Time start = absl::Now();
      absl::StatusOr<IndexSnapshot> next = versions->Prepare(std::move(batch));
      if (!next.ok()) abort();
      versions->Commit(*std::move(next), 2 + b, 2 + b);
      versions->Forget(2 + b);
      absl::Duration took = absl::Now() - start;
      longest = std::max(longest, took);
      total += took;
    }
    state.counters["batch512_ms_mean"] =
        absl::ToDoubleMilliseconds(total / kBatches);
    state.counters["batch512_ms_max"] = absl::ToDoubleMilliseconds(longest);

    // Proofs of present keys (a lookup's index work).
    latest = versions->At(versions->latest());
    std::vector<std::pair<Hash, Hash>> keys =
        Entries(std::min<int64_t>(n, 20000), 1);
    absl::Time p0 = absl::Now();
    size_t found = 0;
    for (const auto& [key, value] : keys) {
      std::optional<Hash> got;
      benchmark::DoNotOptimize(latest->Prove(key, &got));
      found += got.has_value();
    }
    if (found != keys.size()) abort();
    state.counters["prove_us"] =
        absl::ToDoubleMicroseconds((absl::Now() - p0) / keys.size());
    // Destroying 10^8 accounts' nodes is not a start-up's work.
    state.PauseTiming();
    latest = IndexSnapshot();
    versions.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Index)
    ->Arg(100000)
    ->Arg(1000000)
    ->Arg(10000000)
    ->Arg(100000000)
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

}  // namespace
}  // namespace ktlog

BENCHMARK_MAIN();
