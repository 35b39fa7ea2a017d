#include "log/storage.h"

#include "absl/strings/str_cat.h"
#include "core/account/index.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "storage/rocksdb.h"

namespace ktlog {
namespace {

// Key layout (docs/operations.md). Integers are big-endian so that keys sort
// in index order.
constexpr char kIdentityKey[] = "m/identity";
constexpr char kSizeKey[] = "m/size";
constexpr char kCheckpointKey[] = "m/checkpoint";
constexpr char kRecordPrefix = 'r';
constexpr char kLeafHashPrefix = 'h';
constexpr char kNodePrefix = 'n';
constexpr char kAccountPrefix = 'a';
constexpr char kIndexNodePrefix = 'x';
constexpr char kIndexRootPrefix = 'i';
constexpr char kHistoryPrefix = 'v';
constexpr char kKeyRecordPrefix = 'k';
constexpr char kCosignedPrefix = 'w';

std::string RecordKey(uint64_t index) {
  std::string k(1, kRecordPrefix);
  AppendBigEndian(index, 8, &k);
  return k;
}

std::string LeafHashKey(const Hash& h) {
  return std::string(1, kLeafHashPrefix) + h.bytes();
}

std::string NodeKey(const NodeId& id) {
  std::string k(1, kNodePrefix);
  k.push_back(static_cast<char>(id.level));
  AppendBigEndian(id.index, 8, &k);
  return k;
}

// <prefix> | u16 length | account id: every key of one account starts so.
std::string AccountPrefix(char prefix, const std::string& account_id) {
  std::string k(1, prefix);
  AppendBigEndian(account_id.size(), 2, &k);
  return k + account_id;
}

std::string Versioned(std::string prefix, uint64_t version) {
  AppendBigEndian(version, 8, &prefix);
  return prefix;
}

std::string IndexPathKey(const IndexPath& path) {
  std::string k(1, kIndexNodePrefix);
  AppendBigEndian(path.depth, 2, &k);
  absl::StrAppend(&k, path.prefix.view());
  return k;
}

std::string IndexRootKey(uint64_t size) {
  return Versioned(std::string(1, kIndexRootPrefix), size);
}

// The entry with the greatest key <= Versioned(prefix, version) whose key
// starts with `prefix` (the newest version at or below `version`).
absl::StatusOr<std::optional<std::string>> SeekVersion(
    rocksdb::DB* db, const std::string& prefix, uint64_t version) {
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(Versioned(prefix, version));
  if (it->Valid() && it->key().starts_with(prefix) &&
      it->key().size() == prefix.size() + 8) {
    return std::optional<std::string>(it->value().ToString());
  }
  if (!it->status().ok()) {
    return absl::UnavailableError(
        absl::StrCat("reading storage: ", it->status().ToString()));
  }
  return std::optional<std::string>();
}

HistoryEntry DecodeHistory(const std::string& account_id,
                           const rocksdb::Slice& key,
                           const rocksdb::Slice& value, bool sets_key) {
  HistoryEntry e;
  e.account_id = account_id;
  e.version =
      ReadBigEndian(absl::string_view(key.data() + key.size() - 8, 8), 8);
  e.leaf_index = value.size() == 8
                     ? ReadBigEndian(absl::string_view(value.data(), 8), 8)
                     : UINT64_MAX;
  e.sets_key = sets_key;
  return e;
}

std::string U64(uint64_t v) {
  std::string s;
  AppendBigEndian(v, 8, &s);
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogStorage>> LogStorage::Open(
    const std::string& dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db,
                   OpenRocksDb(dir, "data dir"));
  rocksdb::Status s;
  std::string value;
  s = db->Get(rocksdb::ReadOptions(), kSizeKey, &value);
  uint64_t size = 0;
  if (s.ok()) {
    if (value.size() != 8) {
      return absl::DataLossError("stored tree size is malformed");
    }
    size = ReadBigEndian(value, 8);
  } else if (!s.IsNotFound()) {
    return FromRocksDb(s, "reading tree size");
  }
  return std::unique_ptr<LogStorage>(new LogStorage(std::move(db), size));
}

LogStorage::LogStorage(std::unique_ptr<rocksdb::DB> db, uint64_t size)
    : db_(std::move(db)), size_(size) {}

LogStorage::~LogStorage() {
  if (db_ != nullptr) db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::optional<std::string>> LogStorage::Get(
    const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocksDb(s, "reading storage"));
  return std::optional<std::string>(std::move(value));
}

absl::Status LogStorage::PutSynced(const std::string& key,
                                   const std::string& value) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocksDb(db_->Put(wo, key, value), "writing storage");
}

absl::Status LogStorage::BindIdentity(const LogIdentity& identity) {
  std::string want = absl::StrCat(identity.origin, "\n", identity.verifier_key);
  ASSIGN_OR_RETURN(std::optional<std::string> have, Get(kIdentityKey));
  if (!have.has_value()) {
    if (size() != 0) {
      return absl::DataLossError("data dir has entries but no log identity");
    }
    return PutSynced(kIdentityKey, want);
  }
  if (*have != want) {
    size_t nl = have->find('\n');
    return absl::FailedPreconditionError(absl::StrCat(
        "data dir belongs to log \"", have->substr(0, nl), "\" with key ",
        nl == std::string::npos ? "?" : have->substr(nl + 1), ", not to log \"",
        identity.origin, "\" with key ", identity.verifier_key));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<LogIdentity>> LogStorage::ReadIdentity() {
  ASSIGN_OR_RETURN(std::optional<std::string> v, Get(kIdentityKey));
  if (!v.has_value()) return std::optional<LogIdentity>();
  size_t nl = v->find('\n');
  if (nl == std::string::npos) {
    return absl::DataLossError("stored log identity is malformed");
  }
  return std::optional<LogIdentity>(
      LogIdentity{v->substr(0, nl), v->substr(nl + 1)});
}

uint64_t LogStorage::size() const { return size_.load(); }

absl::Status LogStorage::CommitBatch(const StorageBatch& batch) {
  if (batch.begin != size()) {
    return absl::InternalError(absl::StrCat("batch begins at ", batch.begin,
                                            " but the tree size is ", size()));
  }
  rocksdb::WriteBatch wb;
  for (size_t i = 0; i < batch.records.size(); ++i) {
    wb.Put(RecordKey(batch.begin + i), batch.records[i]);
    wb.Put(LeafHashKey(batch.leaf_hashes[i]), U64(batch.begin + i));
  }
  for (const auto& [id, hash] : batch.nodes) {
    wb.Put(NodeKey(id), std::string(hash.view()));
  }
  for (const HistoryEntry& h : batch.history) {
    std::string index = U64(h.leaf_index);
    wb.Put(Versioned(AccountPrefix(kHistoryPrefix, h.account_id), h.version),
           index);
    if (h.sets_key) {
      wb.Put(
          Versioned(AccountPrefix(kKeyRecordPrefix, h.account_id), h.version),
          index);
    }
  }
  for (const AccountState& account : batch.accounts) {
    wb.Put(Versioned(AccountPrefix(kAccountPrefix, account.account_id),
                     batch.end()),
           account.Encode());
  }
  for (const auto& [path, node] : batch.index_nodes) {
    wb.Put(Versioned(IndexPathKey(path), batch.end()), node.Encode());
  }
  wb.Put(IndexRootKey(batch.end()), std::string(batch.index_root.view()));
  wb.Put(kSizeKey, U64(batch.end()));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RETURN_IF_ERROR(FromRocksDb(db_->Write(wo, &wb), "committing batch"));
  size_.store(batch.end());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Hash>> LogStorage::ReadNodes(
    const std::vector<NodeId>& ids) {
  uint64_t committed = size();
  std::vector<std::string> keys;
  keys.reserve(ids.size());
  for (const NodeId& id : ids) {
    if (id.level > 63 || id.end() > committed || id.end() <= id.begin()) {
      return absl::NotFoundError(absl::StrCat("node ", int{id.level}, "/",
                                              id.index, " is beyond tree size ",
                                              committed));
    }
    keys.push_back(NodeKey(id));
  }
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses =
      db_->MultiGet(rocksdb::ReadOptions(), slices, &values);
  std::vector<Hash> out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (statuses[i].IsNotFound() || values[i].size() != Hash::kSize) {
      return absl::DataLossError(absl::StrCat("stored node ", int{ids[i].level},
                                              "/", ids[i].index,
                                              " is missing or malformed"));
    }
    RETURN_IF_ERROR(FromRocksDb(statuses[i], "reading nodes"));
    out.push_back(Hash::FromBytesOrDie(values[i]));
  }
  return out;
}

absl::StatusOr<std::vector<Hash>> LogStorage::ReadProof(const ProofPlan& plan) {
  std::vector<NodeId> ids;
  ids.reserve(PlanNodeCount(plan));
  for (const auto& element : plan) {
    ids.insert(ids.end(), element.begin(), element.end());
  }
  ASSIGN_OR_RETURN(std::vector<Hash> nodes, ReadNodes(ids));
  return AssembleProof(plan, nodes);
}

absl::StatusOr<std::vector<std::string>> LogStorage::ReadRecords(uint64_t begin,
                                                                 uint64_t end) {
  if (begin > end || end > size()) {
    return absl::OutOfRangeError(absl::StrCat(
        "records [", begin, ", ", end, ") are beyond tree size ", size()));
  }
  std::vector<std::string> out;
  out.reserve(end - begin);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions()));
  uint64_t want = begin;
  for (it->Seek(RecordKey(begin)); want < end && it->Valid(); it->Next()) {
    if (it->key() != RecordKey(want)) break;
    out.push_back(it->value().ToString());
    ++want;
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading records"));
  if (want != end) {
    return absl::DataLossError(
        absl::StrCat("stored record ", want, " is missing"));
  }
  return out;
}

absl::StatusOr<std::optional<uint64_t>> LogStorage::FindLeafIndex(
    const Hash& leaf_hash) {
  ASSIGN_OR_RETURN(std::optional<std::string> v, Get(LeafHashKey(leaf_hash)));
  if (!v.has_value()) return std::optional<uint64_t>();
  if (v->size() != 8) return absl::DataLossError("malformed leaf index");
  return std::optional<uint64_t>(ReadBigEndian(*v, 8));
}

absl::StatusOr<std::optional<AccountState>> LogStorage::ReadAccount(
    const std::string& account_id, uint64_t size) {
  ASSIGN_OR_RETURN(
      std::optional<std::string> v,
      SeekVersion(db_.get(), AccountPrefix(kAccountPrefix, account_id), size));
  if (!v.has_value()) return std::optional<AccountState>();
  absl::StatusOr<AccountState> state = DecodeAccountState(*v);
  if (!state.ok() || state->account_id != account_id) {
    return absl::DataLossError(absl::StrCat("stored state of account \"",
                                            account_id, "\" is malformed"));
  }
  return std::optional<AccountState>(*std::move(state));
}

absl::StatusOr<Hash> LogStorage::ReadIndexRoot(uint64_t size) {
  if (size == 0) return kEmptyIndexHash;
  ASSIGN_OR_RETURN(std::optional<std::string> v, Get(IndexRootKey(size)));
  if (!v.has_value()) {
    return absl::NotFoundError(absl::StrCat("no checkpoint at tree size ", size,
                                            "; use the size of a checkpoint"));
  }
  if (v->size() != Hash::kSize) {
    return absl::DataLossError("stored index root is malformed");
  }
  return Hash::FromBytesOrDie(*v);
}

absl::StatusOr<std::vector<uint64_t>> LogStorage::ReadIndexVersions() {
  std::vector<uint64_t> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions()));
  std::string prefix(1, kIndexRootPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    if (it->key().size() != 9) return absl::DataLossError("bad index root key");
    out.push_back(ReadBigEndian(absl::string_view(it->key().data() + 1, 8), 8));
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading index roots"));
  return out;
}

namespace {

class VersionedIndexReader : public IndexNodeReader {
 public:
  VersionedIndexReader(rocksdb::DB* db, uint64_t version)
      : db_(db), version_(version) {}

