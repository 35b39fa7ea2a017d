// The trust backup (docs/backup.md), end to end: a real ktlog-server with a
// registration key, real ktctl processes and state dirs. Bob backs up,
// loses his phone, and restores on a new one: his verified contact comes
// back, and what changed meanwhile is an alert. A provider that hands out
// an older backup, another account's, or nothing without the operator's
// credential is caught or refused, and nothing is left behind.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/log_client.h"
#include "core/account/registration.h"
#include "core/backup/backup.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "gtest/gtest.h"
#include "tests/process_env.h"
#include "tests/subprocess.h"
#include "tests/tampering_proxy.h"
#include "tests/test_env.h"
#include "verifier/client_state.h"
#include "verifier/trust_backup.h"

namespace ktlog {
namespace {

constexpr char kAlice[] = "alice@example.com";
constexpr char kBob[] = "bob@example.com";

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

class TrustBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = MakeLogKey();
    ASSERT_TRUE(registration_.Save(key_.dir + "/registration.key").ok());
    server_ = ServerProcess::Start(
        {"--data_dir=" + key_.dir + "/data", "--key_file=" + key_.key_file,
         "--registration_key=" + key_.dir + "/registration.key"});
  }
  std::string State(const std::string& who) { return key_.dir + "/" + who; }
  RunResult Run(const std::string& who, const std::vector<std::string>& args,
                const std::string& server = "") {
    return Ktctl(State(who), server.empty() ? server_->address() : server, args,
                 kKtctlSoftKeysBinary);
  }
  // A software security key kept in a file (ktctl_soft_keys's
  // --security_key=soft-file:PATH).
  std::string Key(const std::string& name) {
    return "soft-file:" + key_.dir + "/" + name + ".fido";
  }
  std::string KeyFile(const std::string& name) {
    return key_.dir + "/" + name + ".fido";
  }
  // A file holding `text`.
  std::string File(const std::string& name, const std::string& text) {
    std::string path = key_.dir + "/" + name;
    std::ofstream(path) << text << "\n";
    return path;
  }
  std::string Credential(const std::string& id, const std::string& key,
                         CredentialPurpose purpose) {
    uint64_t expiry = absl::ToUnixSeconds(absl::Now() + absl::Hours(1));
    return registration_.CredentialFor(id, key, expiry, purpose);
  }
  // init + register with the operator's registration credential.
  void Join(const std::string& who, const std::string& account) {
    RunResult r =
        Run(who, {"init", "--account=" + account, "--device=phone",
                  "--log_key=" + key_.log_key, "--allow_no_witnesses"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::string key = *HexDecode(JsonOf(r)["account_key"].get<std::string>());
    std::string file =
        File(who + ".registration",
             Credential(account, key, CredentialPurpose::kRegistration));
    r = Run(who, {"register", "--credential_file=" + file});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  // Bob compares codes with Alice: she is a verified contact of his.
  void BobVerifiesAlice() {
    RunResult r = Run("alice", {"code", "show", kBob});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::string scannable = JsonOf(r)["scannable"];
    r = Run("bob", {"code", "compare", kAlice, scannable});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  // A backup-fetch credential for `account`, in a file.
  std::string FetchCredential(const std::string& account) {
    return File("fetch." + account,
                Credential(account, "", CredentialPurpose::kFetchBackup));
  }
  // The sealed backup the provider holds for `account`.
  std::string StoredBackup(const std::string& account) {
    auto client = LogClient::Create(server_->address());
    absl::StatusOr<FetchedBackup> fetched = client->GetBackup(
        account, Credential(account, "", CredentialPurpose::kFetchBackup));
    EXPECT_TRUE(fetched.ok()) << fetched.status();
    return fetched.ok() ? fetched->sealed : "";
  }
  // Bob's first backup under a recovery key; returns its text.
  std::string BackUpBob() {
    RunResult r = Run("bob", {"backup", "create", "--recovery_key"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    nlohmann::json j = JsonOf(r);
    EXPECT_EQ(j["backup_version"], 1) << r.out;
    EXPECT_EQ(j["verified"], true) << r.out;
    return j.value("recovery_key", "");
  }
  RunResult Restore(const std::string& who, const std::string& recovery_key,
                    const std::string& server = "") {
    return Run(who,
               {"backup", "restore", std::string("--account=") + kBob,
                "--log_key=" + key_.log_key,
                "--recovery_key_file=" + File(who + ".recovery", recovery_key),
                "--credential_file=" + FetchCredential(kBob)},
               server);
  }

  LogKeyFiles key_;
  RegistrationKey registration_ = RegistrationKey::Generate();
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(TrustBackupTest, ANewPhoneGetsItsTrustBackAndSeesWhatChanged) {
  Join("alice", kAlice);
  Join("bob", kBob);
  BobVerifiesAlice();
  const std::string recovery_key = BackUpBob();
  ASSERT_EQ(recovery_key.size(), 69u) << "14 groups of 4, 13 dashes";
  RunResult status = Run("bob", {"backup", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_EQ(JsonOf(status)["uploaded"], true);
  EXPECT_EQ(JsonOf(status)["secrets"], "a recovery key");
  // Bob's own monitor takes his backup record as his.
  RunResult m = Run("bob", {"monitor"});
  EXPECT_EQ(m.exit_code, 0) << m.out;

  // What the provider holds reveals nothing of Bob's trust.
  const std::string sealed = StoredBackup(kBob);
  ASSERT_FALSE(sealed.empty());
  const std::string state =
      *ReadFileBounded(State("bob") + "/state.json", 1 << 20);
  nlohmann::json j = nlohmann::json::parse(state);
  std::vector<std::string> secrets = {kAlice, "alice", "phone"};
  const nlohmann::json& alice = j["contacts"][kAlice];
  for (const char* field : {"verified_key", "first_key", "seen_key"}) {
    std::string hex = alice[field];
    secrets.push_back(hex);
    secrets.push_back(*HexDecode(hex));
  }
  std::string checkpoint = j["trusted_checkpoint"];
  secrets.push_back(checkpoint.substr(0, checkpoint.find('\n')));
  secrets.push_back(j["access_seed"].get<std::string>());
  secrets.push_back(*HexDecode(j["access_seed"].get<std::string>()));
  for (const std::string& s : secrets) {
    EXPECT_EQ(sealed.find(s), std::string::npos) << "the backup shows " << s;
  }

  // Bob's phone is lost; whoever has it adds a device. Alice rotates her
  // key meanwhile.
  ASSERT_EQ(Run("bob", {"device", "add", "thief"}).exit_code, 0);
  ASSERT_EQ(Run("alice", {"rotate-key"}).exit_code, 0);

  // No credential: the operator's sign-in comes first.
  RunResult r = Run(
      "bob2", {"backup", "restore", std::string("--account=") + kBob,
               "--log_key=" + key_.log_key,
               "--recovery_key_file=" + File("bob2.recovery", recovery_key)});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("backup-fetch credential"), std::string::npos) << r.out;
  // A wrong recovery key (well formed) and one with a typo: nothing is
  // restored.
  std::string other = RecoveryKeyText(NewBackupSecret());
  r = Restore("bob2", other);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("does not open the backup"), std::string::npos) << r.out;
  std::string typo = recovery_key;
  typo[0] = typo[0] == 'a' ? 'b' : 'a';
  r = Restore("bob2", typo);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("typo"), std::string::npos) << r.out;
  EXPECT_FALSE(Exists(State("bob2") + "/state.json"));
  EXPECT_FALSE(Exists(State("bob2") + ".restoring"));

  // The right key: Bob's trust is back, and the first check raises what
  // changed while the backup was away, nothing else.
  r = Restore("bob2", recovery_key);
  ASSERT_EQ(r.exit_code, 3) << r.out;
  nlohmann::json restored = JsonOf(r);
  EXPECT_EQ(restored["backup_version"], 1);
  EXPECT_EQ(restored["contacts"], 1);
  std::vector<std::string> types;
  for (const auto& a : restored["alerts"]) types.push_back(a["type"]);
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types, (std::vector<std::string>{"CONTACT_KEY_CHANGED",
                                             "UNEXPECTED_DEVICE"}))
      << r.out;
  EXPECT_FALSE(Exists(State("bob2") + ".restoring"));
  r = Run("bob2", {"contact", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)[0]["account_id"], kAlice);
  EXPECT_EQ(JsonOf(r)[0]["verified"], true);
  // The restored phone holds the account key: it removes the thief's
  // device, and its next backup follows on.
  r = Run("bob2", {"device", "remove", "thief"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Run("bob2", {"backup", "create"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["backup_version"], 2) << r.out;
  // A restore into a state dir that holds a state is refused.
  r = Restore("bob2", recovery_key);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("already holds a client state"), std::string::npos);
}

TEST_F(TrustBackupTest, AnOlderOrAnotherAccountsBackupIsRefused) {
  Join("alice", kAlice);
  Join("bob", kBob);
  BobVerifiesAlice();
  const std::string recovery_key = BackUpBob();
  const std::string first = StoredBackup(kBob);
  // Bob forgets nothing: his second backup is the latest.
  RunResult r = Run("bob", {"backup", "create"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(JsonOf(r)["backup_version"], 2);
  ASSERT_NE(StoredBackup(kBob), first);
  // The provider cannot store the older one again: the log names the
  // latest.
  auto client = LogClient::Create(server_->address());
  absl::Status put = client->PutBackup(first, 3);
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition) << put;

  // A breached provider hands the restoring phone the first backup.
  std::unique_ptr<TamperingProxy> proxy =
      TamperingProxy::Start(server_->address());
  proxy->OnBackup([&](v1::Backup* b) { b->set_sealed(first); });
  r = Restore("bob2", recovery_key, proxy->address());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("records a later one"), std::string::npos) << r.out;
  EXPECT_FALSE(Exists(State("bob2") + "/state.json"));
  EXPECT_FALSE(Exists(State("bob2") + ".restoring"));

  // Or Alice's backup, under Bob's name.
  ASSERT_EQ(Run("alice", {"backup", "create", "--recovery_key"}).exit_code, 0);
  const std::string alices = StoredBackup(kAlice);
  proxy->OnBackup([&](v1::Backup* b) { b->set_sealed(alices); });
  r = Restore("bob2", recovery_key, proxy->address());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("another account"), std::string::npos) << r.out;
  EXPECT_FALSE(Exists(State("bob2") + "/state.json"));

  // The honest provider's latest restores with no alert at all.
  proxy->OnBackup(nullptr);
  r = Restore("bob2", recovery_key, proxy->address());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(JsonOf(r)["alerts"].empty()) << r.out;
  EXPECT_EQ(JsonOf(r)["backup_version"], 2);

  // Deleted: the provider's copy is gone, and the log says so.
  r = Run("bob2", {"backup", "delete"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  absl::StatusOr<FetchedBackup> gone = client->GetBackup(
      kBob, Credential(kBob, "", CredentialPurpose::kFetchBackup));
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  r = Run("bob2", {"backup", "status"});
  EXPECT_EQ(JsonOf(r)["deleted"], true) << r.out;
  r = Run("bob2", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

// The old phone records a backup and stops before uploading it (here: a
// provider that never gets the upload). The provider's copy is then older
// than the history's latest, and a restore refuses it; the next backup
// from the old phone uploads the one it recorded first.
TEST_F(TrustBackupTest, AnUploadThatNeverArrivedIsFinishedByTheNextBackup) {
  Join("bob", kBob);
  const std::string recovery_key = BackUpBob();
  std::unique_ptr<TamperingProxy> proxy =
      TamperingProxy::Start(server_->address());
  RunResult r = Run("bob", {"backup", "create"}, proxy->address());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("uploads it first"), std::string::npos) << r.out;
  EXPECT_EQ(JsonOf(Run("bob", {"backup", "status"}))["uploaded"], false);
  r = Restore("bob2", recovery_key);  // the honest provider says why
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("never arrived"), std::string::npos) << r.out;
  EXPECT_FALSE(Exists(State("bob2") + "/state.json"));

  r = Run("bob", {"backup", "create"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("now holds backup 2"), std::string::npos) << r.out;
  EXPECT_EQ(JsonOf(r)["backup_version"], 3);
  r = Restore("bob2", recovery_key);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["backup_version"], 3);

  // A record the log refused: the backup it would have named was never
  // recorded, and the next backup takes its place.
  proxy->RefuseBackupRecords(
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "refused"));
  r = Run("bob", {"backup", "create"}, proxy->address());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  r = Run("bob", {"backup", "create"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("backup 4 was never recorded"), std::string::npos)
      << r.out;
  EXPECT_EQ(JsonOf(r)["backup_version"], 5);
  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Restore("bob3", recovery_key);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["backup_version"], 5);
}

// A restore checks the account at a fresh checkpoint only. A provider
// that hides the latest backup's record behind an older checkpoint (one
// within that age) gets its older backup restored, and the first check
// that sees the record raises UNEXPECTED_BACKUP.
TEST_F(TrustBackupTest,
       ARollbackBehindAnOlderCheckpointIsCaughtByTheNextCheck) {
  Join("bob", kBob);
  const std::string recovery_key = BackUpBob();
  const std::string first = StoredBackup(kBob);
  auto client = LogClient::Create(server_->address());
  absl::StatusOr<std::string> before = client->GetCheckpoint(0);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(Run("bob", {"backup", "create"}).exit_code, 0);

  std::unique_ptr<TamperingProxy> proxy =
      TamperingProxy::Start(server_->address());
  RunResult r = Run("bob2",
                    {"backup", "restore", std::string("--account=") + kBob,
                     "--log_key=" + key_.log_key,
                     "--recovery_key_file=" + File("r", recovery_key),
                     "--credential_file=" + FetchCredential(kBob),
                     "--max_checkpoint_age=1ms"},
                    proxy->address());
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_NE(r.out.find("--max_checkpoint_age"), std::string::npos) << r.out;
  EXPECT_FALSE(Exists(State("bob2") + "/state.json"));

  proxy->OnCheckpoint([&](v1::SignedCheckpoint* c) { c->set_note(*before); });
  proxy->OnBackup([&](v1::Backup* b) { b->set_sealed(first); });
  r = Restore("bob2", recovery_key, proxy->address());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["backup_version"], 1);
  r = Run("bob2", {"monitor"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(AlertTypes(JsonOf(r)),
            std::vector<std::string>{"UNEXPECTED_BACKUP"});
}

// With automatic backups on, each change of trust is backed up by the next
// command that writes or monitors, and only then: a restore then brings
// back every device and contact, and raises nothing.
TEST_F(TrustBackupTest, AutomaticBackupsFollowEveryTrustChange) {
  Join("alice", kAlice);
  Join("bob", kBob);
  const std::string recovery_key = BackUpBob();
  auto version = [&] {
    return JsonOf(Run("bob", {"backup", "status"}))["backup_version"];
  };
  RunResult r = Run("bob", {"backup", "automatic", "on"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("bob", {"device", "add", "tablet"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("automatic backup 2 recorded"), std::string::npos)
      << r.out;
  EXPECT_EQ(version(), 2);
  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("automatic backup"), std::string::npos)
      << "nothing changed: " << r.out;
  EXPECT_EQ(version(), 2);
  BobVerifiesAlice();  // a contact verified: backed up at the next monitor
  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(version(), 3) << r.out;

  r = Restore("bob2", recovery_key);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(JsonOf(r)["alerts"].empty()) << r.out;
  EXPECT_EQ(JsonOf(r)["devices"].size(), 2u) << r.out;
  r = Run("bob2", {"contact", "list"});
  EXPECT_EQ(JsonOf(r)[0]["verified"], true) << r.out;

  // An automatic backup whose upload fails (a provider that never takes
  // it) is uploaded by the next command.
  std::unique_ptr<TamperingProxy> proxy =
      TamperingProxy::Start(server_->address());
  r = Run("bob", {"device", "add", "laptop"}, proxy->address());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("automatic backup not made"), std::string::npos)
      << r.out;
  EXPECT_EQ(JsonOf(Run("bob", {"backup", "status"}))["uploaded"], false);
  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("now holds backup 4"), std::string::npos) << r.out;
  r = Restore("bob3", recovery_key);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["devices"].size(), 3u) << r.out;

  ASSERT_EQ(Run("bob", {"backup", "automatic", "off"}).exit_code, 0);
  ASSERT_EQ(Run("bob", {"device", "add", "watch"}).exit_code, 0);
  EXPECT_EQ(version(), 4) << "off: no backup";
}

// The world's timing, not a choreography: Bob's old phone keeps
// monitoring on its own schedule (every 50 ms) while a new phone restores
// his backup and then monitors too, and Alice keeps changing her devices.
// An honest log raises no alert on any of them.
TEST_F(TrustBackupTest, ARestoreWhileTheOldPhoneMonitorsRaisesNothing) {
  Join("alice", kAlice);
  Join("bob", kBob);
  BobVerifiesAlice();
  const std::string recovery_key = BackUpBob();
  absl::StatusOr<std::unique_ptr<Subprocess>> old_phone =
      Subprocess::Start({kKtctlBinary, "--state=" + State("bob"),
                         "--server=" + server_->address(), "--plaintext",
                         "monitor", "--follow", "--interval=50ms"});
  ASSERT_TRUE(old_phone.ok()) << old_phone.status();
  std::thread alice([&] {
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(Run("alice", {"device", "add", absl::StrCat("d", i)}).exit_code,
                0);
    }
  });
  RunResult r = Restore("bob2", recovery_key);
  alice.join();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(JsonOf(r)["alerts"].empty()) << r.out;
  r = Run("bob2", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  (*old_phone)->Signal(SIGTERM);
  (*old_phone)->Wait();
  for (const char* who : {"bob", "bob2", "alice"}) {
    r = Run(who, {"alerts", "--all"});
    EXPECT_EQ(r.exit_code, 0) << who << ": " << r.out;
    EXPECT_TRUE(JsonOf(r).empty()) << who << ": " << r.out;
  }
}

// Real ktctl processes killed (SIGKILL) at points through a backup and
// through a restore: the old phone's state stays usable (its monitor
// raises nothing; the next backup completes, finishing an upload the kill
// cut off), and a restore leaves either nothing or a complete, checked
// state; the next restore completes.
TEST_F(TrustBackupTest, KilledBackupsAndRestoresLeaveUsableStates) {
  Join("alice", kAlice);
  Join("bob", kBob);
  BobVerifiesAlice();
  const std::string recovery_key = BackUpBob();
  const std::string recovery_file = File("bob.recovery", recovery_key);
  const std::string credential_file = FetchCredential(kBob);
  auto kill_after = [&](const std::string& state,
                        const std::vector<std::string>& args, int delay_ms) {
    std::vector<std::string> argv = {kKtctlBinary, "--state=" + State(state),
                                     "--server=" + server_->address(),
                                     "--plaintext"};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(argv);
    ASSERT_TRUE(p.ok()) << p.status();
    absl::SleepFor(absl::Milliseconds(delay_ms));
    (*p)->Signal(SIGKILL);
    (*p)->Wait();
  };
  for (int delay_ms : {2, 10, 25, 50, 100, 200, 400}) {
    SCOPED_TRACE(absl::StrCat("killed after ", delay_ms, " ms"));
    kill_after("bob", {"backup", "create"}, delay_ms);
    RunResult r = Run("bob", {"monitor"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    r = Run("bob", {"backup", "create"});
    ASSERT_EQ(r.exit_code, 0) << r.out;

    const std::string phone = absl::StrCat("new", delay_ms);
    std::vector<std::string> restore = {"backup",
                                        "restore",
                                        std::string("--account=") + kBob,
                                        "--log_key=" + key_.log_key,
                                        "--recovery_key_file=" + recovery_file,
                                        "--credential_file=" + credential_file};
    kill_after(phone, restore, delay_ms);
    if (Exists(State(phone) + "/state.json")) {
      r = Run(phone, {"monitor"});  // restored before the kill: complete
      EXPECT_EQ(r.exit_code, 0) << r.out;
    } else {
      r = Run(phone, restore);
      EXPECT_EQ(r.exit_code, 0) << r.out;
      EXPECT_EQ(JsonOf(r)["contacts"], 1) << r.out;
    }
    EXPECT_FALSE(Exists(State(phone) + ".restoring"));
  }
}

// Security keys: Bob's account is on two FIDO2 keys, and so is his
// backup (each key's hmac-secret wraps the backup key). A new phone with
// either key gets his trust back; a stranger's key, a key nobody touches
// or a lost one opens nothing and leaves nothing behind; his account key
// is in no backup, so the restored phone still needs a key to add itself.
TEST_F(TrustBackupTest, EitherSecurityKeyOpensTheBackup) {
  Join("alice", kAlice);
  Join("bob", kBob);
  BobVerifiesAlice();
  RunResult r = Run("bob", {"security-key", "setup", Key("k1"), Key("k2")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // One key given twice is refused, and nothing is set.
  r = Run("bob",
          {"backup", "create", "--security_keys=" + Key("k1") + "," + Key("k1"),
           "--security_key=" + Key("k1")});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("one key twice"), std::string::npos) << r.out;
  r = Run("bob", {"backup", "status"});
  EXPECT_EQ(JsonOf(r)["secrets"], "no secret") << r.out;

  r = Run("bob",
          {"backup", "create", "--security_keys=" + Key("k1") + "," + Key("k2"),
           "--security_key=" + Key("k1")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["backup_version"], 1) << r.out;
  r = Run("bob", {"backup", "status"});
  EXPECT_EQ(JsonOf(r)["secrets"], "2 security keys") << r.out;
  // No account key file travels: the account is on security keys.
  const std::string sealed = StoredBackup(kBob);
  absl::StatusOr<SealedBackup> b = SealedBackup::Decode(sealed);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->wraps.size(), 2u);
  nlohmann::json k2 =
      nlohmann::json::parse(*ReadFileBounded(KeyFile("k2"), 1 << 20));
  for (const BackupWrap& w : b->wraps) {
    EXPECT_EQ(w.type, WrapType::kSecurityKey);
    EXPECT_EQ(Sha256(w.rp_id).ToHex(),
              k2["credentials"][0]["rp_id_hash"].get<std::string>())
        << "the log's relying party id, as for the account's keys";
  }
  // Bob's monitor takes the record, signed by his key, as his.
  r = Run("bob", {"monitor"});
  EXPECT_EQ(r.exit_code, 0) << r.out;

  auto restore = [&](const std::string& who, const std::string& key) {
    return Run(who, {"backup", "restore", std::string("--account=") + kBob,
                     "--log_key=" + key_.log_key,
                     "--credential_file=" + FetchCredential(kBob),
                     "--security_key=" + key, "--touch_timeout=1s"});
  };
  auto nothing_left = [&](const std::string& who) {
    EXPECT_FALSE(Exists(State(who) + "/state.json")) << who;
    EXPECT_FALSE(Exists(State(who) + ".restoring")) << who;
  };
  // A stranger's key holds none of the backup's credentials.
  ASSERT_TRUE(WriteFileAtomically(KeyFile("stranger"),
                                  R"({"counter":0,"credentials":[]})", 0600)
                  .ok());
  r = restore("bob2", Key("stranger"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("not one the backup was made for"), std::string::npos)
      << r.out;
  nothing_left("bob2");
  // Nobody touches k1.
  std::string k1 = *ReadFileBounded(KeyFile("k1"), 1 << 20);
  nlohmann::json untouched = nlohmann::json::parse(k1);
  untouched["touch"] = "never";
  ASSERT_TRUE(WriteFileAtomically(KeyFile("k1"), untouched.dump(), 0600).ok());
  r = restore("bob2", Key("k1"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("nobody touched the security key"), std::string::npos)
      << r.out;
  nothing_left("bob2");
  // (A key unplugged mid-way: trust_backup_key_test, UNAVAILABLE.)
  // Nor does another kind of secret open it.
  r = Restore("bob2", RecoveryKeyText(NewBackupSecret()));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("no recovery key wrap"), std::string::npos) << r.out;
  nothing_left("bob2");

  // k2 opens it: Alice is still verified, and nothing is an alert.
  r = restore("bob2", Key("k2"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(JsonOf(r)["alerts"].empty()) << r.out;
  EXPECT_FALSE(Exists(State("bob2") + "/account.key"));
  r = Run("bob2", {"contact", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)[0]["account_id"], kAlice);
  EXPECT_EQ(JsonOf(r)[0]["verified"], true);
  // The new phone adds itself with a touch of k2 and backs up again under
  // the same wraps (k1's among them: whoever finds k1 opens backups until
  // new secrets are set; docs/backup.md).
  r = Run("bob2", {"device", "add", "phone2", "--security_key=" + Key("k2")});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Run("bob2", {"backup", "create", "--security_key=" + Key("k2")});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["backup_version"], 2) << r.out;
  EXPECT_EQ(JsonOf(r)["verified"], true) << r.out;
}

// Whoever copies the old phone's files holds its backup key and wraps:
// it can seal any state as a next backup that Bob's recovery key opens,
// and a breached provider can hand it out. The log never recorded it, so
// the restore refuses it; nor is a backup pinned to another log key taken.
TEST_F(TrustBackupTest, ABackupForgedWithACopyOfThePhoneIsRefused) {
  Join("alice", kAlice);
  Join("bob", kBob);
  BobVerifiesAlice();
  const std::string recovery_key = BackUpBob();
  ASSERT_EQ(Run("bob", {"monitor"}).exit_code, 0);
  // The copy: Bob's current state (his account as verified after the
  // backup's record), sealed as backup 2 under his backup key and wraps.
  absl::StatusOr<ClientState> copy = LoadClientState(State("bob"));
  ASSERT_TRUE(copy.ok()) << copy.status();
  ASSERT_EQ(copy->backup.latest.version, 1u);
  // Saying the log recorded it far on does not help.
  copy->backup.record_version = copy->own_state.version + 5;
  absl::StatusOr<SealedBackup> forged =
      SealNextBackup(*copy, {}, kMaxStoredBackupBytes);
  ASSERT_TRUE(forged.ok()) << forged.status();
  std::unique_ptr<TamperingProxy> proxy =
      TamperingProxy::Start(server_->address());
  proxy->OnBackup([&](v1::Backup* b) { b->set_sealed(forged->Encode()); });
  RunResult r = Restore("bob2", recovery_key, proxy->address());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("records no such backup"), std::string::npos) << r.out;
  EXPECT_FALSE(Exists(State("bob2") + "/state.json"));
  EXPECT_FALSE(Exists(State("bob2") + ".restoring"));

  // The honest backup, but the user's app pins another log.
  proxy->OnBackup(nullptr);
  r = Run("bob2",
          {"backup", "restore", std::string("--account=") + kBob,
           "--log_key=" + MakeLogKey().log_key,
           "--recovery_key_file=" + File("bob2.recovery", recovery_key),
           "--credential_file=" + FetchCredential(kBob)},
          proxy->address());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("another log key"), std::string::npos) << r.out;
  EXPECT_FALSE(Exists(State("bob2") + "/state.json"));
  // And the honest backup with the right key restores, with no alert.
  r = Restore("bob2", recovery_key, proxy->address());
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace ktlog
