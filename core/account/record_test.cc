#include "core/account/record.h"

#include <memory>

#include "core/account/account.h"
#include "core/crypto/crypto.h"
#include "core/note/checkpoint.h"
#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

Operation OpFromName(const std::string& name) {
  if (name == "add-device") return Operation::kAddDevice;
  if (name == "remove-device") return Operation::kRemoveDevice;
  return Operation::kRotateAccountKey;
}

// Our own vectors, produced by an independent Python implementation
// (tools/vectors/gen_ktlog_vectors.py).
TEST(RecordVectors, EncodeDecodeVerifyAndReplay) {
  nlohmann::json v = LoadJsonTestData("ktlog/records.json");
  AccountState state;
  uint64_t index = 0;
  for (const auto& c : v["records"]) {
    SCOPED_TRACE(c["operation"].get<std::string>());
    std::string data = Unhex(c["record"]);
    absl::StatusOr<DeviceRecord> rec = DecodeRecord(data);
    ASSERT_TRUE(rec.ok()) << rec.status();
    EXPECT_EQ(rec->operation, OpFromName(c["operation"]));
    EXPECT_EQ(std::string(OperationName(rec->operation)), c["operation"]);
    EXPECT_EQ(rec->account_id, c["account_id"]);
    EXPECT_EQ(rec->device_id, c["device_id"]);
    EXPECT_EQ(HexEncode(rec->key), c["key"]);
    EXPECT_EQ(rec->account_version, c["account_version"].get<uint64_t>());
    EXPECT_EQ(rec->timestamp_ms, c["timestamp_ms"].get<uint64_t>());
    EXPECT_EQ(HexEncode(rec->account_key), c["account_key"]);
    EXPECT_TRUE(rec->VerifySignature().ok());
    EXPECT_EQ(rec->Encode(), data);
    EXPECT_EQ(Sha256(data).ToHex(), c["record_hash"]);
    ASSERT_TRUE(ApplyRecord(*rec, index++, &state).ok());
  }
  // The states after each record are checked in private_test.cc.
  EXPECT_EQ(state.version, 5u);
}

TEST(RecordVectors, EverySingleBitFlipIsRejected) {
  nlohmann::json v = LoadJsonTestData("ktlog/records.json");
  std::string data = Unhex(v["records"][0]["record"]);
  for (size_t i = 0; i < data.size() * 8; ++i) {
    std::string bad = data;
    bad[i / 8] ^= static_cast<char>(1 << (i % 8));
    absl::StatusOr<DeviceRecord> rec = DecodeRecord(bad);
    EXPECT_TRUE(!rec.ok() || !rec->VerifySignature().ok()) << "bit " << i;
  }
}

TEST(CheckpointVectors, OpensOurOwnVector) {
  nlohmann::json v = LoadJsonTestData("ktlog/checkpoint.json");
  const auto& c = v["checkpoint"];
  auto key = NoteVerifierKey::Parse(c["verifier_key"].get<std::string>());
  ASSERT_TRUE(key.ok());
  auto cp = OpenLogCheckpoint(c["note"].get<std::string>(), *key);
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->origin, c["origin"]);
  EXPECT_EQ(cp->size, c["size"].get<uint64_t>());
  EXPECT_EQ(cp->root.ToHex(), c["root"]);
  EXPECT_EQ(cp->index_root.ToHex(), c["index_root"]);
  EXPECT_EQ(cp->timestamp_ms, c["timestamp_ms"].get<uint64_t>());
  auto signer = NoteSigner::Parse(c["signer_key"].get<std::string>());
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ(SignLogCheckpoint(*cp, *signer), c["note"]);
}

