// What a breached operator can do to a verified contact, a fresh contact and
// the owner (docs/threat-model.md, "The attacker holds the operator's
// servers"), played with real processes: ktlog-server, the witness
// (ktlog-auditor) and ktctl clients. The attacker holds every key the log
// has and its data dir; the breach tool (tests/breach_main.cc) writes its
// forged leaves into the data dir of the stopped server, which then serves
// and signs them, and the witness, which sees only public data, cosigns
// them. No client may be fooled: Bob (who verified Alice by comparing
// codes), Carol (who never saw Alice) and Alice herself each refuse or
// alert, every time they look, not only the first.
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"
#include "tests/process_env.h"
#include "tests/tampering_proxy.h"

namespace ktlog {
namespace {

constexpr char kAuditor[] = "auditor/ktlog-auditor";
constexpr char kBreach[] = "tests/breach";

class BreachTest : public ::testing::Test {
 protected:
  // A log with a witness; Alice and Bob registered and verified; Bob has
  // compared safety codes with Alice.
  void SetUp() override {
    key_ = MakeLogKey();
    RunResult w = RunProgram({kKeygenBinary, "--name=witness.example/w1",
                              "--type=witness", "--out=" + Path("w.key")});
    ASSERT_EQ(w.exit_code, 0) << w.out;
    witness_key_ = TrimRight(w.out);
    StartServer();
    published_ = server_->log_key();
    ASSERT_EQ(Audit().exit_code, 0);  // a first cosigned checkpoint
    for (const char* who : {"alice", "bob"}) {
      RunResult r =
          Ktctl(who, {"init", absl::StrCat("--account=", who, "@example.com"),
                      "--device=phone", "--log_key=" + published_});
      ASSERT_EQ(r.exit_code, 0) << r.out;
      ASSERT_EQ(Ktctl(who, {"register"}).exit_code, 0);
    }
    ASSERT_EQ(Audit().exit_code, 0);
    for (const char* who : {"alice", "bob"}) {
      RunResult r = Ktctl(who, {"monitor"});
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }
    RunResult code = Ktctl("alice", {"code", "show", "bob@example.com"});
    ASSERT_EQ(code.exit_code, 0) << code.out;
    RunResult compared = Ktctl(
        "bob", {"code", "compare", "alice@example.com", JsonOf(code)["code"]});
    ASSERT_EQ(compared.exit_code, 0) << compared.out;
    ASSERT_EQ(JsonOf(compared)["match"], true);
    alice_key_ = JsonOf(compared)["account_key"];
  }

  std::string Path(const std::string& name) const {
    return key_.dir + "/" + name;
  }
  void StartServer() {
    server_ = ServerProcess::Start(
        {"--data_dir=" + Path("data"), "--key_file=" + key_.key_file,
         "--witness_keys=" + witness_key_, "--checkpoint_interval=100ms"});
  }
  RunResult Audit() {
    return RunProgram({kAuditor, "--plaintext", "--log=" + server_->address(),
                       "--log_key=" + published_, "--key_file=" + Path("w.key"),
                       "--state_dir=" + Path("auditor")});
  }
  RunResult Ktctl(const std::string& who, std::vector<std::string> args,
                  const std::string& address = "") {
    return ktlog::Ktctl(Path(who),
                        address.empty() ? server_->address() : address, args);
  }
  // The breached operator appends its forged leaves and restarts the
  // server, which signs them; the witness cosigns.
  void Breach(const std::string& attack) {
    ASSERT_EQ(server_->Stop(), 0);
    RunResult b =
        RunProgram({kBreach, "--data_dir=" + Path("data"),
                    "--account=alice@example.com", "--attack=" + attack});
    ASSERT_EQ(b.exit_code, 0) << b.out;
    StartServer();
    ASSERT_EQ(server_->log_key(), published_);
    RunResult audited = Audit();
    ASSERT_EQ(audited.exit_code, 0)
        << "the witness sees only public data and cosigns: " << audited.out;
    EXPECT_NE(audited.out.find("cosigned"), std::string::npos) << audited.out;
  }
  // `who` looks Alice up (twice: a refusal is not a one-time alert) and is
  // refused with `alert`, never shown the attacker's device.
  void ExpectRefused(const std::string& who, const std::string& alert) {
    for (int i = 0; i < 2; ++i) {
      RunResult r = Ktctl(who, {"lookup", "alice@example.com"});
      EXPECT_EQ(r.exit_code, 3) << who << " lookup " << i << ": " << r.out;
      EXPECT_EQ(r.out.find("intercept"), std::string::npos) << r.out;
      if (i == 0) {
        EXPECT_NE(r.out.find(alert), std::string::npos) << who << ": " << r.out;
      }
    }
  }
  // Carol installs the app today: she never saw Alice.
  void NewCarol() {
    RunResult r = Ktctl("carol", {"init", "--account=carol@example.com",
                                  "--device=phone", "--log_key=" + published_});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }

  LogKeyFiles key_;
  std::string witness_key_, published_, alice_key_;
  std::unique_ptr<ServerProcess> server_;
};

// Issue 27, 1: a key the log makes up, "rotated" into Alice's key, signs the
// attacker's device "as old as the account". The rotation is really in the
// log at Alice's position, the witness cosigns, Alice's key (and so the
// safety code) is unchanged.
TEST_F(BreachTest, AMadeUpPredecessorKeyFoolsNoClient) {
  Breach("predecessor");
  ExpectRefused("bob", "INVALID_PROOF");
  ExpectRefused("bob", "not authorized by the authority before it");
  RunResult r = Ktctl("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  NewCarol();
  ExpectRefused("carol", "INVALID_PROOF");
  r = Ktctl("alice", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("INVALID_PROOF"), std::string::npos) << r.out;
  // Nothing else was disturbed: Bob still finds his own account clean.
  r = Ktctl("bob", {"lookup", "bob@example.com"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

// Issue 27, 9: the log resets Alice's account: a key of its own and only its
// device, in the one history. Bob's lookup refuses it (exit 3 every time,
// where it used to show the attacker's device with exit 0), and so does a
// contact who never saw Alice: the new key does not descend from her first
// record.
TEST_F(BreachTest, AResetAccountFoolsNoClient) {
  Breach("reset");
  ExpectRefused("bob", "INVALID_PROOF");
  ExpectRefused("bob", "does not end at its current key");
  NewCarol();
  ExpectRefused("carol", "INVALID_PROOF");
  RunResult r = Ktctl("alice", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
}

// The limit of the design, shown: a thief with a copy of Alice's phone (her
// account key) makes changes that are validly signed. Bob, who verified
// Alice, is alerted and refused on every lookup (the key he verified is no
// longer hers); a fresh contact cannot tell a stolen key from Alice's
// (docs/threat-model.md); Alice's own client raises the alert.
TEST_F(BreachTest, AStolenKeyIsCaughtByTheVerifiedContactAndTheOwner) {
  ASSERT_EQ(
      RunProgram({"/bin/cp", "-r", Path("alice"), Path("thief")}).exit_code, 0);
  ASSERT_EQ(Ktctl("thief", {"rotate-key"}).exit_code, 0);
  ASSERT_EQ(Audit().exit_code, 0);
  ASSERT_EQ(Ktctl("thief", {"monitor"}).exit_code, 0);
  RunResult added = Ktctl("thief", {"device", "add", "intercept"});
  ASSERT_EQ(added.exit_code, 0) << added.out;
  ASSERT_EQ(Audit().exit_code, 0);
  for (int i = 0; i < 2; ++i) {
    RunResult r = Ktctl("bob", {"lookup", "alice@example.com"});
    EXPECT_EQ(r.exit_code, 3) << r.out;
    if (i == 0) {
      EXPECT_NE(r.out.find("CONTACT_KEY_CHANGED"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("CONTACT_DEVICE_UNSIGNED"), std::string::npos)
          << r.out;
    }
  }
  NewCarol();
  RunResult r = Ktctl("carol", {"lookup", "alice@example.com"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(JsonOf(r)["account_key"], alice_key_);
  r = Ktctl("alice", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("UNEXPECTED_KEY_CHANGE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("UNEXPECTED_DEVICE"), std::string::npos) << r.out;
  // Comparing codes again cannot make Bob trust the thief's key: Alice's
  // phone computes its side over the key it holds, not the one the log
  // shows now.
  RunResult code = Ktctl("alice", {"code", "show", "bob@example.com"});
  ASSERT_EQ(code.exit_code, 0) << code.out;
  r = Ktctl("bob",
            {"code", "compare", "alice@example.com", JsonOf(code)["code"]});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(JsonOf(r)["match"], false);
}

// Issue 27, 10: a log that serves fresh checkpoints and lookups but answers
// Alice's history "unavailable" while it shows contacts a change to her
// account: within the bound she set (here 3 s; 1 h by default), her
// monitor raises STALE_LOG. (The witness runs before each check, so that
// the cosigned checkpoint she gets is fresh.)
TEST_F(BreachTest, AnOwnerKeptFromHerHistoryIsAlertedWithinTheBound) {
  ASSERT_EQ(
      RunProgram({"/bin/cp", "-r", Path("alice"), Path("thief")}).exit_code, 0);
  ASSERT_EQ(Ktctl("thief", {"device", "add", "intercept"}).exit_code, 0);
  ASSERT_EQ(Audit().exit_code, 0);
  auto proxy = TamperingProxy::Start(server_->address());
  proxy->RefuseHistories(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "busy, try later"));
  ASSERT_EQ(Ktctl("alice", {"policy", "--max_own_check_delay=3s"}).exit_code,
            0);
  ASSERT_EQ(Audit().exit_code, 0);
  RunResult r = Ktctl("alice", {"monitor"}, proxy->address());
  EXPECT_EQ(r.exit_code, 4) << "unavailable, not yet evidence: " << r.out;
  // Her monitor keeps trying (failures count while they keep coming).
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    ASSERT_EQ(Audit().exit_code, 0);
    r = Ktctl("alice", {"monitor"}, proxy->address());
    if (i == 0) {
      EXPECT_EQ(r.exit_code, 4) << "within the bound: " << r.out;
    }
  }
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("STALE_LOG"), std::string::npos) << r.out;
  // Reaching the log again, she sees the device.
  r = Ktctl("alice", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("UNEXPECTED_DEVICE"), std::string::npos) << r.out;
}

// Issue 20, 5: ktctl exits 3 whenever an answer does not verify, also when
// the alert it raises was raised before: a front that serves checkpoints
// without the cosignatures the policy needs (MISSING_COSIGNATURES), or
// with a broken log signature (BAD_SIGNATURE), twice.
TEST_F(BreachTest, ARepeatedRefusalExitsAsTheFirst) {
  auto proxy = TamperingProxy::Start(server_->address());
  proxy->OnCheckpoint([](v1::SignedCheckpoint* cp) {
    // The body and the log's own signature line only.
    std::string note = cp->note();
    size_t signatures = note.find("\n\n") + 2;
    cp->set_note(note.substr(0, note.find('\n', signatures) + 1));
  });
  for (int i = 0; i < 2; ++i) {
    RunResult r = Ktctl("bob", {"checkpoint"}, proxy->address());
    EXPECT_EQ(r.exit_code, 3) << i << ": " << r.out;
    if (i == 0) {
      EXPECT_NE(r.out.find("MISSING_COSIGNATURES"), std::string::npos) << r.out;
    }
  }
  proxy->OnCheckpoint([](v1::SignedCheckpoint* cp) {
    std::string note = cp->note();
    size_t sig = note.find("\n\n") + 2 + 40;  // inside the log's signature
    note[sig] = note[sig] == 'A' ? 'B' : 'A';
    cp->set_note(note);
  });
  for (int i = 0; i < 2; ++i) {
    RunResult r = Ktctl("bob", {"checkpoint"}, proxy->address());
    EXPECT_EQ(r.exit_code, 3) << i << ": " << r.out;
  }
  // A note cut inside a UTF-8 sequence (the signature line's em dash) once
  // made ktctl abort when it wrote the evidence as JSON.
  proxy->OnCheckpoint([](v1::SignedCheckpoint* cp) {
    std::string note = cp->note();
    cp->set_note(note.substr(0, note.find("\n\n") + 3));
  });
  RunResult r = Ktctl("bob", {"checkpoint"}, proxy->address());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("not valid UTF-8"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ktlog
