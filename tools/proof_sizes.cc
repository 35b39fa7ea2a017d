// proof_sizes: measures the size of account lookup answers (the bytes a
// client downloads to verify one account) as the number of accounts grows.
//
// For each N it builds the account index of N accounts (each with two
// devices, as after two add-device records) in memory, then for sample
// accounts serialises a real ktlog.v1.AccountLookup: the real index proof
// and account state, real device and key records, and inclusion proofs of
// the length RFC 9162 gives for a log of 2N records (proof bytes depend on
// the length only). Also absence proofs for accounts that do not exist.
//
// usage: proof_sizes [--accounts=1000,100000,1000000] [--samples=1000]
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/account/account.h"
#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/account/record.h"
#include "core/merkle/proof.h"
#include "core/util/clock.h"
#include "core/util/flags.h"
#include "proto/ktlog.pb.h"

namespace ktlog {
namespace {

struct Stats {
  std::vector<size_t> v;
  void Add(size_t x) { v.push_back(x); }
  std::string Summary() {
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (size_t x : v) sum += x;
    return absl::StrCat("min ", v.front(), " / mean ",
                        static_cast<size_t>(sum / v.size()), " / p99 ",
                        v[v.size() * 99 / 100], " / max ", v.back());
  }
};

std::string AccountId(uint64_t i) {
  return absl::StrCat("user", i, "@example.com");
}

void Measure(uint64_t n, int samples) {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  uint64_t log_size = 2 * n;
  InMemoryIndex index;
  std::vector<std::pair<Hash, Hash>> batch;
  auto state_of = [&](uint64_t i) {
    AccountState s;
    s.account_id = AccountId(i);
    s.account_key = key.public_key().bytes();
    s.version = 2;
    s.devices["laptop"] = ActiveDevice{std::string(32, 'l'), 2 * i + 1};
    s.devices["phone"] = ActiveDevice{std::string(32, 'p'), 2 * i};
    return s;
  };
  for (uint64_t i = 0; i < n; ++i) {
    batch.emplace_back(AccountIndexKey(AccountId(i)),
                       AccountValueHash(state_of(i)));
    if (batch.size() == 10000 || i + 1 == n) {
      if (!index.Apply(std::move(batch)).ok()) abort();
      batch.clear();
    }
  }
  std::mt19937_64 rng(n);
  Stats index_member, index_absent, lookup_member, lookup_absent, depth;
  for (int s = 0; s < samples; ++s) {
    uint64_t i = rng() % n;
    AccountState state = state_of(i);
    std::optional<Hash> value;
    auto proof = ProveIndex(&index, AccountIndexKey(state.account_id), &value);
    if (!proof.ok() || !value.has_value()) abort();
    v1::AccountLookup lookup;
    lookup.set_tree_size(log_size);
    lookup.set_index_proof(proof->Encode());
    lookup.set_account_state(state.Encode());
    uint64_t leaf = 2 * i;
    for (const auto& [device_id, device] : state.devices) {
      DeviceRecord r;
      r.account_id = state.account_id;
      r.device_id = device_id;
      r.key = device.key;
      r.account_version = device.leaf_index - 2 * i + 1;
      r.timestamp_ms = RealClock::Get()->NowMillis();
      r.Sign(key);
      v1::ProvedRecord* p = lookup.add_devices();
      p->set_leaf_index(device.leaf_index);
      p->set_record(r.Encode());
      size_t len = InclusionProofPlan(device.leaf_index, log_size)->size();
      for (size_t h = 0; h < len; ++h)
        p->add_inclusion_proof(std::string(32, 'h'));
      if (device.leaf_index == leaf) *lookup.add_key_records() = *p;
    }
    index_member.Add(proof->Encode().size());
    lookup_member.Add(lookup.ByteSizeLong());
    depth.Add(proof->siblings.size());

    Hash absent = AccountIndexKey(absl::StrCat("absent", rng()));
    auto absence = ProveIndex(&index, absent, &value);
    if (!absence.ok() || value.has_value()) abort();
    v1::AccountLookup none;
    none.set_tree_size(log_size);
    none.set_index_proof(absence->Encode());
    index_absent.Add(absence->Encode().size());
    lookup_absent.Add(none.ByteSizeLong());
  }
  std::cout << "accounts " << n << " (log of " << log_size << " records)\n"
            << "  index proof depth (hashes):   " << depth.Summary() << "\n"
            << "  index proof bytes, member:    " << index_member.Summary()
            << "\n"
            << "  index proof bytes, absent:    " << index_absent.Summary()
            << "\n"
            << "  whole lookup bytes, member:   " << lookup_member.Summary()
            << "  (2 devices, 1 key record)\n"
            << "  whole lookup bytes, absent:   " << lookup_absent.Summary()
            << "\n"
            << "  index nodes in memory:        " << index.node_count() << "\n";
}

}  // namespace
}  // namespace ktlog

int main(int argc, char** argv) {
  std::string accounts = "1000,100000,1000000";
  uint64_t samples = 1000;
  ktlog::FlagSet flags("usage: proof_sizes [--accounts=N,N,...] [--samples=K]");
  flags.String("accounts", &accounts, "account counts to measure");
  flags.Uint64("samples", &samples, "lookups sampled per count");
  std::vector<std::string> args;
  int exit_code;
  if (!ktlog::ParseMainFlags(flags, argc, argv, "proof_sizes", &args,
                             &exit_code)) {
    return exit_code;
  }
  for (absl::string_view part : absl::StrSplit(accounts, ',')) {
    uint64_t n;
    if (!absl::SimpleAtoi(part, &n) || n == 0) {
      std::cerr << "bad --accounts\n";
      return 2;
    }
    ktlog::Measure(n, static_cast<int>(samples));
  }
  return 0;
}
