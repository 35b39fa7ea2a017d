// OwnAccount over the in-memory log, with real key files and a real state
// file: every crash point of a write and of a key rotation ends, after a
// restart from what was saved, with no alert, no record left expected for
// ever, and the account key the log shows in the key store.
#include "verifier/own_account.h"

#include <stdlib.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "core/util/clock.h"
#include "core/util/file_util.h"
#include "gtest/gtest.h"
#include "verifier/memory_log.h"
#include "verifier/refusal.h"
#include "verifier/stores.h"

namespace ktlog {
namespace {

// How the next append goes.
enum class SinkFault {
  kNone,
  kNotSent,             // the process dies before the record leaves it
  kAnswerLost,          // appended; the process dies before the answer arrives
  kRefused,             // the log refuses it (PERMISSION_DENIED), not appended
  kUnavailable,         // the log cannot be reached: nothing appended
  kRefusedButAppended,  // a lying log: appended, answers PERMISSION_DENIED
  kSwapped,  // a lying log: appends `swap_` instead and acknowledges that
  kFakeAck,  // a lying log: acknowledges a leaf index two ahead, appends none
};

// The honest in-memory log as the app's transport, with faults.
class FaultySink : public LogSink {
 public:
  explicit FaultySink(MemoryLog* log) : log_(log) {}
  absl::StatusOr<Appended> Append(Operation, const std::string& record,
                                  const std::string&) override {
    SinkFault fault = fault_;
    fault_ = SinkFault::kNone;
    switch (fault) {
      case SinkFault::kNotSent:
        return absl::AbortedError("killed before sending");
      case SinkFault::kRefused:
        return absl::PermissionDeniedError("refused by the log");
      case SinkFault::kUnavailable:
        return absl::UnavailableError("the log cannot be reached");
      case SinkFault::kFakeAck:
        return Appended{log_->Checkpoint().size + 2, Hash()};
      default:
        break;
    }
    absl::StatusOr<std::pair<uint64_t, Hash>> a =
        log_->Submit(fault == SinkFault::kSwapped ? swap_ : record);
    if (!a.ok()) return a.status();
    if (fault == SinkFault::kAnswerLost) {
      return absl::DeadlineExceededError("killed before the answer");
    }
    if (fault == SinkFault::kRefusedButAppended) {
      return absl::PermissionDeniedError("refused (it was not)");
    }
    return Appended{a->first, a->second};
  }
  void Fail(SinkFault f) { fault_ = f; }
  std::string swap_;

 private:
  MemoryLog* log_;
  SinkFault fault_ = SinkFault::kNone;
};

// A state file that the process dies before writing, from the `n`-th save
// on (counting from 1), until a restart.
class CrashingStore : public StateStore {
 public:
  explicit CrashingStore(const std::string& dir) : file_(dir) {}
  absl::StatusOr<ClientState> Load() override { return file_.Load(); }
  absl::Status Save(const ClientState& s) override {
    if (dead_ || (crash_at_ != 0 && ++saves_ >= crash_at_)) {
      dead_ = true;
      return absl::AbortedError("killed before saving");
    }
    return file_.Save(s);
  }
  void CrashAtSave(int n) { crash_at_ = n, saves_ = 0; }
  void Restart() { dead_ = false, crash_at_ = 0; }

 private:
  DirStateStore file_;
  int crash_at_ = 0, saves_ = 0;
  bool dead_ = false;
};

// A key store whose promotion dies once.
class CrashingKeys : public FileAccountKeyStore {
 public:
  using FileAccountKeyStore::FileAccountKeyStore;
  absl::Status PromoteNext() override {
    if (crash_promote_) {
      crash_promote_ = false;
      return absl::AbortedError("killed before the rename");
    }
    return FileAccountKeyStore::PromoteNext();
  }
  bool crash_promote_ = false;
};

std::string NewDir() {
  static int n = 0;
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/own", n++);
  EXPECT_TRUE(MakeDirs(dir, 0700).ok());
  return dir;
}

// One client process: its state loaded from the store, the verifier and
// OwnAccount over it. Restart() is a new process on the same files.
class OwnAccountTest : public ::testing::Test {
 protected:
  OwnAccountTest() : dir_(NewDir()), sink_(&log_), store_(dir_), keys_(dir_) {
    first_key_ = *keys_.Create();
    ClientState s;
    s.log_key = log_.LogKey();
    s.account_id = "alice@example.com";
    s.device_id = "phone";
    EXPECT_TRUE(store_.Save(s).ok());
    Restart();
  }

  void Restart() {
    store_.Restart();
    account_.reset();
    verifier_.reset();
    absl::StatusOr<ClientState> s = store_.Load();
    ASSERT_TRUE(s.ok()) << s.status();
    state_ = *std::move(s);
    verifier_ =
        std::make_unique<ClientVerifier>(&state_, &log_, RealClock::Get());
    account_ = std::make_unique<OwnAccount>(&state_, &store_, &keys_, &sink_,
                                            verifier_.get(), RealClock::Get());
  }

