// Crash test: a real ktlog-server process under concurrent write load is
// killed with SIGKILL, several times. After each restart, the leaf of every
// record the server acknowledged is at its acknowledged index, and a
// consistency proof from every checkpoint seen before the kill to the new
// checkpoint verifies.
//
// Rounds: KTLOG_CRASH_ROUNDS (default 5; the nightly soak target sets more).
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/log_client.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/note/checkpoint.h"
#include "core/note/key_file.h"
#include "gtest/gtest.h"
#include "log/fsck.h"
#include "log/storage/log_storage.h"
#include "tests/process_env.h"
#include "tests/subprocess.h"
#include "tests/test_env.h"
#include "verifier/lookup.h"

namespace ktlog {
namespace {

int Rounds() {
  const char* env = getenv("KTLOG_CRASH_ROUNDS");
  return env != nullptr ? atoi(env) : 5;
}

std::unique_ptr<ServerProcess> StartServer(const std::string& dir,
                                           const std::string& key_file) {
  return ServerProcess::Start({"--data_dir=" + dir + "/data",
                               "--key_file=" + key_file, "--batch_delay=1ms"});
}

// A new log key file in `dir`; returns its path.
std::string NewLogKeyFile(const std::string& dir, const std::string& origin,
                          LogPublicKey* key) {
  auto signer = NoteSigner::Generate(origin);
  EXPECT_TRUE(signer.ok());
  VrfPrivateKey vrf = VrfPrivateKey::Generate();
  std::string key_file = dir + "/log.key";
  EXPECT_TRUE(WriteKeyFile(key_file, *signer, &vrf).ok());
  *key = LogPublicKey{signer->verifier_key(), vrf.public_key()};
  return key_file;
}

// An acknowledged write: the record and the hash of its leaf.
struct Acked {
  std::string record;
  Hash leaf_hash;
};

TEST(CrashTest, AcknowledgedWritesSurviveSigkill) {
  std::string dir = NewTempDir("ktlog-crash");
  LogPublicKey key;
  std::string key_file = NewLogKeyFile(dir, "crash.example/log", &key);
  const NoteVerifierKey& log_key = key.checkpoint_key;

  std::map<uint64_t, Acked> acked;  // all rounds, by leaf index
  std::mt19937 rng(std::random_device{}());
  int rounds = Rounds();
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    auto server = StartServer(dir, key_file);
    auto client = LogClient::Create(server->address());

    // Checks from the previous round: acknowledged records are at their
    // indices; every old checkpoint is consistent with the new one.
    auto note = client->GetCheckpoint(0);
    ASSERT_TRUE(note.ok()) << note.status();
    auto now = OpenLogCheckpoint(*note, log_key);
    ASSERT_TRUE(now.ok()) << now.status();
    for (const auto& [index, a] : acked) {
      ASSERT_LT(index, now->size) << "an acknowledged record was lost";
    }
    for (uint64_t b = 0; b < now->size; b += 1000) {
      auto page = client->GetEntries(b, now->size);
      ASSERT_TRUE(page.ok()) << page.status();
      for (size_t i = 0; i < page->size(); ++i) {
        auto it = acked.find(b + i);
        if (it != acked.end()) {
          ASSERT_EQ(HashLeaf((*page)[i]), it->second.leaf_hash)
              << "leaf at index " << b + i;
        }
      }
    }

    std::atomic<bool> stop{false};
    absl::Mutex mu;
    std::vector<LogCheckpoint> seen = {*now};
    std::map<uint64_t, Acked> round_acked;
    int writes = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int n = 0; !stop.load(); ++n) {
          // Fresh accounts each round: unacknowledged writes leave versions
          // uncertain.
          TestAccount a(absl::StrCat("r", round, "t", t, "n", n));
          for (int d = 0; d < 20 && !stop.load(); ++d) {
            DeviceRecord r = a.Add(absl::StrCat("dev", d));
            auto w = client->Write(r.operation, r.Encode(), d % 5 == 0);
            if (!w.ok()) return;  // the server died
            absl::MutexLock lock(&mu);
            round_acked[w->leaf_index] = Acked{r.Encode(), w->leaf_hash};
            ++writes;
            if (!w->checkpoint_note.empty()) {
              auto cp = OpenLogCheckpoint(w->checkpoint_note, log_key);
              if (cp.ok()) seen.push_back(*cp);
            }
          }
        }
      });
    }
    // Kill after a random amount of acknowledged work.
    int kill_after = 100 + static_cast<int>(rng() % 1500);
    {
      absl::MutexLock lock(&mu);
      auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
        return writes >= kill_after;
      };
      ASSERT_TRUE(
          mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(120)));
    }
    EXPECT_EQ(server->Stop(SIGKILL), 128 + SIGKILL);
    stop.store(true);
    for (auto& t : threads) t.join();
    acked.insert(round_acked.begin(), round_acked.end());

    auto after = StartServer(dir, key_file);
    auto after_client = LogClient::Create(after->address());
    auto note2 = after_client->GetCheckpoint(0);
    ASSERT_TRUE(note2.ok());
    auto latest = OpenLogCheckpoint(*note2, log_key);
    ASSERT_TRUE(latest.ok());
    for (const LogCheckpoint& old : seen) {
      ASSERT_LE(old.size, latest->size);
      if (old.size == 0) continue;
      auto proof = after_client->GetConsistencyProof(old.size, latest->size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_TRUE(VerifyConsistency(old.size, latest->size, *proof, old.root,
                                    latest->root)
                      .ok())
          << old.size << " -> " << latest->size;
    }
    for (const auto& [index, a] : round_acked) {
      ASSERT_LT(index, latest->size);
      auto proof = after_client->GetInclusionProof(index, latest->size);
      ASSERT_TRUE(proof.ok());
      ASSERT_TRUE(VerifyInclusion(index, latest->size, a.leaf_hash,
                                  proof->hashes, latest->root)
                      .ok())
          << "acknowledged record " << index;
    }
    // The index survived too: a lookup of an account written just before
    // the kill verifies against the new checkpoint.
    if (!round_acked.empty()) {
      auto r = DecodeRecord(round_acked.rbegin()->second.record);
      ASSERT_TRUE(r.ok());
      auto answer =
          after_client->LookupAccount(r->account_id, latest->size, true);
      ASSERT_TRUE(answer.ok()) << answer.status();
      auto verified =
          VerifyAccountLookup(*latest, key.vrf_key, r->account_id, *answer, "");
      ASSERT_TRUE(verified.ok()) << verified.status();
      ASSERT_TRUE(verified->state.has_value());
    }
    EXPECT_EQ(after->Stop(), 0) << "clean shutdown after recovery";
    // Everything stored is what the leaves and records imply.
    auto storage = LogStorage::Open(dir + "/data");
    ASSERT_TRUE(storage.ok()) << storage.status();
    FsckReport report = Fsck(storage->get());
    ASSERT_TRUE(report.status.ok()) << report.status;
  }
  EXPECT_GT(acked.size(), 0u);
}

