// Erasure on request (docs/operations.md, "Erasure"), end to end against a
// real server on RocksDB: the operator erases an account through the
// EraseAccount RPC with an erasure credential, or offline with ktlog-admin
// erase; its records, keys and openings are gone from every file of the
// data dir, while every checkpoint and proof stays valid: a contact who
// verified the account, the owner's own client, a stranger and an auditor
// that cosigns all go on without an alert, and lookups prove that the
// account existed and was erased. The id cannot be registered again;
// fsck and restarts accept the erased account.
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "auditor/auditor.h"
#include "core/account/registration.h"
#include "core/note/key_file.h"
#include "core/testonly/files_holding.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"
#include "log/fsck.h"
#include "tests/subprocess.h"
#include "tests/test_env.h"
#include "tests/test_owner.h"
#include "verifier/refusal.h"

namespace ktlog {
namespace {

using absl::StatusCode;

// Ids that share no four bytes with each other or the log's other data, so
// that a compressed table holds each at least once as it is.
constexpr char kAlice[] = "Q7vZk2Lp@erased.example";
constexpr char kCarol[] = "M3nXw8Rt@kept.invalid";

struct ErasureEnv {
  ErasureEnv()
      : registration(RegistrationKey::Generate()),
        witness(*NoteSigner::Generate("witness.example/erasure",
                                      kNoteTypeCosignatureV1)) {
    LogServerOptions options;
    options.registration = registration;
    options.cosignatures.witnesses.push_back(witness.verifier_key());
    env = LogEnv::Start(options);
  }

  std::string Credential(const std::string& id, const std::string& key,
                         CredentialPurpose purpose) const {
    uint64_t expiry = absl::ToUnixSeconds(absl::Now() + absl::Hours(1));
    return registration.CredentialFor(id, key, expiry, purpose);
  }
  std::string ErasureCredential(const std::string& id) const {
    return Credential(id, "", CredentialPurpose::kErase);
  }

  // Registers `owner` with a device "phone" (and "laptop" if `two`).
  void Register(TestOwner* owner, const std::string& prefix, bool two) {
    std::string key = *owner->keys.PublicKey();
    const std::string& id = owner->state.account_id;
    auto added = owner->own->AddDevice(
        "phone", TestAccount::DeviceKey(prefix + "phone"),
        Credential(id, key, CredentialPurpose::kRegistration));
    ASSERT_TRUE(added.ok()) << added.status();
    if (two) {
      added = owner->own->AddDevice("laptop",
                                    TestAccount::DeviceKey(prefix + "laptop"));
      ASSERT_TRUE(added.ok()) << added.status();
    }
  }

  std::unique_ptr<Auditor> OpenAuditor() {
    AuditorOptions options;
    options.state_dir = auditor_dir;
    options.log_key = env->log_key();
    auto a = Auditor::Open(options, *NoteSigner::Parse(witness.ToString()),
                           env->feed());
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *std::move(a) : nullptr;
  }

  // One auditor round over the log as it is now (reopened: the server may
  // have restarted); fails the test if the auditor refuses anything.
  void Audit() {
    std::unique_ptr<Auditor> auditor = OpenAuditor();
    ASSERT_NE(auditor, nullptr);
    auto round = auditor->RunOnce();
    ASSERT_TRUE(round.ok()) << round.status();
    EXPECT_EQ(round->size, env->Checkpoint().size);
  }

