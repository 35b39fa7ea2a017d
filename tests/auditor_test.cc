// The auditor against a real, honest log server (in-process, real gRPC and
// RocksDB): it verifies and cosigns; the server accepts cosignatures only
// from configured witnesses and only for its own checkpoints; clients that
// require cosignatures trust cosigned checkpoints.
#include "auditor/auditor.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/account/index.h"
#include "core/note/cosignature.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"
#include "gtest/gtest.h"
#include "rocksdb/iterator.h"
#include "rocksdb/write_batch.h"
#include "storage/rocksdb.h"
#include "tests/test_env.h"
#include "verifier/client_verifier.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

struct Witnessed {
  std::unique_ptr<NoteSigner> witness;
  std::unique_ptr<LogEnv> env;
};

Witnessed StartWitnessedLog() {
  Witnessed w;
  w.witness = std::make_unique<NoteSigner>(
      *NoteSigner::Generate("witness.example/w1", kNoteTypeCosignatureV1));
  LogServerOptions options;
  options.cosignatures.witnesses.push_back(w.witness->verifier_key());
  w.env = LogEnv::Start(options);
  return w;
}

std::unique_ptr<Auditor> OpenAuditor(const Witnessed& w, const std::string& dir,
                                     uint64_t commit_every = 50000) {
  AuditorOptions options;
  options.state_dir = dir;
  options.log_key = w.env->log_key();
  options.page = 50;
  options.commit_every = commit_every;
  auto a = Auditor::Open(options, *NoteSigner::Parse(w.witness->ToString()),
                         w.env->feed());
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : nullptr;
}

TEST(AuditorTest, VerifiesIncrementallyAndCosigns) {
  Witnessed w = StartWitnessedLog();
  std::vector<TestAccount> accounts;
  for (int i = 0; i < 5; ++i) accounts.emplace_back(absl::StrCat("u", i));
  for (int round = 0; round < 3; ++round) {
    for (auto& a : accounts) w.env->Append(a.Add(absl::StrCat("d", round)));
  }
  std::string dir = NewTempDir("auditor");
  auto auditor = OpenAuditor(w, dir);
  auto r = auditor->RunOnce();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size, 15u);
  EXPECT_EQ(r->leaves_checked, 15u);
  EXPECT_TRUE(r->cosigned);

  // The log now serves the checkpoint with the witness's cosignature.
  auto cosigned = w.env->client()->GetCheckpoint(1);
  ASSERT_TRUE(cosigned.ok()) << cosigned.status();
  auto note = ParseNote(*cosigned);
  ASSERT_TRUE(note.ok());
  EXPECT_TRUE(VerifyCosignature(*note, w.witness->verifier_key()).ok());
  EXPECT_EQ(w.env->client()->GetCheckpoint(2).status().code(),
            StatusCode::kFailedPrecondition)
      << "two cosignatures from one witness";

  // More records: only the new ones are replayed, also after reopening.
  w.env->Append(accounts[0].Rotate());
  w.env->Append(accounts[0].Add("after-rotation"));
  auditor.reset();
  auditor = OpenAuditor(w, dir);
  r = auditor->RunOnce();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->leaves_checked, 2u);
  EXPECT_TRUE(r->cosigned);
}

// Rewrites an auditor state as the earlier format 2 stored it: each
// position's version alone, and every node of the account index; with
// `interrupted`, every other entry as a conversion that was killed left it.

