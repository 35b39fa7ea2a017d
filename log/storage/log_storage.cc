#include "log/storage/log_storage.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/account/commitment.h"
#include "core/account/index.h"
#include "core/crypto/vrf.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"
#include "log/storage/layout.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace ktlog {
namespace {

// Checks the data dir's format; a new, empty database gets this one's.
absl::Status CheckFormat(RocksDb* db, const std::string& dir) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   db->Get(layout::FormatKey()));
  if (!stored.has_value()) {
    ASSIGN_OR_RETURN(bool empty, db->Empty());
    if (!empty) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data dir ", dir,
          " was made by an earlier ktlog (format 1); this server reads format ",
          layout::kDataDirFormat,
          ". Serve it with the ktlog version that made it, or start a new log "
          "in an empty data dir"));
    }
    return db->PutSynced(layout::FormatKey(),
                         layout::U64Value(layout::kDataDirFormat));
  }
  std::optional<uint64_t> format = layout::ParseU64Value(*stored);
  if (!format.has_value()) {
    return absl::DataLossError(
        absl::StrCat("data dir ", dir, " has a malformed format marker"));
  }
  if (*format == 4 || *format == 5) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data dir ", dir, " is format ", *format, "; this server reads format ",
        layout::kDataDirFormat,
        ". Its leaves commit to account states whose key chains do not reach "
        "back to the account's first record (docs/formats.md, account state "
        "format 2), which clients of this version refuse, and a log cannot "
        "rewrite what its leaves committed to. Serve it with the ktlog "
        "version that made it, or start a new log (a new data dir and log "
        "key) and have clients run `ktctl init` with its key"));
  }
  if (*format == 6 || *format == 7) {
    // 7 is 6 that may also hold states on security keys (format 4), and 8
    // is 7 that may hold erased accounts: the data dir is marked before
    // either can be written, so that an older server refuses it plainly
    // instead of failing to read a state.
    return db->PutSynced(layout::FormatKey(),
                         layout::U64Value(layout::kDataDirFormat));
  }
  if (*format != layout::kDataDirFormat) {
    return absl::FailedPreconditionError(
        absl::StrCat("data dir ", dir, " is format ", *format,
                     "; this server reads format ", layout::kDataDirFormat,
                     ". Serve it with the ktlog version that made it",
                     *format < layout::kDataDirFormat
                         ? ", or start a new log in an empty data dir"
                         : ""));
  }
  return absl::OkStatus();
}

constexpr size_t kVrfProofSize = VrfPublicKey::kProofSize;

absl::StatusOr<std::optional<PrivateEntry>> EntryAt(const RocksDb& db,
                                                    uint64_t index) {
  ASSIGN_OR_RETURN(std::optional<std::string> v,
                   db.Get(layout::EntryKey(index)));
  if (!v.has_value()) return std::optional<PrivateEntry>();
  return DecodePrivateEntry(*v);
}

}  // namespace

std::string EncodePrivateEntry(const PrivateEntry& e) {
  std::string out;
  AppendBigEndian(e.record.size(), 2, &out);
  absl::StrAppend(&out, e.record, e.record_opening, e.state_opening);
  return out;
}

std::optional<PrivateEntry> DecodePrivateEntry(absl::string_view data) {
  ByteReader r(data);
  absl::string_view record, record_opening, state_opening;
  r.ReadU16Prefixed(&record);
  r.ReadBytes(kOpeningSize, &record_opening);
  r.ReadBytes(kOpeningSize, &state_opening);
  if (r.failed() || !r.empty()) return std::nullopt;
  return PrivateEntry{std::string(record), std::string(record_opening),
                      std::string(state_opening)};
}

absl::StatusOr<std::unique_ptr<LogStorage>> LogStorage::Open(
    const std::string& dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<RocksDb> db, RocksDb::Open(dir, "data dir"));
  RETURN_IF_ERROR(CheckFormat(db.get(), dir));
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   db->Get(layout::SizeKey()));
  uint64_t size = 0;
  if (value.has_value()) {
    std::optional<uint64_t> parsed = layout::ParseU64Value(*value);
    if (!parsed.has_value()) {
      return absl::DataLossError("stored tree size is malformed");
    }
    size = *parsed;
  }
  return std::unique_ptr<LogStorage>(new LogStorage(std::move(db), size));
}

LogStorage::LogStorage(std::unique_ptr<RocksDb> db, uint64_t size)
    : db_(std::move(db)), size_(size) {}