  RegistrationKey registration;
  NoteSigner witness;
  std::unique_ptr<LogEnv> env;
  std::string auditor_dir = NewTempDir("auditor");
};

// What Alice's data dir must no longer hold, and Carol's that it must (so
// that the search is shown to find such bytes).
std::vector<std::string> AlicesSecrets(TestOwner* alice) {
  return {kAlice, TestAccount::DeviceKey("alice-phone"),
          TestAccount::DeviceKey("alice-laptop"), *alice->keys.PublicKey()};
}

void ExpectGoneFromDisk(const std::string& dir,
                        const std::vector<std::string>& gone,
                        const std::vector<std::string>& kept) {
  for (const std::string& needle : gone) {
    EXPECT_EQ(FilesHolding(dir, needle), std::vector<std::string>())
        << "still on disk: " << HexEncode(needle);
  }
  for (const std::string& needle : kept) {
    EXPECT_FALSE(FilesHolding(dir, needle).empty())
        << "not found on disk: " << HexEncode(needle);
  }
}

// A fresh client (no state) looks `id` up at the latest checkpoint.
absl::StatusOr<VerifiedAccount> FreshLookup(LogEnv* env,
                                            const std::string& id) {
  ClientState state;
  state.log_key = env->log_key().ToString();
  state.account_id = "stranger@example.org";
  ClientVerifier stranger(&state, env->client(), RealClock::Get());
  absl::StatusOr<LogCheckpoint> cp = stranger.UpdateCheckpoint();
  if (!cp.ok()) return cp.status();
  absl::StatusOr<VerifiedAccount> found = stranger.Lookup(*cp, id);
  EXPECT_TRUE(state.alerts.empty()) << state.alerts[0].message;
  return found;
}

TEST(ErasureTest, TheOperatorErasesAnAccountAndNoOneIsAlerted) {
  ErasureEnv e;
  LogEnv* env = e.env.get();
  TestOwner alice(env, kAlice), carol(env, kCarol);
  e.Register(&alice, "alice-", /*two=*/true);
  e.Register(&carol, "carol-", /*two=*/false);
  // Bob compared codes with Alice, and follows Carol.
  ClientState bob;
  bob.log_key = env->log_key().ToString();
  bob.account_id = "bob@example.org";
  ClientVerifier bobs(&bob, env->client(), RealClock::Get());
  auto cp = bobs.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_TRUE(
      bobs.VerifyContact(*cp, kAlice, alice.state.own_state.account_key).ok());
  ASSERT_TRUE(bobs.AddContact(*cp, kCarol).ok());
  e.Audit();

  // Only the erasure credential for Alice's id erases her account.
  LogClient* client = env->client();
  EXPECT_EQ(client->EraseAccount(kAlice, "").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(client
                ->EraseAccount(
                    kAlice, e.Credential(kAlice, "", CredentialPurpose::kReset))
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(
      client->EraseAccount(kAlice, e.ErasureCredential(kCarol)).status().code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(client
                ->EraseAccount("nobody@example.org",
                               e.ErasureCredential("nobody@example.org"))
                .status()
                .code(),
            StatusCode::kNotFound);
  auto erased = client->EraseAccount(kAlice, e.ErasureCredential(kAlice));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(*erased, 3u);  // her erasure leaf follows her 2 records
  EXPECT_EQ(
      client->EraseAccount(kAlice, e.ErasureCredential(kAlice)).status().code(),
      StatusCode::kNotFound);
  // A batch at a checkpoint from before the erasure: Alice's state is gone,
  // so she alone is FAILED_PRECONDITION (ask at a newer checkpoint).
  auto before = client->LookupAccounts({{kAlice}, {kCarol}}, cp->size);
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0].status().code(), StatusCode::kFailedPrecondition)
      << before[0].status();
  EXPECT_TRUE(before[1].ok()) << before[1].status();

  // Gone from every file of the data dir; Carol is still there.
  ExpectGoneFromDisk(
      env->data_dir(), AlicesSecrets(&alice),
      {kCarol, TestAccount::DeviceKey("carol-phone"), *carol.keys.PublicKey()});

  // Bob's monitoring says so, typed, with no alert; Carol still verifies.
  absl::Status monitored = bobs.MonitorOnce();
  EXPECT_EQ(monitored.code(), StatusCode::kNotFound);
  EXPECT_EQ(RefusalOf(monitored), Refusal::kAccountErased) << monitored;
  ASSERT_TRUE(carol.own->AddDevice("tablet", TestAccount::DeviceKey("t")).ok());
  cp = bobs.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok());
  auto carols = bobs.Lookup(*cp, kCarol);
  ASSERT_TRUE(carols.ok()) << carols.status();
  EXPECT_EQ(carols->devices.size(), 2u);
  EXPECT_TRUE(bob.alerts.empty()) << bob.alerts[0].message;
  // A stranger gets the proof that the account was erased: its erasure
  // leaf, of version 3, in the index.
  auto found = FreshLookup(env, kAlice);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->state.has_value());
  EXPECT_EQ(found->erased_version, std::optional<uint64_t>(3));
  // Alice's own client learns it without an alert.
  absl::Status own = alice.own->Monitor();
  EXPECT_EQ(RefusalOf(own), Refusal::kAccountErased) << own;
  EXPECT_TRUE(alice.state.alerts.empty()) << alice.state.alerts[0].message;
  // The id cannot be registered again, with a key of its owner's or not.
  TestOwner again(env, kAlice);
  auto re =
      again.own->AddDevice("phone", TestAccount::DeviceKey("new-phone"),
                           e.Credential(kAlice, *again.keys.PublicKey(),
                                        CredentialPurpose::kRegistration));
  EXPECT_EQ(RefusalOf(re.status()), Refusal::kAccountErased) << re.status();
  // (the client library sees the erasure first; the log refuses the record
  // itself too)
  TestAccount raw(kAlice);
  DeviceRecord first = raw.Add("phone");
  auto written = client->Write(first.operation, first.Encode(), true,
                               e.Credential(kAlice, first.account_key,
                                            CredentialPurpose::kRegistration));
  EXPECT_EQ(written.status().code(), StatusCode::kFailedPrecondition)
      << written.status();
  // The auditor replays every leaf, Alice's included, and cosigns.
  e.Audit();

