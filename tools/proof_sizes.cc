// proof_sizes: measures the size of account lookup answers (the bytes a
// contact downloads to learn and verify one account's devices) as the
// number of accounts grows.
//
// For each N it builds the account index of N accounts in memory, each at
// its real position (the VRF output of its id under a fresh VRF key). The
// sampled accounts get their real state (two devices added by two signed
// records) with its real state commitment; the other accounts' index
// values are random (a value is one hash whatever it commits to, so the
// proof's shape and size do not depend on it). Each sampled answer is a
// real ktlog.v1.AccountLookup (VRF proof, index proof, state, opening) and
// is verified with verifier/lookup.h before it is measured, as is each
// absence proof for accounts that do not exist.
//
// usage: proof_sizes [--accounts=1000,100000,1000000] [--samples=1000]
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/account/account.h"
#include "core/account/commitment.h"
#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/account/record.h"
#include "core/account/security_key.h"
#include "core/crypto/crypto.h"
#include "core/crypto/vrf.h"
#include "core/note/checkpoint.h"
#include "core/util/clock.h"
#include "core/util/flags.h"
#include "proto/convert.h"
#include "proto/ktlog.pb.h"
#include "verifier/lookup.h"

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

void Check(const absl::Status& s, absl::string_view what) {
  if (s.ok()) return;
  std::cerr << "proof_sizes: " << what << ": " << s << "\n";
  abort();
}

std::string AccountId(uint64_t i) {
  return absl::StrCat("user", i, "@example.com");
}

// The VRF positions of accounts 0..n-1, on every core.
std::vector<VrfPrivateKey::Evaluation> Positions(const VrfPrivateKey& vrf,
                                                 uint64_t n) {
  std::vector<VrfPrivateKey::Evaluation> out(n);
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < cores; ++w) {
    workers.emplace_back([&, w] {
      for (uint64_t i = w; i < n; i += cores) {
        out[i] = *vrf.Prove(AccountVrfInput(AccountId(i)));
      }
    });
  }
  for (std::thread& t : workers) t.join();
  return out;
}

// A sampled account's state after two signed add-device records, and the
// opening of its state commitment; the same account after two key
// rotations more (its state carries both in the key chain); and its first
// record.
struct Sample {
  uint64_t account = 0;
  AccountState state;
  std::string opening;
  Hash value_hash;
  AccountState rotated;
  // The account on security keys instead: its phone, the switch to two
  // keys, a laptop added with a touch of one, a third key added with a
  // touch of the other (two devices, two authority changes).
  AccountState on_keys;
  std::string first_record;
};

// An EdDSA security key as the soft authenticator would hold it (the
// assertion is an Ed25519 signature over authenticator data || client data
// hash); a credential id of 64 bytes, as USB keys make.
struct SizedKey {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  SecurityKey Public(int n) const {
    return SecurityKey{Sha256(absl::StrCat("cred", n)).bytes() +
                           Sha256(absl::StrCat("id", n)).bytes(),
                       KeyAlgorithm::kEdDsa, key.public_key().bytes()};
  }
};

std::string SetOf(std::vector<SecurityKey> keys) {
  SecurityKeySet set;
  set.rp_id = "ktlog.example";
  set.keys = std::move(keys);
  std::sort(set.keys.begin(), set.keys.end(),
            [](const SecurityKey& a, const SecurityKey& b) {
              return a.credential_id < b.credential_id;
            });
  return set.Encode();
}

// Applies `r` to `s`, authorized by `key` (credential `id`) with counter
// `count`.
void ApplyByKey(DeviceRecord r, const SizedKey& key, const std::string& id,
                uint32_t count, uint64_t leaf_index, AccountState* s) {
  r.credential_id = id;
  r.authenticator_data = Sha256("ktlog.example").bytes() + '\x01' +
                         std::string{0, 0, 0, static_cast<char>(count)};
  r.signature = key.key.Sign(r.authenticator_data + r.ClientDataHash().bytes());
  Check(ApplyRecord(r, leaf_index, s), "apply by security key");
}