absl::Status LogStorage::BindIdentity(const LogIdentity& identity) {
  std::string want = absl::StrCat(identity.origin, "\n", identity.log_key);
  ASSIGN_OR_RETURN(std::optional<std::string> have,
                   db_->Get(layout::IdentityKey()));
  if (!have.has_value()) {
    if (size() != 0) {
      return absl::DataLossError("data dir has entries but no log identity");
    }
    return db_->PutSynced(layout::IdentityKey(), want);
  }
  if (*have != want) {
    size_t nl = have->find('\n');
    return absl::FailedPreconditionError(absl::StrCat(
        "data dir belongs to log \"", have->substr(0, nl), "\" with key ",
        nl == std::string::npos ? "?" : have->substr(nl + 1), ", not to log \"",
        identity.origin, "\" with key ", identity.log_key));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<LogIdentity>> LogStorage::ReadIdentity() {
  ASSIGN_OR_RETURN(std::optional<std::string> v,
                   db_->Get(layout::IdentityKey()));
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
  // Nothing private of an account erased in this batch is written.
  absl::flat_hash_set<std::string> erased;
  absl::flat_hash_set<uint64_t> no_entry;
  for (const StorageBatch::Erasure& e : batch.erasures) {
    erased.insert(e.account_id);
    no_entry.insert(e.leaf_index);
  }
  for (const HistoryEntry& h : batch.history) {
    if (erased.contains(h.account_id)) no_entry.insert(h.leaf_index);
  }
  rocksdb::WriteBatch wb;
  for (size_t i = 0; i < batch.leaves.size(); ++i) {
    uint64_t index = batch.begin + i;
    wb.Put(layout::LeafKey(index), batch.leaves[i]);
    if (!no_entry.contains(index) && !batch.entries[i].record.empty()) {
      wb.Put(layout::EntryKey(index), EncodePrivateEntry(batch.entries[i]));
    }
    wb.Put(layout::LeafHashKey(batch.leaf_hashes[i]), layout::U64Value(index));
  }
  for (const auto& [id, hash] : batch.nodes) {
    // A leaf's hash is computed from the leaf when it is read.
    if (id.level > 0) wb.Put(layout::NodeKey(id), std::string(hash.view()));
  }
  for (const HistoryEntry& h : batch.history) {
    if (erased.contains(h.account_id)) continue;
    wb.Put(layout::Versioned(layout::HistoryPrefix(h.account_id), h.version),
           layout::U64Value(h.leaf_index));
  }
  for (const auto& [id, p] : batch.positions) {
    if (erased.contains(id)) continue;
    wb.Put(layout::PositionKey(id), absl::StrCat(p.position.view(), p.proof));
  }
  for (const StorageBatch::Erasure& e : batch.erasures) {
    RETURN_IF_ERROR(AddErasure(batch, e, &wb));
  }
  if (!batch.erasures.empty()) wb.Put(layout::PurgeKey(), "");
  for (const AccountState& account : batch.accounts) {
    wb.Put(layout::Versioned(layout::AccountStatePrefix(account.account_id),
                             batch.end()),
           account.EncodeByReference());
  }
  for (const IndexEntry& e : batch.index_entries) {
    std::string value = layout::U64Value(e.version);
    absl::StrAppend(&value, e.state_commitment.view());
    wb.Put(layout::IndexEntryKey(e.position), value);
  }
  wb.Put(layout::IndexRootKey(batch.end()),
         std::string(batch.index_root.view()));
  if (batch.end_signed) wb.Put(layout::SignedSizeKey(batch.end()), "");
  wb.Put(layout::SizeKey(), layout::U64Value(batch.end()));
  RETURN_IF_ERROR(db_->WriteSynced(&wb));
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
    keys.push_back(id.level == 0 ? layout::LeafKey(id.index)
                                 : layout::NodeKey(id));
  }
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses =
      db_->db()->MultiGet(rocksdb::ReadOptions(), slices, &values);
  std::vector<Hash> out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    bool leaf = ids[i].level == 0;
    if (statuses[i].IsNotFound() ||
        (!leaf && values[i].size() != Hash::kSize)) {
      return absl::DataLossError(
          leaf ? absl::StrCat("stored leaf ", ids[i].index, " is missing")
               : absl::StrCat("stored node ", int{ids[i].level}, "/",
                              ids[i].index, " is missing or malformed"));
    }
    RETURN_IF_ERROR(FromRocksDb(statuses[i], "reading nodes"));
    out.push_back(leaf ? HashLeaf(values[i]) : Hash::FromBytesOrDie(values[i]));
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

absl::StatusOr<std::vector<Hash>> LogStorage::ReadCompactRange(uint64_t size) {
  return ReadNodes(PerfectSubtrees(0, size));
}

absl::StatusOr<std::vector<std::string>> LogStorage::ReadLeaves(uint64_t begin,
                                                                uint64_t end) {
  if (begin > end || end > size()) {
    return absl::OutOfRangeError(absl::StrCat(
        "leaves [", begin, ", ", end, ") are beyond tree size ", size()));
  }
  std::vector<std::string> out;
  out.reserve(end - begin);
  std::unique_ptr<rocksdb::Iterator> it = db_->NewIterator();
  uint64_t want = begin;
  for (it->Seek(layout::LeafKey(begin)); want < end && it->Valid();
       it->Next()) {
    if (layout::ParseLeafKey(ToView(it->key())) != want) break;
    out.push_back(it->value().ToString());
    ++want;
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading leaves"));
  if (want != end) {
    return absl::DataLossError(
        absl::StrCat("stored leaf ", want, " is missing"));
  }
  return out;
}

absl::StatusOr<PrivateEntry> LogStorage::ReadEntry(uint64_t index) {
  ASSIGN_OR_RETURN(std::optional<PrivateEntry> entry, EntryAt(*db_, index));
  if (!entry.has_value()) {
    return absl::DataLossError(absl::StrCat("the stored record behind leaf ",
                                            index, " is missing or malformed"));
  }
  return *std::move(entry);
}

absl::StatusOr<std::optional<uint64_t>> LogStorage::ReadIndexValue(
    const std::string& key) const {
  ASSIGN_OR_RETURN(std::optional<std::string> v, db_->Get(key));
  if (!v.has_value()) return std::optional<uint64_t>();
  std::optional<uint64_t> index = layout::ParseU64Value(*v);
  if (!index.has_value()) return absl::DataLossError("malformed leaf index");
  return index;
}

absl::StatusOr<std::optional<uint64_t>> LogStorage::FindLeafIndex(
    const Hash& leaf_hash) {
  return ReadIndexValue(layout::LeafHashKey(leaf_hash));
}

absl::StatusOr<std::optional<uint64_t>> LogStorage::FindRecord(
    const std::string& account_id, uint64_t version, const Hash& record_hash) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> index,
                   ReadIndexValue(layout::Versioned(
                       layout::HistoryPrefix(account_id), version)));
  if (!index.has_value()) return index;
  ASSIGN_OR_RETURN(PrivateEntry entry, ReadEntry(*index));
  if (Sha256(entry.record) != record_hash) return std::optional<uint64_t>();
  return index;
}

absl::StatusOr<std::optional<AccountPosition>> LogStorage::ReadPosition(
    const std::string& account_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> v,
                   db_->Get(layout::PositionKey(account_id)));
  if (!v.has_value()) return std::optional<AccountPosition>();
  if (v->size() != Hash::kSize + kVrfProofSize) {
    return absl::DataLossError(absl::StrCat("stored position of account \"",
                                            account_id, "\" is malformed"));
  }
  return std::optional<AccountPosition>(AccountPosition{
      Hash::FromBytesOrDie(v->substr(0, Hash::kSize)), v->substr(Hash::kSize)});
}