  absl::StatusOr<IndexNode> Read(const IndexPath& path) override {
    ASSIGN_OR_RETURN(std::optional<std::string> v,
                     SeekVersion(db_, IndexPathKey(path), version_));
    if (!v.has_value()) return IndexNode();
    return IndexNode::Decode(*v);
  }

 private:
  rocksdb::DB* const db_;
  const uint64_t version_;
};

}  // namespace

std::unique_ptr<IndexNodeReader> LogStorage::IndexReaderAt(uint64_t size) {
  return std::make_unique<VersionedIndexReader>(db_.get(), size);
}

absl::StatusOr<std::optional<IndexNode>> LogStorage::ReadIndexNodeExact(
    const IndexPath& path, uint64_t version) {
  ASSIGN_OR_RETURN(std::optional<std::string> v,
                   Get(Versioned(IndexPathKey(path), version)));
  if (!v.has_value()) return std::optional<IndexNode>();
  ASSIGN_OR_RETURN(IndexNode node, IndexNode::Decode(*v));
  return std::optional<IndexNode>(node);
}

absl::StatusOr<std::vector<HistoryEntry>> LogStorage::ReadHistory(
    const std::string& account_id, uint64_t from_version, uint64_t below,
    size_t limit) {
  std::vector<HistoryEntry> out;
  std::string prefix = AccountPrefix(kHistoryPrefix, account_id);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(Versioned(prefix, from_version));
       it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
       it->Next()) {
    HistoryEntry e = DecodeHistory(account_id, it->key(), it->value(), false);
    if (e.leaf_index == UINT64_MAX) {
      return absl::DataLossError("malformed stored history entry");
    }
    if (e.leaf_index >= below) break;
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading history"));
  return out;
}

absl::StatusOr<std::vector<HistoryEntry>> LogStorage::ReadKeyRecords(
    const std::string& account_id, uint64_t below, uint64_t stop_version,
    size_t limit) {
  std::vector<HistoryEntry> out;
  std::string prefix = AccountPrefix(kKeyRecordPrefix, account_id);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekForPrev(Versioned(prefix, UINT64_MAX));
       it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
       it->Prev()) {
    HistoryEntry e = DecodeHistory(account_id, it->key(), it->value(), true);
    if (e.leaf_index == UINT64_MAX) {
      return absl::DataLossError("malformed stored key record entry");
    }
    if (e.leaf_index >= below) continue;
    out.push_back(e);
    if (e.version <= stop_version) break;
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading key records"));
  return out;
}

absl::StatusOr<std::optional<std::string>> LogStorage::ReadLatestCheckpoint() {
  return Get(kCheckpointKey);
}

absl::Status LogStorage::WriteLatestCheckpoint(const std::string& note) {
  return PutSynced(kCheckpointKey, note);
}

namespace {

// Newest last: by size, then timestamp; the body's hash keeps two bodies
// apart that share both (which an honest log never signs).
std::string CosignedKey(const LogCheckpoint& cp, const std::string& body) {
  std::string k(1, kCosignedPrefix);
  AppendBigEndian(cp.size, 8, &k);
  AppendBigEndian(cp.timestamp_ms, 8, &k);
  absl::StrAppend(&k, Sha256(body).view());
  return k;
}

}  // namespace

absl::Status LogStorage::WriteCosignedCheckpoint(const LogCheckpoint& cp,
                                                 const std::string& body,
                                                 const std::string& note) {
  return PutSynced(CosignedKey(cp, body), note);
}

absl::StatusOr<std::optional<std::string>> LogStorage::ReadCosignedCheckpoint(
    const LogCheckpoint& cp, const std::string& body) {
  return Get(CosignedKey(cp, body));
}

absl::StatusOr<std::vector<std::string>>
LogStorage::ReadRecentCosignedCheckpoints(size_t limit) {
  std::vector<std::string> out;
  std::string prefix(1, kCosignedPrefix);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekForPrev(prefix + std::string(48, '\xff'));
       it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
       it->Prev()) {
    out.push_back(it->value().ToString());
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading cosigned checkpoints"));
  return out;
}

absl::Status LogStorage::CreateBackup(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  if (!s.ok()) return FromRocksDb(s, "starting a backup");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  s = checkpoint->CreateCheckpoint(dir);
  if (!s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write backup to ", dir, ": ", s.ToString()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Hash>> LogStorage::ReadCompactRange(uint64_t size) {
  return ReadNodes(PerfectSubtrees(0, size));
}

}  // namespace ktlog
