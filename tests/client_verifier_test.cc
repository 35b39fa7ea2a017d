// The verifier's engine against real log servers (in-process, real gRPC and
// RocksDB): self-monitoring, contacts, forks, rollbacks, timestamps,
// tampered answers, each raising the right alert with its evidence.
#include "verifier/client_verifier.h"

#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/merkle/merkle.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"
#include "tests/test_owner.h"
#include "verifier/own_account.h"
#include "verifier/refusal.h"
#include "verifier/stores.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

// A client of `account` with its own state, talking to `log`.
struct Client {
  Client(LogEnv* env, const std::string& account, const Clock* clock)
      : log(env->client()), verifier(&state, log, clock) {
    state.log_key = env->log_key().ToString();
    state.account_id = account;
    state.device_id = "phone";
  }
  // Marks `r` as written by this client (before it is sent).
  void Expect(const DeviceRecord& r) {
    state.pending_own[Sha256(r.Encode()).ToHex()] = {r.account_version};
  }
  std::vector<AlertType> NewAlertTypes() {
    std::vector<AlertType> out;
    for (size_t i = seen; i < verifier.raised().size(); ++i) {
      out.push_back(verifier.raised()[i].type);
    }
    seen = verifier.raised().size();
    return out;
  }

  ClientState state;
  LogSource* log;
  ClientVerifier verifier;
  size_t seen = 0;
};

// Gives `state`, the client of `owner`'s account, a grant to read its
// history, as OwnAccount does when it writes the account's first record
// (core/account/owner_access.h).
void GrantHistory(const TestAccount& owner, LogEnv* env, ClientState* state) {
  state->access_seed = Sha256("access of " + owner.id()).bytes();
  Ed25519PrivateKey access = *Ed25519PrivateKey::FromSeed(state->access_seed);
  state->access_grant = owner.key().Sign(OwnerGrantMessage(
      env->server()->origin(), owner.id(), access.public_key().bytes()));
}

// Forwards to a real log source, letting a test tamper with the answers:
// the misbehaving server.
class TamperingSource : public LogSource {
 public:
  explicit TamperingSource(LogSource* real) : real_(real) {}
  std::function<void(std::string*)> on_checkpoint;
  std::function<void(std::vector<Hash>*)> on_consistency;
  std::function<void(AccountLookupAnswer*)> on_lookup;
  std::function<void(AccountHistoryAnswer*)> on_history;
  absl::Status history_error;  // answered instead of the history if set
  absl::Status lookup_error;   // answered instead of lookups if set
  // Per account: lookups that asked for the first-record anchor.
  std::map<std::string, int> anchors_asked;

  absl::StatusOr<std::string> GetCheckpoint(
      uint32_t min_cosignatures,
      const std::vector<std::string>& witnesses) override {
    auto note = real_->GetCheckpoint(min_cosignatures, witnesses);
    if (note.ok() && on_checkpoint) on_checkpoint(&*note);
    return note;
  }
  absl::StatusOr<std::vector<Hash>> GetConsistencyProof(uint64_t a,
                                                        uint64_t b) override {
    auto p = real_->GetConsistencyProof(a, b);
    if (p.ok() && on_consistency) on_consistency(&*p);
    return p;
  }
  absl::StatusOr<AccountLookupAnswer> LookupAccount(
      const std::string& id, uint64_t size, bool with_first_record) override {
    if (!lookup_error.ok()) return lookup_error;
    anchors_asked[id] += with_first_record;
    auto a = real_->LookupAccount(id, size, with_first_record);
    if (a.ok() && on_lookup) on_lookup(&*a);
    return a;
  }
  absl::StatusOr<AccountHistoryAnswer> GetAccountHistory(
      const std::string& id, uint64_t from, uint64_t size,
      const OwnerProof& owner) override {
    if (!history_error.ok()) return history_error;
    auto h = real_->GetAccountHistory(id, from, size, owner);
    if (h.ok() && on_history) on_history(&*h);
    return h;
  }

 private:
  LogSource* real_;
};

