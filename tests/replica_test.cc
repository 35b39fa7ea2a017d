// Read replicas (log/follower.h, docs/scale.md) in-process: a real log
// serving its tiles and private feed over HTTP, replicas that follow it
// into their own RocksDB data dirs, and clients that verify what the
// replicas answer against the log's key.
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/log_client.h"
#include "core/account/registration.h"
#include "core/note/cosignature.h"
#include "core/note/note.h"
#include "core/util/file_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "log/fsck.h"
#include "log/integrator.h"
#include "log/private_feed.h"
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
// Its private feed is read from `feed_url` (empty: the log's).
Replica StartReplica(LogEnv* log, std::string dir = "",
                     absl::Duration poll = absl::Hours(1),
                     std::string token = kToken, std::string feed_url = "") {
  Replica r;
  r.dir = dir.empty() ? NewTempDir("replica") : dir;
  LogServerOptions o;
  o.data_dir = r.dir;
  o.http_listen_address = "127.0.0.1:0";
  o.replica_wait = absl::Seconds(3);
  o.replica = FollowerOptions{};
  o.replica->log_url = log->server()->tiles_url();
  o.replica->feed_url = feed_url;
  o.replica->feed_token = token;
  o.replica->poll_interval = poll;
  auto vrf = VrfPrivateKey::FromSeed(log->vrf().seed());
  auto server =
      LogServer::StartReplica(log->server()->log_key(), *std::move(vrf), o);
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
  Client(LogEnv* env, LogSource* log, const std::string& account,
         const Clock* clock = RealClock::Get())
      : verifier(&state, log, clock) {
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
  // The replica serves the log's own checkpoint note (the one it adopted:
  // its follower may adopt the log's next heartbeat meanwhile, so the
  // comparison counts when nothing was adopted around the call).
  for (int tries = 0;; ++tries) {
    ASSERT_LT(tries, 50);
    const std::string before = r.server->publisher()->Latest()->note;
    absl::StatusOr<std::string> served = r.client->GetCheckpoint(0);
    ASSERT_TRUE(served.ok()) << served.status();
    if (r.server->publisher()->Latest()->note != before) continue;
    EXPECT_EQ(*served, before);
    break;
  }
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
// rollback, once the replica proved it consistent with the trusted one:
// its trusted checkpoint stays and nothing is raised.
// A log with alice's one device, a replica that adopted it, then her
// second device, which bob trusts from the log (a checkpoint of size 2).
struct BehindClient {
  BehindClient() {
    log->Append(alice.Add("phone"));
    EXPECT_TRUE(r.server->follower()->Step().ok());
    log->Append(alice.Add("laptop"));
  }
  std::unique_ptr<LogEnv> log = LogEnv::Start(LogOptions());
  TestAccount alice{"alice"};
  Replica r = StartReplica(log.get());
  Client bob{log.get(), log->client(), "bob"};
};

TEST(ReplicaTest, AReplicaBehindTheClientRaisesNoAlarm) {
  BehindClient w;
  auto& [log, alice, r, bob] = w;
  auto newer = bob.verifier.UpdateCheckpoint();
  ASSERT_TRUE(newer.ok());
  ASSERT_EQ(newer->size, 2u);

  Client moved(log.get(), r.client.get(), "bob");
  moved.state = bob.state;
  // The replica serves its older checkpoint; asked for the proof to the
  // trusted one, it polls the log at once, catches up and gives it.
  auto kept = moved.verifier.UpdateCheckpoint();
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(*kept, *newer) << "the trusted checkpoint stays";
  EXPECT_TRUE(moved.verifier.raised().empty());
  EXPECT_EQ(moved.state.trusted_checkpoint, bob.state.trusted_checkpoint);
  auto lookup = moved.verifier.Lookup(*kept, "alice");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->devices.size(), 2u);
  EXPECT_TRUE(moved.verifier.raised().empty());
}

// A replica that stays behind what a client trusts, and cannot prove its
// older checkpoint consistent with it, is no evidence: an error each time,
// until the trusted checkpoint is older than the policy allows, when the
// client raises STALE_LOG as for a log that does not answer.
TEST(ReplicaTest, AReplicaThatNeverCatchesUpEndsInStaleLog) {
  BehindClient w;
  auto& [log, alice, r, bob] = w;
  auto trusted = bob.verifier.UpdateCheckpoint();
  ASSERT_TRUE(trusted.ok());
  log->Stop();  // the replica can no longer catch up

  uint64_t now = RealClock::Get()->NowMillis();
  FakeClock clock(now);
  Client moved(log.get(), r.client.get(), "bob", &clock);
  moved.state = bob.state;
  auto update = moved.verifier.UpdateCheckpoint();
  EXPECT_EQ(update.status().code(), StatusCode::kUnavailable)
      << update.status();
  EXPECT_TRUE(moved.verifier.raised().empty());
  clock.Set(now + 2 * 24 * 3600 * 1000ULL);  // past max_checkpoint_age
  update = moved.verifier.UpdateCheckpoint();
  EXPECT_FALSE(update.ok());
  ASSERT_EQ(moved.verifier.raised().size(), 1u);
  EXPECT_EQ(moved.verifier.raised()[0].type, AlertType::kStaleLog);
  EXPECT_EQ(moved.state.trusted_checkpoint, bob.state.trusted_checkpoint);
}

// A log that shows the replica another history under its key (a split
// view): nothing of it is stored or served; the replica keeps serving
// what it verified and tries again at every poll.
TEST(ReplicaTest, ALogThatShowsAnotherHistoryIsRefused) {
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
  EXPECT_EQ(step.code(), StatusCode::kUnavailable) << step;
  EXPECT_EQ(misled.server->storage()->size(), 1u) << "nothing stored";
  EXPECT_EQ(misled.server->publisher()->Latest()->note, verified);
  Client carol(log.get(), misled.client.get(), "carol");
  auto cp = carol.verifier.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  auto alices = carol.verifier.Lookup(*cp, "alice");
  ASSERT_TRUE(alices.ok()) << alices.status();
  EXPECT_EQ(alices->devices.size(), 1u);
  EXPECT_TRUE(carol.verifier.raised().empty());
}

// An HTTP server on 127.0.0.1 for a test: a subclass routes `server_`,
// then calls Listen(); it stops when destroyed.
class TestHttpServer {
 public:
  ~TestHttpServer() { Stop(); }
  // Before a subclass's members go (its handlers may use them).
  void Stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }

 protected:
  void Listen() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  httplib::Server server_;

 private:
  int port_ = 0;
  std::thread thread_;
};

