#include "log/service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/account/record.h"
#include "core/merkle/proof.h"
#include "core/note/cosignature.h"
#include "core/util/status_macros.h"
#include "proto/status.h"

namespace ktlog {
namespace {

absl::Time DeadlineOf(grpc::ServerContext* ctx, absl::Duration fallback) {
  absl::Time fallback_deadline = absl::Now() + fallback;
  absl::Time client = absl::FromChrono(ctx->deadline());
  return std::min(client, fallback_deadline);
}

// A request's tree size; unset means the latest checkpoint.
template <class Request>
std::optional<uint64_t> TreeSizeOf(const Request& req) {
  if (!req.has_tree_size()) return std::nullopt;
  return req.tree_size();
}

void AddHashes(const std::vector<Hash>& hashes,
               google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const Hash& h : hashes) out->Add(h.bytes());
}

}  // namespace

LogService::LogService(LogStorage* storage, Sequencer* sequencer,
                       CheckpointPublisher* publisher,
                       Cosignatures* cosignatures, const Clock* clock,
                       const ServiceOptions& options)
    : storage_(storage),
      sequencer_(sequencer),
      publisher_(publisher),
      cosignatures_(cosignatures),
      clock_(clock),
      options_(options) {}

LogService::Admission::Admission(LogService* service)
    : admitted_(!service->draining()) {}

grpc::Status LogService::Admission::status() const {
  return ToGrpcStatus(
      absl::UnavailableError("the log server is shutting down"));
}

void LogService::BeginShutdown() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool LogService::draining() {
  absl::MutexLock lock(&mu_);
  return draining_;
}

grpc::Status LogService::AddDevice(grpc::ServerContext* ctx,
                                   const v1::WriteRequest* req,
                                   v1::WriteResponse* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  return Write(ctx, *req, Operation::kAddDevice, resp);
}

grpc::Status LogService::RemoveDevice(grpc::ServerContext* ctx,
                                      const v1::WriteRequest* req,
                                      v1::WriteResponse* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  return Write(ctx, *req, Operation::kRemoveDevice, resp);
}

grpc::Status LogService::RotateAccountKey(grpc::ServerContext* ctx,
                                          const v1::WriteRequest* req,
                                          v1::WriteResponse* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  return Write(ctx, *req, Operation::kRotateAccountKey, resp);
}

grpc::Status LogService::Write(grpc::ServerContext* ctx,
                               const v1::WriteRequest& req, Operation expected,
                               v1::WriteResponse* resp) {
  if (req.record().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("record is empty"));
  }
  absl::StatusOr<DeviceRecord> record = DecodeRecord(req.record());
  if (!record.ok()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("malformed record: ", record.status().message())));
  }
  if (record->operation != expected) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("this call takes ", OperationName(expected),
                     " records, not ", OperationName(record->operation))));
  }
  absl::Status sig = record->VerifySignature();
  if (!sig.ok()) return ToGrpcStatus(sig);
  uint64_t now = clock_->NowMillis();
  uint64_t skew = absl::ToInt64Milliseconds(options_.max_record_skew);
  uint64_t ts = record->timestamp_ms;
  if (ts > now + skew || ts + skew < now) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        absl::StrCat("record timestamp ", ts, " is more than ",
                     absl::FormatDuration(options_.max_record_skew),
                     " away from the log's clock (", now,
                     "); check the device clock and sign a fresh record")));
  }
  absl::Time deadline = DeadlineOf(ctx, options_.default_write_timeout);
  absl::StatusOr<Sequencer::Appended> appended =
      sequencer_->Submit(*record, req.record(), deadline);
  if (!appended.ok()) return ToGrpcStatus(appended.status());
  resp->set_leaf_index(appended->leaf_index);
  resp->set_leaf_hash(appended->leaf_hash.bytes());
  if (req.wait_for_checkpoint()) {
    std::shared_ptr<const PublishedCheckpoint> cp =
        publisher_->WaitForSize(appended->leaf_index + 1, deadline);
    if (cp == nullptr || cp->checkpoint.size <= appended->leaf_index) {
      return ToGrpcStatus(absl::DeadlineExceededError(absl::StrCat(
          "the record is durable at leaf index ", appended->leaf_index,
          " but no checkpoint covered it before the deadline")));
    }
    resp->mutable_checkpoint()->set_note(cp->note);
  }
  return grpc::Status::OK;
}

