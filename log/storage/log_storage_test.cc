// LogStorage on real RocksDB in a temp dir: batches, nodes, public leaves
// and private entries, leaf hashes, duplicate records, positions, identity,
// versioned account states and index roots, history, cosigned checkpoints,
// reopening.
#include "log/storage/log_storage.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "core/account/index.h"
#include "core/crypto/crypto.h"
#include "core/merkle/compact_range.h"
#include "core/merkle/proof.h"
#include "core/testonly/files_holding.h"
#include "core/testonly/reference_tree.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

std::string TempDir() {
  static int n = 0;
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/storage", n++);
  EXPECT_TRUE(MakeDirs(dir, 0700).ok());
  return dir;
}

// A batch of `n` records after `range`, with every derived piece filled in.
// Account `id`'s records are "record <leaf index>" (or "<id> record <leaf
// index>" for an id other than "acct"), with openings of 'r's and 's's (or
// derived from the id), at the position SHA-256("position") (or of the id).
StorageBatch MakeBatch(CompactRange* range, ReferenceTree* ref, int n,
                       uint64_t account_version,
                       const std::string& id = "acct") {
  bool named = id != "acct";
  StorageBatch b;
  b.begin = range->size();
  AccountState state;
  state.account_id = id;
  state.first_key = std::string(32, 'f');
  state.account_key = std::string(32, 'k');
  if (account_version == 1) {
    b.positions.emplace_back(
        id,
        AccountPosition{Sha256(named ? id : "position"), std::string(80, 'p')});
  }
  for (int i = 0; i < n; ++i) {
    std::string leaf_bytes = absl::StrCat("leaf ", range->size());
    std::string record =
        absl::StrCat(named ? id + " " : "", "record ", range->size());
    Hash leaf = HashLeaf(leaf_bytes);
    b.leaves.push_back(leaf_bytes);
    b.leaf_hashes.push_back(leaf);
    b.entries.push_back(
        named
            ? PrivateEntry{record, Sha256(id + "r").bytes().substr(0, 16),
                           Sha256(id + "s").bytes().substr(0, 16)}
            : PrivateEntry{record, std::string(16, 'r'), std::string(16, 's')});
    b.history.push_back(HistoryEntry{id, account_version + i, range->size()});
    range->Append(leaf, [&b](const NodeId& id, const Hash& h) {
      b.nodes.emplace_back(id, h);
    });
    ref->AppendLeafHash(leaf);
  }
  state.version = account_version + n - 1;
  b.accounts.push_back(state);
  b.index_root = Sha256(absl::StrCat("index at ", range->size()));
  return b;
}

