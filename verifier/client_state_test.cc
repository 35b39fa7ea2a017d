#include "verifier/client_state.h"

#include <sys/stat.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "core/note/note.h"
#include "core/util/file_util.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

std::string TempDir() {
  static int n = 0;
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/state", n++);
  EXPECT_TRUE(MakeDirs(dir, 0700).ok());
  return dir;
}

std::string Witness(const std::string& name) {
  return NoteSigner::Generate(name, kNoteTypeCosignatureV1)
      ->verifier_key()
      .ToString();
}

// Every field survives a save and a load.
TEST(ClientStateTest, RoundTripsEveryField) {
  ClientState s;
  s.log_key = "log.example+01020304+AQID,vrf=AAAA";
  s.account_id = "alice";
  s.device_id = "phone";
  Ed25519PrivateKey account_key = Ed25519PrivateKey::Generate();
  DeviceRecord first;
  first.account_id = "alice";
  first.device_id = "phone";
  first.key = std::string(32, 'p');
  first.account_version = 1;
  first.Sign(account_key);
  ASSERT_TRUE(ApplyRecord(first, 4, &s.own_state).ok());
  s.pending_own = {{"aa", {3, false, true, 17}}, {"bb", {4, true}}};
  s.own_unverified_since_ms = 42;
  s.approved_devices["phone"] = "pk";
  s.own_authority = std::string(32, 'o');
  s.access_seed = std::string(32, '\x07');
  s.access_grant = std::string(64, 'g');
  s.next_access_grant = std::string(64, 'n');
  s.trusted_checkpoint = "note\n";
  ContactState bob;
  bob.verified_key = std::string(32, 'v');
  bob.verified_devices = {{"phone", "pk"}};
  bob.first_key = std::string(32, 'f');
  bob.seen_key = std::string(32, 's');
  bob.seen_version = 7;
  bob.seen_devices = {{"tablet", "tk"}};
  s.contacts["bob"] = bob;
  Alert a;
  a.type = AlertType::kLogFork;
  a.account = "";
  a.message = "m";
  a.raised_at_ms = 5;
  a.evidence = {{"checkpoint", "x"}};
  a.SetId("k");
  s.alerts.push_back(a);
  s.policy.max_checkpoint_age_ms = 11;
  s.policy.max_future_skew_ms = 12;
  s.policy.witnesses = {Witness("w1"), Witness("w2")};
  s.policy.witness_quorum = 2;
  s.policy.max_own_check_delay_ms = 13;
  std::string dir = TempDir();
  ASSERT_TRUE(SaveClientState(dir, s).ok());
  struct stat st;
  ASSERT_EQ(stat((dir + "/state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto l = LoadClientState(dir);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->log_key, s.log_key);
  EXPECT_EQ(l->account_id, s.account_id);
  EXPECT_EQ(l->device_id, s.device_id);
  EXPECT_TRUE(l->own_state == s.own_state);
  EXPECT_EQ(l->pending_own, s.pending_own);
  EXPECT_EQ(l->own_unverified_since_ms, 42u);
  EXPECT_EQ(l->approved_devices, s.approved_devices);
  EXPECT_EQ(l->own_authority, s.own_authority);
  EXPECT_EQ(l->access_seed, s.access_seed);
  EXPECT_EQ(l->access_grant, s.access_grant);
  EXPECT_EQ(l->next_access_grant, s.next_access_grant);
  EXPECT_EQ(l->trusted_checkpoint, s.trusted_checkpoint);
  // An access key seed that is not 32 bytes is a corrupted state.
  s.access_seed = "short";
  ASSERT_TRUE(SaveClientState(dir, s).ok());
  EXPECT_EQ(LoadClientState(dir).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(l->contacts.count("bob"), 1u);
  EXPECT_EQ(l->contacts["bob"].verified_key, s.contacts["bob"].verified_key);
  EXPECT_EQ(l->contacts["bob"].verified_devices, bob.verified_devices);
  EXPECT_EQ(l->contacts["bob"].first_key, bob.first_key);
  EXPECT_EQ(l->contacts["bob"].seen_key, s.contacts["bob"].seen_key);
  EXPECT_EQ(l->contacts["bob"].seen_version, 7u);
  EXPECT_EQ(l->contacts["bob"].seen_devices, s.contacts["bob"].seen_devices);
  ASSERT_EQ(l->alerts.size(), 1u);
  EXPECT_EQ(l->alerts[0].ToJson(), a.ToJson());
  EXPECT_EQ(l->policy.max_checkpoint_age_ms, 11u);
  EXPECT_EQ(l->policy.max_future_skew_ms, 12u);
  EXPECT_EQ(l->policy.witnesses, s.policy.witnesses);
  EXPECT_EQ(l->policy.witness_quorum, 2u);
  EXPECT_EQ(l->policy.max_own_check_delay_ms, 13u);
}

// A witness counts once, whatever names its key is listed under: a
// cosignature does not sign the name (issue 20, 1; issue 27, 3).
TEST(ClientStateTest, AWitnessKeyIsListedOnce) {
  CheckingPolicy p;
  NoteSigner w1 = *NoteSigner::Generate("w1.example", kNoteTypeCosignatureV1);
  std::string same = w1.verifier_key().ToString();
  NoteVerifierKey renamed = w1.verifier_key();
  renamed.name = "another.example";
  renamed.key_id = NoteKeyId(renamed.name, renamed.type, renamed.key.bytes());
  absl::StatusOr<NoteVerifierKey> reparsed =
      NoteVerifierKey::Parse(renamed.ToString());
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  p.witnesses = {same, same};
  p.witness_quorum = 2;
  EXPECT_EQ(CheckWitnessPolicy(p).code(), absl::StatusCode::kInvalidArgument);
  p.witnesses = {same, reparsed->ToString()};
  EXPECT_EQ(CheckWitnessPolicy(p).code(), absl::StatusCode::kInvalidArgument);
  p.witnesses = {same, Witness("w2")};
  EXPECT_TRUE(CheckWitnessPolicy(p).ok());
  p.witness_quorum = 3;
  EXPECT_EQ(CheckWitnessPolicy(p).code(), absl::StatusCode::kInvalidArgument);
  p.witness_quorum = 1;
  p.witnesses = {"w1"};
  EXPECT_EQ(CheckWitnessPolicy(p).code(), absl::StatusCode::kInvalidArgument);
  // A state file holding such a policy is refused, not obeyed.
  ClientState s;
  s.policy.witnesses = {same, reparsed->ToString()};
  s.policy.witness_quorum = 2;
  EXPECT_EQ(
      ParseClientState(SerializeClientState(s), "state.json").status().code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST(ClientStateTest, MissingAndForeignStates) {
  std::string dir = TempDir();
  EXPECT_EQ(LoadClientState(dir).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/state.json", "{\"format\": \"other\"}", 0600)
          .ok());
  EXPECT_EQ(LoadClientState(dir).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(WriteFileAtomically(dir + "/state.json", "not json", 0600).ok());
  EXPECT_EQ(LoadClientState(dir).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A state of the public-records era says what to do.
  ASSERT_TRUE(WriteFileAtomically(dir + "/state.json",
                                  "{\"format\": \"ktctl-state/1\"}", 0600)
                  .ok());
  absl::Status old = LoadClientState(dir).status();
  EXPECT_EQ(old.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(old.message().find("ktctl init"), std::string::npos) << old;
  // So does one whose account states had no first key (format 2).
  ASSERT_TRUE(WriteFileAtomically(dir + "/state.json",
                                  "{\"format\": \"ktctl-state/2\"}", 0600)
                  .ok());
  old = LoadClientState(dir).status();
  EXPECT_EQ(old.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(old.message().find("ktctl init"), std::string::npos) << old;
}

TEST(ClientStateTest, KeyFiles) {
  std::string dir = TempDir();
  Ed25519PrivateKey k = Ed25519PrivateKey::Generate();
  ASSERT_TRUE(WritePrivateKeyFile(dir + "/k", k).ok());
  EXPECT_EQ(WritePrivateKeyFile(dir + "/k", k).code(),
            absl::StatusCode::kAlreadyExists);
  auto back = ReadPrivateKeyFile(dir + "/k");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->public_key(), k.public_key());
  EXPECT_EQ(ReadPrivateKeyFile(dir + "/none").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ktlog