TEST(ClientVerifierTest, SelfMonitoringCatchesEveryRecordNotSignedHere) {
  auto env = LogEnv::Start();
  TestAccount alice("alice");
  Client client(env.get(), "alice", RealClock::Get());
  GrantHistory(alice, env.get(), &client.state);

  DeviceRecord phone = alice.Add("phone");
  client.Expect(phone);
  env->Append(phone);
  ASSERT_TRUE(client.verifier.MonitorOnce().ok());
  EXPECT_TRUE(client.NewAlertTypes().empty());
  EXPECT_EQ(client.state.own_state.version, 1u);
  EXPECT_TRUE(client.state.pending_own.empty());

  // Someone with a copy of the account key adds a device.
  TestAccount thief = TestAccount::StolenFrom(alice);
  env->Append(thief.Add("evil"));
  ASSERT_TRUE(client.verifier.MonitorOnce().ok());
  EXPECT_EQ(client.NewAlertTypes(),
            std::vector<AlertType>{AlertType::kUnexpectedDevice});
  const Alert& a = client.state.alerts.back();
  EXPECT_NE(a.message.find("\"evil\""), std::string::npos) << a.message;
  EXPECT_TRUE(a.evidence.contains("entry"));
  EXPECT_TRUE(a.evidence.contains("vrf_proof"));
  EXPECT_TRUE(a.evidence.contains("checkpoint"));

  // ... and adds and removes another one between two checks.
  env->Append(thief.Add("ghost"));
  env->Append(thief.Remove("ghost"));
  ASSERT_TRUE(client.verifier.MonitorOnce().ok());
  EXPECT_EQ(client.NewAlertTypes(),
            (std::vector<AlertType>{AlertType::kUnexpectedDevice,
                                    AlertType::kUnexpectedRemoval}));
  EXPECT_NE(client.state.alerts[client.state.alerts.size() - 2].message.find(
                "removed again"),
            std::string::npos);

  // ... and takes the account over.
  env->Append(thief.Rotate());
  ASSERT_TRUE(client.verifier.MonitorOnce().ok());
  EXPECT_EQ(client.NewAlertTypes(),
            std::vector<AlertType>{AlertType::kUnexpectedKeyChange});

  // Checking again raises nothing new: alerts are deduplicated.
  ASSERT_TRUE(client.verifier.MonitorOnce().ok());
  EXPECT_TRUE(client.NewAlertTypes().empty());
  EXPECT_EQ(client.state.alerts.size(), 4u);
  EXPECT_EQ(client.state.own_state.version, 5u);
}

TEST(ClientVerifierTest, ContactKeyChangesAndUnsignedDevices) {
  auto env = LogEnv::Start();
  TestAccount bob("bob");
  env->Append(bob.Add("phone"));
  Client alice(env.get(), "alice", RealClock::Get());
  auto cp = alice.verifier.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok());
  auto added = alice.verifier.AddContact(*cp, "bob");
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_TRUE(
      alice.verifier.VerifyContact(*cp, "bob", bob.key().public_key().bytes())
          .ok());
  EXPECT_EQ(alice.state.contacts["bob"].verified_devices.size(), 1u);
  EXPECT_EQ(alice.verifier.AddContact(*cp, "nobody").status().code(),
            StatusCode::kNotFound);

  // New devices signed by the verified key are fine.
  env->Append(bob.Add("laptop"));
  ASSERT_TRUE(alice.verifier.MonitorOnce().ok());
  EXPECT_TRUE(alice.NewAlertTypes().empty());
  EXPECT_EQ(alice.state.contacts["bob"].seen_devices.size(), 2u);

  // A key change is an alert; so is a device signed by the new key. The
  // check keeps failing while they last, though each alert is raised once.
  std::string verified = bob.key().public_key().bytes();
  env->Append(bob.Rotate());
  DeviceRecord tablet = bob.Add("tablet");
  env->Append(tablet);
  EXPECT_EQ(alice.verifier.MonitorOnce().code(), StatusCode::kDataLoss);
  EXPECT_EQ(alice.NewAlertTypes(),
            (std::vector<AlertType>{AlertType::kContactKeyChanged,
                                    AlertType::kContactDeviceUnsigned}));
  const Alert& change = alice.state.alerts[0];
  EXPECT_EQ(change.evidence["new_key"],
            HexEncode(bob.key().public_key().bytes()));
  // The unsigned device is "tablet", added after the key moved away from
  // the verified one; "phone" and "laptop" (signed by the verified key
  // before) are not flagged.
  EXPECT_EQ(alice.state.alerts[1].evidence["record"],
            HexEncode(tablet.Encode()));
  EXPECT_EQ(alice.verifier.MonitorOnce().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(alice.NewAlertTypes().empty()) << "deduplicated";
  cp = alice.verifier.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(alice.verifier.LookupExisting(*cp, "bob").status().code(),
            StatusCode::kDataLoss)
      << "a lookup of a verified contact checks it as monitoring does";
  // Comparing codes over a key that is no longer current is refused.
  EXPECT_EQ(alice.verifier.VerifyContact(*cp, "bob", verified).status().code(),
            StatusCode::kFailedPrecondition);
  // After verifying the new key, the devices bob has now are vouched for:
  // nothing new.
  ASSERT_TRUE(
      alice.verifier.VerifyContact(*cp, "bob", bob.key().public_key().bytes())
          .ok());
  ASSERT_TRUE(alice.verifier.MonitorOnce().ok());
  EXPECT_TRUE(alice.NewAlertTypes().empty());
}