void PutOnKeys(Sample* s, const Ed25519PrivateKey& account_key) {
  AccountState& k = s->on_keys;
  k = AccountState();
  k.account_id = s->state.account_id;
  DeviceRecord first = *DecodeRecord(s->first_record);
  Check(ApplyRecord(first, 2 * s->account, &k), "first");
  SizedKey a, b, c;
  DeviceRecord r;
  r.account_id = k.account_id;
  r.timestamp_ms = RealClock::Get()->NowMillis();
  r.operation = Operation::kSetSecurityKeys;
  r.key = SetOf({a.Public(1), b.Public(2)});
  r.account_version = 2;
  r.Sign(account_key);
  Check(ApplyRecord(r, 2 * s->account + 1, &k), "switch");
  r = DeviceRecord();
  r.account_id = k.account_id;
  r.timestamp_ms = RealClock::Get()->NowMillis();
  r.operation = Operation::kAddDevice;
  r.device_id = "laptop";
  r.key = Sha256(absl::StrCat("laptop", s->account)).bytes();
  r.account_version = 3;
  ApplyByKey(r, a, a.Public(1).credential_id, 1, 2 * s->account + 2, &k);
  r.operation = Operation::kSetSecurityKeys;
  r.device_id.clear();
  r.key = SetOf({a.Public(1), b.Public(2), c.Public(3)});
  r.account_version = 4;
  ApplyByKey(r, b, b.Public(2).credential_id, 1, 2 * s->account + 3, &k);
}

Sample MakeSample(uint64_t i, const Ed25519PrivateKey& key) {
  Sample s;
  s.account = i;
  s.state.account_id = AccountId(i);
  int v = 0;
  for (const char* device : {"phone", "laptop"}) {
    DeviceRecord r;
    r.account_id = s.state.account_id;
    r.device_id = device;
    r.key = Sha256(absl::StrCat(device, i)).bytes();
    r.account_version = ++v;
    r.timestamp_ms = RealClock::Get()->NowMillis();
    r.Sign(key);
    Check(ApplyRecord(r, 2 * i + v - 1, &s.state), "apply");
    if (v == 1) s.first_record = r.Encode();
  }
  s.rotated = s.state;
  Ed25519PrivateKey k1 = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey k2 = Ed25519PrivateKey::Generate();
  const Ed25519PrivateKey* signer = &key;
  for (const Ed25519PrivateKey* next : {&k1, &k2}) {
    DeviceRecord r;
    r.operation = Operation::kRotateAccountKey;
    r.account_id = s.state.account_id;
    r.key = next->public_key().bytes();
    r.account_version = s.rotated.version + 1;
    r.timestamp_ms = RealClock::Get()->NowMillis();
    r.Sign(*signer);
    Check(ApplyRecord(r, 2 * i + r.account_version - 1, &s.rotated), "rotate");
    signer = next;
  }
  PutOnKeys(&s, key);
  s.opening = NewOpening();
  Hash commitment = Commit(s.opening, CommitmentKind::kState,
                           s.state.account_id, 2, s.state.Encode());
  s.value_hash = IndexValueHash(2, commitment);
  return s;
}

// The size of `lookup` with a first-record anchor, as a client's first
// lookup of the account carries it: the version-1 leaf (at `leaf_index`),
// its inclusion proof of `inclusion_hashes` hashes, the record and the
// opening.
size_t WithFirstRecordAnchor(v1::AccountLookup lookup, uint64_t leaf_index,
                             size_t inclusion_hashes,
                             const std::string& first_record) {
  v1::HistoryEntry* first = lookup.mutable_first_record();
  first->set_leaf_index(leaf_index);
  first->set_leaf(std::string(kLeafSize, 'l'));
  for (size_t h = 0; h < inclusion_hashes; ++h) {
    first->add_inclusion_proof(std::string(Hash::kSize, 'h'));
  }
  first->set_record(first_record);
  first->set_record_opening(NewOpening());
  return lookup.ByteSizeLong();
}

// The sizes of the index proof and the whole answer proving `absent`
// absent, verified first.
void MeasureAbsent(const LogCheckpoint& cp, const VrfPrivateKey& vrf,
                   const IndexSnapshot& index, const std::string& absent,
                   Stats* index_bytes, Stats* lookup_bytes) {
  VrfPrivateKey::Evaluation e = *vrf.Prove(AccountVrfInput(absent));
  AccountLookupAnswer none;
  none.tree_size = cp.size;
  none.vrf_proof = e.proof;
  std::optional<Hash> value;
  none.index_proof = index.Prove(e.output, &value).Encode();
  Check(VerifyAccountLookup(cp, vrf.public_key(), absent, none, "").status(),
        "verify absent");
  v1::AccountLookup proto;
  ToProto(none, &proto);
  index_bytes->Add(none.index_proof.size());
  lookup_bytes->Add(proto.ByteSizeLong());
}

