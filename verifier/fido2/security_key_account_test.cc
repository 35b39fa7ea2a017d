// An account on security keys, end to end over the in-memory log, with the
// software authenticator driven through libfido2: the switch from the
// account key, devices added with a touch, a lost key removed with another,
// a contact who verifies it all, and each attack the design answers: the
// copied account key file, a cloned key, a log that holds every key of its
// own and commits the account to a new authority; and when every key is
// lost, the operator's reset, which every contact is shown.
#include <stdlib.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "core/account/owner_access.h"
#include "core/account/security_key.h"
#include "core/util/bytes.h"
#include "core/util/clock.h"
#include "core/util/file_util.h"
#include "core/util/status_macros.h"
#include "gtest/gtest.h"
#include "verifier/fido2/soft_authenticator.h"
#include "verifier/memory_log.h"
#include "verifier/own_account.h"
#include "verifier/owner_client.h"
#include "verifier/refusal.h"
#include "verifier/stores.h"

namespace ktlog {
namespace {

constexpr char kAlice[] = "alice@example.com";

class HonestSink : public LogSink {
 public:
  explicit HonestSink(MemoryLog* log) : log_(log) {}
  absl::StatusOr<Appended> Append(Operation, const std::string& record,
                                  const std::string&) override {
    if (!refusal.ok()) return refusal;
    ASSIGN_OR_RETURN(auto a, log_->Submit(record));
    return Appended{a.first, a.second};
  }
  // Answered instead, if set (the log's checks refused the record).
  absl::Status refusal;

 private:
  MemoryLog* log_;
};

std::string NewDir() {
  static int n = 0;
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/sk", n++);
  EXPECT_TRUE(MakeDirs(dir, 0700).ok());
  return dir;
}

std::string NewKey() {
  return Ed25519PrivateKey::Generate().public_key().bytes();
}

// One client (Alice's phone, or a contact) on its own state dir.
struct Client : OwnerClient {
  Client(MemoryLog* log, HonestSink* sink, const std::string& account)
      : OwnerClient(log->LogKey(), log, sink, account, NewDir()) {}
};

class SecurityKeyAccountTest : public ::testing::Test {
 protected:
  SecurityKeyAccountTest() : sink_(&log_), alice_(&log_, &sink_, kAlice) {
    yubi_ = key1_.Open().value();
    solo_ = key2_.Open().value();
  }

  // Alice registers with her phone, then moves her account onto two
  // security keys (ES256 and EdDSA).
  void SetUpAlice() {
    ASSERT_TRUE(alice_.own->AddDevice("phone", NewKey()).ok());
    std::string rp = alice_.own->RpId().value();
    ASSERT_EQ(rp, "memory.example");
    k1_ =
        alice_.own->EnrollSecurityKey(yubi_.get(), KeyAlgorithm::kEs256, false)
            .value();
    // The same key twice is refused: it would be no spare.
    EXPECT_EQ(alice_.own
                  ->EnrollSecurityKey(yubi_.get(), KeyAlgorithm::kEs256, false,
                                      {k1_.credential_id})
                  .status()
                  .code(),
              absl::StatusCode::kAlreadyExists);
    k2_ =
        alice_.own->EnrollSecurityKey(solo_.get(), KeyAlgorithm::kEdDsa, false)
            .value();
    absl::StatusOr<OwnAccount::Written> w =
        alice_.own->SetSecurityKeys({k1_, k2_}, false);
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_TRUE(w->verified);
    EXPECT_FALSE(w->record.by_security_key());  // signed by the account key
    EXPECT_EQ(alice_.own->SecurityKeys().size(), 2u);
  }

  // What a contact who never saw Alice verifies now.
  absl::StatusOr<VerifiedAccount> StrangerLooksUp() {
    Client bob(&log_, &sink_, "bob@example.com");
    ASSIGN_OR_RETURN(LogCheckpoint cp, bob.verifier->UpdateCheckpoint());
    return bob.verifier->Lookup(cp, kAlice);
  }

  // Commits `forged` (the account as a breached log shows it) with the
  // authority change `change` at the end of its key chain, as the log's
  // next leaf: the state's authority, counters and version follow it.
  void CommitChange(const DeviceRecord& change, AccountState forged) {
    forged.account_key = change.key;
    absl::StatusOr<SecurityKeySet> set = DecodeSecurityKeySet(change.key);
    forged.key_counters.assign(set.ok() ? set->keys.size() : 0, 0);
    forged.version = change.account_version;
    forged.key_chain.push_back(ChainedRotation{
        log_.Checkpoint().size, forged.version, change.Encode()});
    log_.Append(change, forged);
  }