// Writes the format-2 index nodes of the subtree at `depth` under `prefix`
// holding `u` (sorted, non-empty): 'x' | u16 depth | prefix -> u8 type
// (1 internal: left, right; 2 leaf: key, value hash) | two hashes.
// Returns the subtree's hash.
Hash Format2Nodes(absl::Span<const std::pair<Hash, Hash>> u, int depth,
                  Hash prefix, rocksdb::WriteBatch* wb) {
  std::string key = "x";
  AppendBigEndian(depth, 2, &key);
  key.append(prefix.view().data(), Hash::kSize);
  if (u.size() == 1) {
    wb->Put(key, absl::StrCat("\x02", u[0].first.view(), u[0].second.view()));
    return IndexLeafHash(u[0].first, u[0].second);
  }
  size_t split = 0;
  while (split < u.size() && KeyBit(u[split].first, depth) == 0) ++split;
  Hash right_prefix = prefix;
  right_prefix.mutable_data()[depth / 8] |= 0x80 >> (depth % 8);
  Hash l = split == 0
               ? kEmptyIndexHash
               : Format2Nodes(u.subspan(0, split), depth + 1, prefix, wb);
  Hash r = split == u.size()
               ? kEmptyIndexHash
               : Format2Nodes(u.subspan(split), depth + 1, right_prefix, wb);
  wb->Put(key, absl::StrCat("\x01", l.view(), r.view()));
  return IndexNodeHash(l, r);
}

void RewriteAsFormat2(const std::string& dir, bool interrupted) {
  auto db = RocksDb::Open(dir, "auditor state");
  ASSERT_TRUE(db.ok()) << db.status();
  rocksdb::WriteBatch wb;
  std::vector<std::pair<Hash, Hash>> entries;
  std::unique_ptr<rocksdb::Iterator> it = (*db)->NewIterator();
  for (it->Seek("v"); it->Valid() && it->key().starts_with("v"); it->Next()) {
    std::string key = it->key().ToString(), value = it->value().ToString();
    ASSERT_EQ(value.size(), 8u + Hash::kSize);
    entries.emplace_back(Hash::FromBytesOrDie(key.substr(1)),
                         Hash::FromBytesOrDie(value.substr(8)));
    if (!interrupted || entries.size() % 2 == 0)
      wb.Put(key, value.substr(0, 8));
  }
  wb.Delete("m/index-root");
  ASSERT_FALSE(entries.empty());
  std::sort(entries.begin(), entries.end());
  Format2Nodes(entries, 0, Hash(), &wb);
  std::string format;
  AppendBigEndian(2, 8, &format);
  wb.Put("m/format", format);
  ASSERT_TRUE((*db)->WriteSynced(&wb).ok());
}

class ConversionTest : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(AuditorTest, ConversionTest,
                         ::testing::Values(false, true));

TEST_P(ConversionTest, ConvertsAStateOfTheEarlierFormat) {
  Witnessed w = StartWitnessedLog();
  std::vector<TestAccount> accounts;
  for (int i = 0; i < 6; ++i) accounts.emplace_back(absl::StrCat("u", i));
  for (auto& a : accounts) w.env->Append(a.Add("d0"));
  w.env->Append(accounts[0].Add("d1"));
  std::string dir = NewTempDir("auditor");
  auto auditor = OpenAuditor(w, dir);
  ASSERT_TRUE(auditor->RunOnce().ok());
  auditor.reset();
  RewriteAsFormat2(dir, GetParam());

  // It resumes from the converted state: the versions and the index root
  // carry over (a wrong version or root would be reported as misbehaviour).
  w.env->Append(accounts[0].Add("d2"));
  w.env->Append(accounts[5].Add("d1"));
  w.env->Append(TestAccount("new").Add("d0"));
  auditor = OpenAuditor(w, dir);
  auto r = auditor->RunOnce();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->leaves_checked, 3u);
  EXPECT_TRUE(r->cosigned);
  auditor.reset();
  auto db = RocksDb::Open(dir, "auditor state");
  ASSERT_TRUE(db.ok());
  std::unique_ptr<rocksdb::Iterator> it = (*db)->NewIterator();
  it->Seek("x");
  EXPECT_FALSE(it->Valid() && it->key().starts_with("x"))
      << "index nodes left behind";
}