  std::string NewKey() {
    return Ed25519PrivateKey::Generate().public_key().bytes();
  }

  // After a restart and a check: no alert, nothing expected, and the
  // account at `version` with the key store's current key.
  void ExpectSettled(uint64_t version) {
    Restart();
    absl::StatusOr<LogCheckpoint> cp = account_->Check();
    ASSERT_TRUE(cp.ok()) << cp.status();
    EXPECT_TRUE(state_.alerts.empty()) << state_.alerts[0].message;
    EXPECT_TRUE(verifier_->raised().empty());
    EXPECT_FALSE(account_->HasUnverified());
    EXPECT_EQ(state_.own_state.version, version);
    EXPECT_EQ(state_.own_state.account_key, *keys_.PublicKey());
    EXPECT_EQ(*keys_.NextPublicKey(), "");
  }

  std::string dir_;
  MemoryLog log_;
  FaultySink sink_;
  CrashingStore store_;
  CrashingKeys keys_;
  std::string first_key_;
  ClientState state_;
  std::unique_ptr<ClientVerifier> verifier_;
  std::unique_ptr<OwnAccount> account_;
};

TEST(FateOfFailedAppend, OnlyTheLogsRefusalsMeanNotAppended) {
  using C = absl::StatusCode;
  for (C c : {C::kInvalidArgument, C::kPermissionDenied, C::kUnauthenticated,
              C::kFailedPrecondition, C::kNotFound, C::kResourceExhausted}) {
    EXPECT_EQ(FateOfFailedAppend(absl::Status(c, "x")),
              AppendFate::kNotAppended)
        << c;
  }
  for (C c :
       {C::kUnavailable, C::kDeadlineExceeded, C::kAlreadyExists, C::kAborted,
        C::kInternal, C::kUnknown, C::kCancelled, C::kDataLoss}) {
    EXPECT_EQ(FateOfFailedAppend(absl::Status(c, "x")),
              AppendFate::kMaybeAppended)
        << c;
  }
}

TEST_F(OwnAccountTest, WritesAreVerifiedAndRaiseNoAlert) {
  absl::StatusOr<OwnAccount::Written> w =
      account_->AddDevice("phone", NewKey());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(w->verified);
  EXPECT_EQ(w->appended.leaf_index, 0u);
  EXPECT_EQ(w->record.account_version, 1u);
  ASSERT_TRUE(account_->AddDevice("laptop", NewKey()).ok());
  absl::StatusOr<OwnAccount::Written> rm = account_->RemoveDevice("phone");
  ASSERT_TRUE(rm.ok()) << rm.status();
  EXPECT_EQ(rm->record.operation, Operation::kRemoveDevice);
  EXPECT_EQ(state_.own_state.devices.count("phone"), 0u);
  EXPECT_EQ(state_.approved_devices.count("laptop"), 1u);
  ExpectSettled(3);
  EXPECT_EQ(*keys_.PublicKey(), first_key_);
}

TEST_F(OwnAccountTest, ARecordThisClientDidNotSignIsAnAlert) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  // The account key copied off the phone signs a device of its own.
  absl::StatusOr<Ed25519PrivateKey> stolen =
      ReadPrivateKeyFile(dir_ + "/account.key");
  ASSERT_TRUE(stolen.ok());
  DeviceRecord r;
  r.operation = Operation::kAddDevice;
  r.account_id = "alice@example.com";
  r.device_id = "mallory";
  r.key = NewKey();
  r.account_version = 2;
  r.Sign(*stolen);
  ASSERT_TRUE(log_.Submit(r.Encode()).ok());
  ASSERT_TRUE(account_->Check().ok());
  ASSERT_EQ(verifier_->raised().size(), 1u);
  EXPECT_EQ(verifier_->raised()[0].type, AlertType::kUnexpectedDevice);
}

TEST_F(OwnAccountTest, AddingAnActiveOrUnverifiedDeviceIsRefusedBeforeSigning) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  EXPECT_EQ(account_->AddDevice("phone", NewKey()).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(account_->RemoveDevice("tablet").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(log_.Checkpoint().size, 1u);
}

TEST_F(OwnAccountTest, KilledBeforeSending) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  sink_.Fail(SinkFault::kNotSent);
  EXPECT_EQ(account_->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kAborted);
  Restart();
  // The unsent record stays expected until its version is taken.
  EXPECT_TRUE(account_->HasUnverified());
  ASSERT_TRUE(account_->AddDevice("laptop", NewKey()).ok());
  ExpectSettled(2);
}

TEST_F(OwnAccountTest, KilledAfterSendingBeforeTheAnswer) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  sink_.Fail(SinkFault::kAnswerLost);
  EXPECT_EQ(account_->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  ExpectSettled(2);
  EXPECT_EQ(state_.own_state.devices.count("laptop"), 1u);
  // Trying again finds it there.
  EXPECT_EQ(account_->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(OwnAccountTest, KilledAfterTheAnswerBeforeSaving) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  // Saves of a write: after the check, the expected record, the answer.
  store_.CrashAtSave(3);
  EXPECT_EQ(account_->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(log_.Checkpoint().size, 2u);
  ExpectSettled(2);
}

TEST_F(OwnAccountTest, KilledBeforeTheExpectedRecordIsSavedSendsNothing) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  store_.CrashAtSave(2);
  EXPECT_EQ(account_->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(log_.Checkpoint().size, 1u);
  ExpectSettled(1);
}

TEST_F(OwnAccountTest, ARefusedWriteIsForgottenAnUnreachableLogsIsNot) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  sink_.Fail(SinkFault::kRefused);
  EXPECT_EQ(account_->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(account_->HasUnverified());
  sink_.Fail(SinkFault::kUnavailable);
  EXPECT_EQ(account_->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_TRUE(account_->HasUnverified());
  ASSERT_TRUE(account_->AddDevice("laptop", NewKey()).ok());
  ExpectSettled(2);
}

// A log that says it refused the owner's record and appended it all the
// same cannot make it an alert.
TEST_F(OwnAccountTest, ARefusalTheLogDidNotMeanRaisesNoAlert) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  sink_.Fail(SinkFault::kRefusedButAppended);
  EXPECT_EQ(account_->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(account_->HasUnverified()) << "a refusal is not waited for";
  EXPECT_EQ(log_.Checkpoint().size, 2u);
  ExpectSettled(2);
  EXPECT_EQ(state_.own_state.devices.count("laptop"), 1u);
}

// A log that acknowledges the owner's removal but appends a record of the
// thief's at its version: the removal is not verified (it can never be),
// and the thief's device is an alert.
TEST_F(OwnAccountTest, AnAcknowledgedRecordTheHistoryLacksIsNotVerified) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  absl::StatusOr<Ed25519PrivateKey> stolen =
      ReadPrivateKeyFile(dir_ + "/account.key");
  ASSERT_TRUE(stolen.ok());
  DeviceRecord thief;
  thief.operation = Operation::kAddDevice;
  thief.account_id = "alice@example.com";
  thief.device_id = "mallory";
  thief.key = NewKey();
  thief.account_version = 2;
  thief.Sign(*stolen);
  sink_.swap_ = thief.Encode();
  sink_.Fail(SinkFault::kSwapped);
  absl::StatusOr<OwnAccount::Written> w = account_->RemoveDevice("phone");
  EXPECT_EQ(w.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(w.status()), Refusal::kInconsistentAccount);
  ASSERT_EQ(verifier_->raised().size(), 2u);
  EXPECT_EQ(verifier_->raised()[0].type, AlertType::kUnexpectedDevice);
  EXPECT_EQ(verifier_->raised()[1].type, AlertType::kInvalidProof);
  EXPECT_EQ(verifier_->raised()[1].evidence["reason"], "INCONSISTENT_ACCOUNT");
  EXPECT_EQ(verifier_->raised()[1].evidence["version"], 2);
  EXPECT_EQ(state_.own_state.devices.count("phone"), 1u);
}

// The same lie found after a restart (nothing in memory of the write but
// the saved state), and a log that acknowledges a leaf index it then fills
// with others' records: the owner is alerted, not left waiting.
TEST_F(OwnAccountTest, AnAcknowledgementTheLogBreaksIsAnAlertAfterARestart) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  sink_.Fail(SinkFault::kFakeAck);
  absl::StatusOr<OwnAccount::Written> w = account_->RemoveDevice("phone");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->verified) << "the tree does not hold its leaf index yet";
  Restart();
  EXPECT_TRUE(account_->HasUnverified());
  ASSERT_TRUE(account_->Check().ok());
  EXPECT_TRUE(verifier_->raised().empty()) << "not yet evidence";
  // Others' records fill the tree past the acknowledged index.
  for (const char* other :
       {"bob@example.com", "carol@example.com", "dave@example.com"}) {
    DeviceRecord r;
    r.operation = Operation::kAddDevice;
    r.account_id = other;
    r.device_id = "phone";
    r.key = NewKey();
    r.account_version = 1;
    r.Sign(Ed25519PrivateKey::Generate());
    ASSERT_TRUE(log_.Submit(r.Encode()).ok());
  }
  Restart();
  ASSERT_TRUE(account_->Check().ok());
  ASSERT_EQ(verifier_->raised().size(), 1u);
  EXPECT_EQ(verifier_->raised()[0].type, AlertType::kInvalidProof);
  EXPECT_EQ(verifier_->raised()[0].evidence["reason"], "INCONSISTENT_ACCOUNT");
  EXPECT_EQ(verifier_->raised()[0].evidence["acknowledged_leaf_index"], 3);
}

// An erasure right after the version the owner verified is no alert; one
// after a write the log acknowledged and the owner has not verified is: the
// log could have appended something else in its place, and erased the
// account so that nobody can check it.
TEST_F(OwnAccountTest, AnErasureRightAfterWhatTheOwnerVerifiedIsNoAlert) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  log_.Erase("alice@example.com");
  Restart();
  absl::StatusOr<LogCheckpoint> cp = account_->Check();
  EXPECT_EQ(cp.status().code(), absl::StatusCode::kNotFound) << cp.status();
  EXPECT_EQ(RefusalOf(cp.status()), Refusal::kAccountErased);
  EXPECT_TRUE(verifier_->raised().empty());
}