  // A restart, and fsck, accept the erased account.
  env->Restart();
  found = FreshLookup(env, kAlice);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->erased_version, std::optional<uint64_t>(3));
  e.Audit();
  env->Stop();
  auto storage = LogStorage::Open(env->data_dir());
  ASSERT_TRUE(storage.ok()) << storage.status();
  FsckReport report = Fsck(storage->get());
  ASSERT_TRUE(report.status.ok()) << report.status;
  EXPECT_EQ(report.erased, 1u);
  EXPECT_EQ(report.accounts, 1u);  // Carol
  EXPECT_EQ(report.records, 2u);   // Carol's; Alice's 3 leaves have none
}

// The breached operator's use of erasure: with a copy of Alice's account
// key it adds its own device for her contacts, then erases her account, so
// that the device can no longer be checked. An erasure after versions the
// owner never verified is an alert, not a quiet NOT_FOUND.
TEST(ErasureTest, AnErasureThatHidesAChangeAlertsTheOwner) {
  ErasureEnv e;
  LogEnv* env = e.env.get();
  TestOwner alice(env, kAlice);
  e.Register(&alice, "alice-", /*two=*/true);
  ASSERT_TRUE(alice.own->Monitor().ok());
  TestOwner thief(env, kAlice);
  std::filesystem::copy_file(alice.dir + "/account.key",
                             thief.dir + "/account.key",
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(thief.own->Monitor().ok());  // takes the account as it is
  auto planted = thief.own->AddDevice("eve", TestAccount::DeviceKey("eve"));
  ASSERT_TRUE(planted.ok()) << planted.status();
  auto erased =
      env->client()->EraseAccount(kAlice, e.ErasureCredential(kAlice));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(*erased, 4u);

  absl::Status own = alice.own->Monitor();
  EXPECT_EQ(RefusalOf(own), Refusal::kInconsistentAccount) << own;
  ASSERT_EQ(alice.state.alerts.size(), 1u);
  EXPECT_EQ(alice.state.alerts[0].type, AlertType::kInvalidProof);
  // The thief's client wrote version 3 itself: the erasure right after it
  // hides nothing from it.
  absl::Status thiefs = thief.own->Monitor();
  EXPECT_EQ(RefusalOf(thiefs), Refusal::kAccountErased) << thiefs;
  EXPECT_TRUE(thief.state.alerts.empty());
}

// The world's timing, not a choreography: the owner and a contact who
// verified her monitor on their own schedules, another owner keeps writing,
// and the operator erases the account at a moment of its own; a stranger
// joins late. Every check is answered with the live account, the proved
// erasure or a "not yet" that is no evidence, and no one is alerted.
TEST(ErasureTest, EveryoneOnTheirOwnSchedulesRaisesNothing) {
  ErasureEnv e;
  LogEnv* env = e.env.get();
  TestOwner alice(env, kAlice), carol(env, kCarol);
  e.Register(&alice, "alice-", /*two=*/true);
  e.Register(&carol, "carol-", /*two=*/false);
  ClientState bob;
  bob.log_key = env->log_key().ToString();
  bob.account_id = "bob@example.org";
  ClientVerifier bobs(&bob, env->client(), RealClock::Get());
  auto cp = bobs.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_TRUE(
      bobs.VerifyContact(*cp, kAlice, alice.state.own_state.account_key).ok());

  std::mt19937 rng(11);
  std::mutex rng_mu;
  auto pause = [&] {
    int ms;
    {
      std::lock_guard<std::mutex> lock(rng_mu);
      ms = std::uniform_int_distribution<int>(0, 20)(rng);
    }
    absl::SleepFor(absl::Milliseconds(ms));
  };
  // No check's outcome may be evidence.
  auto no_evidence = [](const absl::Status& s) {
    EXPECT_FALSE(IsVerificationFailure(RefusalOf(s))) << s;
  };
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    for (int i = 0; i < 20; ++i, pause()) no_evidence(bobs.MonitorOnce());
  });
  threads.emplace_back([&] {
    for (int i = 0; i < 20; ++i, pause()) no_evidence(alice.own->Monitor());
  });
  threads.emplace_back([&] {
    for (int i = 0; i < 6; ++i, pause()) {
      std::string id = absl::StrCat("d", i);
      EXPECT_TRUE(carol.own->AddDevice(id, TestAccount::DeviceKey(id)).ok());
    }
  });
  threads.emplace_back([&] {
    pause();
    pause();
    auto erased =
        env->client()->EraseAccount(kAlice, e.ErasureCredential(kAlice));
    EXPECT_TRUE(erased.ok()) << erased.status();
  });
  for (auto& t : threads) t.join();

  no_evidence(bobs.MonitorOnce());
  no_evidence(alice.own->Monitor());
  auto late = FreshLookup(env, kAlice);
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->erased_version, std::optional<uint64_t>(3));
  EXPECT_EQ(RefusalOf(alice.own->Monitor()), Refusal::kAccountErased);
  for (const ClientState* s : {&alice.state, &carol.state, &bob}) {
    EXPECT_TRUE(s->alerts.empty())
        << s->account_id << ": " << s->alerts[0].message;
  }
  e.Audit();
}

