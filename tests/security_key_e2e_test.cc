// Security keys end to end (docs/security-keys.md): a real ktlog-server,
// real ktctl processes (the tests' build, whose --security_key=soft-file:P
// is a software CTAP2 authenticator kept in file P and driven through
// libfido2), real state directories. Copying a key file clones the key;
// deleting it loses the key.
#include <signal.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/util/file_util.h"
#include "gtest/gtest.h"
#include "tests/process_env.h"
#include "tests/subprocess.h"

namespace ktlog {
namespace {

class SecurityKeyE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = MakeLogKey();
    server_ = ServerProcess::Start(
        {"--data_dir=" + key_.dir + "/data", "--key_file=" + key_.key_file});
  }
  std::string State(const std::string& who) { return key_.dir + "/" + who; }
  std::string Key(const std::string& name) {
    return "soft-file:" + key_.dir + "/" + name + ".fido";
  }
  RunResult Run(const std::string& who, const std::vector<std::string>& args) {
    return Ktctl(State(who), server_->address(), args, kKtctlSoftKeysBinary);
  }
  void Join(const std::string& who, const std::string& account) {
    RunResult r =
        Run(who, {"init", "--account=" + account, "--device=phone",
                  "--log_key=" + key_.log_key, "--allow_no_witnesses"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    r = Run(who, {"register"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  uint64_t TreeSize() {
    RunResult r = Run("bob", {"checkpoint"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return JsonOf(r)["size"].get<uint64_t>();
  }

  LogKeyFiles key_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SecurityKeyE2eTest, TheWholeStory) {
  Join("alice", "alice@example.com");
  Join("bob", "bob@example.com");
  // Alice moves her account onto two security keys (a touch on each).
  RunResult r = Run("alice", {"security-key", "setup", Key("k1"), Key("k2")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["verified"], true);
  r = Run("alice", {"security-key", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(JsonOf(r).size(), 2u) << r.out;
  // Bob's code with Alice is over her security keys now.
  r = Run("bob", {"contact", "add", "alice@example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.out;

  // Adding a device takes a touch of one of her keys.
  r = Run("alice", {"device", "add", "laptop", "--security_key=" + Key("k1")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["verified"], true);
  // No key plugged in (this machine has none): nothing is written.
  uint64_t size = TreeSize();
  r = Run("alice", {"device", "add", "tablet"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  // A touch that never comes: a clear timeout, nothing written.
  std::string k2_file = key_.dir + "/k2.fido";
  {
    nlohmann::json j =
        nlohmann::json::parse(*ReadFileBounded(k2_file, 1 << 20));
    j["touch"] = "never";
    ASSERT_TRUE(WriteFileAtomically(k2_file, j.dump(), 0600).ok());
  }
  r = Run("alice", {"device", "add", "tablet", "--security_key=" + Key("k2"),
                    "--touch_timeout=300ms"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("touch your security key"), std::string::npos) << r.out;
  EXPECT_EQ(TreeSize(), size);

  // A thief with a copy of every file on Alice's phone (her account key
  // included) cannot add a device: the account needs a security key.
  std::filesystem::copy(State("alice"), State("thief"),
                        std::filesystem::copy_options::recursive);
  r = Run("thief", {"device", "add", "evil"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(TreeSize(), size);
  // With a clone of key 1, the thief can; Alice's monitor catches the
  // device, and her own key's next touch shows the clone.
  std::filesystem::copy_file(key_.dir + "/k1.fido", key_.dir + "/clone.fido");
  r = Run("thief", {"device", "add", "evil", "--security_key=" + Key("clone")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("alice", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)),
            std::vector<std::string>{"UNEXPECTED_DEVICE"});
  r = Run("alice", {"device", "add", "tablet", "--security_key=" + Key("k1")});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("CLONED_SECURITY_KEY"), std::string::npos) << r.out;

  // Alice adds a new key and removes the cloned one, touching key 3 then
  // key 2 (back to a touch that comes).
  {
    nlohmann::json j =
        nlohmann::json::parse(*ReadFileBounded(k2_file, 1 << 20));
    j["touch"] = "present";
    ASSERT_TRUE(WriteFileAtomically(k2_file, j.dump(), 0600).ok());
  }
  r = Run("alice",
          {"security-key", "add", Key("k3"), "--security_key=" + Key("k2")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("alice", {"security-key", "list"});
  ASSERT_EQ(JsonOf(r).size(), 3u) << r.out;
  std::string k1_id;
  {
    // k1's credential is the one the clone file holds too.
    nlohmann::json soft =
        nlohmann::json::parse(*ReadFileBounded(key_.dir + "/k1.fido", 1 << 20));
    k1_id = soft["credentials"][0]["id"];
  }
  r = Run("alice", {"security-key", "remove", k1_id.substr(0, 12),
                    "--security_key=" + Key("k2")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("alice", {"device", "remove", "evil", "--security_key=" + Key("k3")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // The clone authorizes nothing any more.
  size = TreeSize();
  r = Run("thief",
          {"device", "add", "evil2", "--security_key=" + Key("clone")});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(TreeSize(), size);
  r = Run("alice", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;

  // Bob, who saw Alice before, sees her key set change (the code changes):
  // the key chain from her first record verifies, and nothing else alerts.
  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  for (const std::string& t : AlertTypes(JsonOf(r))) {
    EXPECT_EQ(t, "CONTACT_KEY_CHANGED");
  }
  // A contact who never saw Alice verifies her devices without an alert.
  Join("carol", "carol@example.com");
  r = Run("carol", {"lookup", "alice@example.com"});
  EXPECT_EQ(r.exit_code, 0) << r.out;

  // The operator's fsck replays every record, assertions and counters
  // included, and recomputes the same states; the server restarts on them.
  EXPECT_EQ(server_->Stop(), 0);
  RunResult fsck =
      RunProgram({kAdminBinary, "fsck", "--data_dir=" + key_.dir + "/data",
                  "--log_key=" + key_.log_key});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out;
  server_ = ServerProcess::Start(
      {"--data_dir=" + key_.dir + "/data", "--key_file=" + key_.key_file});
  r = Run("alice", {"device", "add", "tablet", "--security_key=" + Key("k2")});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Run("carol", {"lookup", "alice@example.com"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

// Every key lost (docs/security-keys.md, "Every key lost"): nobody can
// change the account until the operator, having checked who asks, issues a
// reset credential for a new key Alice prepared. The reset removes her
// devices; Bob, who had verified her, and Carol, who never saw her, are
// both told; Alice is not alarmed by her own reset.
TEST_F(SecurityKeyE2eTest, EveryKeyLostTheOperatorResetsAndContactsAreTold) {
  Join("alice", "alice@example.com");
  Join("bob", "bob@example.com");
  Join("carol", "carol@example.com");  // before the log requires credentials
  RunResult r = Run("alice", {"security-key", "setup", Key("k1"), Key("k2")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("bob", {"contact", "add", "alice@example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::filesystem::remove(key_.dir + "/k1.fido");
  std::filesystem::remove(key_.dir + "/k2.fido");

  r = Run("alice", {"reset-account", "--prepare"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string new_key = JsonOf(r)["account_key"];
  ASSERT_EQ(new_key.size(), 64u);
  std::string cred = key_.dir + "/reset.cred";
  auto issue = [&](const std::string& reg, bool reset) {
    std::vector<std::string> args = {
        kAdminBinary, "credential", "--registration_key=" + reg,
        "--account=alice@example.com", "--account_key=" + new_key};
    if (reset) args.push_back("--reset");
    RunResult c = RunProgram(args);
    EXPECT_EQ(c.exit_code, 0) << c.out;
    ASSERT_TRUE(WriteFileAtomically(cred, c.out, 0600).ok());
  };
  // A log without a registration key takes no reset from anyone.
  std::string reg = key_.dir + "/registration.key";
  ASSERT_EQ(RunProgram({kKeygenBinary, "--type=registration", "--out=" + reg})
                .exit_code,
            0);
  issue(reg, true);
  uint64_t size = TreeSize();
  r = Run("alice", {"reset-account", "--credential_file=" + cred});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("takes no account resets"), std::string::npos) << r.out;
  EXPECT_EQ(TreeSize(), size);

  EXPECT_EQ(server_->Stop(), 0);
  server_ = ServerProcess::Start({"--data_dir=" + key_.dir + "/data",
                                  "--key_file=" + key_.key_file,
                                  "--registration_key=" + reg});
  // A registration credential for the same key is no reset credential.
  issue(reg, false);
  r = Run("alice", {"reset-account", "--credential_file=" + cred});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("reset credential is malformed"), std::string::npos)
      << r.out;
  EXPECT_EQ(TreeSize(), size);
  issue(reg, true);
  r = Run("alice", {"reset-account", "--credential_file=" + cred});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["operation"], "reset-account");
  EXPECT_EQ(JsonOf(r)["account_key"], new_key);
  EXPECT_EQ(JsonOf(r)["verified"], true);
  // Her phone is published again, by the new key.
  r = Run("alice", {"register"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("alice", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Run("alice", {"device", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r).size(), 1u) << r.out;

  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)), std::vector<std::string>{"ACCOUNT_RESET"});
  // They compare codes again (over her new key): settled.
  r = Run("alice", {"code", "show", "bob@example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string code = JsonOf(r)["code"];
  r = Run("bob", {"code", "compare", "alice@example.com", code});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Run("carol", {"contact", "add", "alice@example.com"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)), std::vector<std::string>{"ACCOUNT_RESET"});
  // Her lookup shows the reset; she was told once, not at every command.
  r = Run("carol", {"lookup", "alice@example.com"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(JsonOf(r)["resets"].size(), 1u) << r.out;
  EXPECT_EQ(JsonOf(r)["resets"][0]["version"], 3) << r.out;

  // The operator's fsck replays the reset as the server applied it.
  EXPECT_EQ(server_->Stop(), 0);
  RunResult fsck =
      RunProgram({kAdminBinary, "fsck", "--data_dir=" + key_.dir + "/data",
                  "--log_key=" + key_.log_key});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out;
  server_.reset();
}

// The world's timing, not a choreography: Alice's own monitor and Bob's
// follow the log on their own schedules while Alice moves onto security
// keys, adds a device and swaps a key; Carol joins at the end. An honest
// log and honest keys raise no alert but the one the design asks for (Bob
// sees Alice's authority change: compare codes again).
TEST_F(SecurityKeyE2eTest, MonitorsOnTheirOwnScheduleSeeNoFalseAlert) {
  Join("alice", "alice@example.com");
  Join("bob", "bob@example.com");
  ASSERT_EQ(Run("bob", {"contact", "add", "alice@example.com"}).exit_code, 0);
  auto follow = [&](const std::string& who, const std::string& interval) {
    absl::StatusOr<std::unique_ptr<Subprocess>> p =
        Subprocess::Start({kKtctlSoftKeysBinary, "--state=" + State(who),
                           "--server=" + server_->address(), "--plaintext",
                           "monitor", "--follow", "--interval=" + interval});
    EXPECT_TRUE(p.ok()) << p.status();
    EXPECT_TRUE((*p)->WaitForLine("checked at tree size",
                                  absl::Now() + absl::Seconds(20))
                    .ok());
    return *std::move(p);
  };
  std::unique_ptr<Subprocess> alice_monitor = follow("alice", "37ms");
  std::unique_ptr<Subprocess> bob_monitor = follow("bob", "53ms");
  RunResult r = Run("alice", {"security-key", "setup", Key("k1"), Key("k2")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("alice", {"device", "add", "laptop", "--security_key=" + Key("k2")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("alice",
          {"security-key", "add", Key("k3"), "--security_key=" + Key("k1")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string k1_id = nlohmann::json::parse(
      *ReadFileBounded(key_.dir + "/k1.fido", 1 << 20))["credentials"][0]["id"];
  r = Run("alice", {"security-key", "remove", k1_id.substr(0, 12),
                    "--security_key=" + Key("k3")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("alice", {"device", "add", "tablet", "--security_key=" + Key("k3")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Both monitors reach the last version before they stop.
  EXPECT_TRUE(alice_monitor
                  ->WaitForLine("your account at version 6",
                                absl::Now() + absl::Seconds(20))
                  .ok());
  alice_monitor->Signal(SIGTERM);
  alice_monitor->Wait();
  bob_monitor->Signal(SIGTERM);
  bob_monitor->Wait();
  r = Run("alice", {"alerts"});
  EXPECT_TRUE(JsonOf(r).empty()) << r.out;
  r = Run("bob", {"alerts"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(JsonOf(r).empty()) << "Alice's key set changed: " << r.out;
  for (const nlohmann::json& a : JsonOf(r)) {
    EXPECT_EQ(a["type"], "CONTACT_KEY_CHANGED") << r.out;
  }
  Join("carol", "carol@example.com");
  r = Run("carol", {"lookup", "alice@example.com"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Run("carol", {"alerts"}).out.find("type"), std::string::npos);
}

}  // namespace
}  // namespace ktlog