TEST(StorageTest, CommitsBatchesAndReadsThemBack) {
  std::string dir = TempDir();
  CompactRange range;
  ReferenceTree ref;
  {
    auto s = LogStorage::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    LogStorage& st = **s;
    EXPECT_EQ(st.size(), 0u);
    ASSERT_TRUE(st.BindIdentity({"o", "k1"}).ok());
    ASSERT_TRUE(st.CommitBatch(MakeBatch(&range, &ref, 5, 1)).ok());
    ASSERT_TRUE(st.CommitBatch(MakeBatch(&range, &ref, 3, 6)).ok());
    EXPECT_EQ(st.size(), 8u);
    // A batch that does not start at the tree size is refused.
    CompactRange other;
    ReferenceTree other_ref;
    EXPECT_EQ(st.CommitBatch(MakeBatch(&other, &other_ref, 1, 1)).code(),
              absl::StatusCode::kInternal);
  }
  // Everything survives reopening.
  auto s = LogStorage::Open(dir);
  ASSERT_TRUE(s.ok());
  LogStorage& st = **s;
  EXPECT_EQ(st.size(), 8u);
  EXPECT_EQ(st.BindIdentity({"o", "k2"}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(st.BindIdentity({"o", "k1"}).ok());
  auto identity = st.ReadIdentity();
  ASSERT_TRUE(identity.ok() && identity->has_value());
  EXPECT_EQ((*identity)->log_key, "k1");

  auto leaves = st.ReadLeaves(2, 7);
  ASSERT_TRUE(leaves.ok());
  EXPECT_EQ((*leaves)[0], "leaf 2");
  EXPECT_EQ(leaves->size(), 5u);
  EXPECT_EQ(st.ReadLeaves(5, 9).status().code(), absl::StatusCode::kOutOfRange);
  auto entry = st.ReadEntry(6);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->record, "record 6");
  EXPECT_EQ(entry->record_opening, std::string(16, 'r'));
  EXPECT_EQ(entry->state_opening, std::string(16, 's'));
  EXPECT_FALSE(st.ReadEntry(8).ok());
  EXPECT_EQ(*st.FindLeafIndex(HashLeaf("leaf 6")), std::optional<uint64_t>(6));
  EXPECT_FALSE(st.FindLeafIndex(HashLeaf("nope"))->has_value());
  // Leaf 3 holds version 4 of "acct".
  EXPECT_EQ(*st.FindRecord("acct", 4, Sha256("record 3")),
            std::optional<uint64_t>(3));
  EXPECT_FALSE(st.FindRecord("acct", 4, Sha256("record 2"))->has_value());
  EXPECT_FALSE(st.FindRecord("acct", 9, Sha256("record 3"))->has_value());
  EXPECT_FALSE(st.FindRecord("other", 4, Sha256("record 3"))->has_value());
  auto position = st.ReadPosition("acct");
  ASSERT_TRUE(position.ok() && position->has_value());
  EXPECT_EQ((*position)->position, Sha256("position"));
  EXPECT_EQ((*position)->proof, std::string(80, 'p'));
  EXPECT_FALSE(st.ReadPosition("other")->has_value());

  // Roots and proofs at every size from stored nodes match the reference.
  for (uint64_t size = 1; size <= 8; ++size) {
    auto hashes = st.ReadCompactRange(size);
    ASSERT_TRUE(hashes.ok());
    EXPECT_EQ(CompactRange::FromHashes(size, *hashes)->Root(), ref.Root(size));
    for (uint64_t i = 0; i < size; ++i) {
      auto proof = st.ReadProof(*InclusionProofPlan(i, size));
      ASSERT_TRUE(proof.ok());
      EXPECT_EQ(*proof, ref.InclusionProof(i, size));
    }
  }
  EXPECT_EQ(st.ReadNodes({NodeId{0, 8}}).status().code(),
            absl::StatusCode::kNotFound);

  // Versioned data: states and index roots by batch end.
  EXPECT_EQ(st.ReadAccount("acct", 5)->value().version, 5u);
  EXPECT_EQ(st.ReadAccount("acct", 7)->value().version, 5u);
  EXPECT_EQ(st.ReadAccount("acct", 8)->value().version, 8u);
  EXPECT_EQ(st.ReadAccount("acct", UINT64_MAX)->value().version, 8u);
  EXPECT_FALSE(st.ReadAccount("acct", 4)->has_value());
  EXPECT_FALSE(st.ReadAccount("other", UINT64_MAX)->has_value());
  EXPECT_EQ(*st.ReadIndexRoot(5), Sha256("index at 5"));
  EXPECT_EQ(*st.ReadIndexRoot(0), kEmptyIndexHash);
  EXPECT_EQ(st.ReadIndexRoot(6).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*st.ReadIndexVersions(), (std::vector<uint64_t>{5, 8}));

  // History.
  auto history = st.ReadHistory("acct", 3, 7, 100);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 5u);  // versions 3..7, leaves 2..6 (< 7)
  EXPECT_EQ((*history)[0].leaf_index, 2u);
  EXPECT_EQ(st.ReadHistory("acct", 1, 100, 2)->size(), 2u);

  // Cosigned checkpoints, newest first: by size, then by timestamp (the
  // bodies' hashes order the other way: SHA-256("old1\n") starts ad4a,
  // SHA-256("new1\n") 1628).
  LogCheckpoint old5, new5, at8;
  old5.size = new5.size = 5;
  old5.timestamp_ms = 100;
  new5.timestamp_ms = 200;
  at8.size = 8;
  at8.timestamp_ms = 50;
  ASSERT_TRUE(st.WriteCosignedCheckpoint(old5, "old1\n", "note5old").ok());
  ASSERT_TRUE(st.WriteCosignedCheckpoint(new5, "new1\n", "note5new").ok());
  ASSERT_TRUE(st.WriteCosignedCheckpoint(at8, "body8\n", "note8").ok());
  EXPECT_EQ(*st.ReadCosignedCheckpoint(old5, "old1\n"),
            std::optional<std::string>("note5old"));
  EXPECT_EQ(*st.ReadRecentCosignedCheckpoints(10),
            (std::vector<std::string>{"note8", "note5new", "note5old"}));

  // The latest checkpoint note.
  EXPECT_FALSE(st.ReadLatestCheckpoint()->has_value());
  EXPECT_FALSE(*st.IsSignedSize(2));
  ASSERT_TRUE(st.WriteLatestCheckpoint(2, "cp").ok());
  EXPECT_EQ(*st.ReadLatestCheckpoint(), std::optional<std::string>("cp"));
  ASSERT_TRUE(st.WriteLatestCheckpoint(3, "cp3").ok());
  EXPECT_TRUE(*st.IsSignedSize(2)) << "every signed size is kept";
  EXPECT_TRUE(*st.IsSignedSize(3));
  EXPECT_FALSE(*st.IsSignedSize(1));
}