TEST_F(OwnAccountTest, AnErasureAfterAnUnverifiedAcknowledgedWriteIsAnAlert) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  sink_.Fail(SinkFault::kFakeAck);
  absl::StatusOr<OwnAccount::Written> w = account_->RemoveDevice("phone");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->verified);
  log_.Erase("alice@example.com");  // at version 2: right after version 1
  Restart();
  absl::StatusOr<LogCheckpoint> cp = account_->Check();
  EXPECT_EQ(RefusalOf(cp.status()), Refusal::kInconsistentAccount)
      << cp.status();
  ASSERT_EQ(verifier_->raised().size(), 1u);
  EXPECT_EQ(verifier_->raised()[0].type, AlertType::kInvalidProof);
  EXPECT_EQ(verifier_->raised()[0].evidence["reason"], "INCONSISTENT_ACCOUNT");
  EXPECT_EQ(verifier_->raised()[0].evidence["erased_version"], 2);
}

TEST_F(OwnAccountTest, RotationKilledBeforeSendingReusesTheNewKey) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  sink_.Fail(SinkFault::kNotSent);
  EXPECT_FALSE(account_->RotateAccountKey().ok());
  std::string next = *keys_.NextPublicKey();
  ASSERT_EQ(next.size(), 32u);
  Restart();
  absl::StatusOr<OwnAccount::Written> w = account_->RotateAccountKey();
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->record.key, next);
  ExpectSettled(2);
  EXPECT_EQ(*keys_.PublicKey(), next);
}