// SIGTERM under write load: a graceful shutdown answers every write it
// appended. A write answered with an error (UNAVAILABLE, CANCELLED, a reset)
// must not be in the log; only DEADLINE_EXCEEDED is documented as "may have
// been appended". (The deterministic version of this check is
// LogServerTest.ShutdownSendsTheAnswersOfWritesInFlight.)
TEST(CrashTest, GracefulShutdownAnswersEveryWriteItAppended) {
  std::string dir = NewTempDir("ktlog-sigterm");
  LogPublicKey key;
  std::string key_file = NewLogKeyFile(dir, "sigterm.example/log", &key);
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    auto server = StartServer(dir, key_file);
    auto client = LogClient::Create(server->address());
    absl::Mutex mu;
    // Each write creates its own account: the account exists iff the
    // write was appended.
    std::vector<std::pair<std::string, absl::StatusOr<LogClient::WriteResult>>>
        answers;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&, t] {
        for (int n = 0; !stop.load(); ++n) {
          TestAccount a(absl::StrCat("s", round, "t", t, "n", n));
          DeviceRecord r = a.Add("phone");
          auto w = client->Write(r.operation, r.Encode(), false);
          absl::MutexLock lock(&mu);
          answers.emplace_back(r.account_id, w);
          if (!w.ok() && answers.size() > 50) return;  // the server is gone
        }
      });
    }
    size_t term_after = 50 + rng() % 400;
    {
      absl::MutexLock lock(&mu);
      auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
        return answers.size() >= term_after;
      };
      ASSERT_TRUE(
          mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(120)));
    }
    EXPECT_EQ(server->Stop(SIGTERM), 0) << "clean shutdown";
    stop.store(true);
    for (auto& t : threads) t.join();

    auto after = StartServer(dir, key_file);
    auto after_client = LogClient::Create(after->address());
    auto note = after_client->GetCheckpoint(0);
    ASSERT_TRUE(note.ok()) << note.status();
    auto cp = OpenLogCheckpoint(*note, key.checkpoint_key);
    ASSERT_TRUE(cp.ok());
    int errors = 0;
    for (const auto& [account, w] : answers) {
      if (w.ok()) {
        auto found =
            after_client->GetInclusionProofByHash(w->leaf_hash, cp->size);
        EXPECT_TRUE(found.ok()) << "an acknowledged write was lost";
      } else if (!absl::IsDeadlineExceeded(w.status())) {
        ++errors;
        auto answer = after_client->LookupAccount(account, cp->size, true);
        ASSERT_TRUE(answer.ok()) << answer.status();
        auto verified =
            VerifyAccountLookup(*cp, key.vrf_key, account, *answer, "");
        ASSERT_TRUE(verified.ok()) << verified.status();
        EXPECT_FALSE(verified->state.has_value())
            << "a write answered " << w.status() << " was appended";
      }
    }
    EXPECT_GT(errors, 0) << "writes kept coming after the shutdown";
    EXPECT_EQ(after->Stop(), 0);
  }
}

}  // namespace
}  // namespace ktlog