absl::StatusOr<uint64_t> LogService::PublishedSize() const {
  std::shared_ptr<const PublishedCheckpoint> cp = publisher_->Latest();
  if (cp == nullptr) {
    return absl::UnavailableError("the log has not published a checkpoint yet");
  }
  return cp->checkpoint.size;
}

absl::Status LogService::CheckTreeSize(uint64_t tree_size,
                                       uint64_t published) const {
  if (tree_size > published) {
    return absl::OutOfRangeError(absl::StrCat(
        "tree size ", tree_size, " is beyond the latest checkpoint (size ",
        published, ")"));
  }
  return absl::OkStatus();
}

grpc::Status LogService::GetCheckpoint(grpc::ServerContext*,
                                       const v1::GetCheckpointRequest* req,
                                       v1::SignedCheckpoint* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  if (req->min_cosignatures() > 0) {
    std::vector<std::string> witnesses(req->witnesses().begin(),
                                       req->witnesses().end());
    absl::StatusOr<std::string> note =
        cosignatures_->GetNewest(req->min_cosignatures(), witnesses);
    if (!note.ok()) return ToGrpcStatus(note.status());
    resp->set_note(*note);
    return grpc::Status::OK;
  }
  std::shared_ptr<const PublishedCheckpoint> cp = publisher_->Latest();
  if (cp == nullptr) {
    return ToGrpcStatus(
        absl::UnavailableError("the log has not published a checkpoint yet"));
  }
  resp->set_note(cp->note);
  return grpc::Status::OK;
}

grpc::Status LogService::GetCheckpointToCosign(
    grpc::ServerContext*, const v1::GetCheckpointToCosignRequest*,
    v1::SignedCheckpoint* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  absl::StatusOr<std::string> note = cosignatures_->ToCosign();
  if (!note.ok()) return ToGrpcStatus(note.status());
  resp->set_note(*note);
  return grpc::Status::OK;
}

grpc::Status LogService::GetConsistencyProof(
    grpc::ServerContext*, const v1::GetConsistencyProofRequest* req,
    v1::ConsistencyProof* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  absl::StatusOr<uint64_t> published = PublishedSize();
  if (!published.ok()) return ToGrpcStatus(published.status());
  absl::Status s = CheckTreeSize(req->size2(), *published);
  if (!s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<ProofPlan> plan =
      ConsistencyProofPlan(req->size1(), req->size2());
  if (!plan.ok()) return ToGrpcStatus(plan.status());
  absl::StatusOr<std::vector<Hash>> proof = storage_->ReadProof(*plan);
  if (!proof.ok()) return ToGrpcStatus(proof.status());
  AddHashes(*proof, resp->mutable_hashes());
  return grpc::Status::OK;
}

absl::Status LogService::FillInclusionProof(uint64_t index, uint64_t tree_size,
                                            v1::InclusionProof* resp) {
  ASSIGN_OR_RETURN(uint64_t published, PublishedSize());
  RETURN_IF_ERROR(CheckTreeSize(tree_size, published));
  if (index >= tree_size) {
    return absl::OutOfRangeError(absl::StrCat(
        "leaf index ", index, " is not below tree size ", tree_size));
  }
  ASSIGN_OR_RETURN(ProofPlan plan, InclusionProofPlan(index, tree_size));
  ASSIGN_OR_RETURN(std::vector<Hash> proof, storage_->ReadProof(plan));
  resp->set_leaf_index(index);
  resp->set_tree_size(tree_size);
  AddHashes(proof, resp->mutable_hashes());
  return absl::OkStatus();
}

grpc::Status LogService::GetInclusionProof(
    grpc::ServerContext*, const v1::GetInclusionProofRequest* req,
    v1::InclusionProof* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  return ToGrpcStatus(
      FillInclusionProof(req->leaf_index(), req->tree_size(), resp));
}

grpc::Status LogService::GetInclusionProofByHash(
    grpc::ServerContext*, const v1::GetInclusionProofByHashRequest* req,
    v1::InclusionProof* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  absl::StatusOr<Hash> hash = Hash::FromBytes(req->leaf_hash());
  if (!hash.ok()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("leaf_hash: ", hash.status().message())));
  }
  absl::StatusOr<std::optional<uint64_t>> index =
      storage_->FindLeafIndex(*hash);
  if (!index.ok()) return ToGrpcStatus(index.status());
  if (!index->has_value() || **index >= req->tree_size()) {
    absl::StatusOr<uint64_t> published = PublishedSize();
    if (published.ok() && req->tree_size() > *published) {
      return ToGrpcStatus(CheckTreeSize(req->tree_size(), *published));
    }
    return ToGrpcStatus(absl::NotFoundError(
        absl::StrCat("no leaf with hash ", hash->ToHex(),
                     " in the tree of size ", req->tree_size())));
  }
  return ToGrpcStatus(FillInclusionProof(**index, req->tree_size(), resp));
}

