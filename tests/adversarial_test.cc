// The adversarial suite: a deliberately misbehaving log (tests/evil_log.h,
// holding the real signing key) tries split views, rollbacks, forged roots,
// a forged index root and a record with an invalid signature. For each the
// auditor refuses to cosign and writes evidence, and clients that require
// the auditor's cosignature never trust the bad checkpoint.
#include "absl/strings/str_cat.h"
#include "auditor/auditor.h"
#include "client/log_client.h"
#include "core/note/cosignature.h"
#include "gtest/gtest.h"
#include "tests/evil_log.h"
#include "tests/test_env.h"
#include "verifier/client_verifier.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

class AdversarialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_key_ =
        std::make_unique<NoteSigner>(*NoteSigner::Generate("evil.example/log"));
    witness_ = std::make_unique<NoteSigner>(
        *NoteSigner::Generate("auditor.example/w", kNoteTypeCosignatureV1));
  }

  // A log under the shared key, with `n` honest records of `prefix` accounts.
  std::unique_ptr<EvilLog> NewLog(const std::string& prefix, int n) {
    auto log = EvilLog::Start(*log_key_);
    TestAccount a(prefix);
    for (int i = 0; i < n; ++i)
      log->Append(a.Add(absl::StrCat("d", i)).Encode());
    return log;
  }

  struct AuditorAt {
    std::string dir;
    std::unique_ptr<LogClient> client;
    std::unique_ptr<Auditor> auditor;
  };
  AuditorAt NewAuditor(const EvilLog& log, const std::string& dir) {
    AuditorAt a;
    a.dir = dir;
    a.client = LogClient::Create(log.address());
    AuditorOptions options;
    options.state_dir = dir;
    options.log_key = log_key_->verifier_key();
    auto auditor = Auditor::Open(
        options, *NoteSigner::Parse(witness_->ToString()), a.client.get());
    EXPECT_TRUE(auditor.ok()) << auditor.status();
    a.auditor = *std::move(auditor);
    return a;
  }

  // A client that requires the auditor's cosignature.
  struct Client {
    std::unique_ptr<LogClient> log;
    ClientState state;
    std::unique_ptr<ClientVerifier> verifier;
  };
  std::unique_ptr<Client> NewClient(const EvilLog& log, bool require_witness) {
    auto c = std::make_unique<Client>();
    c->log = LogClient::Create(log.address());
    c->state.log_verifier_key = log_key_->verifier_key().ToString();
    if (require_witness) {
      c->state.policy.witnesses = {witness_->verifier_key().ToString()};
      c->state.policy.witness_quorum = 1;
    }
    c->verifier = std::make_unique<ClientVerifier>(&c->state, c->log.get(),
                                                   RealClock::Get());
    return c;
  }

  // The auditor refused with `type` and evidence; it never cosigned a bad
  // checkpoint; and it keeps refusing.
  void ExpectRefused(AuditorAt& a, EvilLog& log, const std::string& type,
                     size_t cosigned_before) {
    auto r = a.auditor->RunOnce();
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status();
    auto failure = a.auditor->Failure();
    ASSERT_TRUE(failure.ok() && failure->has_value());
    EXPECT_EQ((**failure)["type"], type) << (**failure).dump();
    EXPECT_TRUE((**failure)["evidence"].contains("checkpoint"));
    EXPECT_FALSE(a.auditor->evidence_path().empty());
    EXPECT_EQ(log.ReceivedCosignedNotes().size(), cosigned_before)
        << "no cosignature for a bad checkpoint";
    EXPECT_EQ(a.auditor->RunOnce().status().code(),
              StatusCode::kFailedPrecondition);
  }

  std::unique_ptr<NoteSigner> log_key_, witness_;
};