class AccountRulesTest : public ::testing::Test {
 protected:
  DeviceRecord Make(Operation op, const std::string& device, std::string key,
                    uint64_t version, const Ed25519PrivateKey& signer) {
    DeviceRecord r;
    r.operation = op;
    r.account_id = "bob";
    r.device_id = device;
    r.key = std::move(key);
    r.account_version = version;
    r.timestamp_ms = 1764270000000;
    r.Sign(signer);
    EXPECT_TRUE(r.Validate().ok()) << r.Validate();
    EXPECT_TRUE(r.VerifySignature().ok());
    EXPECT_TRUE(DecodeRecord(r.Encode()).ok());
    return r;
  }
  absl::StatusCode Apply(const DeviceRecord& r) {
    AccountState before = state_;
    absl::Status s = ApplyRecord(r, next_index_, &state_);
    if (s.ok()) {
      records_[next_index_++] = r.Encode();
    } else {
      EXPECT_EQ(state_, before) << "a rejected record must not change state";
    }
    return s.code();
  }

  Ed25519PrivateKey key1_ = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey key2_ = Ed25519PrivateKey::Generate();
  AccountState state_;
  uint64_t next_index_ = 0;
  std::map<uint64_t, std::string> records_;  // applied, by leaf index
};

TEST_F(AccountRulesTest, Lifecycle) {
  using Op = Operation;
  // The first record must add a device with version 1; any other record of
  // an account that does not exist is NOT_FOUND.
  EXPECT_EQ(Apply(Make(Op::kRemoveDevice, "d1", "k1", 1, key1_)),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d1", "k1", 2, key1_)),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d1", "k1", 1, key1_)),
            absl::StatusCode::kOk);
  EXPECT_EQ(state_.account_key, key1_.public_key().bytes());
  // Replay and version gaps.
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d2", "k2", 1, key1_)),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d2", "k2", 3, key1_)),
            absl::StatusCode::kFailedPrecondition);
  // Another key may not write.
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d2", "k2", 2, key2_)),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d1", "k9", 2, key1_)),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d2", "k2", 2, key1_)),
            absl::StatusCode::kOk);
  EXPECT_EQ(Apply(Make(Op::kRemoveDevice, "d3", "k3", 3, key1_)),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Apply(Make(Op::kRemoveDevice, "d2", "wrong", 3, key1_)),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Apply(Make(Op::kRemoveDevice, "d2", "k2", 3, key1_)),
            absl::StatusCode::kOk);
  EXPECT_EQ(state_.devices.size(), 1u);
  // Rotation: afterwards only the new key may write.
  EXPECT_EQ(Apply(Make(Op::kRotateAccountKey, "", key2_.public_key().bytes(), 4,
                       key1_)),
            absl::StatusCode::kOk);
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d4", "k4", 5, key1_)),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d4", "k4", 5, key2_)),
            absl::StatusCode::kOk);
  EXPECT_EQ(state_.version, 5u);
  EXPECT_EQ(state_.devices.at("d1").leaf_index, 0u);
  EXPECT_EQ(state_.devices.at("d4").leaf_index, 4u);
  auto decoded = DecodeAccountState(state_.Encode());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, state_);

  // By reference: the same state, its records read from where they are
  // stored; checked as the canonical encoding is.
  std::string by_reference = state_.EncodeByReference();
  EXPECT_LT(by_reference.size(), state_.Encode().size());
  RecordAt stored = [&](uint64_t i) -> absl::StatusOr<std::string> {
    auto it = records_.find(i);
    if (it == records_.end()) return absl::NotFoundError("no such leaf");
    return it->second;
  };
  auto from_refs = DecodeAccountStateByReference(by_reference, stored);
  ASSERT_TRUE(from_refs.ok()) << from_refs.status();
  EXPECT_EQ(*from_refs, state_);
  // Device d1's reference (leaf 0) leads to the rotation at leaf 3.
  RecordAt wrong = [&](uint64_t i) { return stored(i == 0 ? 3 : i); };
  EXPECT_EQ(DecodeAccountStateByReference(by_reference, wrong).status().code(),
            absl::StatusCode::kInvalidArgument)
      << "a reference to the wrong record";
  RecordAt missing = [](uint64_t) -> absl::StatusOr<std::string> {
    return absl::DataLossError("gone");
  };
  EXPECT_EQ(
      DecodeAccountStateByReference(by_reference, missing).status().code(),
      absl::StatusCode::kDataLoss);
  EXPECT_FALSE(DecodeAccountState(by_reference).ok());
  EXPECT_FALSE(DecodeAccountStateByReference(state_.Encode(), stored).ok());
}