grpc::Status LogService::GetEntries(grpc::ServerContext*,
                                    const v1::GetEntriesRequest* req,
                                    v1::GetEntriesResponse* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  absl::StatusOr<uint64_t> published = PublishedSize();
  if (!published.ok()) return ToGrpcStatus(published.status());
  if (req->begin() >= req->end()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("empty range [", req->begin(), ", ", req->end(),
                     "): end must be greater than begin")));
  }
  if (req->begin() >= *published) {
    return ToGrpcStatus(absl::OutOfRangeError(absl::StrCat(
        "begin ", req->begin(), " is not below the latest checkpoint's size ",
        *published)));
  }
  uint64_t end =
      std::min({req->end(), *published, req->begin() + kMaxEntriesPerRequest});
  absl::StatusOr<std::vector<std::string>> records =
      storage_->ReadRecords(req->begin(), end);
  if (!records.ok()) return ToGrpcStatus(records.status());
  for (std::string& r : *records) resp->add_records(std::move(r));
  return grpc::Status::OK;
}

grpc::Status LogService::WatchCheckpoints(
    grpc::ServerContext* ctx, const v1::WatchCheckpointsRequest*,
    grpc::ServerWriter<v1::SignedCheckpoint>* writer) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  if (watchers_.fetch_add(1) >= options_.max_watchers) {
    watchers_.fetch_sub(1);
    return ToGrpcStatus(absl::ResourceExhaustedError(
        absl::StrCat("too many checkpoint watchers (", options_.max_watchers,
                     "); poll GetCheckpoint instead or retry later")));
  }
  uint64_t sent = 0;
  while (!ctx->IsCancelled() && !draining() && !publisher_->stopped()) {
    std::shared_ptr<const PublishedCheckpoint> cp =
        publisher_->WaitForNewer(sent, absl::Now() + absl::Milliseconds(250));
    if (cp == nullptr || cp->sequence <= sent) continue;
    v1::SignedCheckpoint msg;
    msg.set_note(cp->note);
    if (!writer->Write(msg)) break;
    sent = cp->sequence;
  }
  watchers_.fetch_sub(1);
  return grpc::Status::OK;
}

absl::StatusOr<uint64_t> LogService::ResolveTreeSize(
    std::optional<uint64_t> tree_size, std::string* note) const {
  std::shared_ptr<const PublishedCheckpoint> cp = publisher_->Latest();
  if (cp == nullptr) {
    return absl::UnavailableError("the log has not published a checkpoint yet");
  }
  if (!tree_size.has_value()) {
    *note = cp->note;
    return cp->checkpoint.size;
  }
  RETURN_IF_ERROR(CheckTreeSize(*tree_size, cp->checkpoint.size));
  RETURN_IF_ERROR(storage_->ReadIndexRoot(*tree_size).status());
  return *tree_size;
}

absl::Status LogService::ProveRecord(uint64_t leaf_index, uint64_t tree_size,
                                     v1::ProvedRecord* out) {
  ASSIGN_OR_RETURN(std::vector<std::string> records,
                   storage_->ReadRecords(leaf_index, leaf_index + 1));
  ASSIGN_OR_RETURN(ProofPlan plan, InclusionProofPlan(leaf_index, tree_size));
  ASSIGN_OR_RETURN(std::vector<Hash> proof, storage_->ReadProof(plan));
  out->set_leaf_index(leaf_index);
  out->set_record(std::move(records[0]));
  AddHashes(proof, out->mutable_inclusion_proof());
  return absl::OkStatus();
}