TEST_F(OwnAccountTest, RotationKilledBeforeTheAnswerKeepsTheNewKey) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  sink_.Fail(SinkFault::kAnswerLost);
  EXPECT_FALSE(account_->RotateAccountKey().ok());
  std::string next = *keys_.NextPublicKey();
  ExpectSettled(2);  // the check completes the rotation
  EXPECT_EQ(*keys_.PublicKey(), next);
  // The new key signs the next record.
  ASSERT_TRUE(account_->AddDevice("laptop", NewKey()).ok());
  ExpectSettled(3);
}

TEST_F(OwnAccountTest, RotationKilledAfterTheAnswerBeforeSaving) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  // Saves of a rotation: two checks, the expected record, the answer.
  store_.CrashAtSave(4);
  EXPECT_FALSE(account_->RotateAccountKey().ok());
  EXPECT_EQ(log_.Checkpoint().size, 2u);
  std::string next = *keys_.NextPublicKey();
  ExpectSettled(2);
  EXPECT_EQ(*keys_.PublicKey(), next);
}

TEST_F(OwnAccountTest, RotationKilledBeforeThePromotion) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  keys_.crash_promote_ = true;
  // Appended: the failed promotion leaves it unverified, not failed.
  absl::StatusOr<OwnAccount::Written> w = account_->RotateAccountKey();
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->verified);
  std::string next = *keys_.NextPublicKey();
  EXPECT_EQ(*keys_.PublicKey(), first_key_);  // still the old one
  ExpectSettled(2);
  EXPECT_EQ(*keys_.PublicKey(), next);
}

TEST_F(OwnAccountTest, ARefusedRotationKeepsTheOldKeyAndTheNextForLater) {
  ASSERT_TRUE(account_->AddDevice("phone", NewKey()).ok());
  sink_.Fail(SinkFault::kRefused);
  EXPECT_EQ(account_->RotateAccountKey().status().code(),
            absl::StatusCode::kPermissionDenied);
  std::string next = *keys_.NextPublicKey();
  EXPECT_EQ(*keys_.PublicKey(), first_key_);
  absl::StatusOr<OwnAccount::Written> w = account_->RotateAccountKey();
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->record.key, next);
  ExpectSettled(2);
}

}  // namespace
}  // namespace ktlog