// Issue 27, 2 and 5: a thief with the verified key rotates to a key of its
// own and replaces every device. The verified key stays in the chain, so
// every device the thief adds, then or later, is an alert; and going back
// to the verified key and away again alerts again (alerts are keyed on the
// rotation, not on the key alone).
TEST(ClientVerifierTest, AThiefsRotationVouchesForNothing) {
  auto env = LogEnv::Start();
  TestAccount bob("bob");
  env->Append(bob.Add("phone"));
  Client alice(env.get(), "alice", RealClock::Get());
  auto cp = alice.verifier.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok());
  ASSERT_TRUE(
      alice.verifier.VerifyContact(*cp, "bob", bob.key().public_key().bytes())
          .ok());
  TestAccount thief = TestAccount::StolenFrom(bob);
  env->Append(thief.Rotate());
  env->Append(thief.Remove("phone"));
  env->Append(thief.Add("evil"));
  EXPECT_EQ(alice.verifier.MonitorOnce().code(), StatusCode::kDataLoss);
  EXPECT_EQ(alice.NewAlertTypes(),
            (std::vector<AlertType>{AlertType::kContactKeyChanged,
                                    AlertType::kContactDeviceUnsigned}));
  env->Append(thief.Add("evil2"));
  EXPECT_EQ(alice.verifier.MonitorOnce().code(), StatusCode::kDataLoss);
  EXPECT_EQ(alice.NewAlertTypes(),
            std::vector<AlertType>{AlertType::kContactDeviceUnsigned});
  // Back to a key (the thief's rotation back is signed by its key), then
  // away to the thief's key again: a new rotation, a new alert.
  Ed25519PrivateKey thief_key =
      *Ed25519PrivateKey::FromSeed(thief.key().seed());
  env->Append(thief.RotateTo(bob.key()));
  ASSERT_TRUE(alice.verifier.MonitorOnce().code() == StatusCode::kDataLoss);
  alice.NewAlertTypes();  // "evil" and "evil2" are still unvouched
  env->Append(thief.RotateTo(thief_key));
  EXPECT_EQ(alice.verifier.MonitorOnce().code(), StatusCode::kDataLoss);
  EXPECT_EQ(alice.NewAlertTypes(),
            std::vector<AlertType>{AlertType::kContactKeyChanged});
}

TEST(ClientVerifierTest, ForkAndRollbackUnderOneKey) {
  auto env1 = LogEnv::Start();
  TestAccount a("a"), b("b");
  env1->Append(a.Add("x"));
  env1->Append(a.Add("y"));
  env1->Append(a.Add("z"));
  // A second log under the same key with another history.
  auto env2 = LogEnv::Start({}, env1.get());
  TestAccount c("c");
  for (int i = 0; i < 5; ++i) env2->Append(c.Add(absl::StrCat("d", i)));
  // And a third that is smaller, signed after the client trusted the first
  // (an older smaller one would be a fork, or, consistent, a replica behind).
  auto env3 = LogEnv::Start({}, env1.get());

  Client client(env1.get(), "nobody", RealClock::Get());
  auto trusted = client.verifier.UpdateCheckpoint();
  ASSERT_TRUE(trusted.ok());
  EXPECT_EQ(trusted->size, 3u);
  absl::SleepFor(absl::Milliseconds(5));  // a later timestamp
  env3->Append(b.Add("only"));

  Client on2(env1.get(), "nobody", RealClock::Get());
  on2.state = client.state;
  ClientVerifier v2(&on2.state, env2->client(), RealClock::Get());
  auto forked = v2.UpdateCheckpoint();
  EXPECT_EQ(forked.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(forked.status()), Refusal::kFork);
  ASSERT_EQ(v2.raised().size(), 1u);
  const Alert& fork = v2.raised()[0];
  EXPECT_EQ(fork.type, AlertType::kLogFork);
  // The evidence is portable: two checkpoints signed by the log's key.
  for (const char* field : {"trusted_checkpoint", "checkpoint"}) {
    EXPECT_TRUE(OpenLogCheckpoint(fork.evidence[field].get<std::string>(),
                                  env1->checkpoint_key())
                    .ok());
  }
  EXPECT_TRUE(fork.evidence.contains("consistency_proof"));
  EXPECT_EQ(on2.state.trusted_checkpoint, client.state.trusted_checkpoint)
      << "a fork never replaces the trusted checkpoint";

  ClientState s3 = client.state;
  ClientVerifier v3(&s3, env3->client(), RealClock::Get());
  absl::Status rollback = v3.UpdateCheckpoint().status();
  EXPECT_EQ(rollback.code(), StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(rollback), Refusal::kRollback);
  ASSERT_EQ(v3.raised().size(), 1u);
  EXPECT_EQ(v3.raised()[0].type, AlertType::kRollback);
}