// Erasing an account deletes its records, openings, states, history and
// position from every file of the data dir (a test that finds the other
// account's shows the search can see them), and keeps its public leaves
// and the other account whole.
TEST(StorageTest, ErasesAnAccountFromEveryFile) {
  const std::string gone = "Q7vZk2Lp@erased.example";
  const std::string kept = "M3nXw8Rt@kept.invalid";
  std::string dir = TempDir();
  CompactRange range;
  ReferenceTree ref;
  {
    auto s = LogStorage::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    LogStorage& st = **s;
    ASSERT_TRUE(st.CommitBatch(MakeBatch(&range, &ref, 3, 1, gone)).ok());
    ASSERT_TRUE(st.CommitBatch(MakeBatch(&range, &ref, 2, 1, kept)).ok());
    ASSERT_TRUE(st.CommitBatch(MakeBatch(&range, &ref, 2, 4, gone)).ok());
    // Each has a trust backup (sealed bytes the log cannot read).
    ASSERT_TRUE(st.WriteBackup(gone, "sealed backup of " + gone).ok());
    ASSERT_TRUE(st.WriteBackup(kept, "sealed backup of " + kept).ok());
    // Flushed once, so that the account is in a table file too.
    ASSERT_TRUE(st.Purge().ok());
    EXPECT_FALSE(FilesHolding(dir, gone).empty());

    // A batch with one more record of the account (leaf 7) and its erasure
    // leaf (8): everything private of the account goes with it, what the
    // batch itself brings too.
    StorageBatch erasure = MakeBatch(&range, &ref, 2, 6, gone);
    erasure.entries[1] = PrivateEntry{};
    erasure.history.pop_back();
    erasure.accounts.clear();
    erasure.erasures.push_back({gone, Sha256(gone), 8});
    ASSERT_TRUE(st.CommitBatch(erasure).ok());
    auto marker = st.ReadErased(Sha256(gone));
    ASSERT_TRUE(marker.ok() && marker->has_value());
    EXPECT_EQ((*marker)->leaf_indexes,
              (std::vector<uint64_t>{0, 1, 2, 5, 6, 7, 8}));
    EXPECT_EQ((*marker)->version(), 7u);
    EXPECT_FALSE(st.ReadErased(Sha256(kept))->has_value());
    EXPECT_TRUE(*st.PurgeOwed());
    ASSERT_TRUE(st.Purge().ok());
    EXPECT_FALSE(*st.PurgeOwed());
  }
  for (const std::string& needle :
       {gone, Sha256(gone + "r").bytes().substr(0, 16),
        Sha256(gone + "s").bytes().substr(0, 16)}) {
    EXPECT_EQ(FilesHolding(dir, needle), std::vector<std::string>())
        << HexEncode(needle);
  }
  EXPECT_FALSE(FilesHolding(dir, kept).empty());
  EXPECT_FALSE(
      FilesHolding(dir, Sha256(kept + "r").bytes().substr(0, 16)).empty());

  auto s = LogStorage::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  LogStorage& st = **s;
  EXPECT_EQ(st.size(), 9u);
  EXPECT_FALSE(st.ReadAccount(gone, 9)->has_value());
  EXPECT_FALSE(st.ReadPosition(gone)->has_value());
  EXPECT_TRUE(st.ReadHistory(gone, 1, 9, 100)->empty());
  for (uint64_t leaf : {0, 5, 7, 8}) {
    EXPECT_EQ(st.ReadEntry(leaf).status().code(), absl::StatusCode::kDataLoss)
        << leaf;
  }
  EXPECT_EQ(st.ReadErased(Sha256(gone))->value().version(), 7u);
  // The public leaves and the other account stay.
  EXPECT_EQ(st.ReadLeaves(0, 9)->size(), 9u);
  EXPECT_EQ(*st.FindLeafIndex(HashLeaf("leaf 5")), std::optional<uint64_t>(5));
  EXPECT_EQ(st.ReadAccount(kept, 7)->value().version, 2u);
  EXPECT_EQ(st.ReadEntry(3)->record, kept + " record 3");
  EXPECT_EQ(st.ReadHistory(kept, 1, 7, 100)->size(), 2u);
  EXPECT_FALSE(st.ReadBackup(gone)->has_value()) << "erased with the account";
  EXPECT_EQ(st.ReadBackup(kept)->value_or(""), "sealed backup of " + kept);
  ASSERT_TRUE(st.DeleteBackup(kept).ok());
  EXPECT_FALSE(st.ReadBackup(kept)->has_value());
  EXPECT_TRUE(st.DeleteBackup(kept).ok()) << "deleting none is OK";
}

