#include "auditor/auditor_store.h"

#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"
#include "rocksdb/write_batch.h"
#include "storage/rocksdb.h"

namespace ktlog {
namespace {

constexpr char kLogKey[] = "m/log";
constexpr char kFormatKey[] = "m/format";
// 1 replayed public records (account states); 2 replays public leaves.
constexpr uint64_t kFormat = 2;
constexpr char kRangeKey[] = "m/range";  // u64 size || hashes
constexpr char kLastTimestampKey[] = "m/last-ts";
constexpr char kVerifiedKey[] = "m/verified";
constexpr char kTargetKey[] = "m/target";
constexpr char kFailureKey[] = "m/failure";
constexpr char kUnsubmittedKey[] = "m/unsubmitted";

std::string VersionKey(const Hash& position) { return "v" + position.bytes(); }

std::string U64(uint64_t v) {
  std::string s;
  AppendBigEndian(v, 8, &s);
  return s;
}

std::string NodeKey(const IndexPath& path) {
  std::string k = "x";
  AppendBigEndian(path.depth, 2, &k);
  k.append(path.prefix.view().data(), Hash::kSize);
  return k;
}

class StoreIndexReader : public IndexNodeReader {
 public:
  explicit StoreIndexReader(const RocksDb* db) : db_(db) {}
  absl::StatusOr<IndexNode> Read(const IndexPath& path) override {
    ASSIGN_OR_RETURN(std::optional<std::string> value, db_->Get(NodeKey(path)));
    if (!value.has_value()) return IndexNode();
    return IndexNode::Decode(*value);
  }

 private:
  const RocksDb* const db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AuditorStore>> AuditorStore::Open(
    const std::string& dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<RocksDb> db,
                   RocksDb::Open(dir, "auditor state"));
  return std::unique_ptr<AuditorStore>(new AuditorStore(std::move(db)));
}

AuditorStore::AuditorStore(std::unique_ptr<RocksDb> db)
    : db_(std::move(db)), index_(new StoreIndexReader(db_.get())) {}

AuditorStore::~AuditorStore() { index_.reset(); }

absl::Status AuditorStore::BindLog(const std::string& log_key) {
  ASSIGN_OR_RETURN(std::optional<std::string> format, db_->Get(kFormatKey));
  ASSIGN_OR_RETURN(std::optional<std::string> have, db_->Get(kLogKey));
  if (have.has_value() && format != U64(kFormat)) {
    return absl::FailedPreconditionError(
        "this auditor state was made by an earlier ktlog-auditor for a log "
        "without the private directory; use a new --state_dir");
  }
  if (!have.has_value()) {
    RETURN_IF_ERROR(db_->PutSynced(kFormatKey, U64(kFormat)));
    return db_->PutSynced(kLogKey, log_key);
  }
  if (*have != log_key) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this auditor state is for the log ", *have, ", not ", log_key));
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

absl::StatusOr<uint64_t> AuditorStore::ReadVersion(const Hash& position) {
  ASSIGN_OR_RETURN(std::optional<std::string> v,
                   db_->Get(VersionKey(position)));
  if (!v.has_value()) return 0;
  if (v->size() != 8) return absl::DataLossError("stored version is malformed");
  return ReadBigEndian(*v, 8);
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
  for (const auto& [position, version] : c.versions) {
    wb.Put(VersionKey(position), U64(version));
  }
  for (const auto& [path, node] : c.index_nodes) {
    wb.Put(NodeKey(path), node.Encode());
  }
  return db_->WriteSynced(&wb);
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
