#include "log/service.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"
#include "proto/convert.h"
#include "proto/status.h"

namespace ktlog {
namespace {

// How long a client should wait before trying again a call refused because
// the server is shutting down.
constexpr int64_t kShutdownPushbackMs = 2000;

absl::Time DeadlineOf(grpc::ServerContext* ctx, absl::Duration fallback) {
  return std::min(absl::FromChrono(ctx->deadline()), absl::Now() + fallback);
}

// A request's tree size; unset means the latest checkpoint.
template <class Request>
std::optional<uint64_t> TreeSizeOf(const Request& req) {
  if (!req.has_tree_size()) return std::nullopt;
  return req.tree_size();
}

}  // namespace

LogService::LogService(LogWrites* writes, LogQueries* queries,
                       const CheckpointPublisher* publisher,
                       Cosignatures* cosignatures,
                       const ServiceOptions& options)
    : writes_(writes),
      queries_(queries),
      publisher_(publisher),
      cosignatures_(cosignatures),
      options_(options),
      lookups_(options.lookup_limit, options.limiter_clock),
      writes_limit_(options.write_limit, options.limiter_clock) {}

absl::Status LogService::Admit(grpc::ServerContext* ctx, RateLimiter* limiter,
                               absl::string_view what, size_t n) {
  absl::Duration wait;
  if (limiter->Take(PeerAddress(ctx->peer()), n, &wait)) {
    return absl::OkStatus();
  }
  const RateLimit& limit = limiter->limit();
  if (wait == absl::InfiniteDuration()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "a call of ", n, " ", what,
        " is more than one address may make at "
        "once (bursts of ",
        limit.burst, "): send at most ", limit.burst, " per call"));
  }
  int64_t ms = absl::ToInt64Milliseconds(wait);
  ctx->AddTrailingMetadata("grpc-retry-pushback-ms", absl::StrCat(ms));
  return absl::ResourceExhaustedError(
      absl::StrCat("rate limit: at most ", std::llround(limit.per_second * 60),
                   " ", what, " per minute from one address (bursts of ",
                   limit.burst, "); retry in ", ms, " ms"));
}

void LogService::BeginShutdown() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool LogService::draining() {
  absl::MutexLock lock(&mu_);
  return draining_;
}

grpc::Status LogService::Serve(grpc::ServerContext* ctx,
                               absl::FunctionRef<absl::Status()> handler) {
  if (draining()) {
    // Clients that honour the pushback stop sending while the server
    // drains, so that it can close with no call received and not yet
    // dispatched (gRPC 1.51 answers those CANCELLED: grpc/grpc#41785).
    ctx->AddTrailingMetadata("grpc-retry-pushback-ms",
                             absl::StrCat(kShutdownPushbackMs));
    return ToGrpcStatus(absl::UnavailableError(
        "the log server is shutting down; try again later"));
  }
  return ToGrpcStatus(handler());
}

grpc::Status LogService::Write(grpc::ServerContext* ctx,
                               const v1::WriteRequest& req, Operation expected,
                               v1::WriteResponse* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(Admit(ctx, &writes_limit_, "writes"));
    ASSIGN_OR_RETURN(
        WriteAnswer w,
        writes_->Append(req.record(), expected, req.registration_credential(),
                        req.wait_for_checkpoint(),
                        DeadlineOf(ctx, options_.default_write_timeout)));
    resp->set_leaf_index(w.leaf_index);
    resp->set_leaf_hash(w.leaf_hash.bytes());
    if (!w.checkpoint_note.empty()) {
      resp->mutable_checkpoint()->set_note(w.checkpoint_note);
    }
    return absl::OkStatus();
  });
}

grpc::Status LogService::AddDevice(grpc::ServerContext* ctx,
                                   const v1::WriteRequest* req,
                                   v1::WriteResponse* resp) {
  return Write(ctx, *req, Operation::kAddDevice, resp);
}

grpc::Status LogService::RemoveDevice(grpc::ServerContext* ctx,
                                      const v1::WriteRequest* req,
                                      v1::WriteResponse* resp) {
  return Write(ctx, *req, Operation::kRemoveDevice, resp);
}

grpc::Status LogService::RotateAccountKey(grpc::ServerContext* ctx,
                                          const v1::WriteRequest* req,
                                          v1::WriteResponse* resp) {
  return Write(ctx, *req, Operation::kRotateAccountKey, resp);
}

grpc::Status LogService::AppendRecords(grpc::ServerContext* ctx,
                                       const v1::AppendRecordsRequest* req,
                                       v1::AppendRecordsResponse* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    std::vector<RecordToAppend> records;
    records.reserve(req->records_size());
    for (const v1::AppendRecordsRequest::Record& r : req->records()) {
      records.push_back(
          RecordToAppend{r.record(), r.registration_credential()});
    }
    RETURN_IF_ERROR(CheckRecordCount(records.size()));
    RETURN_IF_ERROR(Admit(ctx, &writes_limit_, "writes", records.size()));
    // Stop waiting a little before the client does, so that the outcomes of
    // the records that made it reach the client.
    absl::Time deadline = DeadlineOf(ctx, options_.default_write_timeout);
    deadline -= std::min(absl::Seconds(1), (deadline - absl::Now()) / 10);
    ASSIGN_OR_RETURN(
        AppendAllAnswer all,
        writes_->AppendAll(records, req->wait_for_checkpoint(), deadline));
    for (const absl::StatusOr<AppendedLeaf>& o : all.outcomes) {
      v1::AppendRecordsResponse::Outcome* out = resp->add_outcomes();
      out->set_code(static_cast<int32_t>(o.status().code()));
      if (o.ok()) {
        out->set_leaf_index(o->leaf_index);
        out->set_leaf_hash(o->leaf_hash.bytes());
      } else {
        out->set_message(std::string(o.status().message()));
      }
    }
    if (!all.checkpoint_note.empty()) {
      resp->mutable_checkpoint()->set_note(all.checkpoint_note);
    }
    return absl::OkStatus();
  });
}

