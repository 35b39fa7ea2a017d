#include "auditor/auditor_store.h"

#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "storage/rocksdb.h"

namespace ktlog {
namespace {

constexpr char kLogKey[] = "m/log";
constexpr char kRangeKey[] = "m/range";  // u64 size || hashes
constexpr char kVerifiedKey[] = "m/verified";
constexpr char kTargetKey[] = "m/target";
constexpr char kFailureKey[] = "m/failure";
constexpr char kUnsubmittedKey[] = "m/unsubmitted";

std::string AccountKey(const std::string& id) { return "a" + id; }

std::string NodeKey(const IndexPath& path) {
  std::string k = "x";
  AppendBigEndian(path.depth, 2, &k);
  k.append(path.prefix.view().data(), Hash::kSize);
  return k;
}

class StoreIndexReader : public IndexNodeReader {
 public:
  explicit StoreIndexReader(rocksdb::DB* db) : db_(db) {}
  absl::StatusOr<IndexNode> Read(const IndexPath& path) override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), NodeKey(path), &value);
    if (s.IsNotFound()) return IndexNode();
    RETURN_IF_ERROR(FromRocksDb(s, "reading the auditor's index"));
    return IndexNode::Decode(value);
  }

 private:
  rocksdb::DB* const db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AuditorStore>> AuditorStore::Open(
    const std::string& dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db,
                   OpenRocksDb(dir, "auditor state"));
  return std::unique_ptr<AuditorStore>(new AuditorStore(std::move(db)));
}

AuditorStore::AuditorStore(std::unique_ptr<rocksdb::DB> db)
    : db_(std::move(db)), index_(new StoreIndexReader(db_.get())) {}

AuditorStore::~AuditorStore() {
  index_.reset();
  if (db_ != nullptr) db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::optional<std::string>> AuditorStore::Get(
    const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocksDb(s, "reading the auditor state"));
  return std::optional<std::string>(std::move(value));
}

absl::Status AuditorStore::Put(const std::string& key,
                               const std::string& value) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocksDb(db_->Put(wo, key, value), "writing the auditor state");
}

absl::Status AuditorStore::BindLog(const std::string& log_key) {
  ASSIGN_OR_RETURN(std::optional<std::string> have, Get(kLogKey));
  if (!have.has_value()) return Put(kLogKey, log_key);
  if (*have != log_key) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this auditor state is for the log ", *have, ", not ", log_key));
  }
  return absl::OkStatus();
}

absl::StatusOr<AuditorProgress> AuditorStore::ReadProgress() {
  AuditorProgress p;
  ASSIGN_OR_RETURN(std::optional<std::string> range, Get(kRangeKey));
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
  ASSIGN_OR_RETURN(std::optional<std::string> verified, Get(kVerifiedKey));
  if (verified.has_value()) p.verified_note = *verified;
  ASSIGN_OR_RETURN(std::optional<std::string> target, Get(kTargetKey));
  if (target.has_value()) p.target_note = *target;
  ASSIGN_OR_RETURN(std::optional<std::string> unsubmitted,
                   Get(kUnsubmittedKey));
  if (unsubmitted.has_value()) p.unsubmitted_note = *unsubmitted;
  return p;
}

absl::StatusOr<std::optional<AccountState>> AuditorStore::ReadAccount(
    const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<std::string> v, Get(AccountKey(id)));
  if (!v.has_value()) return std::optional<AccountState>();
  absl::StatusOr<AccountState> state = DecodeAccountState(*v);
  if (!state.ok()) return absl::DataLossError("stored account is malformed");
  return std::optional<AccountState>(*std::move(state));
}

absl::Status AuditorStore::Commit(const AuditorCommit& c) {
  rocksdb::WriteBatch wb;
  std::string range;
  AppendBigEndian(c.progress.range.size(), 8, &range);
  for (const Hash& h : c.progress.range.hashes()) {
    range.append(h.view().data(), Hash::kSize);
  }
  wb.Put(kRangeKey, range);
  wb.Put(kVerifiedKey, c.progress.verified_note);
  wb.Put(kTargetKey, c.progress.target_note);
  wb.Put(kUnsubmittedKey, c.progress.unsubmitted_note);
  for (const auto& [id, state] : c.accounts)
    wb.Put(AccountKey(id), state.Encode());
  for (const auto& [path, node] : c.index_nodes) {
    wb.Put(NodeKey(path), node.Encode());
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocksDb(db_->Write(wo, &wb), "committing the auditor state");
}

absl::Status AuditorStore::MarkSubmitted() { return Put(kUnsubmittedKey, ""); }

absl::StatusOr<std::optional<std::string>> AuditorStore::ReadFailure() {
  return Get(kFailureKey);
}

absl::Status AuditorStore::WriteFailure(const std::string& evidence) {
  return Put(kFailureKey, evidence);
}

absl::Status AuditorStore::ClearFailure() {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocksDb(db_->Delete(wo, kFailureKey), "clearing the failure");
}

}  // namespace ktlog
