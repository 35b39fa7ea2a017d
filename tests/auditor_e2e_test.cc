// ktlog-auditor as a real process against a real ktlog-server process:
// it catches up, cosigns, is killed with SIGKILL while catching up, and
// resumes without redoing the work it had saved; ktctl clients that
// require its cosignature then trust the log. An honest log, with two
// witnesses on their own schedules, clients racing and one joining late,
// makes nobody raise an alert; a breached server's fork is refused.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/barrier.h"
#include "client/log_client.h"
#include "gtest/gtest.h"
#include "tests/process_env.h"
#include "tests/test_env.h"

namespace ktlog {
namespace {

constexpr char kAuditor[] = "auditor/ktlog-auditor";
constexpr char kLoadgen[] = "tools/ktlog-loadgen";

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
                                      "--plaintext",
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
  // With --log_format=json its lines are JSON objects, for a log collector.
  std::vector<std::string> json_run = auditor;
  json_run.push_back("--log_format=json");
  RunResult third = RunProgram(json_run);
  EXPECT_EQ(third.exit_code, 0) << third.out;
  std::string said;
  for (absl::string_view line :
       absl::StrSplit(third.out, '\n', absl::SkipEmpty())) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_EQ(j["program"], "ktlog-auditor") << line;
    said = j["message"];
  }
  EXPECT_NE(said.find("checkpoint of size 3000 verified"), std::string::npos)
      << third.out;

  // A ktctl client that pins the log key the server publishes (with its
  // witness) requires this witness and trusts the cosigned log.
  std::string state = key.dir + "/bob";
  EXPECT_NE(server->log_key().find(",witness=" + witness_key),
            std::string::npos)
      << server->log_key();
  RunResult init = Ktctl(state, server->address(),
                         {"init", "--account=bob", "--device=phone",
                          "--log_key=" + server->log_key()});
  ASSERT_EQ(init.exit_code, 0) << init.out;
  EXPECT_NE(init.out.find("\"witness_quorum\""), std::string::npos) << init.out;
  RunResult cp = Ktctl(state, server->address(), {"checkpoint"});
  EXPECT_EQ(cp.exit_code, 0) << cp.out;
  EXPECT_EQ(JsonOf(cp)["size"], 3000);
  EXPECT_NE(JsonOf(cp)["note"].get<std::string>().find("witness.example/w1"),
            std::string::npos)
      << "the trusted checkpoint carries the cosignature: " << cp.out;
  // Bob's device, published but not cosigned yet: adding it again says so.
  ASSERT_EQ(Ktctl(state, server->address(), {"register"}).exit_code, 0);
  ASSERT_EQ(RunProgram(auditor).exit_code, 0);
  ASSERT_EQ(Ktctl(state, server->address(), {"monitor"}).exit_code, 0);
  RunResult added =
      Ktctl(state, server->address(), {"device", "add", "laptop"});
  ASSERT_EQ(added.exit_code, 0) << added.out;
  EXPECT_EQ(JsonOf(added)["verified"], false) << added.out;
  RunResult again =
      Ktctl(state, server->address(), {"device", "add", "laptop"});
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_NE(again.out.find("was published by this client and is not "
                           "verified yet"),
            std::string::npos)
      << again.out;
  EXPECT_EQ(again.out.find("reusing the key"), std::string::npos) << again.out;
  // The same with a key given on the command line.
  RunResult given =
      Ktctl(state, server->address(),
            {"device", "add", "laptop", "--key=" + std::string(64, 'a')});
  EXPECT_EQ(given.exit_code, 1) << given.out;
  EXPECT_NE(given.out.find("published by this client"), std::string::npos)
      << given.out;
  // Another device before the laptop is verified: the new record builds on
  // it, the log refuses it, and ktctl says why and how to wait (issue 26).
  RunResult tablet =
      Ktctl(state, server->address(), {"device", "add", "tablet"});
  EXPECT_EQ(tablet.exit_code, 1) << tablet.out;
  EXPECT_NE(tablet.out.find("your previous record is not verified yet"),
            std::string::npos)
      << tablet.out;
  EXPECT_NE(tablet.out.find("--wait=2m"), std::string::npos) << tablet.out;
  RunResult waiting = Ktctl(state, server->address(), {"monitor"});
  EXPECT_EQ(waiting.exit_code, 0) << waiting.out;
  EXPECT_EQ(JsonOf(waiting)["own_unverified"], 1) << waiting.out;
  ASSERT_EQ(RunProgram(auditor).exit_code, 0);
  RunResult monitor = Ktctl(state, server->address(), {"monitor"});
  EXPECT_EQ(monitor.exit_code, 0) << monitor.out;
  again = Ktctl(state, server->address(), {"device", "add", "laptop"});
  EXPECT_NE(again.out.find("already active"), std::string::npos) << again.out;

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

// A ktctl command run until it succeeds, the way a messenger would retry:
// with witnesses on their own schedule, a client may have to wait for a
// cosigned checkpoint ("no checkpoint cosigned", exit 4), for a contact who
// just registered to be covered by one ("does not exist", exit 1) or,
// before its next write, for its previous one to be verified ("not
// verified yet", exit 1: run `monitor`, then again). Anything else that is not
// success fails the test, and an alert (exit 3) above all: an honest log must
// never cause one.
class Retrying {
 public:
  Retrying(std::string dir, std::string address)
      : dir_(std::move(dir)), address_(std::move(address)) {}

