// The auditor against a real, honest log server (in-process, real gRPC and
// RocksDB): it verifies and cosigns; the server accepts cosignatures only
// from configured witnesses and only for its own checkpoints; clients that
// require cosignatures trust cosigned checkpoints.
#include "tools/auditor/auditor.h"

#include "absl/strings/str_cat.h"
#include "core/cosignature.h"
#include "gtest/gtest.h"
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
  options.service.witnesses.push_back(w.witness->verifier_key());
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
                         w.env->client());
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
  EXPECT_EQ(r->records_checked, 15u);
  EXPECT_TRUE(r->cosigned);

  // The log now serves the checkpoint with the witness's cosignature.
  auto cosigned = w.env->client()->GetCheckpoint(1);
  ASSERT_TRUE(cosigned.ok()) << cosigned.status();
  auto note = ParseNote(*cosigned);
  ASSERT_TRUE(note.ok());
  EXPECT_TRUE(VerifyCosignature(*note, w.witness->verifier_key()).ok());
  EXPECT_EQ(w.env->client()->GetCheckpoint(2).status().code(),
            StatusCode::kNotFound);

  // More records: only the new ones are replayed, also after reopening.
  w.env->Append(accounts[0].Rotate());
  w.env->Append(accounts[0].Add("after-rotation"));
  auditor.reset();
  auditor = OpenAuditor(w, dir);
  r = auditor->RunOnce();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records_checked, 2u);
  EXPECT_TRUE(r->cosigned);
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
  state.log_verifier_key = w.env->log_key().ToString();
  state.policy.witnesses = {w.witness->verifier_key().ToString()};
  state.policy.witness_quorum = 1;
  ClientVerifier client(&state, w.env->client(), RealClock::Get());
  EXPECT_EQ(client.UpdateCheckpoint().status().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_EQ(client.raised().size(), 1u);
  EXPECT_EQ(client.raised()[0].type, AlertType::kMissingCosignatures);
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

}  // namespace
}  // namespace ktlog