TEST(ClientVerifierTest, CheckpointTimestampsAndStaleness) {
  auto env = LogEnv::Start();
  uint64_t now = RealClock::Get()->NowMillis();
  {
    FakeClock later(now + 2 * 24 * 3600 * 1000ULL);
    Client client(env.get(), "nobody", &later);
    absl::Status stale = client.verifier.UpdateCheckpoint().status();
    EXPECT_EQ(stale.code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(RefusalOf(stale), Refusal::kStaleLog);
    EXPECT_EQ(client.NewAlertTypes(),
              std::vector<AlertType>{AlertType::kStaleLog});
    EXPECT_TRUE(client.state.trusted_checkpoint.empty()) << "not accepted";
  }
  {
    FakeClock earlier(now - 3600 * 1000ULL);
    Client client(env.get(), "nobody", &earlier);
    absl::Status ahead = client.verifier.UpdateCheckpoint().status();
    EXPECT_EQ(ahead.code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(RefusalOf(ahead), Refusal::kBadTimestamp);
    EXPECT_EQ(client.NewAlertTypes(),
              std::vector<AlertType>{AlertType::kBadTimestamp});
  }
  {
    // A trusted checkpoint dated ahead of the clock (a restored state, a
    // clock set back): nothing older could follow it and it would never
    // go stale, so it is raised before anything is fetched.
    FakeClock clock(now);
    Client client(env.get(), "nobody", &clock);
    ASSERT_TRUE(client.verifier.UpdateCheckpoint().ok());
    std::string trusted = client.state.trusted_checkpoint;
    clock.Set(now - 3600 * 1000ULL);
    absl::Status ahead = client.verifier.UpdateCheckpoint().status();
    EXPECT_EQ(RefusalOf(ahead), Refusal::kBadTimestamp) << ahead;
    EXPECT_EQ(client.NewAlertTypes(),
              std::vector<AlertType>{AlertType::kBadTimestamp});
    EXPECT_EQ(client.state.trusted_checkpoint, trusted);
  }
  {
    // A log that stops answering, once the trusted checkpoint is too old.
    FakeClock clock(now);
    auto log = LogClient::Create(env->server()->address(), absl::Seconds(2));
    ClientState state;
    state.log_key = env->log_key().ToString();
    ClientVerifier verifier(&state, log.get(), &clock);
    ASSERT_TRUE(verifier.UpdateCheckpoint().ok());
    env->Stop();
    clock.Advance(2 * 24 * 3600 * 1000ULL);
    absl::Status gone = verifier.UpdateCheckpoint().status();
    EXPECT_EQ(gone.code(), StatusCode::kUnavailable);
    EXPECT_EQ(RefusalOf(gone), Refusal::kNone) << "the transport's error";
    ASSERT_EQ(verifier.raised().size(), 1u);
    EXPECT_EQ(verifier.raised()[0].type, AlertType::kStaleLog);
  }
}

TEST(ClientVerifierTest, TamperedAnswersAreRejectedWithAlerts) {
  auto env = LogEnv::Start();
  TestAccount alice("alice");
  env->Append(alice.Add("phone"));
  TamperingSource evil(env->client());
  ClientState state;
  state.log_key = env->log_key().ToString();
  state.account_id = "bob";
  ClientVerifier v(&state, &evil, RealClock::Get());
  ASSERT_TRUE(v.UpdateCheckpoint().ok());
  std::string trusted = state.trusted_checkpoint;

  // A checkpoint whose signature was altered.
  evil.on_checkpoint = [](std::string* note) {
    (*note)[note->size() - 5] = (*note)[note->size() - 5] == 'A' ? 'B' : 'A';
  };
  absl::Status forged = v.UpdateCheckpoint().status();
  EXPECT_EQ(forged.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(RefusalOf(forged), Refusal::kBadSignature);
  ASSERT_EQ(v.raised().back().type, AlertType::kBadSignature);
  evil.on_checkpoint = nullptr;

  // A consistency proof with a flipped bit.
  env->Append(alice.Add("laptop"));
  evil.on_consistency = [](std::vector<Hash>* p) {
    if (!p->empty()) (*p)[0].mutable_data()[0] ^= 1;
  };
  EXPECT_EQ(RefusalOf(v.UpdateCheckpoint().status()), Refusal::kFork);
  EXPECT_EQ(v.raised().back().type, AlertType::kLogFork);
  EXPECT_EQ(state.trusted_checkpoint, trusted);
  evil.on_consistency = nullptr;
  auto cp = v.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok());

  // A lookup hiding a device.
  evil.on_lookup = [](AccountLookupAnswer* a) {
    AccountState s = *DecodeAccountState(a->account_state);
    s.devices.erase("laptop");
    a->account_state = s.Encode();
  };
  EXPECT_EQ(v.Lookup(*cp, "alice").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(v.raised().back().type, AlertType::kInvalidProof);
  EXPECT_TRUE(v.raised().back().evidence.contains("lookup"));
  // A VRF proof that does not verify, and an answer for another account's
  // position (bob's VRF proof and index proof: a valid absence, elsewhere).
  evil.on_lookup = [](AccountLookupAnswer* a) { a->vrf_proof[50] ^= 1; };
  size_t before = v.raised().size();
  absl::Status vrf = v.Lookup(*cp, "alice").status();
  EXPECT_EQ(vrf.code(), StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(vrf), Refusal::kBadVrfProof) << vrf;
  ASSERT_EQ(v.raised().size(), before + 1);
  EXPECT_EQ(v.raised().back().type, AlertType::kInvalidProof);
  EXPECT_EQ(v.raised().back().evidence["reason"], "BAD_VRF_PROOF");
  auto bob_answer = env->client()->LookupAccount("bob", cp->size, true);
  ASSERT_TRUE(bob_answer.ok());
  evil.on_lookup = [&](AccountLookupAnswer* a) { *a = *bob_answer; };
  absl::Status elsewhere = v.Lookup(*cp, "alice").status();
  EXPECT_EQ(elsewhere.code(), StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(elsewhere), Refusal::kBadVrfProof) << elsewhere;
  EXPECT_EQ(v.raised().back().type, AlertType::kInvalidProof);
  evil.on_lookup = nullptr;
  // A history whose record does not open the leaf's commitment.
  evil.on_history = [](AccountHistoryAnswer* h) {
    if (!h->entries.empty()) h->entries[0].record_opening[0] ^= 1;
  };
  // Only its owner reads an account's history: Bob's client does not ask.
  EXPECT_EQ(v.History(*cp, "alice").status().code(),
            StatusCode::kFailedPrecondition);
  ClientState own;
  own.log_key = state.log_key;
  own.account_id = "alice";
  GrantHistory(alice, env.get(), &own);
  ClientVerifier owner(&own, &evil, RealClock::Get());
  absl::Status history = owner.History(*cp, "alice").status();
  EXPECT_EQ(history.code(), StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(history), Refusal::kBadCommitment) << history;
  EXPECT_EQ(owner.raised().back().type, AlertType::kInvalidProof);
  EXPECT_EQ(owner.raised().back().evidence["reason"], "BAD_COMMITMENT");
  EXPECT_TRUE(owner.raised().back().evidence.contains("history"));
}

// The own account monitored by Alice's client through a log that can be
// made to refuse or stall (TamperingSource), the log and the client on one
// clock the test moves forward (the log's checkpoints stay fresh: a write
// signs a new one). Alice's phone is registered and checked once.
class OwnerMonitoringTest : public ::testing::Test {
 protected:
  OwnerMonitoringTest()
      : env(StartOn(&clock)), log(env->client()), v(&state, &log, &clock) {
    state.log_key = env->log_key().ToString();
    state.account_id = "alice";
    GrantHistory(alice, env.get(), &state);
    DeviceRecord phone = alice.Add("phone");
    state.pending_own[Sha256(phone.Encode()).ToHex()] = {phone.account_version};
    env->Append(phone);
    EXPECT_TRUE(v.MonitorOnce().ok());
  }

  static std::unique_ptr<LogEnv> StartOn(FakeClock* clock) {
    LogServerOptions options;
    options.clock = clock;
    options.service.max_record_skew = absl::Hours(1000);
    return LogEnv::Start(options);
  }

  FakeClock clock{RealClock::Get()->NowMillis()};
  std::unique_ptr<LogEnv> env;
  TestAccount alice{"alice"}, bob{"bob"};
  TamperingSource log;
  ClientState state;
  ClientVerifier v;
};

// A log that proves the owner's account changed but will not show the
// change: a refusal that contradicts the index is evidence at once; a log
// that is merely unreachable for the history raises STALE_LOG once that
// lasts longer than the policy allows, never silently for ever.
TEST_F(OwnerMonitoringTest, AnOwnerCannotBeStalledSilently) {
  TestAccount thief = TestAccount::StolenFrom(alice);
  env->Append(thief.Add("evil"));

  log.history_error = absl::UnavailableError("busy");
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(v.raised().empty()) << "unreachable is not evidence";
  clock.Advance(state.policy.max_own_check_delay_ms / 2);
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(v.raised().empty());
  // Within the bound docs/verifier.md states (an hour by default), far
  // below max_checkpoint_age (a day), while checkpoints stay fresh.
  ASSERT_LT(state.policy.max_own_check_delay_ms,
            state.policy.max_checkpoint_age_ms);
  clock.Advance(state.policy.max_own_check_delay_ms);
  env->Append(bob.Add("phone"));  // a fresh checkpoint
  EXPECT_FALSE(v.MonitorOnce().ok());
  bool stalled = false;
  for (const Alert& a : v.raised()) {
    stalled |= a.type == AlertType::kStaleLog && a.account == "alice";
  }
  EXPECT_TRUE(stalled) << v.raised().size();

  log.history_error = absl::NotFoundError("no such account");
  absl::Status refused = v.MonitorOnce();
  EXPECT_EQ(RefusalOf(refused), Refusal::kInconsistentAccount) << refused;
  EXPECT_EQ(v.raised().back().type, AlertType::kInvalidProof);
  EXPECT_EQ(v.raised().back().evidence["proved_version"], 2);

  log.history_error = absl::OkStatus();
  ASSERT_TRUE(v.MonitorOnce().ok());
  EXPECT_EQ(v.raised().back().type, AlertType::kUnexpectedDevice);
  EXPECT_EQ(state.own_unverified_since_ms, 0u);
}

// Issue 27, 10: a log that serves fresh checkpoints and contacts' lookups
// but refuses the owner's own lookup as "unavailable" is an alert within
// the same bound.
TEST_F(OwnerMonitoringTest, AnOwnerCannotBeKeptFromTheirOwnLookup) {
  log.lookup_error = absl::UnavailableError("busy");
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kUnavailable);
  clock.Advance(state.policy.max_own_check_delay_ms - 1);
  env->Append(bob.Add("phone"));
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(v.raised().empty()) << "within the bound, no alert";
  clock.Advance(2);
  env->Append(bob.Add("laptop"));
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kUnavailable);
  ASSERT_EQ(v.raised().size(), 1u);
  EXPECT_EQ(v.raised()[0].type, AlertType::kStaleLog);
  EXPECT_EQ(v.raised()[0].account, "alice");
  // Once the log answers again, the clock starts over.
  log.lookup_error = absl::OkStatus();
  ASSERT_TRUE(v.MonitorOnce().ok());
  EXPECT_EQ(state.own_unverified_since_ms, 0u);
}

// The review of the fixes (finding 3): a log that keeps serving the owner
// an old checkpoint (while others are shown newer ones) hides every change
// since; once that checkpoint is older than max_own_check_delay, STALE_LOG
// for the account (max_checkpoint_age, a day, would have been the bound).
TEST_F(OwnerMonitoringTest,
       AnOwnerServedAnOldCheckpointIsAlertedWithinTheBound) {
  std::string old = state.trusted_checkpoint;
  log.on_checkpoint = [&](std::string* note) { *note = old; };
  TestAccount thief = TestAccount::StolenFrom(alice);
  env->Append(thief.Add("evil"));
  clock.Advance(state.policy.max_own_check_delay_ms);
  EXPECT_TRUE(v.MonitorOnce().ok()) << "at the bound, not yet";
  EXPECT_TRUE(v.raised().empty());
  clock.Advance(1000);
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(v.raised().size(), 1u);
  EXPECT_EQ(v.raised()[0].type, AlertType::kStaleLog);
  EXPECT_EQ(v.raised()[0].account, "alice");
}

// The review of the fixes (finding 8): an honest log that failed one own
// check before the client went offline for hours, and one after, is no
// reason for STALE_LOG: failures count only while they keep coming.
TEST_F(OwnerMonitoringTest, AnOfflineGapIsNotAStalledOwner) {
  log.lookup_error = absl::UnavailableError("busy");
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kUnavailable);
  clock.Advance(3 * state.policy.max_own_check_delay_ms);  // offline
  env->Append(bob.Add("phone"));                           // fresh
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(v.raised().empty()) << "one failure on each side of a gap";
  // Failures that keep coming for longer than the bound still alert.
  clock.Advance(state.policy.max_own_check_delay_ms / 2);
  env->Append(bob.Add("laptop"));
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kUnavailable);
  clock.Advance(state.policy.max_own_check_delay_ms / 2 + 1000);
  env->Append(bob.Add("tablet"));
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kUnavailable);
  ASSERT_EQ(v.raised().size(), 1u);
  EXPECT_EQ(v.raised()[0].type, AlertType::kStaleLog);
}