// Serves a log's tiles and private feed as they are, but for one byte of
// every private bundle: a private feed that does not open the leaves.
class TamperedFeed : public TestHttpServer {
 public:
  explicit TamperedFeed(const std::string& log_url) : upstream_(log_url) {
    server_.Get(".*", [this](const httplib::Request& req,
                             httplib::Response& res) {
      httplib::Headers headers;
      if (req.has_header("Authorization")) {
        headers.emplace("Authorization", req.get_header_value("Authorization"));
      }
      auto got = upstream_.Get(req.path, headers);
      if (!got) {
        res.status = 502;
        return;
      }
      std::string body = got->body;
      if (req.path.rfind("/private/0", 0) == 0 && body.size() > 40) {
        body[body.size() - 1] ^= 1;  // the last item's state opening
      }
      res.status = got->status;
      res.set_content(body, "application/octet-stream");
    });
    Listen();
  }
  ~TamperedFeed() { Stop(); }

 private:
  httplib::Client upstream_;
};

// A private feed whose records do not open the signed leaves is the log's
// fault (the feed is its own, over TLS): the replica stops following it,
// stores nothing of the batch, and keeps serving what it verified.
TEST(ReplicaTest, AFeedThatDoesNotOpenTheLeavesHaltsTheReplica) {
  auto log = LogEnv::Start(LogOptions());
  TestAccount alice("alice");
  log->Append(alice.Add("phone"));
  TamperedFeed tampered(log->server()->tiles_url());
  Replica r =
      StartReplica(log.get(), "", absl::Hours(1), kToken, tampered.url());
  ASSERT_NE(r.server, nullptr);
  LogServer* server = r.server.get();
  absl::Status step = server->follower()->Step();
  EXPECT_EQ(step.code(), StatusCode::kDataLoss) << step;
  EXPECT_NE(step.message().find("leaf 0: a commitment does not open"),
            std::string::npos)
      << step;
  EXPECT_EQ(server->follower()->halted().code(), StatusCode::kDataLoss);
  EXPECT_EQ(server->follower()->Step().code(), StatusCode::kDataLoss)
      << "it stays halted";
  EXPECT_EQ(server->storage()->size(), 0u) << "nothing stored";
  EXPECT_EQ(server->publisher()->Latest(), nullptr);
}