// A record-backup record is a change like any other (the current authority,
// the next version) that changes nothing but the version; it may not be an
// account's first record.
TEST_F(AccountRulesTest, ARecordBackupMovesOnlyTheVersion) {
  using Op = Operation;
  BackupRef ref{4, Sha256("sealed backup")};
  EXPECT_EQ(Apply(Make(Op::kRecordBackup, "", ref.Encode(), 1, key1_)),
            absl::StatusCode::kNotFound);
  ASSERT_EQ(Apply(Make(Op::kAddDevice, "d1", "k1", 1, key1_)),
            absl::StatusCode::kOk);
  EXPECT_EQ(Apply(Make(Op::kRecordBackup, "", ref.Encode(), 2, key2_)),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Apply(Make(Op::kRecordBackup, "", ref.Encode(), 3, key1_)),
            absl::StatusCode::kFailedPrecondition);
  AccountState before = state_;
  ASSERT_EQ(Apply(Make(Op::kRecordBackup, "", ref.Encode(), 2, key1_)),
            absl::StatusCode::kOk);
  before.version = 2;
  EXPECT_EQ(state_, before) << "only the version moves";
  BackupRef deleted{5, Hash()};
  EXPECT_TRUE(deleted.deleted());
  EXPECT_FALSE(ref.deleted());
  ASSERT_EQ(Apply(Make(Op::kRecordBackup, "", deleted.Encode(), 3, key1_)),
            absl::StatusCode::kOk);
  EXPECT_EQ(DecodeBackupRef(BackupRef{0, Hash()}.Encode()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBackupRef(ref.Encode().substr(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBackupRef(ref.Encode() + "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<BackupRef> back = DecodeBackupRef(deleted.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, deleted);
}

// A reset (every key lost) needs no authority: it is signed by the key it
// sets, removes every device, and joins the key chain; afterwards only
// that key writes. Its record must be signed by the very key it sets.
TEST_F(AccountRulesTest, AResetIsSignedByItsNewKeyAndRemovesEveryDevice) {
  using Op = Operation;
  Ed25519PrivateKey key3 = Ed25519PrivateKey::Generate();
  ASSERT_EQ(Apply(Make(Op::kAddDevice, "d1", "k1", 1, key1_)),
            absl::StatusCode::kOk);
  ASSERT_EQ(Apply(Make(Op::kAddDevice, "d2", "k2", 2, key1_)),
            absl::StatusCode::kOk);
  DeviceRecord by_other;
  by_other.operation = Op::kResetAccount;
  by_other.account_id = "bob";
  by_other.key = key3.public_key().bytes();
  by_other.account_version = 3;
  by_other.timestamp_ms = 1764270000000;
  by_other.Sign(key1_);  // the old key signing a reset to key3
  EXPECT_EQ(by_other.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeRecord(by_other.Encode()).status().code(),
            absl::StatusCode::kInvalidArgument);

  DeviceRecord reset = by_other;
  reset.Sign(key3);
  ASSERT_TRUE(reset.Validate().ok()) << reset.Validate();
  absl::StatusOr<DeviceRecord> decoded = DecodeRecord(reset.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(OperationName(decoded->operation), "reset-account");
  EXPECT_EQ(static_cast<uint8_t>(reset.Encode()[1]), 5);
  reset.account_version = 4;  // versions still count one by one
  reset.Sign(key3);
  EXPECT_EQ(Apply(reset), absl::StatusCode::kFailedPrecondition);
  reset.account_version = 3;
  reset.Sign(key3);
  EXPECT_EQ(Apply(reset), absl::StatusCode::kOk);
  EXPECT_EQ(state_.account_key, key3.public_key().bytes());
  EXPECT_EQ(state_.first_key, key1_.public_key().bytes());
  EXPECT_TRUE(state_.devices.empty());
  ASSERT_EQ(state_.key_chain.size(), 1u);
  EXPECT_EQ(state_.key_chain[0].record, reset.Encode());
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d1", "k1", 4, key1_)),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Apply(Make(Op::kAddDevice, "d1", "k1", 4, key3)),
            absl::StatusCode::kOk);
  absl::StatusOr<AccountState> round = DecodeAccountState(state_.Encode());
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_EQ(*round, state_);
  // A reset never leads back: not to a key the account had (its first
  // key here), and no change after it returns to a key from before it.
  DeviceRecord again = reset;
  again.key = key1_.public_key().bytes();
  again.account_version = 5;
  again.Sign(key1_);
  EXPECT_EQ(Apply(again), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Apply(Make(Op::kRotateAccountKey, "", key1_.public_key().bytes(), 5,
                       key3)),
            absl::StatusCode::kFailedPrecondition);
  Ed25519PrivateKey key4 = Ed25519PrivateKey::Generate();
  EXPECT_EQ(Apply(Make(Op::kRotateAccountKey, "", key4.public_key().bytes(), 5,
                       key3)),
            absl::StatusCode::kOk);
  // A second reset to the reset's key (its credential used again, by a
  // copy of the phone that prepared it) is refused: a reset's key was
  // never the account's authority.
  DeviceRecord replayed = reset;
  replayed.account_version = 6;
  replayed.Sign(key3);
  EXPECT_EQ(Apply(replayed), absl::StatusCode::kFailedPrecondition);
  // Back to the reset's own key is no way back past the reset.
  EXPECT_EQ(Apply(Make(Op::kRotateAccountKey, "", key3.public_key().bytes(), 6,
                       key4)),
            absl::StatusCode::kOk);
  // No account to reset: the first record is an add-device.
  AccountState none;
  DeviceRecord first = reset;
  first.account_id = "nobody";
  first.account_version = 1;
  first.Sign(key3);
  EXPECT_EQ(ApplyRecord(first, 9, &none).code(), absl::StatusCode::kNotFound);
}

// At most kMaxKeyChain authority changes other than resets, and
// kMaxResets resets counted apart: whoever holds the authority and uses up
// the changes cannot keep the owner from a reset.
TEST_F(AccountRulesTest, ResetsAreCountedApartFromOtherChanges) {
  ASSERT_EQ(Apply(Make(Operation::kAddDevice, "d0", "k", 1, key1_)),
            absl::StatusCode::kOk);
  std::vector<std::unique_ptr<Ed25519PrivateKey>> keys;
  const Ed25519PrivateKey* current = &key1_;
  uint64_t v = 2;
  // Applies a change to a new key signed by `current` (a rotation) or by
  // the new key itself (a reset); moves on to that key if it is accepted.
  auto change = [&](Operation op) {
    keys.push_back(
        std::make_unique<Ed25519PrivateKey>(Ed25519PrivateKey::Generate()));
    const Ed25519PrivateKey& next = *keys.back();
    DeviceRecord r;
    r.operation = op;
    r.account_id = "bob";
    r.key = next.public_key().bytes();
    r.account_version = v;
    r.timestamp_ms = 1764270000000;
    r.Sign(op == Operation::kResetAccount ? next : *current);
    absl::StatusCode code = Apply(r);
    if (code == absl::StatusCode::kOk) {
      current = &next;
      ++v;
    }
    return code;
  };
  auto rotate = [&] { return change(Operation::kRotateAccountKey); };
  auto reset = [&] { return change(Operation::kResetAccount); };
  for (size_t i = 0; i < kMaxKeyChain; ++i) {
    ASSERT_EQ(rotate(), absl::StatusCode::kOk) << i;
  }
  EXPECT_EQ(rotate(), absl::StatusCode::kFailedPrecondition);
  for (size_t i = 0; i < kMaxResets; ++i) {
    ASSERT_EQ(reset(), absl::StatusCode::kOk) << i;
  }
  EXPECT_EQ(reset(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(state_.key_chain.size(), kMaxKeyChain + kMaxResets);
  absl::StatusOr<AccountState> round = DecodeAccountState(state_.Encode());
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_EQ(*round, state_);
}

TEST_F(AccountRulesTest, DeviceLimit) {
  ASSERT_EQ(Apply(Make(Operation::kAddDevice, "d0", "k", 1, key1_)),
            absl::StatusCode::kOk);
  for (size_t i = 1; i < kMaxDevicesPerAccount; ++i) {
    ASSERT_EQ(Apply(Make(Operation::kAddDevice, "d" + std::to_string(i), "k",
                         i + 1, key1_)),
              absl::StatusCode::kOk);
  }
  EXPECT_EQ(Apply(Make(Operation::kAddDevice, "one-too-many", "k",
                       kMaxDevicesPerAccount + 1, key1_)),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RecordValidation, RejectsBadFields) {
  Ed25519PrivateKey k = Ed25519PrivateKey::Generate();
  DeviceRecord good;
  good.account_id = "a";
  good.device_id = "d";
  good.key = "key";
  good.account_version = 1;
  good.Sign(k);
  ASSERT_TRUE(DecodeRecord(good.Encode()).ok());

  auto bad = [&](auto mutate) {
    DeviceRecord r = good;
    mutate(&r);
    r.Sign(k);
    return DecodeRecord(r.Encode()).status().code();
  };
  using R = DeviceRecord;
  EXPECT_EQ(bad([](R* r) { r->account_id = ""; }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](R* r) { r->account_id = std::string(257, 'a'); }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](R* r) { r->account_id = "a\nb"; }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](R* r) { r->account_id = "\xff"; }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](R* r) { r->device_id = ""; }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](R* r) { r->device_id = std::string(65, 'd'); }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](R* r) { r->key = ""; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](R* r) { r->key = std::string(129, 'k'); }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](R* r) { r->account_version = 0; }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](R* r) {
              r->operation = Operation::kRotateAccountKey;
              r->device_id = "";
              r->key = "short";
            }),
            absl::StatusCode::kInvalidArgument);
  // A rotation to the identity point (small order: anyone could sign for
  // the account after it) or to a non-canonical encoding.
  std::string identity(32, '\0');
  identity[0] = 1;
  EXPECT_EQ(bad([&](R* r) {
              r->operation = Operation::kRotateAccountKey;
              r->device_id = "";
              r->key = identity;
            }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([&](R* r) {
              r->operation = Operation::kRotateAccountKey;
              r->device_id = "";
              r->key = std::string(31, '\xff') + "\x7f";
            }),
            absl::StatusCode::kInvalidArgument);
  std::string data = good.Encode();
  EXPECT_FALSE(DecodeRecord(data + "x").ok()) << "trailing byte";
  EXPECT_FALSE(DecodeRecord(data.substr(0, data.size() - 1)).ok());
  EXPECT_FALSE(DecodeRecord("").ok());
  std::string v2 = data;
  v2[0] = 2;
  EXPECT_FALSE(DecodeRecord(v2).ok()) << "unknown format version";
  std::string op9 = data;
  op9[1] = 9;
  EXPECT_FALSE(DecodeRecord(op9).ok()) << "unknown operation";
  EXPECT_FALSE(DecodeRecord(std::string(kMaxRecordSize + 1, '\x01')).ok());
}

}  // namespace
}  // namespace ktlog