TEST_F(AdversarialTest, SplitViewIsCaught) {
  auto view1 = NewLog("alice", 4);
  auto view2 = NewLog("mallory", 6);  // another history under the same key
  view1->Publish(4);
  view2->Publish(6);
  // The auditor watches view 1 and cosigns it.
  AuditorAt auditor = NewAuditor(*view1, NewTempDir("aud"));
  ASSERT_TRUE(auditor.auditor->RunOnce().ok());
  ASSERT_EQ(view1->ReceivedCosignedNotes().size(), 1u);
  // A client shown view 1 trusts it (cosigned); a client shown view 2 can
  // never trust it: no witness cosigned that history.
  auto c1 = NewClient(*view1, true);
  EXPECT_TRUE(c1->verifier->UpdateCheckpoint().ok());
  // (That no cosigned checkpoint exists yet is not evidence by itself: an
  // honest log's witnesses may not have run. The client trusts nothing and
  // raises STALE_LOG once its bound passes.)
  auto c2 = NewClient(*view2, true);
  EXPECT_EQ(c2->verifier->UpdateCheckpoint().status().code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(c2->verifier->raised().empty());
  EXPECT_TRUE(c2->state.trusted_checkpoint.empty());
  // The log then shows the auditor the other view: a fork, with evidence.
  std::string dir = auditor.dir;
  auditor.auditor.reset();  // the same auditor state, now pointed at view 2
  AuditorAt a = NewAuditor(*view2, dir);
  ExpectRefused(a, *view2, "LOG_FORK", 0);
  // And a client that trusted view 1 and is then shown view 2 sees the fork
  // (or, requiring cosignatures, never accepts it).
  auto moved = NewClient(*view2, false);
  moved->state.trusted_checkpoint = c1->state.trusted_checkpoint;
  EXPECT_EQ(moved->verifier->UpdateCheckpoint().status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(moved->verifier->raised().back().type, AlertType::kLogFork);
}

TEST_F(AdversarialTest, RollbackIsCaught) {
  auto log = NewLog("alice", 5);
  log->Publish(5);
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ASSERT_TRUE(a.auditor->RunOnce().ok());
  auto client = NewClient(*log, false);
  ASSERT_TRUE(client->verifier->UpdateCheckpoint().ok());
  log->Publish(3);  // the log goes back
  ExpectRefused(a, *log, "ROLLBACK", 1);
  EXPECT_EQ(client->verifier->UpdateCheckpoint().status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(client->verifier->raised().back().type, AlertType::kRollback);
  // A client that requires the witness finds nothing cosigned to trust.
  auto strict = NewClient(*log, true);
  EXPECT_FALSE(strict->verifier->UpdateCheckpoint().ok());
  EXPECT_TRUE(strict->state.trusted_checkpoint.empty());
}

TEST_F(AdversarialTest, ForgedIndexRootIsCaught) {
  auto log = NewLog("alice", 5);
  log->Publish(5, std::nullopt, Sha256("a different index"));
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ExpectRefused(a, *log, "INDEX_ROOT_MISMATCH", 0);
  auto strict = NewClient(*log, true);
  EXPECT_FALSE(strict->verifier->UpdateCheckpoint().ok());
  EXPECT_TRUE(strict->state.trusted_checkpoint.empty());
}

TEST_F(AdversarialTest, ForgedTreeRootIsCaught) {
  auto log = NewLog("alice", 5);
  log->Publish(5, Sha256("a root for records that do not exist"));
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ExpectRefused(a, *log, "ROOT_MISMATCH", 0);
  auto strict = NewClient(*log, true);
  EXPECT_FALSE(strict->verifier->UpdateCheckpoint().ok());
  EXPECT_TRUE(strict->state.trusted_checkpoint.empty());
}

TEST_F(AdversarialTest, RecordWithAnInvalidSignatureIsCaught) {
  auto log = NewLog("alice", 3);
  TestAccount bob("bob");
  DeviceRecord slipped = bob.Add("phone");
  slipped.signature[0] ^= 1;  // past the validation a real log does
  log->Append(slipped.Encode());
  log->Publish(4);
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ExpectRefused(a, *log, "INVALID_RECORD", 0);
  auto failure = *a.auditor->Failure();
  EXPECT_EQ((*failure)["evidence"]["leaf_index"], 3);
  EXPECT_EQ((*failure)["evidence"]["inclusion_verifies"], true)
      << "the evidence proves the bad record is in the signed tree";
  auto strict = NewClient(*log, true);
  EXPECT_FALSE(strict->verifier->UpdateCheckpoint().ok());
}

TEST_F(AdversarialTest, RecordBreakingTheAccountRulesIsCaught) {
  auto log = NewLog("alice", 2);
  // A validly signed record by a key that is not alice's account key.
  TestAccount impostor("alice");
  impostor.set_version(2);
  log->Append(impostor.Add("evil").Encode());
  log->Publish(3);
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ExpectRefused(a, *log, "INVALID_RECORD", 0);
  EXPECT_NE((*a.auditor->Failure())->dump().find("account rules"),
            std::string::npos);
}

}  // namespace
}  // namespace ktlog
