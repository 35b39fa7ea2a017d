// Fuzzes what a client does with a lookup answer from a log it does not
// trust: the protobuf (proto/convert.h FromProto) and the verification
// (verifier/lookup.h) against a signed checkpoint of an in-memory log
// holding alice@example.com (two devices, a rotation, a device signed by
// the new key) and bob@example.com.
//
// Two ways in: the input as an AccountLookup message, and the input as
// edits to alice's real answer ((offset: 2 bytes, xor: 1 byte) triples). A
// verified answer must say exactly what the real one says: alice's state,
// devices and key chain; mallory@example.com absent.
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
  std::string valid;  // alice's answer, serialised
  VerifiedAccount alice;
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
  for (size_t i = 0; i < records.size(); ++i) {
    AccountState* s =
        records[i].account_id == alice ? &alice_state : &bob_state;
    if (!ApplyRecord(records[i], i, s).ok()) abort();
    f->log.Append(records[i], *s);
  }
  f->checkpoint = f->log.Checkpoint();
  AccountLookupAnswer answer = f->log.Lookup(alice);
  v1::AccountLookup proto;
  ToProto(answer, &proto);
  f->valid = proto.SerializeAsString();
  absl::StatusOr<VerifiedAccount> real =
      VerifyAccountLookup(f->checkpoint, f->log.vrf_key(), alice, answer);
  if (!real.ok() || !real->state.has_value()) abort();
  f->alice = *std::move(real);
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
  absl::StatusOr<VerifiedAccount> alice = VerifyAccountLookup(
      f.checkpoint, f.log.vrf_key(), "alice@example.com", *answer);
  if (alice.ok() && !Same(*alice, f.alice)) abort();
  absl::StatusOr<VerifiedAccount> mallory = VerifyAccountLookup(
      f.checkpoint, f.log.vrf_key(), "mallory@example.com", *answer);
  if (mallory.ok() && mallory->state.has_value()) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture* f = Make();
  std::string input(reinterpret_cast<const char*>(data), size);
  Check(*f, input);
  std::string edited = f->valid;
  for (size_t i = 0; i + 3 <= size; i += 3) {
    size_t offset = (data[i] | data[i + 1] << 8) % edited.size();
    edited[offset] = static_cast<char>(edited[offset] ^ data[i + 2]);
  }
  Check(*f, edited);
  return 0;
}
