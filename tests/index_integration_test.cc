// The account index end to end: lookups and histories from the real server,
// verified by the verifier library against signed checkpoints and the VRF
// key; tampering; paging; restarts; fsck catching corrupted storage.
#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/clock.h"
#include "gtest/gtest.h"
#include "log/fsck.h"
#include "log/storage/log_storage.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "tests/test_env.h"
#include "verifier/lookup.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

absl::StatusOr<VerifiedAccount> Lookup(LogEnv* env, const LogCheckpoint& cp,
                                       const std::string& id) {
  auto answer = env->client()->LookupAccount(id, cp.size, true);
  if (!answer.ok()) return answer.status();
  return VerifyAccountLookup(cp, env->log_key().vrf_key, id, *answer, "");
}

std::set<std::string> DeviceIds(const VerifiedAccount& a) {
  std::set<std::string> ids;
  for (const auto& d : a.devices) ids.insert(d.record.device_id);
  return ids;
}

TEST(IndexIntegrationTest, LookupsProveCompleteDeviceSetsAtEveryCheckpoint) {
  auto env = LogEnv::Start();
  TestAccount alice("alice"), bob("bob");
  std::vector<
      std::pair<LogCheckpoint, std::map<std::string, std::set<std::string>>>>
      history;
  std::map<std::string, std::set<std::string>> expected;
  auto step = [&](const DeviceRecord& r) {
    auto w = env->Append(r);
    if (r.operation == Operation::kAddDevice)
      expected[r.account_id].insert(r.device_id);
    if (r.operation == Operation::kRemoveDevice)
      expected[r.account_id].erase(r.device_id);
    auto cp = OpenLogCheckpoint(w.checkpoint_note, env->checkpoint_key());
    ASSERT_TRUE(cp.ok());
    history.emplace_back(*cp, expected);
  };
  step(alice.Add("phone"));
  step(bob.Add("phone"));
  step(alice.Add("laptop"));
  step(alice.Rotate());
  step(alice.Add("tablet"));  // signed by the new key; laptop by the old one
  step(alice.Remove("phone"));
  step(bob.Add("watch"));

  for (const auto& [cp, want] : history) {
    for (const std::string id : {"alice", "bob", "carol"}) {
      SCOPED_TRACE(absl::StrCat(id, " at size ", cp.size));
      auto got = Lookup(env.get(), cp, id);
      ASSERT_TRUE(got.ok()) << got.status();
      auto it = want.find(id);
      if (it == want.end()) {
        EXPECT_FALSE(got->state.has_value());
        continue;
      }
      ASSERT_TRUE(got->state.has_value());
      EXPECT_EQ(DeviceIds(*got), it->second);
    }
  }
  // Latest (no tree size): the answer carries the checkpoint.
  auto latest = env->client()->LookupAccountAtLatest("alice", true);
  ASSERT_TRUE(latest.ok());
  auto cp = OpenLogCheckpoint(latest->checkpoint_note, env->checkpoint_key());
  ASSERT_TRUE(cp.ok());
  auto verified =
      VerifyAccountLookup(*cp, env->log_key().vrf_key, "alice", *latest, "");
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->state->account_key, alice.key().public_key().bytes());
  EXPECT_EQ(DeviceIds(*verified), (std::set<std::string>{"laptop", "tablet"}));

  // Bad requests.
  EXPECT_EQ(env->client()->LookupAccountAtLatest("", true).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(env->client()
                ->LookupAccountAtLatest(std::string(300, 'a'), true)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  auto bad_utf8 = env->client()->LookupAccountAtLatest("al\xffice", true);
  EXPECT_EQ(bad_utf8.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_utf8.status().message().find("UTF-8"), std::string::npos)
      << bad_utf8.status();
  EXPECT_EQ(env->client()->LookupAccount("alice", 1000, true).status().code(),
            StatusCode::kOutOfRange);
}

// Issue 20, 3: with checkpoint pacing not every batch end is signed; a
// lookup or history at such a size has no signed root to be checked
// against, so it is refused NOT_FOUND, as docs/api.md says.
TEST(IndexIntegrationTest, OnlySignedSizesAreAnswered) {
  LogServerOptions options;
  options.sequencer.checkpoint_pace = absl::Seconds(30);
  options.sequencer.checkpoint_interval = absl::Seconds(30);
  auto env = LogEnv::Start(options);
  TestAccount alice("alice");
  for (const char* d : {"phone", "laptop", "tablet"}) {
    DeviceRecord r = alice.Add(d);
    ASSERT_TRUE(env->client()->Write(r.operation, r.Encode(), false).ok());
  }
  LogStorage* storage = env->server()->storage();
  std::optional<uint64_t> unsigned_end;
  std::vector<uint64_t> ends = *storage->ReadIndexVersions();
  for (uint64_t size : ends) {
    if (size > 0 && size < storage->size() && !*storage->IsSignedSize(size)) {
      unsigned_end = size;
    }
  }
  ASSERT_TRUE(unsigned_end.has_value()) << "pacing left a batch end unsigned";
  // A restart signs the whole tree: the unsigned end is now below the
  // latest checkpoint, where it used to be answered.
  env->Restart();
  storage = env->server()->storage();
  ASSERT_GT(env->Checkpoint().size, *unsigned_end);
  EXPECT_EQ(env->client()
                ->LookupAccount("alice", *unsigned_end, true)
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(env->client()
                ->GetAccountHistory(
                    "alice", 1, *unsigned_end,
                    alice.Owner(env->server()->origin(), 1, *unsigned_end))
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(env->client()
                  ->GetAccountHistory("alice", 1, env->Checkpoint().size,
                                      alice.Owner(env->server()->origin(), 1,
                                                  env->Checkpoint().size))
                  .ok());
}

TEST(IndexIntegrationTest, TamperedLookupsAreRejected) {
  auto env = LogEnv::Start();
  TestAccount alice("alice"), bob("bob");
  env->Append(alice.Add("phone"));
  env->Append(alice.Add("laptop"));
  env->Append(bob.Add("phone"));
  LogCheckpoint cp = env->Checkpoint();
  const VrfPublicKey& vrf = env->log_key().vrf_key;
  auto answer = env->client()->LookupAccount("alice", cp.size, true);
  ASSERT_TRUE(answer.ok());
  ASSERT_TRUE(VerifyAccountLookup(cp, vrf, "alice", *answer, "").ok());
  auto bobs = env->client()->LookupAccount("bob", cp.size, true);
  ASSERT_TRUE(bobs.ok());

  auto code = [&](AccountLookupAnswer a) {
    return VerifyAccountLookup(cp, vrf, "alice", a, "").status().code();
  };
  {  // Hide a device: the state no longer opens the signed commitment.
    AccountLookupAnswer a = *answer;
    AccountState s = *DecodeAccountState(a.account_state);
    s.devices.erase("laptop");
    a.account_state = s.Encode();
    EXPECT_EQ(code(a), StatusCode::kDataLoss);
  }
  {  // Another opening.
    AccountLookupAnswer a = *answer;
    a.state_opening[0] ^= 1;
    EXPECT_EQ(code(a), StatusCode::kDataLoss);
  }
  {  // Claim the account does not exist.
    AccountLookupAnswer a = *answer;
    a.account_state.clear();
    a.state_opening.clear();
    EXPECT_NE(code(a), StatusCode::kOk);
  }
  {  // Bob's VRF proof (and his index proof) for alice: another position.
    AccountLookupAnswer a = *answer;
    a.vrf_proof = bobs->vrf_proof;
    EXPECT_EQ(code(a), StatusCode::kDataLoss);
    a.index_proof = bobs->index_proof;
    EXPECT_EQ(code(a), StatusCode::kDataLoss);
  }
  {  // Bob's whole answer as alice's.
    EXPECT_NE(code(*bobs), StatusCode::kOk);
  }
  {  // A VRF key other than the log's.
    EXPECT_EQ(VerifyAccountLookup(cp, VrfPrivateKey::Generate().public_key(),
                                  "alice", *answer, "")
                  .status()
                  .code(),
              StatusCode::kDataLoss);
  }
  // Every single-bit change of the VRF proof, the index proof and the
  // account state is rejected.
  for (std::string AccountLookupAnswer::*field :
       {&AccountLookupAnswer::vrf_proof, &AccountLookupAnswer::index_proof,
        &AccountLookupAnswer::account_state,
        &AccountLookupAnswer::state_opening}) {
    for (size_t i = 0; i < ((*answer).*field).size() * 8; ++i) {
      AccountLookupAnswer a = *answer;
      (a.*field)[i / 8] ^= static_cast<char>(0x80 >> (i % 8));
      EXPECT_NE(code(a), StatusCode::kOk) << "bit " << i;
    }
  }
  // A lookup checked against another checkpoint.
  env->Append(alice.Add("tablet"));
  LogCheckpoint newer = env->Checkpoint();
  EXPECT_EQ(
      VerifyAccountLookup(newer, vrf, "alice", *answer, "").status().code(),
      StatusCode::kInvalidArgument);
}

TEST(IndexIntegrationTest, HistoryIsPagedAndReplaysToTheLookupState) {
  auto env = LogEnv::Start();
  TestAccount a("busy");
  // 251 records: more than two pages, never more than 2 devices at once.
  env->Append(a.Add("d0"));
  for (int i = 1; i <= 125; ++i) {
    ASSERT_TRUE(env->client()
                    ->Write(Operation::kAddDevice,
                            a.Add(absl::StrCat("d", i)).Encode(), false)
                    .ok());
    ASSERT_TRUE(env->client()
                    ->Write(Operation::kRemoveDevice,
                            a.Remove(absl::StrCat("d", i - 1)).Encode(),
                            i == 125)
                    .ok());
  }
  LogCheckpoint cp = env->Checkpoint();
  ASSERT_EQ(cp.size, 251u);
  AccountState state;
  uint64_t next = 1;
  int pages = 0;
  while (next != 0) {
    auto page = env->client()->GetAccountHistory(
        "busy", next, cp.size, a.Owner(env->server()->origin(), next, cp.size));
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->entries.size(), 100u);
    auto applied =
        VerifyAccountHistory(cp, env->log_key().vrf_key, "busy", *page, &state);
    ASSERT_TRUE(applied.ok()) << applied.status();
    next = page->next_version;
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(state.version, 251u);
  auto looked = Lookup(env.get(), cp, "busy");
  ASSERT_TRUE(looked.ok());
  EXPECT_TRUE(*looked->state == state) << "history replays to the index state";

  // A history with a version left out is refused; one whose record or
  // state does not open the leaf's commitment is evidence.
  auto page = env->client()->GetAccountHistory(
      "busy", 1, cp.size, a.Owner(env->server()->origin(), 1, cp.size));
  ASSERT_TRUE(page.ok());
  auto verify = [&](const AccountHistoryAnswer& a) {
    AccountState fresh;
    return VerifyAccountHistory(cp, env->log_key().vrf_key, "busy", a, &fresh)
        .status()
        .code();
  };
  AccountHistoryAnswer gap = *page;
  gap.entries.erase(gap.entries.begin() + 5);
  EXPECT_EQ(verify(gap), StatusCode::kInvalidArgument);
  for (std::string HistoryEntryAnswer::*field :
       {&HistoryEntryAnswer::record_opening,
        &HistoryEntryAnswer::state_opening}) {
    AccountHistoryAnswer bad = *page;
    (bad.entries[3].*field)[0] ^= 1;
    EXPECT_EQ(verify(bad), StatusCode::kDataLoss);
  }
  AccountHistoryAnswer wrong_vrf = *page;
  wrong_vrf.vrf_proof[40] ^= 1;
  EXPECT_NE(verify(wrong_vrf), StatusCode::kOk);
  // Errors. An account that does not exist is refused as a stranger is
  // (its absence is for a lookup to prove).
  TestAccount nobody("nobody");
  EXPECT_EQ(env->client()
                ->GetAccountHistoryAtLatest(
                    "nobody", 1,
                    nobody.Owner(env->server()->origin(), 1, std::nullopt))
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(
      env->client()
          ->GetAccountHistoryAtLatest(
              "busy", 0, a.Owner(env->server()->origin(), 0, std::nullopt))
          .status()
          .code(),
      StatusCode::kInvalidArgument);
  auto versions = env->server()->storage()->ReadIndexVersions();
  ASSERT_TRUE(versions.ok());
  uint64_t not_a_checkpoint = 1;
  while (std::count(versions->begin(), versions->end(), not_a_checkpoint)) {
    ++not_a_checkpoint;
  }
  if (not_a_checkpoint < cp.size) {
    EXPECT_EQ(env->client()
                  ->GetAccountHistory(
                      "busy", 1, not_a_checkpoint,
                      a.Owner(env->server()->origin(), 1, not_a_checkpoint))
                  .status()
                  .code(),
              StatusCode::kNotFound)
        << not_a_checkpoint << " is not a checkpoint size";
  }
}

// Index versions are kept for the lookup window: a lookup at a checkpoint
// older than that is refused with what to do, and a client that asks
// anyway raises no alert (an honest log, an old checkpoint).
TEST(IndexIntegrationTest, LookupsOlderThanTheWindowAreRefusedWithoutAlarm) {
  FakeClock clock(RealClock::Get()->NowMillis());
  LogServerOptions options;
  options.clock = &clock;
  options.lookup_window = absl::Minutes(1);
  auto env = LogEnv::Start(options);
  TestAccount alice("alice");
  env->Append(alice.Add("phone"));
  LogCheckpoint old = env->Checkpoint();
  ASSERT_TRUE(Lookup(env.get(), old, "alice").ok());
  clock.Advance(2 * 60 * 1000);
  env->Append(alice.Add("laptop"));  // a new version; the old one is forgotten
  auto refused = env->client()->LookupAccount("alice", old.size, true);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("fetch a newer checkpoint"),
            std::string::npos)
      << refused.status();
  auto latest = Lookup(env.get(), env->Checkpoint(), "alice");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(DeviceIds(*latest), (std::set<std::string>{"phone", "laptop"}));
  // Histories do not depend on the window.
  EXPECT_TRUE(
      env->client()
          ->GetAccountHistory("alice", 1, old.size,
                              alice.Owner(env->server()->origin(), 1, old.size))
          .ok());
}

TEST(IndexIntegrationTest, RestartKeepsTheIndex) {
  auto env = LogEnv::Start();
  TestAccount alice("alice");
  env->Append(alice.Add("phone"));
  LogCheckpoint before = env->Checkpoint();
  env->Restart();
  LogCheckpoint after = env->Checkpoint();
  EXPECT_EQ(after.index_root, before.index_root);
  env->Append(alice.Add("laptop"));
  auto got = Lookup(env.get(), env->Checkpoint(), "alice");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(DeviceIds(*got), (std::set<std::string>{"phone", "laptop"}));
  auto old = Lookup(env.get(), before, "alice");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(DeviceIds(*old), (std::set<std::string>{"phone"}));
}

// Flips one bit in the value of the n-th key with `prefix` in the RocksDB
// database at `dir`; returns that key.
std::string CorruptNth(const std::string& dir, char prefix, int n) {
  rocksdb::DB* raw;
  rocksdb::Options options;
  EXPECT_TRUE(rocksdb::DB::Open(options, dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions()));
  int i = 0;
  for (it->Seek(std::string(1, prefix)); it->Valid() && it->key()[0] == prefix;
       it->Next()) {
    if (i++ == n) {
      std::string key = it->key().ToString();
      std::string value = it->value().ToString();
      value[value.size() - 1] ^= 1;
      EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), key, value).ok());
      return key;
    }
  }
  ADD_FAILURE() << "no key " << n << " with prefix " << prefix;
  return "";
}