absl::Status LogService::Lookup(const v1::LookupAccountRequest& req,
                                v1::AccountLookup* resp) {
  RETURN_IF_ERROR(ValidateAccountId(req.account_id()));
  std::string note;
  ASSIGN_OR_RETURN(uint64_t size, ResolveTreeSize(TreeSizeOf(req), &note));
  if (!note.empty()) resp->mutable_checkpoint()->set_note(note);
  resp->set_tree_size(size);
  std::unique_ptr<IndexNodeReader> reader = storage_->IndexReaderAt(size);
  std::optional<Hash> value_hash;
  ASSIGN_OR_RETURN(
      IndexProof proof,
      ProveIndex(reader.get(), AccountIndexKey(req.account_id()), &value_hash));
  resp->set_index_proof(proof.Encode());
  if (!value_hash.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<AccountState> state,
                   storage_->ReadAccount(req.account_id(), size));
  if (!state.has_value() || AccountValueHash(*state) != *value_hash) {
    return absl::DataLossError(absl::StrCat("stored state of account \"",
                                            req.account_id(),
                                            "\" does not match the index"));
  }
  resp->set_account_state(state->Encode());
  uint64_t oldest = state->version;
  for (const auto& [id, device] : state->devices) {
    v1::ProvedRecord* d = resp->add_devices();
    RETURN_IF_ERROR(ProveRecord(device.leaf_index, size, d));
    absl::StatusOr<DeviceRecord> r = DecodeRecord(d->record());
    if (!r.ok()) return absl::DataLossError("stored record is malformed");
    oldest = std::min(oldest, r->account_version);
  }
  // The key chain back to the key that signed the oldest device record.
  ASSIGN_OR_RETURN(std::vector<HistoryEntry> keys,
                   storage_->ReadKeyRecords(req.account_id(), size, oldest,
                                            kMaxKeyRecordsPerLookup + 1));
  if (keys.size() > kMaxKeyRecordsPerLookup) {
    return absl::FailedPreconditionError(
        absl::StrCat("account \"", req.account_id(),
                     "\" rotated its key more than ", kMaxKeyRecordsPerLookup,
                     " times since its oldest device was added; verify it with "
                     "GetAccountHistory"));
  }
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    RETURN_IF_ERROR(ProveRecord(it->leaf_index, size, resp->add_key_records()));
  }
  return absl::OkStatus();
}

absl::Status LogService::History(const v1::GetAccountHistoryRequest& req,
                                 v1::AccountHistory* resp) {
  RETURN_IF_ERROR(ValidateAccountId(req.account_id()));
  if (req.from_version() == 0) {
    return absl::InvalidArgumentError("from_version starts at 1");
  }
  std::string note;
  ASSIGN_OR_RETURN(uint64_t size, ResolveTreeSize(TreeSizeOf(req), &note));
  if (!note.empty()) resp->mutable_checkpoint()->set_note(note);
  resp->set_tree_size(size);
  ASSIGN_OR_RETURN(std::optional<AccountState> state,
                   storage_->ReadAccount(req.account_id(), size));
  if (!state.has_value()) {
    return absl::NotFoundError(absl::StrCat("account \"", req.account_id(),
                                            "\" does not exist in the tree "
                                            "of size ",
                                            size));
  }
  ASSIGN_OR_RETURN(std::vector<HistoryEntry> entries,
                   storage_->ReadHistory(req.account_id(), req.from_version(),
                                         size, kMaxHistoryPerRequest));
  for (const HistoryEntry& e : entries) {
    RETURN_IF_ERROR(ProveRecord(e.leaf_index, size, resp->add_records()));
  }
  uint64_t last =
      entries.empty() ? req.from_version() - 1 : entries.back().version;
  resp->set_next_version(last < state->version && !entries.empty() ? last + 1
                                                                   : 0);
  return absl::OkStatus();
}

grpc::Status LogService::AddCosignature(grpc::ServerContext*,
                                        const v1::AddCosignatureRequest* req,
                                        v1::AddCosignatureResponse* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  absl::StatusOr<uint32_t> n = cosignatures_->Add(req->note());
  if (!n.ok()) return ToGrpcStatus(n.status());
  resp->set_cosignatures(*n);
  return grpc::Status::OK;
}

grpc::Status LogService::LookupAccount(grpc::ServerContext*,
                                       const v1::LookupAccountRequest* req,
                                       v1::AccountLookup* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  return ToGrpcStatus(Lookup(*req, resp));
}

grpc::Status LogService::GetAccountHistory(
    grpc::ServerContext*, const v1::GetAccountHistoryRequest* req,
    v1::AccountHistory* resp) {
  Admission admission(this);
  if (!admission.ok()) return admission.status();
  return ToGrpcStatus(History(*req, resp));
}

}  // namespace ktlog