// A log that erases accounts (docs/operations.md, "Erasure"): a replica
// that held the account's records deletes them as the log did, and one
// that starts after the erasure never holds them; both answer the
// account's lookups as the log does, and fsck passes on both.
TEST(ReplicaTest, ReplicasFollowErasures) {
  LogServerOptions options = LogOptions();
  RegistrationKey registration = RegistrationKey::Generate();
  options.registration = registration;
  auto log = LogEnv::Start(options);
  uint64_t expiry = absl::ToUnixSeconds(absl::Now() + absl::Hours(1));
  auto create = [&](TestAccount& a, const std::string& device) {
    DeviceRecord r = a.Add(device);
    auto written =
        log->client()->Write(Operation::kAddDevice, r.Encode(), true,
                             registration.CredentialFor(
                                 a.id(), a.key().public_key().bytes(), expiry));
    ASSERT_TRUE(written.ok()) << written.status();
  };
  TestAccount alice("alice"), bob("bob");
  create(alice, "phone");
  create(bob, "phone");
  log->Append(alice.Add("laptop"));
  Replica before = StartReplica(log.get());
  ASSERT_TRUE(before.server->follower()->Step().ok());
  ASSERT_TRUE(before.server->storage()->ReadPosition("alice")->has_value());

  Hash alice_position = log->server()->positions()->Of("alice")->position;
  auto erased = log->client()->EraseAccount(
      "alice", registration.CredentialFor("alice", "", expiry,
                                          CredentialPurpose::kErase));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(*erased, 3u);
  log->Append(bob.Add("tablet"));
  uint64_t size = log->Checkpoint().size;
  Replica after = StartReplica(log.get());
  for (Replica* r : {&before, &after}) {
    absl::Status step = r->server->follower()->Step();
    ASSERT_TRUE(step.ok()) << step;
    ASSERT_EQ(AdoptedSize(r->server.get()), size);
    for (const std::string& id : {"alice", "bob"}) {
      EXPECT_EQ(Bytes(r->client->LookupAccount(id, size, true)),
                Bytes(log->client()->LookupAccount(id, size, true)))
          << id;
    }
    EXPECT_FALSE(r->server->storage()->ReadPosition("alice")->has_value());
    EXPECT_TRUE(r->server->storage()->ReadPosition("bob")->has_value());
    auto marker = r->server->storage()->ReadErased(alice_position);
    ASSERT_TRUE(marker.ok() && marker->has_value());
    EXPECT_EQ((*marker)->leaf_indexes, (std::vector<uint64_t>{0, 2, 3}));
    std::string dir = r->dir;
    r->server.reset();
    auto storage = LogStorage::Open(dir);
    ASSERT_TRUE(storage.ok());
    FsckReport report = Fsck(storage->get());
    EXPECT_TRUE(report.status.ok()) << report.status;
    EXPECT_EQ(report.erased, 1u);
  }
}

