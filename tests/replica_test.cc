// Read replicas (log/follower.h, docs/scale.md) in-process: a real log
// serving its tiles and private feed over HTTP, replicas that follow it
// into their own RocksDB data dirs, and clients that verify what the
// replicas answer against the log's key.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/log_client.h"
#include "gtest/gtest.h"
#include "log/fsck.h"
#include "log/server.h"
#include "proto/convert.h"
#include "tests/test_env.h"
#include "verifier/client_verifier.h"

namespace ktlog {
namespace {

using absl::StatusCode;

constexpr char kToken[] = "a-feed-token-of-32-bytes-for-tests";

LogServerOptions LogOptions() {
  LogServerOptions o;
  o.http_listen_address = "127.0.0.1:0";
  o.private_feed_token = kToken;
  o.sequencer.checkpoint_interval = absl::Milliseconds(50);
  return o;
}

struct Replica {
  std::string dir;
  std::unique_ptr<LogServer> server;
  std::unique_ptr<LogClient> client;
};

// A replica of `log` in `dir` (new if empty); its follower polls only when
// a test calls Step (poll_interval is an hour) unless `poll` is given.
Replica StartReplica(LogEnv* log, std::string dir = "",
                     absl::Duration poll = absl::Hours(1),
                     std::string token = kToken) {
  Replica r;
  r.dir = dir.empty() ? NewTempDir("replica") : dir;
  LogServerOptions o;
  o.data_dir = r.dir;
  o.http_listen_address = "127.0.0.1:0";
  o.replica_wait = absl::Milliseconds(300);
  o.replica = FollowerOptions{log->server()->tiles_url(), "", token, poll};
  auto vrf = VrfPrivateKey::FromSeed(log->vrf().seed());
  auto server = LogServer::StartReplica(log->log_key(), *std::move(vrf), o);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return r;
  r.server = *std::move(server);
  r.client = LogClient::Create(r.server->address());
  return r;
}

uint64_t AdoptedSize(LogServer* replica) {
  auto cp = replica->publisher()->Latest();
  return cp == nullptr ? 0 : cp->checkpoint.size;
}

// The bytes of a lookup answer.
std::string Bytes(const absl::StatusOr<AccountLookupAnswer>& a) {
  if (!a.ok()) return a.status().ToString();
  v1::AccountLookup proto;
  ToProto(*a, &proto);
  return proto.SerializeAsString();
}

// A client of the log, talking to `log` (a replica, say).
struct Client {
  Client(LogEnv* env, LogSource* log, const std::string& account)
      : verifier(&state, log, RealClock::Get()) {
    state.log_key = env->log_key().ToString();
    state.account_id = account;
    state.device_id = "phone";
  }
  ClientState state;
  ClientVerifier verifier;
};

TEST(ReplicaTest, AReplicaServesWhatTheLogSignedByteForByte) {
  auto log = LogEnv::Start(LogOptions());
  TestAccount alice("alice"), bob("bob");
  log->Append(alice.Add("phone"));
  log->Append(alice.Add("laptop"));
  // Several records in one batch of the log's.
  std::vector<std::string> batch;
  for (int i = 0; i < 30; ++i) {
    TestAccount a(absl::StrCat("user", i));
    batch.push_back(a.Add("phone").Encode());
  }
  batch.push_back(bob.Add("phone").Encode());
  auto appended = log->client()->AppendRecords(batch, true);
  ASSERT_TRUE(appended.ok()) << appended.status();
  log->Append(bob.Rotate());
  log->Append(bob.Add("tablet"));
  uint64_t size = log->Checkpoint().size;
  ASSERT_EQ(size, 35u);

  Replica r = StartReplica(log.get());
  ASSERT_NE(r.server, nullptr);
  ASSERT_TRUE(r.server->follower()->Step().ok());
  EXPECT_EQ(AdoptedSize(r.server.get()), size);
  // The replica serves the log's own checkpoint note.
  EXPECT_EQ(*r.client->GetCheckpoint(0), r.server->publisher()->Latest()->note);
  for (const std::string& id : {"alice", "bob", "user7", "nobody"}) {
    for (bool first : {false, true}) {
      EXPECT_EQ(Bytes(r.client->LookupAccount(id, size, first)),
                Bytes(log->client()->LookupAccount(id, size, first)))
          << id;
    }
  }
  EXPECT_EQ(*r.client->GetConsistencyProof(3, size),
            *log->client()->GetConsistencyProof(3, size));
  // A client verifies through the replica alone, and raises nothing.
  Client carol(log.get(), r.client.get(), "carol");
  auto cp = carol.verifier.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  auto bobs = carol.verifier.Lookup(*cp, "bob");
  ASSERT_TRUE(bobs.ok()) << bobs.status();
  ASSERT_EQ(bobs->devices.size(), 2u);
  EXPECT_EQ(bobs->key_chain.size(), 2u);
  EXPECT_TRUE(carol.verifier.raised().empty());
  // Writes and the witnesses' calls go to the log.
  auto write = r.client->Write(Operation::kAddDevice,
                               alice.Add("watch", false).Encode(), false);
  EXPECT_EQ(write.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(r.client->AppendRecords({batch[0]}, false).status().code(),
            StatusCode::kUnimplemented);

  // Its data dir is the log's, as fsck sees it.
  r.server->Shutdown();
  auto storage = LogStorage::Open(r.dir);
  ASSERT_TRUE(storage.ok());
  FsckReport report = Fsck(storage->get());
  EXPECT_TRUE(report.status.ok()) << report.status;
  EXPECT_EQ(report.records, size);
  EXPECT_EQ(report.accounts, 32u);
}

TEST(ReplicaTest, AReplicaCatchesUpAfterARestartAndFollowsOnItsOwn) {
  auto log = LogEnv::Start(LogOptions());
  TestAccount alice("alice");
  log->Append(alice.Add("phone"));
  Replica r = StartReplica(log.get(), "", absl::Milliseconds(20));
  std::string dir = r.dir;
  log->Append(alice.Add("laptop"));
  uint64_t size = log->Checkpoint().size;
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (AdoptedSize(r.server.get()) < size && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(AdoptedSize(r.server.get()), size);
  r.server.reset();
  for (int i = 0; i < 5; ++i) log->Append(alice.Add(absl::StrCat("d", i)));
  size = log->Checkpoint().size;
  Replica again = StartReplica(log.get(), dir);
  EXPECT_EQ(AdoptedSize(again.server.get()), 2u) << "what it had adopted";
  ASSERT_TRUE(again.server->follower()->Step().ok());
  EXPECT_EQ(AdoptedSize(again.server.get()), size);
  auto answer = again.client->LookupAccount("alice", size, false);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(Bytes(answer),
            Bytes(log->client()->LookupAccount("alice", size, false)));
}

// A client that trusts a newer checkpoint than a replica adopted (another
// replica, or the log, showed it) sees the replica's as behind, not as a
// rollback, and is asked to retry what needs the newer tree.
TEST(ReplicaTest, AReplicaBehindTheClientRaisesNoAlarm) {
  auto log = LogEnv::Start(LogOptions());
  TestAccount alice("alice");
  log->Append(alice.Add("phone"));
  Replica r = StartReplica(log.get());
  ASSERT_TRUE(r.server->follower()->Step().ok());
  log->Append(alice.Add("laptop"));
  Client bob(log.get(), log->client(), "bob");
  auto newer = bob.verifier.UpdateCheckpoint();
  ASSERT_TRUE(newer.ok());
  ASSERT_EQ(newer->size, 2u);

  Client moved(log.get(), r.client.get(), "bob");
  moved.state = bob.state;
  auto kept = moved.verifier.UpdateCheckpoint();
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(*kept, *newer) << "the trusted checkpoint stays";
  EXPECT_TRUE(moved.verifier.raised().empty());
  EXPECT_EQ(moved.state.trusted_checkpoint, bob.state.trusted_checkpoint);
  auto lookup = moved.verifier.Lookup(*kept, "alice");
  EXPECT_EQ(lookup.status().code(), StatusCode::kUnavailable)
      << lookup.status();
  EXPECT_TRUE(moved.verifier.raised().empty());
  ASSERT_TRUE(r.server->follower()->Step().ok());
  lookup = moved.verifier.Lookup(*kept, "alice");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->devices.size(), 2u);
  EXPECT_TRUE(moved.verifier.raised().empty());
}

// A log that shows the replica another history under its key (a split
// view) is refused: the replica halts and keeps serving what it verified.
TEST(ReplicaTest, ALogThatFeedsAnotherHistoryIsRefused) {
  auto log = LogEnv::Start(LogOptions());
  TestAccount alice("alice");
  log->Append(alice.Add("phone"));
  Replica r = StartReplica(log.get());
  ASSERT_TRUE(r.server->follower()->Step().ok());
  std::string verified = r.server->publisher()->Latest()->note;
  std::string dir = r.dir;
  r.server.reset();

  auto fork = LogEnv::Start(LogOptions(), log.get());
  TestAccount mallory("mallory");
  for (int i = 0; i < 3; ++i) fork->Append(mallory.Add(absl::StrCat("m", i)));
  Replica misled = StartReplica(fork.get(), dir);
  absl::Status step = misled.server->follower()->Step();
  EXPECT_EQ(step.code(), StatusCode::kDataLoss) << step;
  EXPECT_EQ(misled.server->follower()->halted().code(), StatusCode::kDataLoss);
  EXPECT_EQ(misled.server->follower()->Step().code(), StatusCode::kDataLoss)
      << "it stays halted";
  EXPECT_EQ(misled.server->publisher()->Latest()->note, verified);
  Client carol(log.get(), misled.client.get(), "carol");
  auto cp = carol.verifier.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  auto alices = carol.verifier.Lookup(*cp, "alice");
  ASSERT_TRUE(alices.ok()) << alices.status();
  EXPECT_EQ(alices->devices.size(), 1u);
  EXPECT_TRUE(carol.verifier.raised().empty());
}

TEST(ReplicaTest, TheFeedNeedsItsToken) {
  auto log = LogEnv::Start(LogOptions());
  TestAccount alice("alice");
  log->Append(alice.Add("phone"));
  Replica r = StartReplica(log.get(), "", absl::Hours(1),
                           "not-the-feed-token-but-long-enough");
  absl::Status step = r.server->follower()->Step();
  EXPECT_EQ(step.code(), StatusCode::kPermissionDenied) << step;
  EXPECT_TRUE(r.server->follower()->halted().ok()) << "retried later";
  EXPECT_EQ(AdoptedSize(r.server.get()), 0u);
  // No checkpoint adopted: reads wait, then ask to retry.
  EXPECT_EQ(r.client->GetCheckpoint(0).status().code(),
            StatusCode::kUnavailable);
}

TEST(ReplicaTest, AReplicaNeedsTheLogsVrfKey) {
  auto log = LogEnv::Start(LogOptions());
  LogServerOptions o;
  o.data_dir = NewTempDir("replica");
  o.replica = FollowerOptions{log->server()->tiles_url(), "", kToken};
  auto server =
      LogServer::StartReplica(log->log_key(), VrfPrivateKey::Generate(), o);
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ktlog