TEST(StorageTest, ADataDirCanBeOpenedOnlyOnce) {
  std::string dir = TempDir();
  auto a = LogStorage::Open(dir);
  ASSERT_TRUE(a.ok());
  auto b = LogStorage::Open(dir);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(b.status().message().find("in use"), std::string::npos);
}

// Marks the data dir `dir` (a new one) as format `format`.
void WriteFormat(const std::string& dir, char format) {
  auto db = RocksDb::Open(dir, "data dir");
  ASSERT_TRUE(db.ok());
  std::string v(7, '\0');
  v.push_back(format);
  ASSERT_TRUE((*db)->PutSynced("m/format", v).ok());
}

// A data dir of another format is refused with a message that says which,
// and nothing in it is changed.
TEST(StorageTest, RefusesADataDirOfAnotherFormat) {
  std::string old_dir = TempDir();
  {
    auto db = RocksDb::Open(old_dir, "data dir");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->PutSynced("m/size", std::string(8, '\0')).ok());
  }
  auto old = LogStorage::Open(old_dir);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(old.status().message().find("format 1"), std::string::npos)
      << old.status();
  // Format 2 (public records as leaves) is refused too.
  std::string two_dir = TempDir();
  {
    auto db = RocksDb::Open(two_dir, "data dir");
    ASSERT_TRUE(db.ok());
    std::string two(7, '\0');
    two.push_back('\x02');
    ASSERT_TRUE((*db)->PutSynced("m/format", two).ok());
  }
  auto two = LogStorage::Open(two_dir);
  EXPECT_EQ(two.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(two.status().message().find("is format 2"), std::string::npos)
      << two.status();
  EXPECT_NE(two.status().message().find("new log"), std::string::npos)
      << two.status();
  // Formats 4 and 5 hold leaves committing to account states of format 2,
  // which no conversion can change: refused, saying why and what to do.
  for (char old_format : {'\x04', '\x05'}) {
    std::string dir = TempDir();
    WriteFormat(dir, old_format);
    auto refused = LogStorage::Open(dir);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(
        refused.status().message().find(absl::StrCat(
            "is format ", int{old_format}, "; this server reads format 8")),
        std::string::npos)
        << refused.status();
    EXPECT_NE(refused.status().message().find("start a new log"),
              std::string::npos)
        << refused.status();
  }
  // Formats 6 and 7 are read and marked 8 (they may now hold states on
  // security keys and erased accounts, which an older server could not
  // read).
  for (char old_format : {'\x06', '\x07'}) {
    std::string dir = TempDir();
    WriteFormat(dir, old_format);
    ASSERT_TRUE(LogStorage::Open(dir).ok());
    auto db = RocksDb::Open(dir, "data dir");
    ASSERT_TRUE(db.ok());
    std::string eight(7, '\0');
    eight.push_back('\x08');
    EXPECT_EQ((*db)->Get("m/format").value(), eight);
  }
  std::string future_dir = TempDir();
  {
    auto db = RocksDb::Open(future_dir, "data dir");
    ASSERT_TRUE(db.ok());
    std::string nine(7, '\0');
    nine.push_back('\x09');
    ASSERT_TRUE((*db)->PutSynced("m/format", nine).ok());
  }
  auto future = LogStorage::Open(future_dir);
  EXPECT_EQ(future.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(future.status().message().find("is format 9"), std::string::npos)
      << future.status();
  // A new data dir gets the current format, and opens again.
  std::string fresh = TempDir();
  ASSERT_TRUE(LogStorage::Open(fresh).ok());
  ASSERT_TRUE(LogStorage::Open(fresh).ok());
}

}  // namespace
}  // namespace ktlog
