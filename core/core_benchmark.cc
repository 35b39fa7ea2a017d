// Google Benchmark microbenchmarks of the core primitives: hashing, proof
// verification, signatures, record checks and the account index. Results
// and the machine are in docs/benchmarks.md (tools/dev bench).
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/account/commitment.h"
#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/account/record.h"
#include "core/crypto/crypto.h"
#include "core/crypto/vrf.h"
#include "core/merkle/compact_range.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"

namespace ktlog {
namespace {

void BM_HashLeaf(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(HashLeaf(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HashLeaf)->Arg(64)->Arg(200)->Arg(628);

void BM_HashChildren(benchmark::State& state) {
  Hash a = Sha256("a"), b = Sha256("b");
  for (auto _ : state) benchmark::DoNotOptimize(a = HashChildren(a, b));
}
BENCHMARK(BM_HashChildren);

void BM_CompactRangeAppend(benchmark::State& state) {
  CompactRange range;
  Hash leaf = Sha256("leaf");
  for (auto _ : state) range.Append(leaf);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CompactRangeAppend);

// Verifying an inclusion proof in a tree of 2^20 leaves.
void BM_VerifyInclusion(benchmark::State& state) {
  uint64_t size = uint64_t{1} << 20, index = 123457;
  std::vector<Hash> proof(InclusionProofPlan(index, size)->size(), Sha256("h"));
  Hash leaf = Sha256("leaf");
  Hash root = *RootFromInclusionProof(index, size, leaf, proof);
  for (auto _ : state) {
    benchmark::DoNotOptimize(VerifyInclusion(index, size, leaf, proof, root));
  }
}
BENCHMARK(BM_VerifyInclusion);

void BM_Ed25519Sign(benchmark::State& state) {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  std::string msg(200, 'm');
  for (auto _ : state) benchmark::DoNotOptimize(key.Sign(msg));
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  std::string msg(200, 'm');
  std::string sig = key.Sign(msg);
  for (auto _ : state)
    benchmark::DoNotOptimize(key.public_key().Verify(msg, sig));
}
BENCHMARK(BM_Ed25519Verify);

// What the server does per write before sequencing: decode and verify.
void BM_RecordDecodeAndVerify(benchmark::State& state) {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  DeviceRecord r;
  r.account_id = "alice@example.com";
  r.device_id = "phone";
  r.key = std::string(32, 'k');
  r.account_version = 1;
  r.timestamp_ms = 1764270000000;
  r.Sign(key);
  std::string bytes = r.Encode();
  for (auto _ : state) {
    absl::StatusOr<DeviceRecord> d = DecodeRecord(bytes);
    benchmark::DoNotOptimize(d->VerifySignature());
  }
}
BENCHMARK(BM_RecordDecodeAndVerify);

// The private directory: what the log computes once per new account (a VRF
// proof), what a client checks per lookup (a VRF verification), and the
// commitment per record.
void BM_VrfProve(benchmark::State& state) {
  VrfPrivateKey key = VrfPrivateKey::Generate();
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        key.Prove(AccountVrfInput(absl::StrCat("user", i++, "@example.com"))));
  }
}
BENCHMARK(BM_VrfProve);

void BM_VrfVerify(benchmark::State& state) {
  VrfPrivateKey key = VrfPrivateKey::Generate();
  std::string alpha = AccountVrfInput("alice@example.com");
  std::string proof = key.Prove(alpha)->proof;
  for (auto _ : state) {
    benchmark::DoNotOptimize(key.public_key().Verify(alpha, proof));
  }
}
BENCHMARK(BM_VrfVerify);

void BM_Commit(benchmark::State& state) {
  std::string opening = NewOpening();
  std::string value(static_cast<size_t>(state.range(0)), 'v');
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        Commit(opening, CommitmentKind::kState, "alice@example.com", 7, value));
  }
}
BENCHMARK(BM_Commit)->Arg(200)->Arg(1000);

const IndexSnapshot* IndexOf(int64_t n) {
  static auto* cache = new std::map<int64_t, IndexSnapshot*>();
  IndexSnapshot*& index = (*cache)[n];
  if (index == nullptr) {
    std::vector<std::pair<Hash, Hash>> all;
    for (int64_t i = 0; i < n; ++i) {
      all.emplace_back(Sha256(absl::StrCat("u", i)), Sha256(absl::StrCat(i)));
    }
    index = new IndexSnapshot(*IndexSnapshot::Build(std::move(all)));
  }
  return index;
}

// One batch's index update: 256 changed accounts in an index of n accounts.
void BM_IndexUpdateBatch(benchmark::State& state) {
  const IndexSnapshot* index = IndexOf(state.range(0));
  uint64_t round = 0;
  for (auto _ : state) {
    std::vector<std::pair<Hash, Hash>> changes;
    for (int i = 0; i < 256; ++i) {
      changes.emplace_back(
          Sha256(absl::StrCat("u", (round * 256 + i) % state.range(0))),
          Sha256(absl::StrCat("v", round, i)));
    }
    ++round;
    benchmark::DoNotOptimize(index->Apply(std::move(changes)));
  }
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_IndexUpdateBatch)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);

void BM_IndexProveAndVerify(benchmark::State& state) {
  const IndexSnapshot* index = IndexOf(state.range(0));
  uint64_t i = 0;
  for (auto _ : state) {
    Hash key = Sha256(absl::StrCat("u", i++ % state.range(0)));
    std::optional<Hash> value;
    IndexProof proof = index->Prove(key, &value);
    benchmark::DoNotOptimize(
        VerifyIndexProof(index->root(), key, value, proof));
  }
}
BENCHMARK(BM_IndexProveAndVerify)->Arg(100000)->Arg(1000000);

}  // namespace
}  // namespace ktlog