  RunResult Run(const std::string& who, const std::vector<std::string>& args) {
    absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (true) {
      RunResult r = Ktctl(dir_ + "/" + who, address_, args);
      if (r.exit_code == 0) return r;
      EXPECT_NE(r.exit_code, 3) << who << " raised an alert: " << r.out;
      bool absent = r.out.find("does not exist") != std::string::npos;
      if (absent) {
        EXPECT_NE(r.out.find("appears once they cosign a newer one"),
                  std::string::npos)
            << "absence says why it may be temporary: " << r.out;
      }
      bool waiting =
          absent || r.out.find("no checkpoint cosigned") != std::string::npos;
      bool unverified = r.out.find("not verified yet") != std::string::npos;
      if (r.exit_code == 3 || !(waiting || unverified) ||
          absl::Now() > deadline) {
        ADD_FAILURE() << who << " " << args[0] << ": " << r.out;
        return r;
      }
      ++(unverified ? unverified_ : waited_);
      if (unverified) {
        RunResult m = Ktctl(dir_ + "/" + who, address_, {"monitor"});
        EXPECT_NE(m.exit_code, 3) << who << " raised an alert: " << m.out;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  // How often the world's timing made a client wait (for the test's log).
  int waited() const { return waited_; }
  int unverified() const { return unverified_; }

 private:
  std::string dir_, address_;
  std::atomic<int> waited_{0}, unverified_{0};
};

// Devices of `account` as `who` sees them, verified.
std::vector<std::string> DevicesSeen(Retrying& ktctl, const std::string& who,
                                     const std::string& account) {
  RunResult r = ktctl.Run(who, {"lookup", account});
  std::vector<std::string> names;
  if (r.exit_code != 0) return names;
  nlohmann::json answer = JsonOf(r);
  for (const auto& d : answer["devices"]) names.push_back(d["device_id"]);
  std::sort(names.begin(), names.end());
  return names;
}

TEST(HonestWorldTest, NoAlertWithTwoWitnessesOnTheirOwnSchedulesRacingClients) {
  LogKeyFiles key = MakeLogKey();
  // Two witnesses, both required (quorum 2), each following the log on its
  // own clock, not the test's, and slower than the clients act.
  const std::vector<std::string> names = {"w1", "w2"};
  const std::vector<std::string> intervals = {"1s", "700ms"};
  std::vector<std::string> witness_keys;
  for (const std::string& n : names) {
    RunResult w =
        RunProgram({kKeygenBinary, "--name=witness.example/" + n,
                    "--type=witness", "--out=" + key.dir + "/" + n + ".key"});
    ASSERT_EQ(w.exit_code, 0) << w.out;
    witness_keys.push_back(TrimRight(w.out));
  }
  auto server = ServerProcess::Start(
      {"--data_dir=" + key.dir + "/data", "--key_file=" + key.key_file,
       "--witness_keys=" + absl::StrJoin(witness_keys, ","),
       "--checkpoint_interval=100ms"});
  // Without --witness_quorum the log key asks for a majority (the review
  // of the fixes, finding 4: 1 of 2 lets a log show each witness its own
  // history and have both cosigned).
  ASSERT_TRUE(absl::EndsWith(server->log_key(), ",quorum=2"))
      << server->log_key();
  std::vector<std::unique_ptr<Subprocess>> witnesses;
  for (size_t i = 0; i < names.size(); ++i) {
    auto witness = Subprocess::Start(
        {kAuditor, "--plaintext", "--log=" + server->address(),
         "--log_key=" + server->log_key(),
         "--key_file=" + key.dir + "/" + names[i] + ".key",
         "--state_dir=" + key.dir + "/" + names[i], "--follow",
         "--interval=" + intervals[i]},
        "", /*merge_stderr=*/true);
    ASSERT_TRUE(witness.ok()) << witness.status();
    witnesses.push_back(*std::move(witness));
  }
  Retrying ktctl(key.dir, server->address());
  auto join = [&](const std::string& who) {
    ktctl.Run(who, {"init", "--account=" + who + "@example.com",
                    "--device=phone", "--log_key=" + server->log_key()});
    ktctl.Run(who, {"register"});
  };

  // Meanwhile a provider's front end writes for other users in
  // AppendRecords calls, on its own schedule (ktlog-loadgen: it proves its
  // acknowledged records included and exits 1 otherwise).
  RunResult front_end;
  std::thread front_end_thread([&] {
    front_end = RunProgram(
        {kLoadgen, "--plaintext", "--server=" + server->address(),
         "--log_key=" + server->log_key(), "--writers=2", "--batch=20",
         "--writes=400", "--readers=0", "--samples=100"});
  });

  // Alice and Bob join, follow each other and add devices at the same
  // time, each checking the other's account and their own in between.
  constexpr int kDevices = 3;
  std::vector<std::thread> people;
  auto* both_joined = new absl::Barrier(2);
  for (std::string who : {"alice", "bob"}) {
    people.emplace_back([&, who] {
      std::string other = who == "alice" ? "bob" : "alice";
      join(who);
      if (both_joined->Block()) delete both_joined;
      ktctl.Run(who, {"contact", "add", other + "@example.com"});
      for (int d = 0; d < kDevices; ++d) {
        ktctl.Run(who, {"device", "add", absl::StrCat(who, "-", d)});
        ktctl.Run(who, {"lookup", other + "@example.com"});
        ktctl.Run(who, {"monitor"});
      }
    });
  }
  for (auto& t : people) t.join();
  front_end_thread.join();
  EXPECT_EQ(front_end.exit_code, 0) << front_end.out;

  // Carol joins late, while Alice's newest devices may not be cosigned yet.
  join("carol");
  ktctl.Run("carol", {"contact", "add", "alice@example.com"});
  ktctl.Run("carol", {"contact", "add", "bob@example.com"});

  // Everyone ends up seeing every device, once the witnesses catch up.
  std::vector<std::string> alice = {"alice-0", "alice-1", "alice-2", "phone"};
  for (std::string who : {"bob", "carol"}) {
    absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (DevicesSeen(ktctl, who, "alice@example.com") != alice &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(200));
    }
    EXPECT_EQ(DevicesSeen(ktctl, who, "alice@example.com"), alice) << who;
  }
  for (std::string who : {"alice", "bob", "carol"}) {
    ktctl.Run(who, {"monitor"});
    RunResult alerts = ktctl.Run(who, {"alerts"});
    EXPECT_TRUE(JsonOf(alerts).empty()) << who << ": " << alerts.out;
  }
  std::cout << "clients waited for the witness " << ktctl.waited()
            << " times, for their own previous write " << ktctl.unverified()
            << " times\n";
  // Each witness verified and cosigned throughout and is still following.
  for (auto& witness : witnesses) {
    EXPECT_TRUE(witness->Running()) << "a witness stopped";
    witness->Signal(SIGTERM);
    std::string log = witness->ReadAll(absl::Now() + absl::Seconds(30));
    EXPECT_NE(log.find("cosigned"), std::string::npos) << log;
    EXPECT_EQ(log.find("NOT cosigning"), std::string::npos) << log;
  }
}

// The attack the product exists for (issue 12): someone who breached the
// servers holds the log's keys, but not Alice's account key, so to put their
// device in Alice's account they must show Bob another history. Every
// client that pinned the log key the operator publishes (with its witness
// policy) refuses it; so does the witness; a client that chose to run
// without witnesses is fooled, which is why that is not the default.
TEST(SeedAttackTest, ABreachedServersForkIsRefusedByThePublishedWitnessPolicy) {
  LogKeyFiles key = MakeLogKey();
  RunResult w = RunProgram({kKeygenBinary, "--name=witness.example/w1",
                            "--type=witness", "--out=" + key.dir + "/w.key"});
  ASSERT_EQ(w.exit_code, 0) << w.out;
  std::string witness_key = TrimRight(w.out);
  std::vector<std::string> server_flags = {"--key_file=" + key.key_file,
                                           "--witness_keys=" + witness_key,
                                           "--checkpoint_interval=100ms"};
  std::vector<std::string> flags = server_flags;
  flags.push_back("--data_dir=" + key.dir + "/data");
  auto honest = ServerProcess::Start(flags);
  const std::string published = honest->log_key();
  auto audit = [&](const std::string& address) {
    return RunProgram({kAuditor, "--plaintext", "--log=" + address,
                       "--log_key=" + published,
                       "--key_file=" + key.dir + "/w.key",
                       "--state_dir=" + key.dir + "/auditor"});
  };
  auto ktctl = [&](const std::string& who, const std::string& address,
                   std::vector<std::string> args) {
    return Ktctl(key.dir + "/" + who, address, args);
  };
  ASSERT_EQ(audit(honest->address()).exit_code, 0);
  for (const char* who : {"alice", "bob"}) {
    RunResult r =
        ktctl(who, honest->address(),
              {"init", absl::StrCat("--account=", who, "@example.com"),
               "--device=phone", "--log_key=" + published});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    r = ktctl(who, honest->address(), {"register"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(JsonOf(r)["verified"], false) << "not cosigned yet: " << r.out;
  }
  ASSERT_EQ(audit(honest->address()).exit_code, 0);
  RunResult r =
      ktctl("bob", honest->address(), {"lookup", "alice@example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string alice_key = JsonOf(r)["account_key"];

  // The breached server: the log's keys, another data dir.
  flags = server_flags;
  flags.push_back("--data_dir=" + key.dir + "/fork");
  auto fork = ServerProcess::Start(flags);
  ASSERT_EQ(fork->log_key(), published);
  r = ktctl("attacker", fork->address(),
            {"init", "--account=alice@example.com", "--device=phone",
             "--log_key=" + key.log_key, "--allow_no_witnesses"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(ktctl("attacker", fork->address(), {"register"}).exit_code, 0);
  ASSERT_EQ(
      ktctl("attacker", fork->address(), {"device", "add", "attacker-tablet"})
          .exit_code,
      0);

  // Bob, who trusts the real log, and Carol, who never saw it: no
  // checkpoint of the fork is cosigned, so neither is shown it.
  r = ktctl("carol", fork->address(),
            {"init", "--account=carol@example.com", "--device=phone",
             "--log_key=" + published});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* who : {"bob", "carol"}) {
    r = ktctl(who, fork->address(), {"lookup", "alice@example.com"});
    EXPECT_EQ(r.exit_code, 4) << who << ": " << r.out;
    EXPECT_NE(r.out.find("no checkpoint cosigned"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("attacker-tablet"), std::string::npos) << r.out;
  }
  // The witness refuses to cosign it and names why.
  RunResult refused = audit(fork->address());
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("NOT cosigning"), std::string::npos)
      << refused.out;
  // The witness stops cosigning until its operator looks at the evidence
  // (--clear_failure); Bob still sees Alice's own key on the real log.
  EXPECT_EQ(audit(honest->address()).exit_code, 1);
  r = ktctl("bob", honest->address(), {"lookup", "alice@example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JsonOf(r)["account_key"], alice_key);

  // A client that pinned the identity alone (the loud, non-default choice)
  // is shown the attacker's device; it finds out only on reaching the
  // real log.
  r = ktctl("dave", fork->address(),
            {"init", "--account=dave@example.com", "--device=phone",
             "--log_key=" + key.log_key, "--allow_no_witnesses"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = ktctl("dave", fork->address(), {"lookup", "alice@example.com"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("attacker-tablet"), std::string::npos) << r.out;
  EXPECT_NE(JsonOf(r)["account_key"], alice_key);
  r = ktctl("dave", honest->address(), {"checkpoint"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("LOG_FORK"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ktlog
