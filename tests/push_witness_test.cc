// C2SP tlog-witness push witnessing (issue 28), with real processes: the
// auditor's add-checkpoint endpoint answers as the spec says; a log that
// pushes to one witness while another pulls on its own schedule forms a
// quorum of both, racing clients see no alert, and the pushed witness,
// killed and restarted, rejoins.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "client/log_client.h"
#include "core/crypto/crypto.h"
#include "core/note/add_checkpoint.h"
#include "core/note/checkpoint.h"
#include "core/note/cosignature.h"
#include "core/note/note.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/process_env.h"
#include "tests/test_env.h"

namespace ktlog {
namespace {

constexpr char kAuditor[] = "auditor/ktlog-auditor";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);
  return ntohs(sa.sin_port);
}

struct Witness {
  std::string key_file, verifier_key;
};

Witness MakeWitness(const std::string& dir, const std::string& name) {
  Witness w{dir + "/" + name + ".key", ""};
  RunResult r = RunProgram({kKeygenBinary, "--name=" + name, "--type=witness",
                            "--out=" + w.key_file});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  w.verifier_key = TrimRight(r.out);
  return w;
}

// Starts ktlog-auditor with `flags` (and --plaintext) for the log `server`.
std::unique_ptr<Subprocess> StartAuditor(ServerProcess* server,
                                         const Witness& w,
                                         const std::string& state_dir,
                                         std::vector<std::string> flags) {
  std::vector<std::string> argv = {kAuditor,
                                   "--plaintext",
                                   "--log=" + server->address(),
                                   "--log_key=" + server->log_key(),
                                   "--key_file=" + w.key_file,
                                   "--state_dir=" + state_dir};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto p = Subprocess::Start(argv, "", /*merge_stderr=*/true);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

// The spec's answers, one by one, from a real auditor's endpoint.
TEST(WitnessEndpointTest, AnswersAsTheSpecSays) {
  LogKeyFiles key = MakeLogKey("push.example/log");
  Witness w = MakeWitness(key.dir, "w1.example");
  auto server = ServerProcess::Start({"--data_dir=" + key.dir + "/data",
                                      "--key_file=" + key.key_file,
                                      "--witness_keys=" + w.verifier_key});
  auto client = LogClient::Create(server->address(), absl::Seconds(10));
  TestAccount first("first@example.com");
  DeviceRecord first_rec = first.Add("phone");
  ASSERT_TRUE(
      client->Write(first_rec.operation, first_rec.Encode(), true).ok());
  int port = FreePort();
  auto auditor = StartAuditor(server.get(), w, key.dir + "/w1",
                              {absl::StrCat("--listen=127.0.0.1:", port)});
  ASSERT_NE(auditor, nullptr);
  ASSERT_TRUE(
      auditor->WaitForLine("add-checkpoint at", absl::Now() + absl::Seconds(10))
          .ok());
  auto note0 = client->GetCheckpoint(0);
  ASSERT_TRUE(note0.ok()) << note0.status();
  auto cp0 = ParseLogCheckpointBody(ParseNote(*note0)->text);
  ASSERT_TRUE(cp0.ok());
  httplib::Client http("127.0.0.1", port);
  auto post = [&](const std::string& body) {
    auto r = http.Post("/add-checkpoint", body, "text/plain");
    EXPECT_TRUE(r) << "no answer";
    return r;
  };
  auto witness_key = NoteVerifierKey::Parse(w.verifier_key);
  ASSERT_TRUE(witness_key.ok());

  // Malformed: 400.
  EXPECT_EQ(post("old 01\n\n" + *note0)->status, 400);
  EXPECT_EQ(post("new 0\n\n" + *note0)->status, 400);
  // The auditor cosigned the log's checkpoint in its first round; a log
  // that does not know that sends old 0 and learns the size: 409 with
  // the size, as text/x.tlog.size.
  auto r = post(FormatAddCheckpoint({0, {}, *note0}));
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/x.tlog.size");
  EXPECT_EQ(r->body, absl::StrCat(cp0->size, "\n"));
  // Another log's origin: 404. The origin, signed by another key: 403.
  auto other = NoteSigner::Generate("other.example/log");
  std::string other_text =
      "other.example/log\n0\n" +
      std::string(ParseNote(*note0)->text)
          .substr(std::string("push.example/log\n0\n").size());
  Note foreign{other_text, {SignNote(other_text, *other)}};
  EXPECT_EQ(post(FormatAddCheckpoint({0, {}, foreign.ToString()}))->status,
            404);
  auto impostor = NoteSigner::Generate("push.example/log");
  Note forged{ParseNote(*note0)->text,
              {SignNote(ParseNote(*note0)->text, *impostor)}};
  EXPECT_EQ(
      post(FormatAddCheckpoint({cp0->size, {}, forged.ToString()}))->status,
      403);

  // The log grows; a proof that does not verify: 422; the right one: 200.
  TestAccount a("alice@example.com");
  DeviceRecord rec = a.Add("phone");
  ASSERT_TRUE(client->Write(rec.operation, rec.Encode(), true).ok());
  auto note1 = client->GetCheckpoint(0);
  ASSERT_TRUE(note1.ok());
  auto cp1 = ParseLogCheckpointBody(ParseNote(*note1)->text);
  ASSERT_GT(cp1->size, cp0->size);
  auto proof = client->GetConsistencyProof(cp0->size, cp1->size);
  ASSERT_TRUE(proof.ok()) << proof.status();
  std::vector<Hash> wrong = *proof;
  if (wrong.empty()) wrong.push_back(Sha256("not a node"));
  wrong[0] = Sha256("not a node");
  if (cp0->size > 0) {
    EXPECT_EQ(post(FormatAddCheckpoint({cp0->size, wrong, *note1}))->status,
              422);
  }
  r = post(FormatAddCheckpoint({cp0->size, *proof, *note1}));
  ASSERT_EQ(r->status, 200) << r->body;
  auto cosigned = ParseNote(*note1 + r->body);
  ASSERT_TRUE(cosigned.ok()) << r->body;
  EXPECT_TRUE(VerifyCosignature(*cosigned, *witness_key).ok()) << r->body;
  // The witness now stands at the new size.
  r = post(FormatAddCheckpoint({cp0->size, *proof, *note1}));
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(r->body, absl::StrCat(cp1->size, "\n"));
  // A newer heartbeat of the same size is cosigned; the older one, sent
  // again by anyone (it is public), is a 409 and records nothing.
  absl::SleepFor(absl::Milliseconds(1200));
  auto note2 = client->GetCheckpoint(0);
  ASSERT_TRUE(note2.ok());
  ASSERT_EQ(ParseLogCheckpointBody(ParseNote(*note2)->text)->size, cp1->size);
  r = post(FormatAddCheckpoint({cp1->size, {}, *note2}));
  EXPECT_EQ(r->status, 200) << r->body;
  r = post(FormatAddCheckpoint({cp1->size, {}, *note1}));
  EXPECT_EQ(r->status, 409) << r->body;
  r = post(FormatAddCheckpoint({cp0->size, *proof, *note1}));
  EXPECT_EQ(r->status, 409) << r->body;
  // The log's record of this witness is untouched by any of the refusals:
  // no failure recorded (a round still cosigns).
  auditor->Signal(SIGTERM);
  auditor->Wait();
  RunResult round =
      RunProgram({kAuditor, "--plaintext", "--log=" + server->address(),
                  "--log_key=" + server->log_key(), "--key_file=" + w.key_file,
                  "--state_dir=" + key.dir + "/w1"});
  EXPECT_EQ(round.exit_code, 0) << round.out;
}

// The cosigned checkpoint (`quorum` cosignatures) the log serves now.
uint64_t CosignedSize(LogClient* client, uint32_t quorum) {
  auto note = client->GetCheckpoint(quorum);
  if (!note.ok()) return 0;
  auto cp = ParseLogCheckpointBody(ParseNote(*note)->text);
  return cp.ok() ? cp->size : 0;
}

// A user who registers on a new log before its witness has run once:
// with --wait the write waits for the first cosigned checkpoint instead of
// failing (the witness runs on its own schedule; here it starts later).
TEST(PushWitnessTest, AWriteWaitsForTheFirstCosignedCheckpoint) {
  LogKeyFiles key = MakeLogKey("new.example/log");
  Witness w = MakeWitness(key.dir, "w1.example");
  auto server = ServerProcess::Start(
      {"--data_dir=" + key.dir + "/data", "--key_file=" + key.key_file,
       "--witness_keys=" + w.verifier_key, "--checkpoint_interval=200ms"});
  std::string state = key.dir + "/alice";
  RunResult init = Ktctl(state, server->address(),
                         {"init", "--account=alice@example.com",
                          "--device=phone", "--log_key=" + server->log_key()});
  ASSERT_EQ(init.exit_code, 0) << init.out;
  auto client = LogClient::Create(server->address(), absl::Seconds(10));
  ASSERT_TRUE(absl::IsNotFound(client->GetCheckpoint(1).status()))
      << "no checkpoint is cosigned before the witness runs";
  auto write = Subprocess::Start(
      {kKtctlBinary, "--state=" + state, "--server=" + server->address(),
       "--plaintext", "--json", "--wait=60s", "register"});
  ASSERT_TRUE(write.ok()) << write.status();
  // The witness starts only once the write is waiting for it.
  absl::SleepFor(absl::Seconds(1));
  ASSERT_TRUE((*write)->Running()) << (*write)->ReadAll(absl::Now());
  auto witness = StartAuditor(server.get(), w, key.dir + "/w1",
                              {"--follow", "--interval=300ms"});
  ASSERT_NE(witness, nullptr);
  std::string out = (*write)->ReadAll(absl::Now() + absl::Seconds(60));
  int status = (*write)->Wait();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  nlohmann::json j = nlohmann::json::parse(TrimRight(out));
  EXPECT_EQ(j["verified"], true) << out;
  RunResult alerts = Ktctl(state, server->address(), {"alerts"});
  EXPECT_TRUE(JsonOf(alerts).empty()) << alerts.out;
}

TEST(PushWitnessTest, APushedAndAPullingWitnessFormTheQuorumWithNoAlert) {
  LogKeyFiles key = MakeLogKey("push.example/log");
  Witness pushed = MakeWitness(key.dir, "w1.example");
  Witness pulling = MakeWitness(key.dir, "w2.example");
  int port = FreePort();
  auto server = ServerProcess::Start(
      {"--data_dir=" + key.dir + "/data", "--key_file=" + key.key_file,
       "--witness_keys=" + pushed.verifier_key + "," + pulling.verifier_key,
       absl::StrCat("--witness_urls=w1.example=http://127.0.0.1:", port),
       "--checkpoint_interval=200ms"});
  ASSERT_NE(server->log_key().find("quorum=2"), std::string::npos)
      << server->log_key();
  // The pushed witness also pulls (--follow): the checkpoint handed to
  // pulling witnesses lags what it was pushed, and that is not a rollback.
  auto w1 = StartAuditor(server.get(), pushed, key.dir + "/w1",
                         {absl::StrCat("--listen=127.0.0.1:", port), "--follow",
                          "--interval=300ms"});
  auto w2 = StartAuditor(server.get(), pulling, key.dir + "/w2",
                         {"--follow", "--interval=500ms"});
  ASSERT_NE(w1, nullptr);
  ASSERT_NE(w2, nullptr);

  // Two users racing, each writing and waiting until verified, then
  // looking each other up: no alert anywhere.
  auto user = [&](const std::string& who, const std::string& other) {
    std::string state = key.dir + "/" + who;
    RunResult r = Ktctl(state, server->address(),
                        {"init", "--account=" + who + "@example.com",
                         "--device=phone", "--log_key=" + server->log_key()});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{
             {"--wait=30s", "register"},
             {"--wait=30s", "device", "add", "laptop"},
             {"--wait=30s", "device", "add", "tablet"}}) {
      r = Ktctl(state, server->address(), args);
      EXPECT_EQ(r.exit_code, 0) << who << " " << args[1] << ": " << r.out;
      EXPECT_EQ(JsonOf(r)["verified"], true) << who << ": " << r.out;
    }
    for (int i = 0; i < 10; ++i) {
      r = Ktctl(state, server->address(), {"lookup", other + "@example.com"});
      EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << who << ": " << r.out;
      r = Ktctl(state, server->address(), {"monitor"});
      EXPECT_EQ(r.exit_code, 0) << who << ": " << r.out;
    }
  };
  std::thread alice(user, "alice", "bob");
  std::thread bob(user, "bob", "alice");
  alice.join();
  bob.join();

  // The pushed witness is killed mid-run, the log keeps writing, and once
  // restarted it rejoins: the quorum covers what was written meanwhile.
  auto client = LogClient::Create(server->address(), absl::Seconds(10));
  w1->Signal(SIGKILL);
  w1->Wait();
  TestAccount carol("carol@example.com");
  DeviceRecord rec = carol.Add("phone");
  auto written = client->Write(rec.operation, rec.Encode(), true);
  ASSERT_TRUE(written.ok()) << written.status();
  w1 = StartAuditor(server.get(), pushed, key.dir + "/w1",
                    {absl::StrCat("--listen=127.0.0.1:", port), "--follow",
                     "--interval=300ms"});
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (CosignedSize(client.get(), 2) <= written->leaf_index &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GT(CosignedSize(client.get(), 2), written->leaf_index);
  for (const char* who : {"alice", "bob"}) {
    RunResult r = Ktctl(key.dir + "/" + who, server->address(), {"monitor"});
    EXPECT_EQ(r.exit_code, 0) << who << ": " << r.out;
    r = Ktctl(key.dir + "/" + who, server->address(), {"alerts", "--all"});
    EXPECT_EQ(JsonOf(r).size(), 0u) << who << ": " << r.out;
  }
  // Neither witness found anything wrong: a round of each still cosigns
  // (exit 1 would be misbehaviour found).
  for (auto* w : {w1.get(), w2.get()}) {
    w->Signal(SIGTERM);
    w->Wait();
  }
  for (const Witness* w : {&pushed, &pulling}) {
    RunResult round = RunProgram(
        {kAuditor, "--plaintext", "--log=" + server->address(),
         "--log_key=" + server->log_key(), "--key_file=" + w->key_file,
         "--state_dir=" + key.dir + (w == &pushed ? "/w1" : "/w2")});
    EXPECT_EQ(round.exit_code, 0) << round.out;
  }
}

}  // namespace
}  // namespace ktlog