FsckReport FsckDir(const std::string& dir) {
  auto storage = LogStorage::Open(dir);
  EXPECT_TRUE(storage.ok()) << storage.status();
  return Fsck(storage->get());
}

TEST(IndexIntegrationTest, FsckPassesAndFindsEachKindOfCorruption) {
  auto env = LogEnv::Start();
  std::vector<TestAccount> accounts;
  for (int i = 0; i < 20; ++i) accounts.emplace_back(absl::StrCat("user", i));
  for (int round = 0; round < 3; ++round) {
    for (auto& a : accounts) {
      ASSERT_TRUE(env->client()
                      ->Write(Operation::kAddDevice,
                              a.Add(absl::StrCat("d", round)).Encode(), false)
                      .ok());
    }
  }
  env->Append(accounts[0].Rotate());
  std::string dir = env->data_dir();
  env->Stop();

  FsckReport ok = FsckDir(dir);
  ASSERT_TRUE(ok.status.ok()) << ok.status;
  EXPECT_EQ(ok.records, 61u);  // leaves, each with its record
  EXPECT_EQ(ok.accounts, 20u);
  EXPECT_EQ(ok.index_entries, 20u);

  // Each kind of stored data, corrupted in a copy of the data dir.
  struct Case {
    char prefix;
    int nth;
    std::string expect;
  } cases[] = {
      {'p', 7, "index entry"},
      {'a', 3, "state of account"},
      {'n', 5, "tree node"},
      {'r', 9, "leaf 9"},
      {'e', 4, "leaf 4: the state commitment does not open"},
      {'q', 2, "VRF proof"},
      {'i', 0, "index root"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(1, c.prefix));
    std::string copy = NewTempDir("ktlog-fsck");
    {
      auto storage = LogStorage::Open(dir);
      ASSERT_TRUE(storage.ok());
      ASSERT_TRUE((*storage)->CreateBackup(copy + "/db").ok());
    }
    CorruptNth(copy + "/db", c.prefix, c.nth);
    FsckReport bad = FsckDir(copy + "/db");
    EXPECT_FALSE(bad.status.ok());
    EXPECT_NE(bad.status.message().find(c.expect), std::string::npos)
        << bad.status;
  }
}

}  // namespace
}  // namespace ktlog
