// ktlog-auditor as a real process against a real ktlog-server process:
// it catches up, cosigns, is killed with SIGKILL while catching up, and
// resumes without redoing the work it had saved; ktctl clients that
// require its cosignature then trust the log.
#include <signal.h>

#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/log_client.h"
#include "gtest/gtest.h"
#include "tests/process_env.h"
#include "tests/test_env.h"

namespace ktlog {
namespace {

constexpr char kAuditor[] = "auditor/ktlog-auditor";

TEST(AuditorProcessTest, ResumesAfterSigkillAndClientsRequireItsCosignature) {
  LogKeyFiles key = MakeLogKey();
  RunResult w = RunProgram({kKeygenBinary, "--name=witness.example/w1",
                            "--type=witness", "--out=" + key.dir + "/w.key"});
  ASSERT_EQ(w.exit_code, 0) << w.out;
  std::string witness_key = TrimRight(w.out);
  auto server = ServerProcess::Start({"--data_dir=" + key.dir + "/data",
                                      "--key_file=" + key.key_file,
                                      "--witness_keys=" + witness_key});
  // 3000 records from 6 writers.
  auto client = LogClient::Create(server->address());
  std::vector<std::thread> writers;
  for (int t = 0; t < 6; ++t) {
    writers.emplace_back([&, t] {
      for (int a = 0; a < 10; ++a) {
        TestAccount account(absl::StrCat("w", t, "a", a));
        for (int d = 0; d < 50; ++d) {
          DeviceRecord r = account.Add(absl::StrCat("d", d));
          ASSERT_TRUE(client->Write(r.operation, r.Encode(), false).ok());
        }
      }
    });
  }
  for (auto& t : writers) t.join();

  std::vector<std::string> auditor = {kAuditor,
                                      "--log=" + server->address(),
                                      "--log_key=" + key.log_key,
                                      "--key_file=" + key.dir + "/w.key",
                                      "--state_dir=" + key.dir + "/auditor",
                                      "--page=50",
                                      "--commit_every=200"};
  // Kill it once it has saved some progress.
  auto first = Subprocess::Start(auditor, "", /*merge_stderr=*/true);
  ASSERT_TRUE(first.ok());
  auto saved = (*first)->WaitForLine("progress saved at",
                                     absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(saved.ok()) << saved.status();
  (*first)->Signal(SIGKILL);
  (*first)->Wait();
  uint64_t at = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      saved->substr(saved->find(" at ") + 4,
                    saved->find(" leaves") - saved->find(" at ") - 4),
      &at));
  EXPECT_GT(at, 0u);

  // It resumes from where it saved, checks the rest, and cosigns.
  RunResult second = RunProgram(auditor);
  EXPECT_EQ(second.exit_code, 0) << second.out;
  size_t pos = second.out.find("verified (");
  ASSERT_NE(pos, std::string::npos) << second.out;
  uint64_t checked = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      second.out.substr(pos + 10, second.out.find(" new", pos) - pos - 10),
      &checked));
  EXPECT_LE(checked, 3000 - at) << "work saved before the kill is not redone";
  EXPECT_GT(checked, 0u);
  EXPECT_NE(second.out.find("cosigned"), std::string::npos) << second.out;

  // A ktctl client that requires this witness trusts the cosigned log.
  std::string state = key.dir + "/bob";
  ASSERT_EQ(Ktctl(state, server->address(),
                  {"init", "--account=bob", "--device=phone",
                   "--log_key=" + key.log_key})
                .exit_code,
            0);
  RunResult policy =
      Ktctl(state, server->address(),
            {"policy", "--witnesses=" + witness_key, "--witness_quorum=1"});
  ASSERT_EQ(policy.exit_code, 0) << policy.out;
  RunResult cp = Ktctl(state, server->address(), {"checkpoint"});
  EXPECT_EQ(cp.exit_code, 0) << cp.out;
  EXPECT_EQ(JsonOf(cp)["size"], 3000);
  EXPECT_NE(JsonOf(cp)["note"].get<std::string>().find("witness.example/w1"),
            std::string::npos)
      << "the trusted checkpoint carries the cosignature: " << cp.out;
  // A witness the log does not accept is a configuration problem (exit 1,
  // no alert): the log cannot have its cosignatures.
  RunResult strict =
      Ktctl(state, server->address(),
            {"policy",
             "--witnesses=" + witness_key + "," +
                 NoteSigner::Generate("other.example", kNoteTypeCosignatureV1)
                     ->verifier_key()
                     .ToString(),
             "--witness_quorum=2"});
  ASSERT_EQ(strict.exit_code, 0) << strict.out;
  RunResult refused = Ktctl(state, server->address(), {"checkpoint"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("does not accept cosignatures from the witness"),
            std::string::npos)
      << refused.out;
  EXPECT_EQ(refused.out.find("MISSING_COSIGNATURES"), std::string::npos);
}

}  // namespace
}  // namespace ktlog