// The review of owner access (F5): a log that refuses the owner's history
// (her grant valid) is caught also by a monitor that runs less often than
// max_own_check_delay: refusals do not start the clock over as an offline
// gap does.
TEST_F(OwnerMonitoringTest, ARefusedHistoryIsCaughtByARareMonitor) {
  log.history_error = absl::PermissionDeniedError("not the owner");
  env->Append(alice.Add("laptop"));  // a change she must see
  EXPECT_EQ(v.MonitorOnce().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(v.raised().empty()) << "not yet: within the bound";
  clock.Advance(2 * state.policy.max_own_check_delay_ms);  // a rare monitor
  env->Append(bob.Add("phone"));                           // fresh
  absl::Status second = v.MonitorOnce();
  EXPECT_EQ(RefusalOf(second), Refusal::kStaleLog) << second;
  ASSERT_EQ(v.raised().size(), 1u);
  EXPECT_EQ(v.raised()[0].type, AlertType::kStaleLog);
}

// A contact's first-record anchor is asked for once; later lookups rely on
// the first key the client verified then, and a log that changes it is
// caught without an anchor.
TEST(ClientVerifierTest, TheFirstRecordAnchorIsAskedForOncePerContact) {
  auto env = LogEnv::Start();
  TestAccount bob("bob");
  env->Append(bob.Add("phone"));
  TamperingSource log(env->client());
  ClientState state;
  state.log_key = env->log_key().ToString();
  state.account_id = "alice";
  ClientVerifier v(&state, &log, RealClock::Get());
  auto cp = v.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok());
  ASSERT_TRUE(v.AddContact(*cp, "bob").ok());
  EXPECT_EQ(log.anchors_asked["bob"], 1);
  EXPECT_EQ(state.contacts["bob"].first_key, bob.key().public_key().bytes());
  env->Append(bob.Add("laptop"));
  ASSERT_TRUE(v.MonitorOnce().ok());
  ASSERT_TRUE(v.MonitorOnce().ok());
  EXPECT_EQ(log.anchors_asked["bob"], 1);
  // A non-contact is anchored at every lookup.
  TestAccount carol("carol");
  env->Append(carol.Add("phone"));
  cp = v.UpdateCheckpoint();
  ASSERT_TRUE(v.Lookup(*cp, "carol").ok());
  ASSERT_TRUE(v.Lookup(*cp, "carol").ok());
  EXPECT_EQ(log.anchors_asked["carol"], 2);
  // The log shows bob's state with another first key.
  log.on_lookup = [](AccountLookupAnswer* a) {
    AccountState s = *DecodeAccountState(a->account_state);
    s.first_key = std::string(32, 'x');
    a->account_state = s.Encode();
  };
  EXPECT_EQ(v.Lookup(*cp, "bob").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(v.raised().back().type, AlertType::kInvalidProof);
}

// Regression (issue 8.1): a client that trusts the empty tree asks about
// it, even after another user's write landed; "latest" is no longer spelled
// tree size 0, so the answer is for the tree it trusts and nothing alarms.
TEST(ClientVerifierTest, TheEmptyTreeIsAnswerableAfterOthersWrote) {
  auto env = LogEnv::Start();
  Client alice(env.get(), "alice", RealClock::Get());
  auto empty = alice.verifier.UpdateCheckpoint();
  ASSERT_TRUE(empty.ok()) << empty.status();
  ASSERT_EQ(empty->size, 0u);
  TestAccount bob("bob");
  env->Append(bob.Add("phone"));  // lands between checkpoint and lookup
  auto lookup = alice.verifier.Lookup(*empty, "alice");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_FALSE(lookup->state.has_value());
  EXPECT_TRUE(alice.verifier.MonitorSelf(*empty).ok());
  auto bob_then = alice.verifier.Lookup(*empty, "bob");
  ASSERT_TRUE(bob_then.ok()) << bob_then.status();
  EXPECT_FALSE(bob_then->state.has_value()) << "bob was not in the empty tree";
  EXPECT_TRUE(alice.NewAlertTypes().empty());
  // The same holds for histories.
  auto history = env->client()->GetAccountHistory(
      "bob", 1, 0, bob.Owner(env->server()->origin(), 1, 0));
  EXPECT_EQ(history.status().code(), StatusCode::kNotFound)
      << "bob did not exist in the empty tree";
}

// One owner's client on the library's own write path (OwnAccount over the
// real log client), in a state dir of its own.
// The world's timing, not a choreography: two owners write and monitor
// their accounts (reading their histories with their own access keys)
// while a contact of one of them monitors on its own schedule and a front
// end appends records for others; the honest log raises no alert anywhere,
// and every owner check is answered.
TEST(ClientVerifierTest, OwnersAndAContactOnTheirOwnSchedulesRaiseNothing) {
  auto env = LogEnv::Start();
  TestOwner alice(env.get(), "alice"), carol(env.get(), "carol");
  ASSERT_TRUE(alice.own->AddDevice("phone", TestAccount::DeviceKey("a")).ok());
  ClientState bob;
  bob.log_key = env->log_key().ToString();
  bob.account_id = "bob";
  ClientVerifier bobs(&bob, env->client(), RealClock::Get());
  auto cp = bobs.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_TRUE(bobs.AddContact(*cp, "alice").ok());

  std::mt19937 rng(7);
  auto pause = [&rng](std::mutex* mu) {
    int ms;
    {
      std::lock_guard<std::mutex> lock(*mu);
      ms = std::uniform_int_distribution<int>(0, 15)(rng);
    }
    absl::SleepFor(absl::Milliseconds(ms));
  };
  std::mutex rng_mu;
  auto owner = [&](TestOwner* o) {
    for (int i = 0; i < 6; ++i) {
      std::string id = absl::StrCat("d", i);
      EXPECT_TRUE(o->own->AddDevice(id, TestAccount::DeviceKey(id)).ok());
      for (int j = 0; j < 3; ++j) {
        pause(&rng_mu);
        EXPECT_TRUE(o->own->Monitor().ok());
      }
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(owner, &alice);
  threads.emplace_back(owner, &carol);
  threads.emplace_back([&] {
    for (int i = 0; i < 30; ++i) {
      pause(&rng_mu);
      EXPECT_TRUE(bobs.MonitorOnce().ok());
    }
  });
  threads.emplace_back([&] {
    for (int i = 0; i < 20; ++i) {
      TestAccount other(absl::StrCat("other", i));
      env->Append(other.Add("phone"));
    }
  });
  for (auto& t : threads) t.join();
  for (const ClientState* s : {&alice.state, &carol.state, &bob}) {
    EXPECT_TRUE(s->alerts.empty())
        << s->account_id << ": " << s->alerts[0].message;
  }
  EXPECT_EQ(alice.state.own_state.version, 7u);
  EXPECT_EQ(carol.state.own_state.version, 6u);
}

}  // namespace
}  // namespace ktlog