grpc::Status LogService::GetCheckpoint(grpc::ServerContext* ctx,
                                       const v1::GetCheckpointRequest* req,
                                       v1::SignedCheckpoint* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    if (req->min_cosignatures() > 0) {
      std::vector<std::string> witnesses(req->witnesses().begin(),
                                         req->witnesses().end());
      ASSIGN_OR_RETURN(
          *resp->mutable_note(),
          cosignatures_->GetNewest(req->min_cosignatures(), witnesses));
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const PublishedCheckpoint> cp,
                     queries_->Latest());
    resp->set_note(cp->note);
    return absl::OkStatus();
  });
}

grpc::Status LogService::GetCheckpointToCosign(
    grpc::ServerContext* ctx, const v1::GetCheckpointToCosignRequest*,
    v1::SignedCheckpoint* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_note(), cosignatures_->ToCosign());
    return absl::OkStatus();
  });
}

grpc::Status LogService::GetConsistencyProof(
    grpc::ServerContext* ctx, const v1::GetConsistencyProofRequest* req,
    v1::ConsistencyProof* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Hash> proof,
                     queries_->ConsistencyProof(req->size1(), req->size2()));
    HashesToProto(proof, resp->mutable_hashes());
    return absl::OkStatus();
  });
}

grpc::Status LogService::GetInclusionProof(
    grpc::ServerContext* ctx, const v1::GetInclusionProofRequest* req,
    v1::InclusionProof* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(
        InclusionAnswer proof,
        queries_->InclusionProof(req->leaf_index(), req->tree_size()));
    ToProto(proof, resp);
    return absl::OkStatus();
  });
}

grpc::Status LogService::GetInclusionProofByHash(
    grpc::ServerContext* ctx, const v1::GetInclusionProofByHashRequest* req,
    v1::InclusionProof* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    absl::StatusOr<Hash> hash = Hash::FromBytes(req->leaf_hash());
    if (!hash.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("leaf_hash: ", hash.status().message()));
    }
    ASSIGN_OR_RETURN(InclusionAnswer proof,
                     queries_->InclusionProofByHash(*hash, req->tree_size()));
    ToProto(proof, resp);
    return absl::OkStatus();
  });
}

grpc::Status LogService::GetEntries(grpc::ServerContext* ctx,
                                    const v1::GetEntriesRequest* req,
                                    v1::GetEntriesResponse* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<std::string> leaves,
                     queries_->Entries(req->begin(), req->end()));
    for (std::string& l : leaves) resp->add_leaves(std::move(l));
    return absl::OkStatus();
  });
}

absl::Status LogService::Watch(
    grpc::ServerContext* ctx,
    grpc::ServerWriter<v1::SignedCheckpoint>* writer) {
  const std::string peer = PeerAddress(ctx->peer());
  {
    absl::MutexLock lock(&watchers_mu_);
    int& mine = watchers_by_peer_[peer];
    if (mine >= options_.max_watchers_per_peer) {
      if (mine == 0) watchers_by_peer_.erase(peer);
      return absl::ResourceExhaustedError(
          absl::StrCat("too many checkpoint watchers from this address (",
                       options_.max_watchers_per_peer,
                       "); poll GetCheckpoint instead or retry later"));
    }
    ++mine;
  }
  auto release = [&] {
    absl::MutexLock lock(&watchers_mu_);
    if (--watchers_by_peer_[peer] <= 0) watchers_by_peer_.erase(peer);
  };
  if (watchers_.fetch_add(1) >= options_.max_watchers) {
    watchers_.fetch_sub(1);
    release();
    return absl::ResourceExhaustedError(
        absl::StrCat("too many checkpoint watchers (", options_.max_watchers,
                     "); poll GetCheckpoint instead or retry later"));
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
  release();
  return absl::OkStatus();
}

grpc::Status LogService::WatchCheckpoints(
    grpc::ServerContext* ctx, const v1::WatchCheckpointsRequest*,
    grpc::ServerWriter<v1::SignedCheckpoint>* writer) {
  return Serve(ctx, [&] { return Watch(ctx, writer); });
}

grpc::Status LogService::LookupAccount(grpc::ServerContext* ctx,
                                       const v1::LookupAccountRequest* req,
                                       v1::AccountLookup* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(Admit(ctx, &lookups_, "lookups"));
    ASSIGN_OR_RETURN(AccountLookupAnswer answer,
                     queries_->Lookup(req->account_id(), TreeSizeOf(*req),
                                      req->with_first_record()));
    ToProto(answer, resp);
    return absl::OkStatus();
  });
}

grpc::Status LogService::GetAccountHistory(
    grpc::ServerContext* ctx, const v1::GetAccountHistoryRequest* req,
    v1::AccountHistory* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(Admit(ctx, &lookups_, "lookups"));
    ASSIGN_OR_RETURN(AccountHistoryAnswer answer,
                     queries_->History(req->account_id(), req->from_version(),
                                       TreeSizeOf(*req)));
    ToProto(answer, resp);
    return absl::OkStatus();
  });
}

grpc::Status LogService::AddCosignature(grpc::ServerContext* ctx,
                                        const v1::AddCosignatureRequest* req,
                                        v1::AddCosignatureResponse* resp) {
  return Serve(ctx, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(uint32_t n, cosignatures_->Add(req->note()));
    resp->set_cosignatures(n);
    return absl::OkStatus();
  });
}

}  // namespace ktlog
