#include "auditor/auditor_store.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "core/account/leaf.h"
#include "core/account/replay.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"
#include "rocksdb/write_batch.h"
#include "storage/rocksdb.h"

namespace ktlog {
namespace {

constexpr char kLogKey[] = "m/log";
constexpr char kFormatKey[] = "m/format";
// 1 replayed public records (account states); 2 replays public leaves and
// stored the index nodes; 3 stores each position's latest entry only.
constexpr uint64_t kFormat = 3;
constexpr char kRangeKey[] = "m/range";  // u64 size || hashes
constexpr char kLastTimestampKey[] = "m/last-ts";
constexpr char kVerifiedKey[] = "m/verified";
constexpr char kTargetKey[] = "m/target";
constexpr char kFailureKey[] = "m/failure";
constexpr char kUnsubmittedKey[] = "m/unsubmitted";

// 'v' | position -> u64 version | index value hash (32); format 2: the
// version alone.
constexpr char kEntryPrefix[] = "v";
std::string EntryKey(const Hash& position) {
  return kEntryPrefix + position.bytes();
}
// Format 2 only: 'x' | u16 depth | prefix -> an index node.
constexpr char kNodePrefix[] = "x";
// The root's key there: depth 0, a zero prefix.
const std::string kFormat2RootKey = std::string("x") + std::string(34, '\0');
// The index root after the last commit.
constexpr char kIndexRootKey[] = "m/index-root";

// A format-2 index node: u8 type (1 internal: left, right; 2 leaf: key,
// value hash) | two hashes.
struct Format2Node {
  bool leaf = false;
  Hash first, second;
  Hash hash() const {
    return leaf ? IndexLeafHash(first, second) : IndexNodeHash(first, second);
  }
};
absl::StatusOr<Format2Node> DecodeFormat2Node(absl::string_view data) {
  if (data.size() != 65 || (data[0] != 1 && data[0] != 2)) {
    return absl::DataLossError("malformed stored index node");
  }
  return Format2Node{data[0] == 2, Hash::FromBytesOrDie(data.substr(1, 32)),
                     Hash::FromBytesOrDie(data.substr(33, 32))};
}

std::string U64(uint64_t v) {
  std::string s;
  AppendBigEndian(v, 8, &s);
  return s;
}

// An entry's value: u64 version | index value hash (32).
std::string EncodeEntryValue(uint64_t version, const Hash& value_hash) {
  return absl::StrCat(U64(version), value_hash.view());
}
// `version`, with kErasedVersionBit if `value_hash` is an erasure leaf's
// (VersionSource).
uint64_t MarkedVersion(uint64_t version, const Hash& value_hash) {
  return value_hash == IndexValueHash(version, ErasedCommitment())
             ? version | kErasedVersionBit
             : version;
}

std::optional<std::pair<uint64_t, Hash>> DecodeEntryValue(
    absl::string_view value) {
  if (value.size() != 8 + Hash::kSize) return std::nullopt;
  return std::make_pair(ReadBigEndian(value, 8),
                        Hash::FromBytesOrDie(value.substr(8)));
}

// Calls f(position, value) for every entry key.
absl::Status ForEachEntry(
    const RocksDb& db,
    const std::function<absl::Status(const Hash&, absl::string_view)>& f) {
  return db.ForEachWithPrefix(
      kEntryPrefix, [&](absl::string_view key, absl::string_view value) {
        absl::StatusOr<Hash> position = Hash::FromBytes(key.substr(1));
        if (!position.ok()) {
          return absl::DataLossError(
              "the auditor state holds a malformed entry key");
        }
        return f(*position, value);
      });
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditorStore>> AuditorStore::Open(
    const std::string& dir, const std::string& log_key) {
  ASSIGN_OR_RETURN(std::unique_ptr<RocksDb> db,
                   RocksDb::Open(dir, "auditor state"));
  std::unique_ptr<AuditorStore> store(new AuditorStore(std::move(db)));
  RETURN_IF_ERROR(store->BindLog(log_key));
  RETURN_IF_ERROR(store->LoadIndex());
  return store;
}

AuditorStore::AuditorStore(std::unique_ptr<RocksDb> db) : db_(std::move(db)) {}

AuditorStore::~AuditorStore() = default;

absl::Status AuditorStore::BindLog(const std::string& log_key) {
  ASSIGN_OR_RETURN(std::optional<std::string> format, db_->Get(kFormatKey));
  ASSIGN_OR_RETURN(std::optional<std::string> have, db_->Get(kLogKey));
  if (!have.has_value()) {
    RETURN_IF_ERROR(db_->PutSynced(kFormatKey, U64(kFormat)));
    return db_->PutSynced(kLogKey, log_key);
  }
  if (*have != log_key) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this auditor state is for the log ", *have, ", not ", log_key));
  }
  if (format == U64(2)) return ConvertFromFormat2();
  if (format != U64(kFormat)) {
    return absl::FailedPreconditionError(
        "this auditor state was made by an earlier ktlog-auditor for a log "
        "without the private directory; use a new --state_dir");
  }
  return absl::OkStatus();
}

absl::Status AuditorStore::ConvertFromFormat2() {
  // The index root is the root node's hash; each position's index value is
  // in its leaf node (a split overwrites the path a leaf moved from).
  ASSIGN_OR_RETURN(std::optional<std::string> root, db_->Get(kFormat2RootKey));
  if (root.has_value()) {
    ASSIGN_OR_RETURN(Format2Node node, DecodeFormat2Node(*root));
    RETURN_IF_ERROR(
        db_->PutSynced(kIndexRootKey, std::string(node.hash().view())));
  }
  constexpr size_t kPerWrite = 10000;
  rocksdb::WriteBatch wb;
  RETURN_IF_ERROR(db_->ForEachWithPrefix(
      kNodePrefix, [&](absl::string_view, absl::string_view data) {
        ASSIGN_OR_RETURN(Format2Node node, DecodeFormat2Node(data));
        if (!node.leaf) return absl::OkStatus();
        ASSIGN_OR_RETURN(std::optional<std::string> version,
                         db_->Get(EntryKey(node.first)));
        if (!version.has_value() || version->size() != 8) {
          // Converted already (an interrupted conversion), or missing.
          if (version.has_value() && DecodeEntryValue(*version).has_value()) {
            return absl::OkStatus();
          }
          return absl::DataLossError(absl::StrCat(
              "the auditor state (format 2) has no version for position ",
              node.first.ToHex()));
        }
        wb.Put(EntryKey(node.first),
               EncodeEntryValue(ReadBigEndian(*version, 8), node.second));
        if (wb.Count() < kPerWrite) return absl::OkStatus();
        absl::Status written = db_->WriteSynced(&wb);
        wb.Clear();
        return written;
      }));
  DeletePrefix(kNodePrefix, &wb);
  wb.Put(kFormatKey, U64(kFormat));
  return db_->WriteSynced(&wb);
}

absl::Status AuditorStore::LoadIndex() {
  std::vector<std::pair<Hash, Hash>> entries;
  RETURN_IF_ERROR(ForEachEntry(*db_, [&](const Hash& position,
                                         absl::string_view value) {
    std::optional<std::pair<uint64_t, Hash>> entry = DecodeEntryValue(value);
    if (!entry.has_value()) {
      return absl::DataLossError(
          absl::StrCat("the auditor state's entry for position ",
                       position.ToHex(), " is malformed"));
    }
    versions_[position] = MarkedVersion(entry->first, entry->second);
    entries.emplace_back(position, entry->second);
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(index_, IndexSnapshot::Build(std::move(entries)));
  // A damaged state must not pass for a misbehaving log.
  ASSIGN_OR_RETURN(std::optional<std::string> root, db_->Get(kIndexRootKey));
  if (root.has_value() && root != std::string(index_.root().view())) {
    return absl::DataLossError(absl::StrCat(
        "the auditor state is damaged: the account index rebuilt from its ",
        versions_.size(), " entries has the root ", index_.root().ToHex(),
        ", not the one its last commit recorded; move the state dir aside "
        "and start with a new --state_dir (the auditor then checks the log "
        "from its first leaf)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<AuditorProgress> AuditorStore::ReadProgress() {
  AuditorProgress p;
  ASSIGN_OR_RETURN(std::optional<std::string> range, db_->Get(kRangeKey));
  if (range.has_value()) {
    if (range->size() < 8 || (range->size() - 8) % Hash::kSize != 0) {
      return absl::DataLossError("the auditor's stored range is malformed");
    }
    uint64_t size = ReadBigEndian(*range, 8);
    std::vector<Hash> hashes;
    for (size_t i = 8; i < range->size(); i += Hash::kSize) {
      hashes.push_back(Hash::FromBytesOrDie(range->substr(i, Hash::kSize)));
    }
    ASSIGN_OR_RETURN(p.range,
                     CompactRange::FromHashes(size, std::move(hashes)));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> ts, db_->Get(kLastTimestampKey));
  if (ts.has_value()) {
    if (ts->size() != 8) {
      return absl::DataLossError("the auditor's stored timestamp is malformed");
    }
    p.last_timestamp_ms = ReadBigEndian(*ts, 8);
  }
  ASSIGN_OR_RETURN(std::optional<std::string> verified, db_->Get(kVerifiedKey));
  if (verified.has_value()) p.verified_note = *verified;
  ASSIGN_OR_RETURN(std::optional<std::string> target, db_->Get(kTargetKey));
  if (target.has_value()) p.target_note = *target;
  ASSIGN_OR_RETURN(std::optional<std::string> unsubmitted,
                   db_->Get(kUnsubmittedKey));
  if (unsubmitted.has_value()) p.unsubmitted_note = *unsubmitted;
  return p;
}

uint64_t AuditorStore::Version(const Hash& position) const {
  auto it = versions_.find(position);
  return it == versions_.end() ? 0 : it->second;
}

absl::Status AuditorStore::Commit(const AuditorCommit& c) {
  rocksdb::WriteBatch wb;
  std::string range;
  AppendBigEndian(c.progress.range.size(), 8, &range);
  for (const Hash& h : c.progress.range.hashes()) {
    range.append(h.view().data(), Hash::kSize);
  }
  wb.Put(kRangeKey, range);
  wb.Put(kLastTimestampKey, U64(c.progress.last_timestamp_ms));
  wb.Put(kVerifiedKey, c.progress.verified_note);
  wb.Put(kTargetKey, c.progress.target_note);
  wb.Put(kUnsubmittedKey, c.progress.unsubmitted_note);
  for (const IndexEntry& e : c.entries) {
    wb.Put(EntryKey(e.position), EncodeEntryValue(e.version, e.value_hash()));
  }
  wb.Put(kIndexRootKey, std::string(c.index_update->root().view()));
  RETURN_IF_ERROR(db_->WriteSynced(&wb));
  for (const IndexEntry& e : c.entries) {
    versions_[e.position] = MarkedVersion(e.version, e.value_hash());
  }
  index_ = *c.index_update;
  return absl::OkStatus();
}

absl::Status AuditorStore::MarkSubmitted() {
  return db_->PutSynced(kUnsubmittedKey, "");
}

absl::StatusOr<std::optional<std::string>> AuditorStore::ReadFailure() {
  return db_->Get(kFailureKey);
}

absl::Status AuditorStore::WriteFailure(const std::string& evidence) {
  return db_->PutSynced(kFailureKey, evidence);
}

absl::Status AuditorStore::ClearFailure() {
  return db_->DeleteSynced(kFailureKey);
}

}  // namespace ktlog
