#include "auditor/auditor_store.h"

#include <algorithm>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

std::string U64(uint64_t v) {
  std::string s;
  AppendBigEndian(v, 8, &s);
  return s;
}

// Calls f(rest, value) for every key `prefix` | rest.
absl::Status ForEachKey(
    const RocksDb& db, absl::string_view prefix,
    const std::function<absl::Status(absl::string_view, absl::string_view)>&
        f) {
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator();
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
       it->Valid() && absl::StartsWith(ToView(it->key()), prefix); it->Next()) {
    RETURN_IF_ERROR(
        f(ToView(it->key()).substr(prefix.size()), ToView(it->value())));
  }
  return FromRocksDb(it->status(), "reading the auditor state");
}

// Calls f(position, value) for every entry key.
absl::Status ForEachEntry(
    const RocksDb& db,
    const std::function<absl::Status(const Hash&, absl::string_view)>& f) {
  return ForEachKey(db, kEntryPrefix,
                    [&](absl::string_view rest, absl::string_view value) {
                      absl::StatusOr<Hash> position = Hash::FromBytes(rest);
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
  // Each position's index value is in its leaf node.
  std::map<Hash, Hash> values;
  RETURN_IF_ERROR(ForEachKey(
      *db_, kNodePrefix, [&](absl::string_view, absl::string_view data) {
        ASSIGN_OR_RETURN(IndexNode node, IndexNode::Decode(data));
        if (node.type == IndexNode::Type::kLeaf) {
          values[node.key] = node.value_hash;
        }
        return absl::OkStatus();
      }));
  rocksdb::WriteBatch wb;
  RETURN_IF_ERROR(
      ForEachEntry(*db_, [&](const Hash& position, absl::string_view version) {
        auto value = values.find(position);
        if (version.size() != 8 || value == values.end()) {
          return absl::DataLossError(absl::StrCat(
              "the auditor state (format 2) has no index entry for position ",
              position.ToHex()));
        }
        wb.Put(EntryKey(position), absl::StrCat(version, value->second.view()));
        return absl::OkStatus();
      }));
  std::string end = kNodePrefix;
  end.back() += 1;
  wb.DeleteRange(kNodePrefix, end);
  wb.Put(kFormatKey, U64(kFormat));
  return db_->WriteSynced(&wb);
}

absl::Status AuditorStore::LoadIndex() {
  std::vector<std::pair<Hash, Hash>> entries;
  RETURN_IF_ERROR(
      ForEachEntry(*db_, [&](const Hash& position, absl::string_view value) {
        absl::StatusOr<Hash> value_hash =
            Hash::FromBytes(value.substr(std::min<size_t>(8, value.size())));
        if (value.size() != 8 + Hash::kSize || !value_hash.ok()) {
          return absl::DataLossError(
              absl::StrCat("the auditor state's entry for position ",
                           position.ToHex(), " is malformed"));
        }
        versions_[position] = ReadBigEndian(value, 8);
        entries.emplace_back(position, *value_hash);
        return absl::OkStatus();
      }));
  return index_.Apply(std::move(entries)).status();
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
    wb.Put(EntryKey(e.position),
           absl::StrCat(U64(e.version), e.value_hash().view()));
  }
  RETURN_IF_ERROR(db_->WriteSynced(&wb));
  for (const IndexEntry& e : c.entries) versions_[e.position] = e.version;
  index_.Commit(c.index_update);
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