  void ExpectNoAlert(const Client& c) {
    EXPECT_TRUE(c.state.alerts.empty()) << c.state.alerts[0].message;
  }

  MemoryLog log_;
  HonestSink sink_;
  Client alice_;
  SoftAuthenticator key1_, key2_;
  std::unique_ptr<Fido2Device> yubi_, solo_;
  SecurityKey k1_, k2_;
};

// The public key of a client's history access key.
std::string AccessKey(const Client& c) {
  return Ed25519PrivateKey::FromSeed(c.state.access_seed)
      .value()
      .public_key()
      .bytes();
}

TEST_F(SecurityKeyAccountTest, DevicesNeedATouchAndContactsVerifyThem) {
  SetUpAlice();
  // Without a key plugged in nothing can be added.
  EXPECT_EQ(alice_.own->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  alice_.own->UseSecurityKey(solo_.get());
  absl::StatusOr<OwnAccount::Written> w =
      alice_.own->AddDevice("laptop", NewKey());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(w->verified);
  EXPECT_EQ(w->record.credential_id, k2_.credential_id);
  alice_.own->UseSecurityKey(yubi_.get());
  ASSERT_TRUE(alice_.own->RemoveDevice("phone").ok());
  ASSERT_TRUE(alice_.own->AddDevice("tablet", NewKey()).ok());
  ASSERT_TRUE(alice_.own->Check().ok());
  ExpectNoAlert(alice_);
  EXPECT_EQ(alice_.state.own_state.version, 5u);
  // The account holds each key's latest counter.
  EXPECT_EQ(alice_.state.own_state.key_counters.size(), 2u);

  absl::StatusOr<VerifiedAccount> seen = StrangerLooksUp();
  ASSERT_TRUE(seen.ok()) << seen.status();
  ASSERT_EQ(seen->devices.size(), 2u);
  EXPECT_EQ(seen->devices[0].record.device_id, "laptop");
  EXPECT_EQ(seen->devices[1].record.device_id, "tablet");
  // The authority contacts compare codes over is the key set, and its
  // chain runs from the first key through the switch.
  EXPECT_EQ(seen->state->account_key, alice_.own->AccountKey().value());
  ASSERT_EQ(seen->key_chain.size(), 2u);
  EXPECT_EQ(seen->key_chain[1].second, alice_.state.own_state.account_key);
}

// The log serves the history only to the owner (core/account/owner_access.h).
// The grant the account key made at registration outlives the move onto
// security keys: monitoring needs no touch. A client from before grants
// (none in its state) on an account already on security keys is asked for
// one touch, and is told so without an alert until then.
TEST_F(SecurityKeyAccountTest, MonitoringNeedsNoTouchAndOldClientsOneTouch) {
  SetUpAlice();
  std::string first_grant = alice_.state.access_grant;
  ASSERT_FALSE(first_grant.empty());
  alice_.own->UseSecurityKey(yubi_.get());
  ASSERT_TRUE(alice_.own->AddDevice("laptop", NewKey()).ok());
  alice_.own->UseSecurityKey(nullptr);
  ASSERT_TRUE(alice_.own->Check().ok());
  EXPECT_EQ(alice_.state.access_grant, first_grant);
  EXPECT_EQ(alice_.state.own_state.version, 3u);

  // Her second phone (a copy of this state) adds a device...
  Client phone2(&log_, &sink_, kAlice);
  phone2.state = alice_.state;
  phone2.own->UseSecurityKey(yubi_.get());
  ASSERT_TRUE(phone2.own->AddDevice("tablet", NewKey()).ok());
  // ...which this client, as one from before grants, cannot read yet:
  // the check says what to do, and no alert (it is not the log's doing).
  alice_.state.access_grant.clear();
  alice_.state.access_seed.clear();
  absl::StatusOr<LogCheckpoint> checked = alice_.own->Check();
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RefusalOf(checked.status()), Refusal::kNone);
  ExpectNoAlert(alice_);
  EXPECT_EQ(alice_.state.own_state.version, 3u);
  // One touch grants it (an assertion, not a signature), and the check
  // goes on.
  alice_.own->UseSecurityKey(solo_.get());
  ASSERT_TRUE(alice_.own->Check().ok());
  EXPECT_GT(alice_.state.access_grant.size(), 64u);
  EXPECT_TRUE(VerifyGrantBy(alice_.state.own_state.account_key,
                            "memory.example/log", kAlice, AccessKey(alice_),
                            alice_.state.access_grant)
                  .ok());
  EXPECT_EQ(alice_.state.own_state.version, 4u);
  // The other phone's device is one this client did not add: the one
  // alert, as for any record made elsewhere.
  ASSERT_EQ(alice_.state.alerts.size(), 1u);
  EXPECT_EQ(alice_.state.alerts[0].type, AlertType::kUnexpectedDevice);
}

// A reset the log refuses (a credential gone stale) leaves the grant in
// force; a client set up afresh on a new phone, for an account whose every
// key is lost, starts from the verified lookup (no grant, nothing of its
// own, no alert) and can reset it.
TEST_F(SecurityKeyAccountTest, ResetsAndGrantsFromARefusalAndAFreshPhone) {
  SetUpAlice();
  key1_.set_lost(true);
  key2_.set_lost(true);
  std::string grant = alice_.state.access_grant;
  ASSERT_TRUE(alice_.own->PrepareReset().ok());
  sink_.refusal = absl::PermissionDeniedError("the reset credential expired");
  EXPECT_EQ(alice_.own->ResetAccount("r1.stale").status().code(),
            absl::StatusCode::kPermissionDenied);
  sink_.refusal = absl::OkStatus();
  EXPECT_EQ(alice_.state.access_grant, grant);
  EXPECT_TRUE(alice_.state.next_access_grant.empty());
  ASSERT_TRUE(alice_.own->Check().ok());
  ExpectNoAlert(alice_);

  Client fresh(&log_, &sink_, kAlice);
  ASSERT_TRUE(fresh.own->Check().ok());
  ExpectNoAlert(fresh);
  EXPECT_EQ(fresh.state.own_state.version, alice_.state.own_state.version);
  EXPECT_TRUE(fresh.state.access_grant.empty());
  EXPECT_EQ(fresh.own->AccountKey().status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "no code over security keys this client did not set";
  absl::StatusOr<std::string> next = fresh.own->PrepareReset();
  ASSERT_TRUE(next.ok()) << next.status();
  absl::StatusOr<OwnAccount::Written> w = fresh.own->ResetAccount("r1.cred");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(w->verified);
  ExpectNoAlert(fresh);
  EXPECT_EQ(fresh.state.own_state.account_key, *next);
  EXPECT_TRUE(VerifyGrantBy(*next, "memory.example/log", kAlice,
                            AccessKey(fresh), fresh.state.access_grant)
                  .ok());
  ASSERT_TRUE(fresh.own->AddDevice("phone", NewKey()).ok());
  ExpectNoAlert(fresh);
}

TEST_F(SecurityKeyAccountTest, TheCopiedAccountKeyFileAddsNothing) {
  // A copy of the phone made before the switch: the account key in it.
  absl::StatusOr<Ed25519PrivateKey> stolen =
      ReadPrivateKeyFile(alice_.dir + "/account.key");
  ASSERT_TRUE(stolen.ok());
  SetUpAlice();
  // After it, the phone holds no account key at all.
  EXPECT_EQ(alice_.keys.PublicKey().status().code(),
            absl::StatusCode::kNotFound);
  DeviceRecord r;
  r.operation = Operation::kAddDevice;
  r.account_id = kAlice;
  r.device_id = "mallory";
  r.key = NewKey();
  r.account_version = 3;
  r.Sign(*stolen);
  EXPECT_EQ(log_.Submit(r.Encode()).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Nor can it switch the account back to a key of its own.
  r.operation = Operation::kRotateAccountKey;
  r.device_id.clear();
  r.Sign(*stolen);
  EXPECT_EQ(log_.Submit(r.Encode()).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(alice_.own->Check().ok());
  ExpectNoAlert(alice_);
}

TEST_F(SecurityKeyAccountTest, ALostKeyIsRemovedWithTheOther) {
  SetUpAlice();
  key1_.set_lost(true);
  alice_.own->UseSecurityKey(yubi_.get());
  EXPECT_EQ(alice_.own->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kUnavailable);
  // A new key joins and the lost one leaves, with a touch of the other.
  SoftAuthenticator spare;
  std::unique_ptr<Fido2Device> spare_dev = spare.Open().value();
  SecurityKey k3 = spare_dev
                       ->MakeCredential(*alice_.own->RpId(), kAlice,
                                        KeyAlgorithm::kEs256, {})
                       .value();
  alice_.own->UseSecurityKey(solo_.get());
  absl::StatusOr<OwnAccount::Written> w =
      alice_.own->SetSecurityKeys({k2_, k3}, false);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->record.credential_id, k2_.credential_id);
  // The lost key, found by someone, authorizes nothing any more.
  key1_.set_lost(false);
  std::unique_ptr<Fido2Device> found = key1_.Open().value();
  alice_.own->UseSecurityKey(found.get());
  EXPECT_EQ(alice_.own->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kNotFound);
  alice_.own->UseSecurityKey(spare_dev.get());
  ASSERT_TRUE(alice_.own->AddDevice("laptop", NewKey()).ok());
  ExpectNoAlert(alice_);
  ASSERT_TRUE(StrangerLooksUp().ok());
}

TEST_F(SecurityKeyAccountTest, ATouchThatNeverComesSendsNothing) {
  SetUpAlice();
  std::unique_ptr<Fido2Device> slow =
      key1_.Open(absl::Milliseconds(200)).value();
  alice_.own->UseSecurityKey(slow.get());
  key1_.set_touch(SoftAuthenticator::Touch::kNever);
  uint64_t size = log_.Checkpoint().size;
  EXPECT_EQ(alice_.own->AddDevice("laptop", NewKey()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(log_.Checkpoint().size, size);
  EXPECT_FALSE(alice_.own->HasUnverified());
  key1_.set_touch(SoftAuthenticator::Touch::kPresent);
  ASSERT_TRUE(alice_.own->AddDevice("laptop", NewKey()).ok());
  ExpectNoAlert(alice_);
}

TEST_F(SecurityKeyAccountTest, AClonedKeyIsCaughtByItsCounter) {
  SetUpAlice();
  alice_.own->UseSecurityKey(yubi_.get());
  ASSERT_TRUE(alice_.own->AddDevice("laptop", NewKey()).ok());
  // Someone copies the key (or its secrets) and adds a device with the
  // copy, through the log's honest write path.
  std::unique_ptr<SoftAuthenticator> copy = key1_.Clone();
  std::unique_ptr<SoftAuthenticator> second_copy = key1_.Clone();
  std::unique_ptr<Fido2Device> copy_dev = copy->Open().value();
  DeviceRecord r;
  r.operation = Operation::kAddDevice;
  r.account_id = kAlice;
  r.device_id = "mallory";
  r.key = NewKey();
  r.account_version = alice_.state.own_state.version + 1;
  r.timestamp_ms = RealClock::Get()->NowMillis();
  r.credential_id = k1_.credential_id;
  KeyAssertion a = copy_dev
                       ->GetAssertion(*alice_.own->RpId(), {k1_.credential_id},
                                      r.ClientDataHash(), false)
                       .value();
  r.authenticator_data = a.authenticator_data;
  r.signature = P256PublicKey::LowS(a.signature);
  ASSERT_TRUE(log_.Submit(r.Encode()).ok());
  // Alice's monitor sees a device she did not add.
  ASSERT_TRUE(alice_.own->Check().ok());
  ASSERT_EQ(alice_.verifier->raised().size(), 1u);
  EXPECT_EQ(alice_.verifier->raised()[0].type, AlertType::kUnexpectedDevice);
  // Her own key's next assertion has the count the copy used: the write
  // is refused before it is sent, as a cloned key, with evidence.
  uint64_t size = log_.Checkpoint().size;
  absl::StatusOr<OwnAccount::Written> w =
      alice_.own->AddDevice("tablet", NewKey());
  EXPECT_EQ(w.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(w.status()), Refusal::kClonedSecurityKey);
  EXPECT_EQ(log_.Checkpoint().size, size);
  const Alert& cloned = alice_.state.alerts.back();
  EXPECT_EQ(cloned.type, AlertType::kClonedSecurityKey);
  EXPECT_EQ(cloned.evidence["credential_id"], HexEncode(k1_.credential_id));
  EXPECT_EQ(cloned.evidence["counter_now"], key1_.counter());
  EXPECT_EQ(cloned.evidence["counter_in_account"], copy->counter());
  // The log refuses a count that did not grow too: a second copy, made
  // with the first, signs the next version with the count already used.
  r.device_id = "mallory2";
  r.account_version = alice_.state.own_state.version + 1;
  r.timestamp_ms = RealClock::Get()->NowMillis();
  KeyAssertion by_second =
      second_copy->Open()
          .value()
          ->GetAssertion(*alice_.own->RpId(), {k1_.credential_id},
                         r.ClientDataHash(), false)
          .value();
  r.authenticator_data = by_second.authenticator_data;
  r.signature = P256PublicKey::LowS(by_second.signature);
  EXPECT_EQ(ParseAuthenticatorData(by_second.authenticator_data)->sign_count,
            ParseAuthenticatorData(a.authenticator_data)->sign_count);
  EXPECT_EQ(log_.Submit(r.Encode()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// The alerts of `c` of `type`.
std::vector<Alert> AlertsOf(const Client& c, AlertType type) {
  std::vector<Alert> out;
  for (const Alert& a : c.state.alerts) {
    if (a.type == type) out.push_back(a);
  }
  return out;
}

// A reset of `account` to `key` at `version`, as a breached operator makes
// one (it issues itself the credential the server would ask for).
DeviceRecord ResetBy(const Ed25519PrivateKey& key, const std::string& account,
                     uint64_t version) {
  DeviceRecord reset;
  reset.operation = Operation::kResetAccount;
  reset.account_id = account;
  reset.key = key.public_key().bytes();
  reset.account_version = version;
  reset.timestamp_ms = RealClock::Get()->NowMillis();
  reset.Sign(key);
  return reset;
}

TEST_F(SecurityKeyAccountTest, EveryKeyLostTheOwnerResetsAndContactsAreTold) {
  SetUpAlice();
  alice_.own->UseSecurityKey(yubi_.get());
  ASSERT_TRUE(alice_.own->AddDevice("laptop", NewKey()).ok());
  // Bob compared codes with Alice over her security keys.
  Client bob(&log_, &sink_, "bob@example.com");
  LogCheckpoint cp = bob.verifier->UpdateCheckpoint().value();
  std::string keys_authority = alice_.own->AccountKey().value();
  ASSERT_TRUE(bob.verifier->VerifyContact(cp, kAlice, keys_authority).ok());

  // Both keys lost: nothing can be changed with them...
  key1_.set_lost(true);
  key2_.set_lost(true);
  EXPECT_EQ(alice_.own->AddDevice("tablet", NewKey()).status().code(),
            absl::StatusCode::kUnavailable);
  // ...so Alice asks the operator for a reset to a key she prepares (the
  // same key until it is used). The in-memory log does not check the
  // operator's credential (the server's writer does: writes_test).
  absl::StatusOr<std::string> next = alice_.own->PrepareReset();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(alice_.own->PrepareReset().value(), *next);
  absl::StatusOr<OwnAccount::Written> w = alice_.own->ResetAccount("r1.cred");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(w->verified);
  EXPECT_EQ(w->record.operation, Operation::kResetAccount);
  EXPECT_EQ(w->record.key, *next);
  EXPECT_EQ(w->record.account_key, *next);
  // Her own reset raises nothing for her; the new key is hers now and her
  // devices are gone until she adds them again.
  ExpectNoAlert(alice_);
  EXPECT_EQ(alice_.state.own_state.account_key, *next);
  EXPECT_TRUE(alice_.state.own_state.devices.empty());
  EXPECT_EQ(alice_.keys.PublicKey().value(), *next);
  EXPECT_TRUE(alice_.own->SecurityKeys().empty());
  // The reset ended her old grant to read the history; the one by the new
  // key, sent with the reset, is in force.
  EXPECT_TRUE(alice_.state.next_access_grant.empty());
  EXPECT_TRUE(VerifyGrantBy(*next, "memory.example/log", kAlice,
                            AccessKey(alice_), alice_.state.access_grant)
                  .ok());
  ASSERT_TRUE(alice_.own->AddDevice("phone", NewKey()).ok());
  ExpectNoAlert(alice_);

  // Bob, who verified her, is told it was a reset (not a rotation): until
  // he compares codes again his check fails with that reason.
  cp = bob.verifier->UpdateCheckpoint().value();
  absl::Status checked = bob.verifier->MonitorContacts(cp);
  EXPECT_EQ(checked.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(checked), Refusal::kAccountReset);
  std::vector<Alert> resets = AlertsOf(bob, AlertType::kAccountReset);
  ASSERT_EQ(resets.size(), 1u);
  EXPECT_EQ(resets[0].account, kAlice);
  EXPECT_EQ(resets[0].evidence["reset_version"], w->record.account_version);
  EXPECT_EQ(resets[0].evidence["new_key"], HexEncode(*next));
  EXPECT_TRUE(AlertsOf(bob, AlertType::kContactKeyChanged).empty());
  // Checking again raises it no second time.
  EXPECT_EQ(RefusalOf(bob.verifier->MonitorContacts(cp)),
            Refusal::kAccountReset);
  EXPECT_EQ(AlertsOf(bob, AlertType::kAccountReset).size(), 1u);

  // Carol, who never saw Alice before, is told too.
  Client carol(&log_, &sink_, "carol@example.com");
  cp = carol.verifier->UpdateCheckpoint().value();
  absl::StatusOr<VerifiedAccount> seen = carol.verifier->AddContact(cp, kAlice);
  ASSERT_TRUE(seen.ok()) << seen.status();
  ASSERT_EQ(seen->resets.size(), 1u);
  EXPECT_EQ(seen->resets[0].version, w->record.account_version);
  EXPECT_EQ(seen->resets[0].leaf_index, w->appended.leaf_index);
  EXPECT_EQ(seen->resets[0].record_hash, Sha256(w->record.Encode()));
  EXPECT_EQ(AlertsOf(carol, AlertType::kAccountReset).size(), 1u);
  // Told once: her next check finds nothing new (no exit 3 for ever).
  Client carol_later(&log_, &sink_, "carol@example.com");
  carol_later.state = carol.state;
  EXPECT_TRUE(carol_later.verifier->MonitorContacts(cp).ok());
  EXPECT_FALSE(carol_later.verifier->alert_found());
  EXPECT_TRUE(carol_later.state.alerts.size() == carol.state.alerts.size());

  // Dave compares codes with Alice at first sight: he is shown the reset
  // and it is settled at once.
  Client dave(&log_, &sink_, "dave@example.com");
  cp = dave.verifier->UpdateCheckpoint().value();
  ASSERT_TRUE(dave.verifier->VerifyContact(cp, kAlice, *next).ok());
  resets = AlertsOf(dave, AlertType::kAccountReset);
  ASSERT_EQ(resets.size(), 1u);
  EXPECT_NE(resets[0].acknowledged_at_ms, 0u);
  EXPECT_TRUE(dave.verifier->MonitorContacts(cp).ok());

  // Bob compares codes with Alice again: the reset is settled.
  cp = bob.verifier->UpdateCheckpoint().value();
  ASSERT_TRUE(bob.verifier->VerifyContact(cp, kAlice, *next).ok());
  EXPECT_TRUE(bob.verifier->MonitorContacts(cp).ok());
  resets = AlertsOf(bob, AlertType::kAccountReset);
  ASSERT_EQ(resets.size(), 1u);
  EXPECT_NE(resets[0].acknowledged_at_ms, 0u);

  // Bob, who holds his account key, is told to rotate it instead.
  ASSERT_TRUE(bob.own->AddDevice("phone", NewKey()).ok());
  EXPECT_EQ(bob.own->PrepareReset().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(SecurityKeyAccountTest, AResetAliceDidNotMakeIsAnAlertForHer) {
  SetUpAlice();
  // A breached operator resets Alice's account to a key of its own (with a
  // credential it issued itself) and adds its device.
  Ed25519PrivateKey evil = Ed25519PrivateKey::Generate();
  DeviceRecord reset =
      ResetBy(evil, kAlice, alice_.state.own_state.version + 1);
  ASSERT_TRUE(log_.Submit(reset.Encode()).ok());
  DeviceRecord device;
  device.operation = Operation::kAddDevice;
  device.account_id = kAlice;
  device.device_id = "mallory";
  device.key = NewKey();
  device.account_version = reset.account_version + 1;
  device.timestamp_ms = reset.timestamp_ms;
  device.Sign(evil);
  ASSERT_TRUE(log_.Submit(device.Encode()).ok());

  // The reset ended Alice's grant to read her history (only the owner
  // may): her client learns of it from the verified lookup, which shows
  // the reset in the key chain and the device after it.
  absl::StatusOr<LogCheckpoint> checked = alice_.own->Check();
  EXPECT_EQ(RefusalOf(checked.status()), Refusal::kAccountReset);
  std::vector<Alert> resets = AlertsOf(alice_, AlertType::kAccountReset);
  ASSERT_EQ(resets.size(), 1u);
  EXPECT_EQ(resets[0].account, kAlice);
  EXPECT_EQ(resets[0].evidence["reset_record"], HexEncode(reset.Encode()));
  EXPECT_EQ(alice_.state.own_state.account_key, evil.public_key().bytes());
  EXPECT_EQ(alice_.state.own_state.devices.count("mallory"), 1u);
  // Checked again: no second alert, the same refusal.
  checked = alice_.own->Check();
  EXPECT_EQ(RefusalOf(checked.status()), Refusal::kAccountReset);
  EXPECT_EQ(AlertsOf(alice_, AlertType::kAccountReset).size(), 1u);
  // A stranger is shown the reset too, never a silent change.
  Client carol(&log_, &sink_, "carol@example.com");
  LogCheckpoint cp = carol.verifier->UpdateCheckpoint().value();
  ASSERT_TRUE(carol.verifier->AddContact(cp, kAlice).ok());
  EXPECT_EQ(AlertsOf(carol, AlertType::kAccountReset).size(), 1u);
}

TEST_F(SecurityKeyAccountTest, AResetStateThatKeepsOldDevicesIsRefused) {
  SetUpAlice();
  // The operator resets the account but commits to a state that still
  // holds Alice's phone, so that contacts would see the old device beside
  // whatever it adds: a reset removes every device.
  Ed25519PrivateKey evil = Ed25519PrivateKey::Generate();
  DeviceRecord reset =
      ResetBy(evil, kAlice, alice_.state.own_state.version + 1);
  AccountState forged = alice_.state.own_state;
  ASSERT_EQ(forged.devices.size(), 1u);
  CommitChange(reset, forged);
  absl::StatusOr<VerifiedAccount> seen = StrangerLooksUp();
  EXPECT_EQ(seen.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(seen.status()), Refusal::kUnauthorizedDevice);
}

TEST_F(SecurityKeyAccountTest, AResetNeverLeadsBackToAnEarlierAuthority) {
  SetUpAlice();
  // The operator resets Alice's account to a key of its own, adds its
  // device, and would hand the account back to her first key, so that her
  // key and her contacts' codes look unchanged: the account rules refuse
  // the way back, and a reset to a key she had.
  Ed25519PrivateKey evil = Ed25519PrivateKey::Generate();
  uint64_t v = alice_.state.own_state.version;
  DeviceRecord reset = ResetBy(evil, kAlice, v + 1);
  ASSERT_TRUE(log_.Submit(reset.Encode()).ok());
  DeviceRecord back;
  back.operation = Operation::kRotateAccountKey;
  back.account_id = kAlice;
  back.key = alice_.state.own_state.first_key;
  back.account_version = v + 2;
  back.Sign(evil);
  EXPECT_EQ(log_.Submit(back.Encode()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Committed all the same (a breached log writes its own states), a
  // contact who never saw her refuses the chain.
  AccountState forged =
      DecodeAccountState(log_.Lookup(kAlice).account_state).value();
  CommitChange(back, forged);
  absl::StatusOr<VerifiedAccount> seen = StrangerLooksUp();
  EXPECT_EQ(seen.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(seen.status()), Refusal::kBrokenKeyChain);
}

TEST_F(SecurityKeyAccountTest, AfterAResetSheDidNotMakeHerCodeIsNotShown) {
  // Bob is on his account key. The operator resets his account and moves
  // it onto security keys of its own: his client must neither show a
  // safety code over the operator's keys (it would match) nor destroy his
  // account key as if he had made the switch.
  Client bob(&log_, &sink_, "bob@example.com");
  ASSERT_TRUE(bob.own->AddDevice("phone", NewKey()).ok());
  std::string bobs_key = bob.keys.PublicKey().value();
  ASSERT_EQ(bob.own->AccountKey().value(), bobs_key);
  Ed25519PrivateKey evil = Ed25519PrivateKey::Generate();
  DeviceRecord reset = ResetBy(evil, "bob@example.com", 2);
  ASSERT_TRUE(log_.Submit(reset.Encode()).ok());
  SoftAuthenticator e1, e2;
  std::string rp = *alice_.own->RpId();
  SecurityKeySet set;
  set.rp_id = rp;
  set.keys = {
      e1.Open()
          .value()
          ->MakeCredential(rp, "bob@example.com", KeyAlgorithm::kEs256, {})
          .value(),
      e2.Open()
          .value()
          ->MakeCredential(rp, "bob@example.com", KeyAlgorithm::kEs256, {})
          .value()};
  std::sort(set.keys.begin(), set.keys.end(),
            [](const SecurityKey& a, const SecurityKey& b) {
              return a.credential_id < b.credential_id;
            });
  DeviceRecord keys;
  keys.operation = Operation::kSetSecurityKeys;
  keys.account_id = "bob@example.com";
  keys.key = set.Encode();
  keys.account_version = 3;
  keys.Sign(evil);
  ASSERT_TRUE(log_.Submit(keys.Encode()).ok());

  (void)bob.own->Check();
  EXPECT_EQ(AlertsOf(bob, AlertType::kAccountReset).size(), 1u);
  EXPECT_EQ(bob.state.own_state.account_key, set.Encode())
      << "the verified lookup's authority";
  EXPECT_EQ(bob.own->AccountKey().status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(bob.keys.PublicKey().value(), bobs_key) << "not retired";
}

TEST_F(SecurityKeyAccountTest, AResetCannotKeepADeviceOfItsOwnVersion) {
  SetUpAlice();
  alice_.own->UseSecurityKey(yubi_.get());
  ASSERT_TRUE(alice_.own->AddDevice("laptop", NewKey()).ok());
  // The operator dates its reset at the version of Alice's laptop, so
  // that the laptop would seem signed before it, and adds its device.
  AccountState forged = alice_.state.own_state;
  uint64_t v = forged.version;  // the laptop's
  Ed25519PrivateKey evil = Ed25519PrivateKey::Generate();
  DeviceRecord reset = ResetBy(evil, kAlice, v);
  forged.devices.erase("phone");
  CommitChange(reset, forged);
  absl::StatusOr<VerifiedAccount> seen = StrangerLooksUp();
  EXPECT_EQ(seen.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(seen.status()), Refusal::kUnauthorizedDevice);
}

TEST_F(SecurityKeyAccountTest,
       ALogHoldingEveryKeyCannotGiveTheAccountANewAuthority) {
  SetUpAlice();
  // A breached operator with every key of its own (the log's, a fresh
  // account key, its own security keys) commits Alice's account to a state
  // with its security keys and its device: versions go up by one, the
  // witnesses would cosign it, and the records are well formed.
  AccountState forged = alice_.state.own_state;
  SoftAuthenticator evil1, evil2;
  std::string rp = *alice_.own->RpId();
  std::unique_ptr<Fido2Device> evil_dev = evil1.Open().value();
  SecurityKey e1 =
      evil_dev->MakeCredential(rp, kAlice, KeyAlgorithm::kEs256, {}).value();
  SecurityKey e2 = evil2.Open()
                       .value()
                       ->MakeCredential(rp, kAlice, KeyAlgorithm::kEs256, {})
                       .value();
  SecurityKeySet set;
  set.rp_id = rp;
  set.keys = {e1, e2};
  std::sort(set.keys.begin(), set.keys.end(),
            [](const SecurityKey& a, const SecurityKey& b) {
              return a.credential_id < b.credential_id;
            });
  // The new set, "authorized" by an account key the operator made up.
  Ed25519PrivateKey made_up = Ed25519PrivateKey::Generate();
  DeviceRecord change;
  change.operation = Operation::kSetSecurityKeys;
  change.account_id = kAlice;
  change.key = set.Encode();
  change.account_version = forged.version + 1;
  change.Sign(made_up);
  CommitChange(change, forged);
  absl::StatusOr<VerifiedAccount> seen = StrangerLooksUp();
  EXPECT_EQ(seen.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(seen.status()), Refusal::kBrokenKeyChain);

  // Authorized instead by one of the operator's own security keys: the
  // same.
  forged = alice_.state.own_state;
  change.account_key.clear();
  change.credential_id = e1.credential_id;
  change.account_version = forged.version + 1;
  KeyAssertion a =
      evil_dev
          ->GetAssertion(rp, {e1.credential_id}, change.ClientDataHash(), false)
          .value();
  change.authenticator_data = a.authenticator_data;
  change.signature = P256PublicKey::LowS(a.signature);
  CommitChange(change, forged);
  seen = StrangerLooksUp();
  EXPECT_EQ(seen.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(seen.status()), Refusal::kBrokenKeyChain);

  // And Alice's own monitor refuses the history.
  absl::Status own = alice_.own->Check().status();
  EXPECT_EQ(own.code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace ktlog
