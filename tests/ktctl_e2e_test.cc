// The stories of docs/ktctl.md, end to end: real ktlog-server processes,
// real ktctl processes, real state directories.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/account/commitment.h"
#include "core/account/leaf.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/note/checkpoint.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"
#include "tests/process_env.h"
#include "tests/tampering_proxy.h"
#include "tests/test_env.h"
#include "verifier/client_state.h"

namespace ktlog {
namespace {

class KtctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = MakeLogKey();
    server_ = ServerProcess::Start({"--data_dir=" + key_.dir + "/data",
                                    "--key_file=" + key_.key_file,
                                    "--backup_dir=" + key_.dir + "/backups"});
  }
  std::string State(const std::string& who) { return key_.dir + "/" + who; }
  RunResult Run(const std::string& who, const std::vector<std::string>& args,
                const std::string& server = "") {
    return Ktctl(State(who), server.empty() ? server_->address() : server,
                 args);
  }
  // init + register, checked.
  void Join(const std::string& who, const std::string& account) {
    RunResult r =
        Run(who, {"init", "--account=" + account, "--device=phone",
                  "--log_key=" + key_.log_key, "--allow_no_witnesses"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    r = Run(who, {"register"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  std::string CodeOf(const std::string& who, const std::string& other,
                     std::string* scannable = nullptr) {
    RunResult r = Run(who, {"code", "show", other});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    nlohmann::json j = JsonOf(r);
    if (scannable != nullptr) *scannable = j.value("scannable", "");
    return j.value("code", "");
  }

  LogKeyFiles key_;
  std::unique_ptr<ServerProcess> server_;
};

// A monitor that follows and writes from other ktctl processes on the same
// state dir: one at a time holds the state (the monitor between passes
// lets go of it), so the monitor never saves over a write's expected
// record (which would make the owner's own device an alert).
TEST_F(KtctlTest, AFollowingMonitorAndWritesShareTheStateDir) {
  Join("alice", "alice@example.com");
  absl::StatusOr<std::unique_ptr<Subprocess>> monitor =
      Subprocess::Start({kKtctlBinary, "--state=" + State("alice"),
                         "--server=" + server_->address(), "--plaintext",
                         "monitor", "--follow", "--interval=50ms"});
  ASSERT_TRUE(monitor.ok()) << monitor.status();
  ASSERT_TRUE(
      (*monitor)
          ->WaitForLine("checked at tree size", absl::Now() + absl::Seconds(20))
          .ok());
  for (int i = 0; i < 6; ++i) {
    RunResult r = Run("alice", {"device", "add", absl::StrCat("tablet", i)});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  ASSERT_TRUE((*monitor)
                  ->WaitForLine("your account at version 7",
                                absl::Now() + absl::Seconds(20))
                  .ok())
      << "the monitor sees every write";
  (*monitor)->Signal(SIGTERM);
  (*monitor)->Wait();
  RunResult alerts = Run("alice", {"alerts"});
  EXPECT_EQ(alerts.exit_code, 0) << alerts.out;
  EXPECT_TRUE(JsonOf(alerts).empty()) << alerts.out;
  RunResult m = Run("alice", {"monitor"});
  EXPECT_EQ(m.exit_code, 0) << m.out;
  EXPECT_EQ(JsonOf(m)["own_version"], 7) << m.out;
}

TEST_F(KtctlTest, CodesMatchBothWaysAndChangeOnlyWithTheAccountKey) {
  Join("alice", "alice@example.com");
  Join("bob", "bob@example.com");
  std::string alice_scan, bob_scan;
  std::string a = CodeOf("alice", "bob@example.com", &alice_scan);
  std::string b = CodeOf("bob", "alice@example.com", &bob_scan);
  EXPECT_EQ(a.size(), 60u);
  EXPECT_EQ(a, b) << "both phones show the same 60 digits";

  // Each scans the other's QR payload.
  RunResult r = Run("alice", {"code", "compare", "bob@example.com", bob_scan});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["match"], true);
  r = Run("bob", {"code", "compare", "alice@example.com", alice_scan});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // A wrong typed code does not verify.
  std::string wrong = a;
  wrong[0] = wrong[0] == '1' ? '2' : '1';
  r = Run("bob", {"code", "compare", "alice@example.com", wrong});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  r = Run("bob", {"contact", "list"});
  EXPECT_EQ(JsonOf(r)[0]["verified"], true);

  // Devices come and go: the code stays.
  ASSERT_EQ(Run("alice", {"device", "add", "laptop"}).exit_code, 0);
  ASSERT_EQ(Run("alice", {"device", "remove", "laptop"}).exit_code, 0);
  EXPECT_EQ(CodeOf("bob", "alice@example.com"), a);
  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;

  // Alice rotates her account key: the code changes, Bob is alerted, Alice
  // is not (she did it).
  r = Run("alice", {"rotate-key"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string after = CodeOf("bob", "alice@example.com");
  EXPECT_NE(after, a);
  EXPECT_EQ(CodeOf("alice", "bob@example.com"), after);
  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)),
            std::vector<std::string>{"CONTACT_KEY_CHANGED"});
  r = Run("alice", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // They compare again; Alice's older devices, signed by her old key (which
  // signed the rotation), stay trusted: no alert.
  std::string new_scan;
  CodeOf("alice", "bob@example.com", &new_scan);
  ASSERT_EQ(
      Run("bob", {"code", "compare", "alice@example.com", new_scan}).exit_code,
      0);
  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // The rotated key keeps working for Alice.
  EXPECT_EQ(Run("alice", {"device", "add", "tablet"}).exit_code, 0);
  r = Run("alice", {"code", "public"});
  EXPECT_EQ(JsonOf(r)["code"].get<std::string>().size(), 35u);
}

TEST_F(KtctlTest, AStolenAccountKeyRaisesUnexpectedDevice) {
  Join("alice", "alice@example.com");
  // Mallory has a copy of Alice's keys (a stolen phone backup).
  std::filesystem::copy(State("alice"), State("mallory"),
                        std::filesystem::copy_options::recursive);
  RunResult r = Run("mallory", {"device", "add", "evil"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("alice", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)),
            std::vector<std::string>{"UNEXPECTED_DEVICE"});

  // Added and removed again between two checks: still caught.
  ASSERT_EQ(Run("mallory", {"device", "add", "ghost"}).exit_code, 0);
  ASSERT_EQ(Run("mallory", {"device", "remove", "ghost"}).exit_code, 0);
  r = Run("alice", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(
      AlertTypes(JsonOf(r)),
      (std::vector<std::string>{"UNEXPECTED_DEVICE", "UNEXPECTED_REMOVAL"}));
  // Nothing new: no new alert, exit 0.
  EXPECT_EQ(Run("alice", {"monitor"}).exit_code, 0);

  // The alerts are kept with their evidence.
  r = Run("alice", {"alerts"});
  nlohmann::json alerts = JsonOf(r);
  ASSERT_EQ(alerts.size(), 3u);
  std::string id = alerts[1]["id"];
  EXPECT_EQ(id.size(), 64u) << "the whole SHA-256: ids must not collide";
  r = Run("alice", {"alerts", "show", id.substr(0, 12)});
  EXPECT_EQ(JsonOf(r)["id"], id) << "a unique prefix names the alert";
  EXPECT_EQ(Run("alice", {"alerts", "show", "1234"}).exit_code, 2);
  r = Run("alice", {"alerts", "show", id});
  nlohmann::json shown = JsonOf(r);
  EXPECT_NE(shown["message"].get<std::string>().find("removed again"),
            std::string::npos);
  // Anyone Alice shows it to can check the evidence: the leaf is in a tree
  // the log signed, at Alice's position (the VRF proof), and commits to
  // the record (the opening), which Alice's account key signed.
  auto log_key = LogPublicKey::Parse(key_.log_key);
  ASSERT_TRUE(log_key.ok()) << log_key.status();
  const nlohmann::json& ev = shown["evidence"];
  auto cp = OpenLogCheckpoint(ev["checkpoint"].get<std::string>(),
                              log_key->checkpoint_key);
  ASSERT_TRUE(cp.ok()) << cp.status();
  auto unhex = [](const nlohmann::json& j) {
    return *HexDecode(j.get<std::string>());
  };
  const nlohmann::json& entry = ev["entry"];
  std::string leaf_bytes = unhex(entry["leaf"]);
  std::vector<Hash> proof;
  for (const auto& h : entry["inclusion_proof"]) {
    proof.push_back(*Hash::FromHex(h.get<std::string>()));
  }
  EXPECT_TRUE(VerifyInclusion(entry["leaf_index"].get<uint64_t>(), cp->size,
                              HashLeaf(leaf_bytes), proof, cp->root)
                  .ok());
  auto leaf = DecodeLeaf(leaf_bytes);
  ASSERT_TRUE(leaf.ok());
  auto position = log_key->vrf_key.Verify(AccountVrfInput("alice@example.com"),
                                          unhex(ev["vrf_proof"]));
  ASSERT_TRUE(position.ok()) << position.status();
  EXPECT_EQ(*position, leaf->position);
  std::string record_bytes = unhex(entry["record"]);
  EXPECT_TRUE(CheckOpening(leaf->record_commitment,
                           unhex(entry["record_opening"]),
                           CommitmentKind::kRecord, "alice@example.com",
                           leaf->version, record_bytes)
                  .ok());
  auto record = DecodeRecord(record_bytes);
  ASSERT_TRUE(record.ok());
  EXPECT_TRUE(record->VerifySignature().ok());
  EXPECT_EQ(record->device_id, "ghost");

  // Issue 26, 8: acknowledged, an alert is kept with its evidence but no
  // longer listed (--all lists it), and not raised again.
  r = Run("alice", {"alerts", "ack", id.substr(0, 16)});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_GT(JsonOf(r)["acknowledged_at_ms"].get<uint64_t>(), 0u);
  r = Run("alice", {"alerts"});
  ASSERT_EQ(JsonOf(r).size(), 2u) << r.out;
  for (const nlohmann::json& a : JsonOf(r)) EXPECT_NE(a["id"], id);
  r = Run("alice", {"alerts", "--all"});
  ASSERT_EQ(JsonOf(r).size(), 3u) << r.out;
  EXPECT_EQ(JsonOf(r)[1]["id"], id);
  EXPECT_EQ(Run("alice", {"monitor"}).exit_code, 0);
  EXPECT_EQ(Run("alice", {"alerts", "ack", "00000000"}).exit_code, 1);
}

TEST_F(KtctlTest, ASecondServerWithTheSameKeyIsAFork) {
  Join("alice", "alice@example.com");
  ASSERT_EQ(Run("alice", {"device", "add", "laptop"}).exit_code, 0);
  // The same log key, another history.
  auto other = ServerProcess::Start(
      {"--data_dir=" + key_.dir + "/other", "--key_file=" + key_.key_file});
  for (const char* who : {"x", "y", "z"}) {
    RunResult r = Ktctl(State(who), other->address(),
                        {"init", std::string("--account=") + who, "--device=d",
                         "--log_key=" + key_.log_key, "--allow_no_witnesses"});
    ASSERT_EQ(r.exit_code, 0);
    ASSERT_EQ(Ktctl(State(who), other->address(), {"register"}).exit_code, 0);
  }
  RunResult r = Run("alice", {"checkpoint"}, other->address());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  nlohmann::json j = JsonOf(r);
  ASSERT_EQ(AlertTypes(j), std::vector<std::string>{"LOG_FORK"});
  auto log_key = LogPublicKey::Parse(key_.log_key);
  const auto& evidence = j["alerts"][0]["evidence"];
  auto a = OpenLogCheckpoint(evidence["trusted_checkpoint"].get<std::string>(),
                             log_key->checkpoint_key);
  auto b = OpenLogCheckpoint(evidence["checkpoint"].get<std::string>(),
                             log_key->checkpoint_key);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->root, b->root);
  // Back on the honest server all is well.
  EXPECT_EQ(Run("alice", {"checkpoint"}).exit_code, 0);
}

// Regression (issue 8.3): a `device add` that failed (log unreachable, or
// refused) left its new key behind, and running it again was refused.
TEST_F(KtctlTest, AFailedDeviceAddCanBeRunAgain) {
  Join("alice", "alice@example.com");
  RunResult down = Run("alice", {"device", "add", "tablet"}, "127.0.0.1:1");
  EXPECT_EQ(down.exit_code, 4) << down.out;
  std::string key_file = State("alice") + "/devices/tablet.key";
  ASSERT_TRUE(std::filesystem::exists(key_file));
  RunResult again = Run("alice", {"device", "add", "tablet"});
  ASSERT_EQ(again.exit_code, 0) << again.out;
  nlohmann::json j = JsonOf(again);
  auto seed = ReadPrivateKeyFile(key_file);
  ASSERT_TRUE(seed.ok());
  EXPECT_EQ(j["key"], HexEncode(seed->public_key().bytes()))
      << "the key made by the failed attempt is the one published";
  // The answer names the leaf hash, so a script can check durability.
  auto proof = Run("alice", {"proof", "inclusion",
                             "--hash=" + j["leaf_hash"].get<std::string>()});
  EXPECT_EQ(proof.exit_code, 0) << proof.out;
  EXPECT_EQ(JsonOf(proof)["leaf_index"], j["leaf_index"]);
  // Adding an active device again is refused, and says so.
  RunResult twice = Run("alice", {"device", "add", "tablet"});
  EXPECT_EQ(twice.exit_code, 1) << twice.out;
  EXPECT_NE(twice.out.find("already active"), std::string::npos) << twice.out;
}

// Regression (issue 8.9): the usage line names every global flag.
TEST(KtctlHelpTest, UsageNamesTheTimeoutFlag) {
  RunResult r = RunProgram({kKtctlBinary, "--help"});
  std::string usage = r.out.substr(0, r.out.find("\n\n"));
  for (const char* flag : {"--state", "--server", "--json", "--timeout"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag << " in " << usage;
  }
}

// Issue 26, 7: a usage error is one line that says where the help is (not
// the whole help); a default computed at run time is stated once.
TEST(KtctlHelpTest, AUsageErrorIsOneLine) {
  RunResult r = RunProgram({kKtctlBinary, "lookup"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find("ktctl lookup --help"), std::string::npos) << r.out;
  r = RunProgram({kKtctlBinary, "monitor", "--interval=soon"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  r = RunProgram({kKtctlBinary, "checkpoint", "--help"});
  size_t state = r.out.find("--state");
  ASSERT_NE(state, std::string::npos) << r.out;
  std::string line = r.out.substr(state, r.out.find("\n  --", state) - state);
  EXPECT_EQ(line.find("(default: /"), std::string::npos) << line;
  EXPECT_NE(line.find("(default: $KTCTL_STATE or ~/.ktctl)"), std::string::npos)
      << line;
}

// Issue 26, 7: times and durations are printed the way ktctl takes them.
TEST_F(KtctlTest, TimesAndDurationsReadAsTheyAreWritten) {
  Join("alice", "alice@example.com");
  RunResult r = RunProgram({kKtctlBinary, "--state=" + State("alice"),
                            "--server=" + server_->address(), "--plaintext",
                            "checkpoint"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(absl::FormatTime("signed at %Y-%m-%dT", absl::Now(),
                                        absl::UTCTimeZone())),
            std::string::npos)
      << r.out;
  r = RunProgram({kKtctlBinary, "--state=" + State("alice"), "policy",
                  "--max_checkpoint_age=36h", "--max_own_check_delay=90m"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("max checkpoint age: 36h\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("max own check delay: 1h30m"), std::string::npos)
      << r.out;
}

// Comparing codes again acknowledges the alert about the key compared,
// and only that one: an earlier change to a key never compared (a thief's,
// replaced since) stays listed.
TEST_F(KtctlTest, ComparingCodesAcknowledgesOnlyTheKeyCompared) {
  Join("alice", "alice@example.com");
  Join("bob", "bob@example.com");
  auto compare = [&] {
    RunResult code = Run("alice", {"code", "show", "bob@example.com"});
    ASSERT_EQ(code.exit_code, 0) << code.out;
    RunResult r = Run(
        "bob", {"code", "compare", "alice@example.com", JsonOf(code)["code"]});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    ASSERT_EQ(JsonOf(r)["match"], true) << r.out;
  };
  compare();
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(Run("alice", {"rotate-key"}).exit_code, 0);
    EXPECT_EQ(Run("bob", {"monitor"}).exit_code, 3);
  }
  RunResult alerts = Run("bob", {"alerts"});
  ASSERT_EQ(JsonOf(alerts).size(), 2u) << alerts.out;
  std::string first_new_key = JsonOf(alerts)[0]["evidence"]["new_key"];
  compare();
  alerts = Run("bob", {"alerts"});
  ASSERT_EQ(JsonOf(alerts).size(), 1u) << alerts.out;
  EXPECT_EQ(JsonOf(alerts)[0]["evidence"]["new_key"], first_new_key);
  EXPECT_EQ(JsonOf(Run("bob", {"alerts", "--all"})).size(), 2u);
}

TEST_F(KtctlTest, AServerRestoredFromAnOldBackupIsARollback) {
  Join("alice", "alice@example.com");
  server_->process()->Signal(SIGUSR1);
  auto line = server_->process()->WaitForLine("backup written to ",
                                              absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(line.ok());
  std::string backup = line->substr(line->find(" to ") + 4);
  ASSERT_EQ(Run("alice", {"device", "add", "laptop"}).exit_code, 0);
  ASSERT_EQ(server_->Stop(), 0);
  server_ = ServerProcess::Start(
      {"--data_dir=" + backup, "--key_file=" + key_.key_file});
  // Until the restored server signs anything, it serves its old checkpoint,
  // as a read replica behind the log would: no alert (the monitor fails to
  // look up at the size it trusts). Its first heartbeat (within
  // --checkpoint_interval, 1 s) is a smaller tree signed later.
  RunResult r;
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {
    r = Run("alice", {"monitor"});
    if (r.exit_code == 3) break;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)), std::vector<std::string>{"ROLLBACK"});
}

TEST_F(KtctlTest, TamperedAnswersAreRejectedAndRaiseAlerts) {
  Join("alice", "alice@example.com");
  Join("bob", "bob@example.com");
  auto proxy = TamperingProxy::Start(server_->address());
  std::string trusted = LoadClientState(State("bob"))->trusted_checkpoint;
  // A forged checkpoint signature.
  proxy->OnCheckpoint([](v1::SignedCheckpoint* cp) {
    std::string* note = cp->mutable_note();  // another valid base64 digit
    char& c = (*note)[note->size() - 10];
    c = c == 'A' ? 'B' : 'A';
  });
  RunResult r = Run("bob", {"checkpoint"}, proxy->address());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)), std::vector<std::string>{"BAD_SIGNATURE"});
  proxy->OnCheckpoint(nullptr);
  // A lookup whose index proof was altered.
  proxy->OnLookup([](v1::AccountLookup* l) {
    std::string* p = l->mutable_index_proof();
    (*p)[p->size() - 1] ^= 1;
  });
  r = Run("bob", {"lookup", "alice@example.com"}, proxy->address());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)), std::vector<std::string>{"INVALID_PROOF"});
  proxy->OnLookup(nullptr);
  // A history whose inclusion proof was altered: the same alert as for a
  // lookup (history goes through the verifier too).
  proxy->OnHistory([](v1::AccountHistory* h) {
    std::string* p = h->mutable_entries(0)->mutable_inclusion_proof(0);
    (*p)[0] ^= 1;
  });
  r = Run("alice", {"history", "alice@example.com"}, proxy->address());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)), std::vector<std::string>{"INVALID_PROOF"});
  proxy->OnHistory(nullptr);
  // Only its owner reads an account's history: Bob's client does not ask,
  // and the log would refuse him.
  r = Run("bob", {"history", "alice@example.com"}, proxy->address());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(JsonOf(r)["error"], "FAILED_PRECONDITION") << r.out;
  // A consistency proof that does not join the trees.
  ASSERT_EQ(Run("alice", {"device", "add", "laptop"}).exit_code, 0);
  proxy->OnConsistencyProof(
      [](v1::ConsistencyProof* p) { (*p->mutable_hashes(0))[0] ^= 1; });
  r = Run("bob", {"checkpoint"}, proxy->address());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)), std::vector<std::string>{"LOG_FORK"});
  // None of it was trusted: Bob still trusts the tree he trusted before
  // (a heartbeat checkpoint of the same tree may have replaced the note).
  auto tree_of = [](const std::string& note) {
    size_t end = note.find('\n', note.find('\n', note.find('\n') + 1) + 1);
    return note.substr(0, end);  // origin, size, root
  };
  EXPECT_EQ(tree_of(LoadClientState(State("bob"))->trusted_checkpoint),
            tree_of(trusted));
  proxy->OnConsistencyProof(nullptr);
  EXPECT_EQ(Run("bob", {"checkpoint"}, proxy->address()).exit_code, 0);
}

