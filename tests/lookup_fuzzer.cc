// Fuzzes what a client does with the answers about one account from a log
// it does not trust: lookups and histories. The protobuf (proto/convert.h
// FromProto) and the verification (verifier/lookup.h) against a signed
// checkpoint of an in-memory log holding alice@example.com (two devices, a
// rotation, a device signed by the new key) and bob@example.com.
//
// Two ways in, each for both answers: the input as the message
// (AccountLookup, AccountHistory), and the input as edits to alice's real
// answer ((offset: 2 bytes, xor: 1 byte) triples). A verified lookup,
// whether the client knew alice's first key or needed the first-record
// anchor, must say exactly what the real one says: alice's state, devices
// and key chain; mallory@example.com absent. A verified history must be a
// prefix of alice's versions, with the state after them; none of mallory's.
#include <cstdlib>
#include <string>

#include "core/account/account.h"
#include "proto/convert.h"
#include "verifier/lookup.h"
#include "verifier/memory_log.h"

namespace {

using namespace ktlog;  // NOLINT: a fuzzer's one function

// Deterministic, so that a crashing input reproduces in any process.
struct Fixture {
  MemoryLog log{std::string(32, 'v')};
  LogCheckpoint checkpoint;
  std::string valid;  // alice's lookup answer, serialised
  VerifiedAccount alice;
  std::string valid_history;  // alice's history from version 1, serialised
  std::vector<std::string> alice_records;  // her records, in version order
  std::vector<std::string> alice_states;   // her state after 0, 1, ... of them
  std::string alice_first_key;             // the key of her first record
};

DeviceRecord Record(Operation op, const std::string& device, uint64_t version,
                    const Ed25519PrivateKey& signer, const std::string& key,
                    const std::string& account) {
  DeviceRecord r;
  r.operation = op;
  r.account_id = account;
  r.device_id = device;
  r.key = key;
  r.account_version = version;
  r.timestamp_ms = 1000;
  r.Sign(signer);
  return r;
}

// `bytes` as a history of `id` from version 1: what it verifies to, if it
// does.
absl::StatusOr<std::pair<std::vector<VerifiedDevice>, AccountState>>
VerifyHistory(const Fixture& f, const std::string& bytes,
              const std::string& id) {
  v1::AccountHistory proto;
  if (!proto.ParseFromString(bytes)) {
    return absl::InvalidArgumentError("not a message");
  }
  absl::StatusOr<AccountHistoryAnswer> answer = FromProto(proto);
  if (!answer.ok()) return answer.status();
  AccountState state;
  state.account_id = id;
  absl::StatusOr<std::vector<VerifiedDevice>> records =
      VerifyAccountHistory(f.checkpoint, f.log.vrf_key(), id, *answer, &state);
  if (!records.ok()) return records.status();
  return std::make_pair(*std::move(records), std::move(state));
}

Fixture* Make() {
  auto* f = new Fixture;
  Ed25519PrivateKey a1 = *Ed25519PrivateKey::FromSeed(std::string(32, '1'));
  Ed25519PrivateKey a2 = *Ed25519PrivateKey::FromSeed(std::string(32, '2'));
  Ed25519PrivateKey b = *Ed25519PrivateKey::FromSeed(std::string(32, 'b'));
  const std::string alice = "alice@example.com";
  std::vector<DeviceRecord> records = {
      Record(Operation::kAddDevice, "phone", 1, a1, std::string(32, 'p'),
             alice),
      Record(Operation::kAddDevice, "laptop", 2, a1, std::string(32, 'l'),
             alice),
      Record(Operation::kRotateAccountKey, "", 3, a1, a2.public_key().bytes(),
             alice),
      Record(Operation::kAddDevice, "tablet", 4, a2, std::string(32, 't'),
             alice),
      Record(Operation::kAddDevice, "phone", 1, b, std::string(32, 'q'),
             "bob@example.com"),
  };
  AccountState alice_state, bob_state;
  alice_state.account_id = alice;
  bob_state.account_id = "bob@example.com";
  f->alice_states.push_back(alice_state.Encode());
  for (size_t i = 0; i < records.size(); ++i) {
    AccountState* s =
        records[i].account_id == alice ? &alice_state : &bob_state;
    if (!ApplyRecord(records[i], i, s).ok()) abort();
    f->log.Append(records[i], *s);
    if (s == &alice_state) {
      f->alice_records.push_back(records[i].Encode());
      f->alice_states.push_back(alice_state.Encode());
    }
  }
  f->checkpoint = f->log.Checkpoint();
  f->alice_first_key = a1.public_key().bytes();
  AccountLookupAnswer answer = f->log.Lookup(alice);
  v1::AccountLookup proto;
  ToProto(answer, &proto);
  f->valid = proto.SerializeAsString();
  absl::StatusOr<VerifiedAccount> real =
      VerifyAccountLookup(f->checkpoint, f->log.vrf_key(), alice, answer, "");
  if (!real.ok() || !real->state.has_value()) abort();
  f->alice = *std::move(real);
  v1::AccountHistory history;
  ToProto(f->log.History(alice), &history);
  f->valid_history = history.SerializeAsString();
  auto all = VerifyHistory(*f, f->valid_history, alice);
  if (!all.ok() || all->first.size() != f->alice_records.size()) abort();
  return f;
}

bool Same(const VerifiedAccount& a, const VerifiedAccount& b) {
  if (a.position != b.position || a.state.has_value() != b.state.has_value() ||
      a.devices.size() != b.devices.size() || a.key_chain != b.key_chain) {
    return false;
  }
  if (a.state.has_value() && a.state->Encode() != b.state->Encode()) {
    return false;
  }
  for (size_t i = 0; i < a.devices.size(); ++i) {
    if (a.devices[i].record.Encode() != b.devices[i].record.Encode()) {
      return false;
    }
  }
  return true;
}

void Check(const Fixture& f, const std::string& bytes) {
  v1::AccountLookup proto;
  if (!proto.ParseFromString(bytes)) return;
  absl::StatusOr<AccountLookupAnswer> answer = FromProto(proto);
  if (!answer.ok()) return;
  for (const std::string& known : {std::string(), f.alice_first_key}) {
    absl::StatusOr<VerifiedAccount> alice = VerifyAccountLookup(
        f.checkpoint, f.log.vrf_key(), "alice@example.com", *answer, known);
    if (alice.ok() && !Same(*alice, f.alice)) abort();
  }
  absl::StatusOr<VerifiedAccount> mallory = VerifyAccountLookup(
      f.checkpoint, f.log.vrf_key(), "mallory@example.com", *answer, "");
  if (mallory.ok() && mallory->state.has_value()) abort();
}

void CheckHistory(const Fixture& f, const std::string& bytes) {
  auto alice = VerifyHistory(f, bytes, "alice@example.com");
  if (alice.ok()) {
    const std::vector<VerifiedDevice>& got = alice->first;
    if (got.size() > f.alice_records.size()) abort();
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].record.Encode() != f.alice_records[i]) abort();
    }
    if (alice->second.Encode() != f.alice_states[got.size()]) abort();
  }
  auto mallory = VerifyHistory(f, bytes, "mallory@example.com");
  if (mallory.ok() && !mallory->first.empty()) abort();
}

// `valid` with the edits `data` describes.
std::string Edited(std::string valid, const uint8_t* data, size_t size) {
  for (size_t i = 0; i + 3 <= size; i += 3) {
    size_t offset = (data[i] | data[i + 1] << 8) % valid.size();
    valid[offset] = static_cast<char>(valid[offset] ^ data[i + 2]);
  }
  return valid;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture* f = Make();
  std::string input(reinterpret_cast<const char*>(data), size);
  Check(*f, input);
  Check(*f, Edited(f->valid, data, size));
  CheckHistory(*f, input);
  CheckHistory(*f, Edited(f->valid_history, data, size));
  return 0;
}