// A state damaged on disk is the auditor's problem: it refuses to start,
// and records no misbehaviour of the log.
TEST(AuditorTest, ADamagedStateIsNotBlamedOnTheLog) {
  Witnessed w = StartWitnessedLog();
  TestAccount alice("alice"), bob("bob");
  w.env->Append(alice.Add("phone"));
  w.env->Append(bob.Add("phone"));
  std::string dir = NewTempDir("auditor");
  auto auditor = OpenAuditor(w, dir);
  ASSERT_TRUE(auditor->RunOnce().ok());
  auditor.reset();
  {
    auto db = RocksDb::Open(dir, "auditor state");
    ASSERT_TRUE(db.ok());
    std::unique_ptr<rocksdb::Iterator> it = (*db)->NewIterator();
    it->Seek("v");
    ASSERT_TRUE(it->Valid() && it->key().starts_with("v"));
    std::string value = it->value().ToString();
    value.back() ^= 1;  // the index value hash
    ASSERT_TRUE((*db)->PutSynced(it->key().ToString(), value).ok());
  }
  AuditorOptions options;
  options.state_dir = dir;
  options.log_key = w.env->log_key();
  auto reopened = Auditor::Open(
      options, *NoteSigner::Parse(w.witness->ToString()), w.env->feed());
  EXPECT_EQ(reopened.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(reopened.status().message().find("auditor state is damaged"),
            std::string::npos)
      << reopened.status();
}

TEST(AuditorTest, ServerAcceptsOnlyConfiguredWitnessesAndOwnCheckpoints) {
  Witnessed w = StartWitnessedLog();
  TestAccount a("a");
  w.env->Append(a.Add("x"));
  std::string note_text = *w.env->client()->GetCheckpoint(0);
  Note note = *ParseNote(note_text);
  // A stranger's cosignature.
  auto stranger =
      NoteSigner::Generate("stranger.example", kNoteTypeCosignatureV1);
  Note by_stranger = note;
  by_stranger.signatures.push_back(Cosign(note.text, *stranger, 1));
  EXPECT_EQ(
      w.env->client()->AddCosignature(by_stranger.ToString()).status().code(),
      StatusCode::kPermissionDenied);
  // A configured witness, but a checkpoint this log did not sign.
  auto other_log = NoteSigner::Generate("test.example/log");
  LogCheckpoint fake = *ParseLogCheckpointBody(note.text);
  fake.size = 1000;
  Note forged{fake.ToBody(), {SignNote(fake.ToBody(), *other_log)}};
  forged.signatures.push_back(Cosign(forged.text, *w.witness, 1));
  EXPECT_EQ(w.env->client()->AddCosignature(forged.ToString()).status().code(),
            StatusCode::kInvalidArgument);
  // A broken cosignature by the configured witness.
  Note broken = note;
  broken.signatures.push_back(Cosign(note.text, *w.witness, 1));
  broken.signatures.back().signature[20] ^= 1;
  EXPECT_EQ(w.env->client()->AddCosignature(broken.ToString()).status().code(),
            StatusCode::kInvalidArgument);
  // The real thing.
  Note good = note;
  good.signatures.push_back(Cosign(note.text, *w.witness, 1));
  auto n = w.env->client()->AddCosignature(good.ToString());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1u);
}

TEST(AuditorTest, ClientsRequiringCosignaturesTrustOnlyCosignedCheckpoints) {
  Witnessed w = StartWitnessedLog();
  TestAccount a("a");
  w.env->Append(a.Add("x"));
  ClientState state;
  state.log_key = w.env->log_key().ToString();
  state.policy.witnesses = {w.witness->verifier_key().ToString()};
  state.policy.witness_quorum = 1;
  ClientVerifier client(&state, w.env->client(), RealClock::Get());
  // No witness has run yet: nothing to trust, and no alarm either (the
  // witness is late, the log is honest; regression, issue 8.5).
  EXPECT_EQ(client.UpdateCheckpoint().status().code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(client.raised().empty());
  EXPECT_TRUE(state.trusted_checkpoint.empty());

  auto auditor = OpenAuditor(w, NewTempDir("auditor"));
  ASSERT_TRUE(auditor->RunOnce().ok());
  auto cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 1u);
  // Requiring two of one witness can never be met.
  state.policy.witnesses.push_back(
      NoteSigner::Generate("w2.example", kNoteTypeCosignatureV1)
          ->verifier_key()
          .ToString());
  state.policy.witness_quorum = 2;
  EXPECT_FALSE(client.UpdateCheckpoint().ok());
}