void Measure(uint64_t n, int samples) {
  VrfPrivateKey vrf = VrfPrivateKey::Generate();
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  absl::StatusOr<NoteSigner> signer = NoteSigner::Generate("ktlog.example/log");
  Check(signer.status(), "signer");
  std::vector<VrfPrivateKey::Evaluation> positions = Positions(vrf, n);
  std::mt19937_64 rng(n);
  std::map<uint64_t, Sample> sampled;
  while (sampled.size() < std::min<uint64_t>(samples, n)) {
    uint64_t i = rng() % n;
    if (sampled.count(i) == 0) sampled.emplace(i, MakeSample(i, key));
  }
  std::vector<std::pair<Hash, Hash>> batch;
  for (uint64_t i = 0; i < n; ++i) {
    auto it = sampled.find(i);
    batch.emplace_back(positions[i].output,
                       it != sampled.end()
                           ? it->second.value_hash
                           : Sha256(absl::StrCat("value ", rng())));
  }
  absl::StatusOr<IndexSnapshot> built = IndexSnapshot::Build(std::move(batch));
  Check(built.status(), "index");
  const IndexSnapshot& index = *built;
  LogCheckpoint cp;
  cp.origin = signer->name();
  cp.size = 2 * n;
  cp.root = Sha256("root");
  cp.index_root = index.root();
  cp.timestamp_ms = RealClock::Get()->NowMillis();
  std::string note = SignLogCheckpoint(cp, *signer);

  Stats index_member, index_absent, lookup_member, lookup_absent, depth,
      with_note, rotated_member, anchored_member, keys_member;
  // The inclusion proof of a leaf in the log's tree of cp.size leaves.
  size_t inclusion_hashes = 0;
  while ((uint64_t{1} << inclusion_hashes) < cp.size) ++inclusion_hashes;
  for (const auto& [i, sample] : sampled) {
    AccountLookupAnswer answer;
    answer.tree_size = cp.size;
    answer.vrf_proof = positions[i].proof;
    std::optional<Hash> value;
    IndexProof proof = index.Prove(positions[i].output, &value);
    answer.index_proof = proof.Encode();
    answer.account_state = sample.state.Encode();
    answer.state_opening = sample.opening;
    // As a contact that verified the account's first key before asks: no
    // first-record anchor.
    Check(VerifyAccountLookup(cp, vrf.public_key(), sample.state.account_id,
                              answer, sample.state.first_key)
              .status(),
          "verify member");
    v1::AccountLookup lookup;
    ToProto(answer, &lookup);
    index_member.Add(answer.index_proof.size());
    lookup_member.Add(lookup.ByteSizeLong());
    // The same account after two key rotations: only its state is larger
    // (the rotations are in the key chain, with no proof each), checked
    // as a contact checks it.
    Check(VerifyAccountAuthority(sample.rotated).status(), "verify rotated");
    rotated_member.Add(lookup.ByteSizeLong() - sample.state.Encode().size() +
                       sample.rotated.Encode().size());
    Check(VerifyAccountAuthority(sample.on_keys).status(), "verify on keys");
    keys_member.Add(lookup.ByteSizeLong() - sample.state.Encode().size() +
                    sample.on_keys.Encode().size());
    anchored_member.Add(WithFirstRecordAnchor(lookup, 2 * i, inclusion_hashes,
                                              sample.first_record));
    lookup.mutable_checkpoint()->set_note(note);
    with_note.Add(lookup.ByteSizeLong());
    depth.Add(proof.siblings.size());

    MeasureAbsent(cp, vrf, index, absl::StrCat("absent", rng(), "@x.example"),
                  &index_absent, &lookup_absent);
  }
  const IndexSnapshot::Shape shape = index.Measure();
  std::cout << "accounts " << n << " (log of " << cp.size << " leaves)\n"
            << "  index proof depth (hashes):   " << depth.Summary() << "\n"
            << "  index proof bytes, member:    " << index_member.Summary()
            << "\n"
            << "  index proof bytes, absent:    " << index_absent.Summary()
            << "\n"
            << "  whole lookup bytes, member:   " << lookup_member.Summary()
            << "  (2 devices; at a checkpoint the client holds)\n"
            << "  ... after 2 key rotations:    " << rotated_member.Summary()
            << "\n"
            << "  ... on security keys:         " << keys_member.Summary()
            << "  (2 devices, 1 by a key; the switch to 2 keys and a 3rd "
               "key added)\n"
            << "  ... first lookup (anchor):    " << anchored_member.Summary()
            << "  (with the first-record anchor; asked once per account)\n"
            << "  the same with the checkpoint: " << with_note.Summary()
            << "  (at the latest: the signed note comes along)\n"
            << "  whole lookup bytes, absent:   " << lookup_absent.Summary()
            << "\n"
            << "  index in memory:              " << shape.trie_nodes
            << " trie nodes, " << shape.buckets << " buckets\n";
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