absl::StatusOr<std::optional<std::string>> LogStorage::SeekVersion(
    const std::string& prefix, uint64_t version) const {
  std::unique_ptr<rocksdb::Iterator> it = db_->NewIterator();
  it->SeekForPrev(layout::Versioned(prefix, version));
  if (it->Valid() &&
      layout::ParseVersioned(ToView(it->key()), prefix).has_value()) {
    return std::optional<std::string>(it->value().ToString());
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading storage"));
  return std::optional<std::string>();
}

absl::StatusOr<std::optional<AccountState>> LogStorage::ReadAccount(
    const std::string& account_id, uint64_t size) {
  ASSIGN_OR_RETURN(std::optional<std::string> v,
                   SeekVersion(layout::AccountStatePrefix(account_id), size));
  if (!v.has_value()) return std::optional<AccountState>();
  absl::StatusOr<AccountState> state = DecodeAccountStateByReference(
      *v, [this, size](uint64_t leaf_index) -> absl::StatusOr<std::string> {
        if (leaf_index >= std::min(size, this->size())) {
          return absl::DataLossError(
              absl::StrCat("it refers to leaf ", leaf_index,
                           ", beyond the tree it is stored for"));
        }
        ASSIGN_OR_RETURN(PrivateEntry entry, ReadEntry(leaf_index));
        return std::move(entry.record);
      });
  if (!state.ok() || state->account_id != account_id) {
    return absl::DataLossError(absl::StrCat(
        "stored state of account \"", account_id, "\" is malformed",
        state.ok() ? "" : ": " + std::string(state.status().message())));
  }
  return std::optional<AccountState>(*std::move(state));
}

absl::StatusOr<Hash> LogStorage::ReadIndexRoot(uint64_t size) {
  if (size == 0) return kEmptyIndexHash;
  ASSIGN_OR_RETURN(std::optional<std::string> v,
                   db_->Get(layout::IndexRootKey(size)));
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
  RETURN_IF_ERROR(db_->ForEachWithPrefix(
      layout::IndexRootPrefix(),
      [&](absl::string_view key, absl::string_view) -> absl::Status {
        std::optional<uint64_t> size = layout::ParseIndexRootKey(key);
        if (!size.has_value()) return absl::DataLossError("bad index root key");
        out.push_back(*size);
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<std::optional<IndexEntry>> LogStorage::ReadIndexEntry(
    const Hash& position) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   db_->Get(layout::IndexEntryKey(position)));
  if (!value.has_value()) return std::optional<IndexEntry>();
  if (value->size() != 8 + Hash::kSize) {
    return absl::DataLossError("malformed stored index entry");
  }
  return std::optional<IndexEntry>(
      IndexEntry{position, ReadBigEndian(*value, 8),
                 Hash::FromBytesOrDie(absl::string_view(*value).substr(8))});
}

absl::Status LogStorage::ReadIndexEntries(
    const std::function<absl::Status(const IndexEntry&)>& f) {
  return db_->ForEachWithPrefix(
      layout::IndexEntryPrefix(),
      [&](absl::string_view key, absl::string_view value) -> absl::Status {
        if (key.size() != 1 + Hash::kSize || value.size() != 8 + Hash::kSize) {
          return absl::DataLossError("malformed stored index entry");
        }
        IndexEntry e;
        e.position = Hash::FromBytesOrDie(key.substr(1));
        e.version = ReadBigEndian(value, 8);
        e.state_commitment = Hash::FromBytesOrDie(value.substr(8));
        return f(e);
      });
}

absl::StatusOr<std::vector<HistoryEntry>> LogStorage::ReadHistory(
    const std::string& account_id, uint64_t from_version, uint64_t below,
    size_t limit) {
  std::vector<HistoryEntry> out;
  std::string prefix = layout::HistoryPrefix(account_id);
  std::unique_ptr<rocksdb::Iterator> it = db_->NewIterator();
  for (it->Seek(layout::Versioned(prefix, from_version));
       it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
       it->Next()) {
    std::optional<uint64_t> version =
        layout::ParseVersioned(ToView(it->key()), prefix);
    std::optional<uint64_t> leaf = layout::ParseU64Value(ToView(it->value()));
    if (!version.has_value() || !leaf.has_value()) {
      return absl::DataLossError(absl::StrCat(
          "malformed stored history entry of account \"", account_id, "\""));
    }
    if (*leaf >= below) break;
    out.push_back(HistoryEntry{account_id, *version, *leaf});
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading history"));
  return out;
}

namespace {

// An erasure marker: the u64 leaf indexes of the account's versions.
absl::StatusOr<ErasedAccount> DecodeErased(const Hash& position,
                                           absl::string_view v) {
  if (v.empty() || v.size() % 8 != 0) {
    return absl::DataLossError(absl::StrCat("the erasure marker of position ",
                                            position.ToHex(), " is malformed"));
  }
  ErasedAccount out{position, {}};
  for (size_t i = 0; i < v.size(); i += 8) {
    out.leaf_indexes.push_back(ReadBigEndian(v.substr(i), 8));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::optional<ErasedAccount>> LogStorage::ReadErased(
    const Hash& position) {
  ASSIGN_OR_RETURN(std::optional<std::string> v,
                   db_->Get(layout::ErasedKey(position)));
  if (!v.has_value()) return std::optional<ErasedAccount>();
  ASSIGN_OR_RETURN(ErasedAccount erased, DecodeErased(position, *v));
  return std::optional<ErasedAccount>(std::move(erased));
}

absl::Status LogStorage::ReadErasures(
    const std::function<absl::Status(const ErasedAccount&)>& f) {
  return db_->ForEachWithPrefix(
      layout::ErasedPrefix(),
      [&](absl::string_view key, absl::string_view value) -> absl::Status {
        if (key.size() != 1 + Hash::kSize) {
          return absl::DataLossError("malformed erasure marker key");
        }
        ASSIGN_OR_RETURN(
            ErasedAccount erased,
            DecodeErased(Hash::FromBytesOrDie(key.substr(1)), value));
        return f(erased);
      });
}

absl::Status LogStorage::AddErasure(const StorageBatch& batch,
                                    const StorageBatch::Erasure& e,
                                    rocksdb::WriteBatch* wb) {
  const std::string& id = e.account_id;
  std::vector<uint64_t> leaves;
  std::string history = layout::HistoryPrefix(id);
  // An empty id (a replica that held none of the account's records) has
  // nothing stored under it.
  if (!id.empty()) {
    RETURN_IF_ERROR(db_->ForEachWithPrefix(
        history,
        [&](absl::string_view key, absl::string_view value) -> absl::Status {
          std::optional<uint64_t> version =
              layout::ParseVersioned(key, history);
          std::optional<uint64_t> leaf = layout::ParseU64Value(value);
          if (version != leaves.size() + 1 || !leaf.has_value()) {
            return absl::DataLossError(absl::StrCat(
                "the stored history of account \"", id,
                "\" is malformed or has a gap; run ktlog-admin fsck"));
          }
          leaves.push_back(*leaf);
          wb->Delete(layout::EntryKey(*leaf));
          wb->Delete(rocksdb::Slice(key.data(), key.size()));
          return absl::OkStatus();
        }));
  }
  for (const HistoryEntry& h : batch.history) {
    if (h.account_id == id) leaves.push_back(h.leaf_index);
  }
  if (e.earlier_leaves.has_value()) leaves = *e.earlier_leaves;
  leaves.push_back(e.leaf_index);
  if (!id.empty()) {
    RETURN_IF_ERROR(db_->ForEachWithPrefix(
        layout::AccountStatePrefix(id),
        [&](absl::string_view key, absl::string_view) {
          wb->Delete(rocksdb::Slice(key.data(), key.size()));
          return absl::OkStatus();
        }));
    wb->Delete(layout::PositionKey(id));
    wb->Delete(layout::BackupKey(id));
  }
  std::string marker;
  for (uint64_t leaf : leaves) marker += layout::U64Value(leaf);
  wb->Put(layout::ErasedKey(e.position), marker);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> LogStorage::ReadBackup(
    const std::string& account_id) {
  return db_->Get(layout::BackupKey(account_id));
}

absl::Status LogStorage::WriteBackup(const std::string& account_id,
                                     const std::string& sealed) {
  return db_->PutSynced(layout::BackupKey(account_id), sealed);
}

absl::Status LogStorage::DeleteBackup(const std::string& account_id) {
  return db_->DeleteSynced(layout::BackupKey(account_id));
}

absl::Status LogStorage::Purge() { return db_->Purge(layout::PurgeKey()); }

absl::StatusOr<bool> LogStorage::PurgeOwed() {
  ASSIGN_OR_RETURN(std::optional<std::string> v, db_->Get(layout::PurgeKey()));
  return v.has_value();
}

absl::StatusOr<std::optional<std::string>> LogStorage::ReadLatestCheckpoint() {
  return db_->Get(layout::CheckpointKey());
}

absl::Status LogStorage::WriteLatestCheckpoint(uint64_t size,
                                               const std::string& note) {
  rocksdb::WriteBatch wb;
  wb.Put(layout::CheckpointKey(), note);
  wb.Put(layout::SignedSizeKey(size), "");
  return db_->WriteSynced(&wb);
}

absl::StatusOr<bool> LogStorage::IsSignedSize(uint64_t size) {
  ASSIGN_OR_RETURN(std::optional<std::string> v,
                   db_->Get(layout::SignedSizeKey(size)));
  return v.has_value();
}

absl::Status LogStorage::WriteCosignedCheckpoint(const LogCheckpoint& cp,
                                                 const std::string& body,
                                                 const std::string& note) {
  return db_->PutSynced(layout::CosignedKey(cp, body), note);
}

absl::StatusOr<std::optional<std::string>> LogStorage::ReadCosignedCheckpoint(
    const LogCheckpoint& cp, const std::string& body) {
  return db_->Get(layout::CosignedKey(cp, body));
}

absl::StatusOr<std::vector<std::string>>
LogStorage::ReadRecentCosignedCheckpoints(size_t limit) {
  std::vector<std::string> out;
  std::string prefix = layout::CosignedPrefix();
  std::unique_ptr<rocksdb::Iterator> it = db_->NewIterator();
  for (it->SeekForPrev(layout::CosignedEnd());
       it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
       it->Prev()) {
    out.push_back(it->value().ToString());
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading cosigned checkpoints"));
  return out;
}

absl::Status LogStorage::CreateBackup(const std::string& dir) {
  return db_->Checkpoint(dir);
}

}  // namespace ktlog