// A log source that serves the real log's newest checkpoint its witness
// cosigned, rewritten by `rewrite` (a front that lies about cosignatures).
class NoteRewritingSource : public LogSource {
 public:
  NoteRewritingSource(LogClient* real, std::function<void(Note*)> rewrite)
      : real_(real), rewrite_(std::move(rewrite)) {}
  absl::StatusOr<std::string> GetCheckpoint(
      uint32_t, const std::vector<std::string>&) override {
    ASSIGN_OR_RETURN(std::string note, real_->GetCheckpoint(1));
    ASSIGN_OR_RETURN(Note n, ParseNote(note));
    rewrite_(&n);
    return n.ToString();
  }
  absl::StatusOr<std::vector<Hash>> GetConsistencyProof(uint64_t a,
                                                        uint64_t b) override {
    return real_->GetConsistencyProof(a, b);
  }
  absl::StatusOr<AccountLookupAnswer> LookupAccount(const std::string& id,
                                                    uint64_t size,
                                                    bool first) override {
    return real_->LookupAccount(id, size, first);
  }
  absl::StatusOr<AccountHistoryAnswer> GetAccountHistory(
      const std::string& id, uint64_t from, uint64_t size,
      const OwnerProof& owner) override {
    return real_->GetAccountHistory(id, from, size, owner);
  }

 private:
  LogClient* const real_;
  const std::function<void(Note*)> rewrite_;
};