// A kill at any moment of a state write leaves the old or the new state.
TEST(ClientStateTest, SurvivesSigkillDuringWrites) {
  std::string dir = NewTempDir("ktctl-state");
  ClientState a, b;
  a.log_key = b.log_key = "log+00000000+AAAA,vrf=AAAA";
  a.account_id = "alice";
  b.account_id = "alice";
  for (int i = 0; i < 2000; ++i) {  // b is much larger than a
    b.approved_devices[absl::StrCat("device", i)] = std::string(32, 'k');
  }
  ASSERT_TRUE(SaveClientState(dir, a).ok());
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 20; ++round) {
    pid_t pid = fork();
    if (pid == 0) {
      for (int i = 0;; ++i) SaveClientState(dir, i % 2 ? a : b).IgnoreError();
    }
    usleep(1000 + rng() % 20000);  // the kill lands at a random moment
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    auto loaded = LoadClientState(dir);
    ASSERT_TRUE(loaded.ok()) << "round " << round << ": " << loaded.status();
    EXPECT_TRUE(loaded->approved_devices.empty() ||
                loaded->approved_devices.size() == 2000);
  }
  // A corrupted file is an error that leaves the file alone.
  std::ofstream(dir + "/state.json") << "{\"format\": \"ktctl-state/1\", \"acc";
  auto bad = LoadClientState(dir);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(bad.status().message().find("not a usable ktctl state"),
            std::string::npos);
  RunResult r = RunProgram({kKtctlBinary, "--state=" + dir, "alerts"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  std::string text;
  std::ifstream in(dir + "/state.json");
  std::getline(in, text);
  EXPECT_EQ(text, "{\"format\": \"ktctl-state/1\", \"acc");
}

}  // namespace
}  // namespace ktlog