// A replica that reads the leaves of an account after the log erased it,
// but not yet its erasure leaf (the log signed the checkpoint before the
// erasure), must not serve that checkpoint: the account's lookups would
// not say it was erased. The integrator says it waits for the erasure.
TEST(ReplicaTest, LeavesWithoutRecordsWaitForTheirErasureLeaf) {
  LogServerOptions options = LogOptions();
  RegistrationKey registration = RegistrationKey::Generate();
  options.registration = registration;
  auto log = LogEnv::Start(options);
  uint64_t expiry = absl::ToUnixSeconds(absl::Now() + absl::Hours(1));
  TestAccount alice("alice");
  DeviceRecord first = alice.Add("phone");
  ASSERT_TRUE(
      log->client()
          ->Write(Operation::kAddDevice, first.Encode(), true,
                  registration.CredentialFor(
                      "alice", alice.key().public_key().bytes(), expiry))
          .ok());
  log->Append(alice.Add("laptop"));
  PrivateFeed before(log->server()->storage(), log->server()->storage(),
                     log->server()->publisher(), kToken);
  auto bundle_before = before.Read(TileId{true, 0, 0, 2});
  ASSERT_TRUE(bundle_before.ok()) << bundle_before.status();
  auto items_before = DecodeFeedBundle(*bundle_before, 2);
  ASSERT_TRUE(items_before.ok());
  ASSERT_TRUE(log->client()
                  ->EraseAccount("alice", registration.CredentialFor(
                                              "alice", "", expiry,
                                              CredentialPurpose::kErase))
                  .ok());
  LogStorage* primary = log->server()->storage();
  uint64_t size = primary->size();
  ASSERT_EQ(size, 3u);
  PrivateFeed feed(primary, primary, log->server()->publisher(), kToken);
  auto bundle = feed.Read(TileId{true, 0, 0, size});
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  auto items = DecodeFeedBundle(*bundle, size);
  ASSERT_TRUE(items.ok());
  ASSERT_FALSE((*items)[0].entry.has_value()) << "erased since";
  ASSERT_TRUE((*items)[2].erased_leaves.has_value());
  EXPECT_EQ(*(*items)[2].erased_leaves, (std::vector<uint64_t>{0, 1}));
  auto leaves = primary->ReadLeaves(0, size);
  ASSERT_TRUE(leaves.ok());

  auto storage = LogStorage::Open(NewTempDir("replica"));
  ASSERT_TRUE(storage.ok());
  IndexVersions index;
  Positions positions(storage->get(), &log->vrf());
  auto replica = Integrator::OpenReplica(
      storage->get(), &index, RealClock::Get(), absl::Minutes(10), 0);
  ASSERT_TRUE(replica.ok()) << replica.status();
  // The log's batches: one leaf each here (three writes, each waited for).
  for (uint64_t i = 0; i < size; ++i) {
    ASSERT_TRUE((*items)[i].batch_end) << i;
    absl::Status s =
        (*replica)->Replicate({(*leaves)[i]}, {(*items)[i]}, positions);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ((*replica)->awaiting_erasures(), i + 1 < size) << i;
  }
  auto marker = (*storage)->ReadErased(DecodeLeaf((*leaves)[0])->position);
  ASSERT_TRUE(marker.ok() && marker->has_value());
  EXPECT_EQ((*marker)->leaf_indexes, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ((*storage)->ReadIndexRoot(size).value(),
            primary->ReadIndexRoot(size).value());

  // Restarted between the two (a crash): it still waits.
  auto again = LogStorage::Open(NewTempDir("replica"));
  ASSERT_TRUE(again.ok());
  IndexVersions index2;
  auto second = Integrator::OpenReplica(again->get(), &index2, RealClock::Get(),
                                        absl::Minutes(10), 0);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(
      (*second)->Replicate({(*leaves)[0]}, {(*items)[0]}, positions).ok());
  second->reset();
  auto reopened = Integrator::OpenReplica(
      again->get(), &index2, RealClock::Get(), absl::Minutes(10), 0);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE((*reopened)->awaiting_erasures());
  // A replica that read version 1 with its record, version 2 without it
  // (erased meanwhile): the erasure deletes what it held.
  auto mixed = LogStorage::Open(NewTempDir("replica"));
  ASSERT_TRUE(mixed.ok());
  IndexVersions index3;
  auto third = Integrator::OpenReplica(mixed->get(), &index3, RealClock::Get(),
                                       absl::Minutes(10), 0);
  ASSERT_TRUE(third.ok());
  ASSERT_TRUE((*items_before)[0].entry.has_value());
  for (uint64_t i = 0; i < size; ++i) {
    const FeedItem& item = i == 0 ? (*items_before)[0] : (*items)[i];
    absl::Status s = (*third)->Replicate({(*leaves)[i]}, {item}, positions);
    ASSERT_TRUE(s.ok()) << i << ": " << s;
  }
  EXPECT_FALSE((*third)->awaiting_erasures());
  EXPECT_FALSE((*mixed)->ReadPosition("alice")->has_value());
  EXPECT_FALSE((*mixed)->ReadEntry(0).ok()) << "the record it held is gone";
  EXPECT_EQ((*mixed)->ReadIndexRoot(size).value(),
            primary->ReadIndexRoot(size).value());

  // An erasure leaf that does not name the leaf that waits is refused.
  FeedItem wrong = (*items)[2];
  wrong.erased_leaves = std::vector<uint64_t>{0, 0};
  ASSERT_TRUE(
      (*reopened)->Replicate({(*leaves)[1]}, {(*items)[1]}, positions).ok());
  EXPECT_EQ((*reopened)->Replicate({(*leaves)[2]}, {wrong}, positions).code(),
            StatusCode::kDataLoss);
  EXPECT_TRUE((*reopened)->awaiting_erasures()) << "nothing of it kept";
}

// Serves a directory to the holder of a bearer token, as an
// access-controlled web server or object store would.
class TokenFileServer : public TestHttpServer {
 public:
  TokenFileServer(const std::string& dir, const std::string& token) {
    server_.set_pre_routing_handler(
        [token](const httplib::Request& req, httplib::Response& res) {
          if (req.get_header_value("Authorization") == "Bearer " + token) {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          res.status = 403;
          return httplib::Server::HandlerResponse::Handled;
        });
    server_.set_mount_point("/", dir);
    Listen();
  }
};

// The log writes its private feed as files (--private_feed_dir), rewritten
// when an erasure takes records out; a replica follows them from a plain
// web server, and answers as the log does.
TEST(ReplicaTest, AReplicaFollowsTheFeedWrittenAsFiles) {
  LogServerOptions options = LogOptions();
  options.private_feed_token.clear();
  options.tiles_dir = NewTempDir("tiles");
  options.private_feed_dir = NewTempDir("feed");
  RegistrationKey registration = RegistrationKey::Generate();
  options.registration = registration;
  auto log = LogEnv::Start(options);
  uint64_t expiry = absl::ToUnixSeconds(absl::Now() + absl::Hours(1));
  std::vector<TestAccount> accounts;
  for (const char* id : {"alice", "bob"}) {
    accounts.emplace_back(id);
    DeviceRecord r = accounts.back().Add("phone");
    ASSERT_TRUE(
        log->client()
            ->Write(Operation::kAddDevice, r.Encode(), true,
                    registration.CredentialFor(
                        id, accounts.back().key().public_key().bytes(), expiry))
            .ok());
  }
  // Written, then rewritten once the erasure took alice's record out.
  auto written = [&](uint64_t size) {
    std::string path =
        options.private_feed_dir + "/" + FeedPath(TileId{true, 0, 0, size});
    PrivateFeed feed(log->server()->storage(), log->server()->storage(),
                     log->server()->publisher(), "");
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      auto file = ReadFileBounded(path, 1 << 20);
      auto want = feed.Read(TileId{true, 0, 0, size});
      if (file.ok() && want.ok() && *file == *want) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  };
  ASSERT_TRUE(written(2));
  ASSERT_TRUE(log->client()
                  ->EraseAccount("alice", registration.CredentialFor(
                                              "alice", "", expiry,
                                              CredentialPurpose::kErase))
                  .ok());
  log->Append(accounts[1].Add("laptop"));
  uint64_t size = log->Checkpoint().size;
  ASSERT_EQ(size, 4u);
  ASSERT_TRUE(written(4));
  auto first = ReadFileBounded(
      options.private_feed_dir + "/" + FeedPath(TileId{true, 0, 0, 4}),
      1 << 20);
  ASSERT_TRUE(first.ok());
  auto items = DecodeFeedBundle(*first, 4);
  ASSERT_TRUE(items.ok());
  EXPECT_FALSE((*items)[0].entry.has_value()) << "alice's record is gone";
  EXPECT_TRUE((*items)[1].entry.has_value());
  for (uint64_t width : {1, 2}) {  // written before the erasure
    EXPECT_FALSE(std::filesystem::exists(options.private_feed_dir + "/" +
                                         FeedPath(TileId{true, 0, 0, width})))
        << "an older partial bundle, with alice's record, is left: " << width;
  }

  TokenFileServer files(options.private_feed_dir, kToken);
  Replica r = StartReplica(log.get(), "", absl::Hours(1), kToken, files.url());
  ASSERT_NE(r.server, nullptr);
  absl::Status step = r.server->follower()->Step();
  ASSERT_TRUE(step.ok()) << step;
  EXPECT_EQ(AdoptedSize(r.server.get()), size);
  for (const std::string& id : {"alice", "bob"}) {
    EXPECT_EQ(Bytes(r.client->LookupAccount(id, size, true)),
              Bytes(log->client()->LookupAccount(id, size, true)))
        << id;
  }
}

// The witnesses' cosignatures, as clients that require them ask for them,
// come from the log's feed; copying them is no cosignature received.
TEST(ReplicaTest, AReplicaServesTheWitnessesCosignatures) {
  NoteSigner witness =
      *NoteSigner::Generate("witness.example/w", kNoteTypeCosignatureV1);
  LogServerOptions options = LogOptions();
  options.cosignatures.witnesses.push_back(witness.verifier_key());
  auto log = LogEnv::Start(options);
  TestAccount alice("alice");
  log->Append(alice.Add("phone"));
  auto latest = log->client()->GetCheckpoint(0);
  ASSERT_TRUE(latest.ok());
  Note note = *ParseNote(*latest);
  note.signatures.push_back(
      Cosign(note.text, witness, RealClock::Get()->NowMillis() / 1000));
  ASSERT_TRUE(log->client()->AddCosignature(note.ToString()).ok());
  auto cosigned = log->client()->GetCheckpoint(1);
  ASSERT_TRUE(cosigned.ok()) << cosigned.status();

  Replica r = StartReplica(log.get());
  ASSERT_TRUE(r.server->follower()->Step().ok());
  EXPECT_EQ(*r.client->GetCheckpoint(1), *cosigned);
  std::string metrics = r.server->metrics()->Render();
  EXPECT_NE(metrics.find("ktlog_witness_cosignatures_total{witness=\"witness."
                         "example/w\"} 0"),
            std::string::npos)
      << metrics;
  EXPECT_NE(log->server()->metrics()->Render().find(
                "ktlog_witness_cosignatures_total{witness=\"witness.example/"
                "w\"} 1"),
            std::string::npos);
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

TEST(ReplicaTest, TheFeedIsNeverWrittenWhereTheTilesAreServed) {
  LogServerOptions o = LogOptions();
  o.data_dir = NewTempDir("log");
  o.tiles_dir = NewTempDir("tiles");
  for (const std::string& inside : {o.tiles_dir, o.tiles_dir + "/feed"}) {
    o.private_feed_dir = inside;
    auto server = LogServer::Start(*NoteSigner::Generate("example.com/log"),
                                   VrfPrivateKey::Generate(), o);
    EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument) << inside;
  }
}

TEST(ReplicaTest, AReplicaNeedsTheLogsVrfKey) {
  auto log = LogEnv::Start(LogOptions());
  LogServerOptions o;
  o.data_dir = NewTempDir("replica");
  o.replica = FollowerOptions{};
  o.replica->log_url = log->server()->tiles_url();
  o.replica->feed_token = kToken;
  auto server =
      LogServer::StartReplica(log->log_key(), VrfPrivateKey::Generate(), o);
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ktlog