// Regression (issue 20, 1; issue 27, 3): one witness counts once, however
// it is named. The log refuses a request naming its key twice; a client
// whose policy lists one key under two names (a state from before the
// policy was checked) counts one cosignature, even when a front relabels
// the cosignature line to look like two.
TEST(AuditorTest, AWitnessCountsOnceUnderAnyName) {
  Witnessed w = StartWitnessedLog();
  TestAccount a("a");
  w.env->Append(a.Add("x"));
  auto auditor = OpenAuditor(w, NewTempDir("auditor"));
  ASSERT_TRUE(auditor->RunOnce().ok());
  NoteVerifierKey w1 = w.witness->verifier_key();
  NoteVerifierKey alias = w1;
  alias.name = "alias.example/w";
  alias.key_id = NoteKeyId(alias.name, alias.type, alias.key.bytes());
  EXPECT_EQ(w.env->client()
                ->GetCheckpoint(2, {w1.ToString(), w1.ToString()})
                .status()
                .code(),
            StatusCode::kInvalidArgument);

  // A front that serves the one-witness note with the cosignature copied
  // under the alias.
  NoteRewritingSource front(w.env->client(), [&](Note* n) {
    NoteSignature copy = *FindSignature(*n, w1);
    copy.name = alias.name;
    copy.key_id = alias.key_id;
    n->signatures.push_back(copy);
  });
  ClientState state;
  state.log_key = w.env->log_key().ToString();
  state.policy.witnesses = {w1.ToString(), alias.ToString()};
  state.policy.witness_quorum = 2;
  EXPECT_EQ(CheckWitnessPolicy(state.policy).code(),
            StatusCode::kInvalidArgument);
  ClientVerifier client(&state, &front, RealClock::Get());
  EXPECT_EQ(client.UpdateCheckpoint().status().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_EQ(client.raised().size(), 1u);
  EXPECT_EQ(client.raised()[0].type, AlertType::kMissingCosignatures);
  EXPECT_TRUE(state.trusted_checkpoint.empty());
}

// Issue 27, 7: a cosignature dated near 2^64 / 1000 seconds made the
// client's "time_s * 1000" wrap to a small number and count as not in the
// future. The front replaces the witness's cosignature with one it made
// (the witness's key is not needed for the check of the time to matter:
// here the test holds it).
TEST(AuditorTest, ACosignatureFromTheFarFutureIsNotCounted) {
  Witnessed w = StartWitnessedLog();
  TestAccount a("a");
  w.env->Append(a.Add("x"));
  auto auditor = OpenAuditor(w, NewTempDir("auditor"));
  ASSERT_TRUE(auditor->RunOnce().ok());
  const uint64_t wraps = 18446744073709552ULL;  // * 1000 = 2^64 + 384
  NoteRewritingSource front(w.env->client(), [&](Note* n) {
    n->signatures.resize(1);  // the log's own signature
    n->signatures.push_back(Cosign(n->text, *w.witness, wraps));
  });
  ClientState state;
  state.log_key = w.env->log_key().ToString();
  state.policy.witnesses = {w.witness->verifier_key().ToString()};
  state.policy.witness_quorum = 1;
  ClientVerifier client(&state, &front, RealClock::Get());
  EXPECT_EQ(client.UpdateCheckpoint().status().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_EQ(client.raised().size(), 1u);
  EXPECT_EQ(client.raised()[0].type, AlertType::kMissingCosignatures);
  EXPECT_TRUE(state.trusted_checkpoint.empty());
}

// A log with two witnesses, and an auditor for each.
struct TwoWitnesses {
  std::unique_ptr<NoteSigner> w1, w2;
  std::unique_ptr<LogEnv> env;
  std::unique_ptr<Auditor> a1, a2;

  explicit TwoWitnesses(LogServerOptions options = {}) {
    w1 = std::make_unique<NoteSigner>(
        *NoteSigner::Generate("witness.example/w1", kNoteTypeCosignatureV1));
    w2 = std::make_unique<NoteSigner>(
        *NoteSigner::Generate("witness.example/w2", kNoteTypeCosignatureV1));
    options.cosignatures.witnesses = {w1->verifier_key(), w2->verifier_key()};
    env = LogEnv::Start(options);
    a1 = Open(*w1);
    a2 = Open(*w2);
  }
  std::unique_ptr<Auditor> Open(const NoteSigner& w) {
    AuditorOptions o;
    o.state_dir = NewTempDir("auditor");
    o.log_key = env->log_key();
    auto a = Auditor::Open(o, *NoteSigner::Parse(w.ToString()), env->feed());
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *std::move(a) : nullptr;
  }
  // The newest checkpoint both witnesses cosigned, if any.
  absl::StatusOr<LogCheckpoint> Quorum() {
    ASSIGN_OR_RETURN(std::string note, env->client()->GetCheckpoint(2));
    return OpenLogCheckpoint(note, env->checkpoint_key());
  }
};

// Regression (issue 8.5): each witness used to cosign whatever was latest
// when it ran, so two witnesses never cosigned the same checkpoint and a
// 2-of-2 quorum never formed. Driven deterministically: writes land between
// the two witnesses' rounds.
TEST(AuditorTest, TwoWitnessesFormAQuorumWhileWritesLand) {
  TwoWitnesses t;
  TestAccount a("a");
  t.env->Append(a.Add("d1"));
  ASSERT_TRUE(t.a1->RunOnce().ok());
  EXPECT_EQ(t.Quorum().status().code(), StatusCode::kNotFound);
  t.env->Append(a.Add("d2"));
  ASSERT_TRUE(t.a2->RunOnce().ok());
  auto q = t.Quorum();
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->size, 1u) << "the checkpoint w1 cosigned, now w2's too";
  t.env->Append(a.Add("d3"));
  // w2 completed the first; in the same round it cosigned the next one the
  // log asks for, so w1's next round completes that one.
  ASSERT_TRUE(t.a1->RunOnce().ok());
  q = t.Quorum();
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->size, 2u);
  t.env->Append(a.Add("d4"));
  ASSERT_TRUE(t.a2->RunOnce().ok());
  q = t.Quorum();
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->size, 3u);
}