TEST(ErasureTest, KtlogAdminErasesFromAStoppedLog) {
  ErasureEnv e;
  LogEnv* env = e.env.get();
  TestOwner alice(env, kAlice), carol(env, kCarol);
  e.Register(&alice, "alice-", /*two=*/true);
  e.Register(&carol, "carol-", /*two=*/false);
  e.Audit();
  env->Stop();
  std::string key_file = NewTempDir("key") + "/log.key";
  ASSERT_TRUE(WriteKeyFile(key_file, env->signer(), &env->vrf()).ok());

  const std::string admin = "tools/ktlog-admin";
  const std::vector<std::string> erase = {
      admin, "erase", "--data_dir=" + env->data_dir(), "--key_file=" + key_file,
      "--account=" + std::string(kAlice)};
  RunResult erased = RunProgram(erase);
  EXPECT_EQ(erased.exit_code, 0) << erased.out;
  EXPECT_NE(erased.out.find("erased: the account's 2 records"),
            std::string::npos)
      << erased.out;
  RunResult again = RunProgram(erase);
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_NE(again.out.find("is not in this log (never written, or erased "
                           "already) (the data dir is compacted)"),
            std::string::npos)
      << again.out;
  ExpectGoneFromDisk(env->data_dir(), AlicesSecrets(&alice),
                     {kCarol, TestAccount::DeviceKey("carol-phone")});
  RunResult fsck = RunProgram({admin, "fsck", "--data_dir=" + env->data_dir()});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out;
  EXPECT_NE(fsck.out.find("1 accounts, 1 erased accounts"), std::string::npos)
      << fsck.out;

  env->Restart();
  auto found = FreshLookup(env, kAlice);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->erased_version, std::optional<uint64_t>(3));
  found = FreshLookup(env, kCarol);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->state.has_value());
  EXPECT_EQ(found->devices.size(), 1u);
  e.Audit();
}

}  // namespace
}  // namespace ktlog
