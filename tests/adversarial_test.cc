// The adversarial suite: a deliberately misbehaving log (tests/evil_log.h,
// holding the real keys) tries split views, rollbacks, forged roots, a
// forged index root, and leaves that skip or repeat a version, go back in
// time or are malformed. For each the auditor, from public data alone,
// refuses to cosign and writes evidence, and clients that require the
// auditor's cosignature never trust the bad checkpoint. (What records
// behind the leaves say is for each account's owner to check:
// ClientVerifierTest and VerifierHistoryTest.)
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
    vrf_ = std::make_unique<VrfPrivateKey>(VrfPrivateKey::Generate());
    witness_ = std::make_unique<NoteSigner>(
        *NoteSigner::Generate("auditor.example/w", kNoteTypeCosignatureV1));
  }

  // A log under the shared keys, with `n` honest leaves of account
  // `account` (versions 1..n).
  std::unique_ptr<EvilLog> NewLog(const std::string& account, int n) {
    auto log = EvilLog::Start(*log_key_, *vrf_);
    for (int i = 1; i <= n; ++i) log->Append(log->LeafFor(account, i).Encode());
    return log;
  }

  LogPublicKey PublicKey() const {
    return LogPublicKey{log_key_->verifier_key(), vrf_->public_key()};
  }

  struct AuditorAt {
    std::string dir;
    std::unique_ptr<LogClient> client;
    std::unique_ptr<GrpcFeed> feed;
    std::unique_ptr<Auditor> auditor;
  };
  AuditorAt NewAuditor(const EvilLog& log, const std::string& dir) {
    AuditorAt a;
    a.dir = dir;
    a.client = LogClient::Create(log.address());
    a.feed = std::make_unique<GrpcFeed>(a.client.get());
    AuditorOptions options;
    options.state_dir = dir;
    options.log_key = PublicKey();
    auto auditor = Auditor::Open(
        options, *NoteSigner::Parse(witness_->ToString()), a.feed.get());
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
    c->state.log_key = PublicKey().ToString();
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
  std::unique_ptr<VrfPrivateKey> vrf_;
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

TEST_F(AdversarialTest, LeafSkippingAVersionIsCaught) {
  auto log = NewLog("alice", 3);
  log->Append(log->LeafFor("alice", 5).Encode());  // version 4 is hidden
  log->Publish(4);
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ExpectRefused(a, *log, "INVALID_LEAF", 0);
  auto failure = *a.auditor->Failure();
  EXPECT_EQ((*failure)["evidence"]["leaf_index"], 3);
  EXPECT_EQ((*failure)["evidence"]["inclusion_verifies"], true)
      << "the evidence proves the bad leaf is in the signed tree";
  EXPECT_NE(
      (*failure)["message"].get<std::string>().find("from version 3 to 5"),
      std::string::npos)
      << failure->dump();
  auto strict = NewClient(*log, true);
  EXPECT_FALSE(strict->verifier->UpdateCheckpoint().ok());
}

TEST_F(AdversarialTest, LeafRepeatingAVersionIsCaught) {
  // Two leaves for version 2: two states of one account at one version
  // (one shown to some clients, one to others).
  auto log = NewLog("alice", 2);
  log->Append(log->LeafFor("alice", 2).Encode());
  log->Publish(3);
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ExpectRefused(a, *log, "INVALID_LEAF", 0);
}

TEST_F(AdversarialTest, NewAccountNotStartingAtVersionOneIsCaught) {
  auto log = NewLog("alice", 2);
  log->Append(log->LeafFor("bob", 2).Encode());
  log->Publish(3);
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ExpectRefused(a, *log, "INVALID_LEAF", 0);
}

TEST_F(AdversarialTest, LeafGoingBackInTimeIsCaught) {
  auto log = NewLog("alice", 2);
  Leaf early = log->LeafFor("bob", 1);
  early.timestamp_ms -= 10000;
  log->Append(early.Encode());
  log->Publish(3);
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ExpectRefused(a, *log, "INVALID_LEAF", 0);
}

TEST_F(AdversarialTest, MalformedLeafIsCaught) {
  auto log = NewLog("alice", 2);
  TestAccount bob("bob");
  log->Append(bob.Add("phone").Encode());  // a plaintext record as a leaf
  log->Publish(3);
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ExpectRefused(a, *log, "INVALID_LEAF", 0);
  EXPECT_NE((*a.auditor->Failure())->dump().find("malformed"),
            std::string::npos);
}

// Issue 27, 6: a checkpoint dated a day ahead is not cosigned, and is no
// evidence against the log either (the witness's clock may be the wrong
// one); so the log cannot brick its witness by having it cosign a future
// time that every honest checkpoint after it would seem to go back from.
TEST_F(AdversarialTest, AFutureDatedCheckpointIsNotCosigned) {
  auto log = NewLog("alice", 2);
  uint64_t now = RealClock::Get()->NowMillis();
  log->SetTime(now + 24 * 3600 * 1000ULL);
  log->Publish(2);
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  auto refused = a.auditor->RunOnce();
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition)
      << refused.status();
  EXPECT_TRUE(log->ReceivedCosignedNotes().empty());
  auto failure = a.auditor->Failure();
  ASSERT_TRUE(failure.ok());
  EXPECT_FALSE(failure->has_value()) << "not recorded as misbehaviour";
  // The log's clock is set right: its next checkpoint is cosigned.
  log->SetTime(now);
  log->Publish(2);
  auto round = a.auditor->RunOnce();
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_TRUE(round->cosigned);
  EXPECT_EQ(log->ReceivedCosignedNotes().size(), 1u);
}

// A checkpoint that is not even valid UTF-8 is refused with evidence; it
// once made the auditor abort while it wrote the evidence as JSON.
TEST_F(AdversarialTest, ANoteThatIsNotUtf8IsEvidenceNotACrash) {
  auto log = NewLog("alice", 2);
  LogCheckpoint cp = log->Publish(2);
  std::string note = SignLogCheckpoint(cp, *log_key_);
  log->ServeRawNote(note.substr(0, note.find("\n\n") + 3));  // half an em dash
  AuditorAt a = NewAuditor(*log, NewTempDir("aud"));
  ExpectRefused(a, *log, "BAD_SIGNATURE", 0);
}

// The auditor's honest path over the evil log's well-formed leaves: many
// accounts, interleaved, across rounds and restarts, cosigned each time.
TEST_F(AdversarialTest, HonestLeavesAreCosignedAcrossRounds) {
  auto log = NewLog("alice", 3);
  std::string dir = NewTempDir("aud");
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      log->Append(log->LeafFor(absl::StrCat("u", i), round + 1).Encode());
    }
    log->Publish(3 + 4 * (round + 1));
    AuditorAt a = NewAuditor(*log, dir);
    auto r = a.auditor->RunOnce();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->leaves_checked, round == 0 ? 7u : 4u);
  }
  EXPECT_EQ(log->ReceivedCosignedNotes().size(), 3u);
}

}  // namespace
}  // namespace ktlog