// Regression (issue 8.5): on an idle log, a heartbeat between the two
// witnesses' rounds changed the latest checkpoint, and no quorum formed.
TEST(AuditorTest, TwoWitnessesFormAQuorumAcrossHeartbeats) {
  LogServerOptions options;
  options.sequencer.checkpoint_interval = absl::Milliseconds(20);
  TwoWitnesses t(options);
  TestAccount a("a");
  t.env->Append(a.Add("d1"));
  ASSERT_TRUE(t.a1->RunOnce().ok());
  // Wait for a newer heartbeat (same tree, later timestamp).
  auto publisher = t.env->server()->publisher();
  uint64_t seq = publisher->Latest()->sequence;
  ASSERT_NE(publisher->WaitForNewer(seq, absl::Now() + absl::Seconds(30)),
            nullptr);
  ASSERT_GT(publisher->Latest()->sequence, seq);
  ASSERT_TRUE(t.a2->RunOnce().ok());
  auto q = t.Quorum();
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->size, 1u);
}

// Two witnesses on their own schedules while a writer writes: at any time T,
// once each witness has finished two rounds that started after T, a
// checkpoint at least as large as the tree at T has both cosignatures (the
// quorum lags the log by about one round of the slower witness).
TEST(AuditorTest, TwoWitnessesOnTheirOwnSchedules) {
  LogServerOptions options;
  options.sequencer.checkpoint_interval = absl::Milliseconds(10);
  TwoWitnesses t(options);
  std::atomic<bool> stop{false};
  std::atomic<int> rounds1{0}, rounds2{0};
  auto run = [&](Auditor* a, std::atomic<int>* rounds, int pause_ms) {
    while (!stop) {
      auto r = a->RunOnce();
      EXPECT_TRUE(r.ok()) << r.status();
      ++*rounds;
      absl::SleepFor(absl::Milliseconds(pause_ms));
    }
  };
  std::thread writer([&] {
    TestAccount a("busy");
    for (int i = 0; !stop; ++i) {
      t.env->Append(a.Add(absl::StrCat("d", i)));
      absl::SleepFor(absl::Milliseconds(3));
    }
  });
  std::thread x1(run, t.a1.get(), &rounds1, 7);
  std::thread x2(run, t.a2.get(), &rounds2, 23);
  for (int check = 0; check < 5; ++check) {
    uint64_t size_then =
        t.env->server()->publisher()->Latest()->checkpoint.size;
    int r1 = rounds1, r2 = rounds2;
    // Two full rounds each after now (the one in progress does not count).
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while ((rounds1 < r1 + 3 || rounds2 < r2 + 3) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    auto q = t.Quorum();
    ASSERT_TRUE(q.ok()) << q.status();
    EXPECT_GE(q->size, size_then) << "check " << check;
  }
  stop = true;
  writer.join();
  x1.join();
  x2.join();
}

// Regression (issue 8.6): a client that trusted the latest checkpoint (not
// cosigned yet) and then adopted a witness policy got the older cosigned
// checkpoint next and raised ROLLBACK, or BAD_TIMESTAMP at the same size.
TEST(AuditorTest, AdoptingAWitnessPolicyRaisesNoFalseAlarm) {
  LogServerOptions options;
  options.sequencer.checkpoint_interval = absl::Milliseconds(20);
  Witnessed w = [&] {
    Witnessed x;
    x.witness = std::make_unique<NoteSigner>(
        *NoteSigner::Generate("witness.example/w1", kNoteTypeCosignatureV1));
    options.cosignatures.witnesses.push_back(x.witness->verifier_key());
    x.env = LogEnv::Start(options);
    return x;
  }();
  TestAccount a("a");
  w.env->Append(a.Add("x"));
  auto auditor = OpenAuditor(w, NewTempDir("auditor"));
  ASSERT_TRUE(auditor->RunOnce().ok());  // cosigns size 1
  ClientState state;
  state.log_key = w.env->log_key().ToString();
  ClientVerifier client(&state, w.env->client(), RealClock::Get());

  // Same size: the client trusts a heartbeat newer than the cosigned one.
  auto publisher = w.env->server()->publisher();
  uint64_t seq = publisher->Latest()->sequence;
  publisher->WaitForNewer(seq + 2, absl::Now() + absl::Seconds(30));
  auto latest = client.UpdateCheckpoint();
  ASSERT_TRUE(latest.ok()) << latest.status();
  CheckingPolicy policy = state.policy;
  policy.witnesses = {w.witness->verifier_key().ToString()};
  policy.witness_quorum = 1;
  SetPolicy(&state, policy);
  auto cosigned = client.UpdateCheckpoint();
  ASSERT_TRUE(cosigned.ok()) << cosigned.status();
  EXPECT_EQ(cosigned->size, latest->size);
  EXPECT_LT(cosigned->timestamp_ms, latest->timestamp_ms);

  // A smaller cosigned checkpoint than the one trusted before the policy.
  SetPolicy(&state, CheckingPolicy());
  w.env->Append(a.Add("y"));
  latest = client.UpdateCheckpoint();
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_EQ(latest->size, 2u);
  SetPolicy(&state, policy);
  cosigned = client.UpdateCheckpoint();
  ASSERT_TRUE(cosigned.ok()) << cosigned.status();
  EXPECT_EQ(cosigned->size, 1u);
  EXPECT_TRUE(client.raised().empty())
      << AlertTypeName(client.raised()[0].type);
  // Once the witnesses catch up, trust moves on past the seen checkpoint.
  ASSERT_TRUE(auditor->RunOnce().ok());
  auto caught_up = client.UpdateCheckpoint();
  ASSERT_TRUE(caught_up.ok()) << caught_up.status();
  EXPECT_EQ(caught_up->size, 2u);
  EXPECT_TRUE(state.seen_checkpoint.empty());
  EXPECT_TRUE(client.raised().empty());
}

// The seen checkpoint still catches a fork: a log (same key) with another
// history cannot get past it, even with cosignatures the policy accepts.
TEST(AuditorTest, ASeenCheckpointStillCatchesAFork) {
  Witnessed w = StartWitnessedLog();
  TestAccount a("a");
  w.env->Append(a.Add("x"));
  ClientState state;
  state.log_key = w.env->log_key().ToString();
  ClientVerifier honest_view(&state, w.env->client(), RealClock::Get());
  ASSERT_TRUE(honest_view.UpdateCheckpoint().ok());
  // A second log under the same key, with another record at index 0, and the
  // same witness (which never saw the real log) cosigning it.
  LogServerOptions options;
  options.cosignatures.witnesses.push_back(w.witness->verifier_key());
  auto evil = LogEnv::Start(options, w.env.get());
  TestAccount m("a");
  evil->Append(m.Add("evil"));
  Witnessed fork{
      std::make_unique<NoteSigner>(*NoteSigner::Parse(w.witness->ToString())),
      std::move(evil)};
  ASSERT_TRUE(OpenAuditor(fork, NewTempDir("auditor"))->RunOnce().ok());
  CheckingPolicy policy;
  policy.witnesses = {w.witness->verifier_key().ToString()};
  policy.witness_quorum = 1;
  SetPolicy(&state, policy);
  ASSERT_FALSE(state.seen_checkpoint.empty());
  ClientVerifier forked_view(&state, fork.env->client(), RealClock::Get());
  auto cp = forked_view.UpdateCheckpoint();
  EXPECT_EQ(cp.status().code(), StatusCode::kDataLoss);
  ASSERT_EQ(forked_view.raised().size(), 1u);
  EXPECT_EQ(forked_view.raised()[0].type, AlertType::kLogFork);
  EXPECT_TRUE(state.trusted_checkpoint.empty());
}

// A log that hands the auditor a smaller tree than one it cosigned, and
// cannot prove that tree a prefix of the larger, rolled back: evidence
// (the demo's breached server, step 11). Only a smaller tree the log can
// prove is a prefix is "nothing new" (a lagging designated checkpoint).
TEST(AuditorTest, ASmallerTreeTheLogCannotProveIsARollback) {
  Witnessed w = StartWitnessedLog();
  for (const char* id : {"a", "b", "c"}) {
    TestAccount t(id);
    w.env->Append(t.Add("x"));
  }
  std::string dir = NewTempDir("auditor");
  ASSERT_TRUE(OpenAuditor(w, dir)->RunOnce().ok());
  LogServerOptions options;
  options.cosignatures.witnesses.push_back(w.witness->verifier_key());
  auto evil = LogEnv::Start(options, w.env.get());
  TestAccount m("m");
  evil->Append(m.Add("evil"));
  Witnessed fork{
      std::make_unique<NoteSigner>(*NoteSigner::Parse(w.witness->ToString())),
      std::move(evil)};
  w.env.reset();  // only the breached log is left
  auto auditor = OpenAuditor(fork, dir);
  auto round = auditor->RunOnce();
  EXPECT_EQ(round.status().code(), StatusCode::kDataLoss) << round.status();
  auto failure = auditor->Failure();
  ASSERT_TRUE(failure.ok() && failure->has_value());
  EXPECT_EQ((**failure)["type"], "ROLLBACK");
}

// Regression (issue 8.7): GetCheckpoint(min_cosignatures) returns the newest
// cosigned checkpoint, and counts only the witnesses the client names.
TEST(AuditorTest, TheNewestCosignedCheckpointByTheNamedWitnesses) {
  TwoWitnesses t;
  TestAccount a("a");
  t.env->Append(a.Add("d1"));
  ASSERT_TRUE(t.a1->RunOnce().ok());  // w1 cosigns size 1
  t.env->Append(a.Add("d2"));
  t.env->Append(a.Add("d3"));
  // w1 cosigns the latest (size 3) outright, as an independent witness may.
  std::string latest = *t.env->client()->GetCheckpoint(0);
  Note note = *ParseNote(latest);
  note.signatures.push_back(Cosign(note.text, *t.w1, 1));
  ASSERT_TRUE(t.env->client()->AddCosignature(note.ToString()).ok());
  // w2 cosigns what the log asks for (size 1, which w1 cosigned first).
  ASSERT_TRUE(t.a2->RunOnce().ok());
  std::string w1_key = t.w1->verifier_key().ToString();
  std::string w2_key = t.w2->verifier_key().ToString();
  auto by_w1 = t.env->client()->GetCheckpoint(1, {w1_key});
  ASSERT_TRUE(by_w1.ok()) << by_w1.status();
  EXPECT_EQ(OpenLogCheckpoint(*by_w1, t.env->checkpoint_key())->size, 3u);
  auto by_both = t.env->client()->GetCheckpoint(2, {w1_key, w2_key});
  ASSERT_TRUE(by_both.ok()) << by_both.status();
  EXPECT_GE(OpenLogCheckpoint(*by_both, t.env->checkpoint_key())->size, 1u);
  auto stranger =
      NoteSigner::Generate("stranger.example", kNoteTypeCosignatureV1);
  EXPECT_EQ(t.env->client()
                ->GetCheckpoint(1, {stranger->verifier_key().ToString()})
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
}

// Regression (issue 8.8): a log that refuses the auditor's cosignature is a
// configuration problem, not misbehaviour; the cosignature is submitted
// again once the log accepts it.
TEST(AuditorTest, ARefusedCosignatureIsNoMisbehaviourAndIsResubmitted) {
  Witnessed w = StartWitnessedLog();
  TestAccount a("a");
  w.env->Append(a.Add("x"));
  w.env->Restart(
      [](LogServerOptions* o) { o->cosignatures.witnesses.clear(); });
  std::string dir = NewTempDir("auditor");
  auto auditor = OpenAuditor(w, dir);
  auto r = auditor->RunOnce();
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status();
  EXPECT_NE(r.status().message().find("--witness_keys"), std::string::npos);
  EXPECT_TRUE(auditor->evidence_path().empty());
  EXPECT_FALSE(auditor->Failure()->has_value());
  // The operator adds the witness; the next round submits the cosignature
  // of the checkpoint verified before.
  auditor.reset();
  NoteVerifierKey key = w.witness->verifier_key();
  w.env->Restart(
      [&](LogServerOptions* o) { o->cosignatures.witnesses = {key}; });
  auditor = OpenAuditor(w, dir);
  r = auditor->RunOnce();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->cosigned);
  EXPECT_TRUE(w.env->client()->GetCheckpoint(1).ok());
}

}  // namespace
}  // namespace ktlog
