#include "tests/tampering_proxy.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"

namespace ktlog {
namespace {

// Forwards one unary call and applies `hook` to a successful answer.
template <typename Req, typename Resp, typename Call>
grpc::Status Forward(grpc::ServerContext* server_ctx, const Req* req,
                     Resp* resp, Call call,
                     const std::function<void(Resp*)>& hook) {
  grpc::ClientContext ctx;
  ctx.set_deadline(server_ctx->deadline());
  grpc::Status s = call(&ctx, *req, resp);
  if (s.ok() && hook) hook(resp);
  return s;
}

}  // namespace

std::unique_ptr<TamperingProxy> TamperingProxy::Start(
    const std::string& upstream) {
  std::unique_ptr<TamperingProxy> p(new TamperingProxy());
  p->SetUpstream(upstream);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &p->port_);
  builder.RegisterService(p.get());
  p->server_ = builder.BuildAndStart();
  return p;
}

TamperingProxy::~TamperingProxy() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
}

std::string TamperingProxy::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void TamperingProxy::SetUpstream(const std::string& upstream) {
  auto stub = std::shared_ptr<v1::Log::Stub>(v1::Log::NewStub(
      grpc::CreateChannel(upstream, grpc::InsecureChannelCredentials())));
  absl::MutexLock lock(&mu_);
  stub_ = std::move(stub);
}

std::shared_ptr<v1::Log::Stub> TamperingProxy::Stub() {
  absl::MutexLock lock(&mu_);
  return stub_;
}

#define KTLOG_HOOK_SETTER(Name, Type, member)               \
  void TamperingProxy::Name(std::function<void(Type*)> f) { \
    absl::MutexLock lock(&mu_);                             \
    member = std::move(f);                                  \
  }
KTLOG_HOOK_SETTER(OnCheckpoint, v1::SignedCheckpoint, on_checkpoint_)
KTLOG_HOOK_SETTER(OnConsistencyProof, v1::ConsistencyProof, on_consistency_)
KTLOG_HOOK_SETTER(OnInclusionProof, v1::InclusionProof, on_inclusion_)
KTLOG_HOOK_SETTER(OnLookup, v1::AccountLookup, on_lookup_)
KTLOG_HOOK_SETTER(OnHistory, v1::AccountHistory, on_history_)
KTLOG_HOOK_SETTER(OnBackup, v1::Backup, on_backup_)
KTLOG_HOOK_SETTER(OnEntries, v1::GetEntriesResponse, on_entries_)
#undef KTLOG_HOOK_SETTER

template <typename T>
static std::function<void(T*)> Copy(absl::Mutex* mu,
                                    const std::function<void(T*)>& f) {
  absl::MutexLock lock(mu);
  return f;
}

grpc::Status TamperingProxy::AddDevice(grpc::ServerContext* c,
                                       const v1::WriteRequest* r,
                                       v1::WriteResponse* o) {
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::WriteRequest& q,
          v1::WriteResponse* a) { return stub->AddDevice(x, q, a); },
      std::function<void(v1::WriteResponse*)>());
}

void TamperingProxy::RefuseBackupRecords(grpc::Status refusal) {
  absl::MutexLock lock(&mu_);
  backup_record_refusal_ = std::move(refusal);
}

grpc::Status TamperingProxy::RecordBackup(grpc::ServerContext* c,
                                          const v1::WriteRequest* r,
                                          v1::WriteResponse* o) {
  {
    absl::MutexLock lock(&mu_);
    if (!backup_record_refusal_.ok()) return backup_record_refusal_;
  }
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::WriteRequest& q,
          v1::WriteResponse* a) { return stub->RecordBackup(x, q, a); },
      std::function<void(v1::WriteResponse*)>());
}

grpc::Status TamperingProxy::RemoveDevice(grpc::ServerContext* c,
                                          const v1::WriteRequest* r,
                                          v1::WriteResponse* o) {
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::WriteRequest& q,
          v1::WriteResponse* a) { return stub->RemoveDevice(x, q, a); },
      std::function<void(v1::WriteResponse*)>());
}

grpc::Status TamperingProxy::RotateAccountKey(grpc::ServerContext* c,
                                              const v1::WriteRequest* r,
                                              v1::WriteResponse* o) {
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::WriteRequest& q,
          v1::WriteResponse* a) { return stub->RotateAccountKey(x, q, a); },
      std::function<void(v1::WriteResponse*)>());
}

grpc::Status TamperingProxy::GetCheckpoint(grpc::ServerContext* c,
                                           const v1::GetCheckpointRequest* r,
                                           v1::SignedCheckpoint* o) {
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::GetCheckpointRequest& q,
          v1::SignedCheckpoint* a) { return stub->GetCheckpoint(x, q, a); },
      Copy(&mu_, on_checkpoint_));
}

grpc::Status TamperingProxy::GetConsistencyProof(
    grpc::ServerContext* c, const v1::GetConsistencyProofRequest* r,
    v1::ConsistencyProof* o) {
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::GetConsistencyProofRequest& q,
          v1::ConsistencyProof* a) {
        return stub->GetConsistencyProof(x, q, a);
      },
      Copy(&mu_, on_consistency_));
}

grpc::Status TamperingProxy::GetInclusionProof(
    grpc::ServerContext* c, const v1::GetInclusionProofRequest* r,
    v1::InclusionProof* o) {
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::GetInclusionProofRequest& q,
          v1::InclusionProof* a) { return stub->GetInclusionProof(x, q, a); },
      Copy(&mu_, on_inclusion_));
}

grpc::Status TamperingProxy::GetInclusionProofByHash(
    grpc::ServerContext* c, const v1::GetInclusionProofByHashRequest* r,
    v1::InclusionProof* o) {
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::GetInclusionProofByHashRequest& q,
          v1::InclusionProof* a) {
        return stub->GetInclusionProofByHash(x, q, a);
      },
      Copy(&mu_, on_inclusion_));
}

grpc::Status TamperingProxy::GetEntries(grpc::ServerContext* c,
                                        const v1::GetEntriesRequest* r,
                                        v1::GetEntriesResponse* o) {
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::GetEntriesRequest& q,
          v1::GetEntriesResponse* a) { return stub->GetEntries(x, q, a); },
      Copy(&mu_, on_entries_));
}

grpc::Status TamperingProxy::LookupAccount(grpc::ServerContext* c,
                                           const v1::LookupAccountRequest* r,
                                           v1::AccountLookup* o) {
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::LookupAccountRequest& q,
          v1::AccountLookup* a) { return stub->LookupAccount(x, q, a); },
      Copy(&mu_, on_lookup_));
}

void TamperingProxy::RefuseHistories(grpc::Status refusal) {
  absl::MutexLock lock(&mu_);
  history_refusal_ = std::move(refusal);
}

grpc::Status TamperingProxy::GetAccountHistory(
    grpc::ServerContext* c, const v1::GetAccountHistoryRequest* r,
    v1::AccountHistory* o) {
  {
    absl::MutexLock lock(&mu_);
    if (!history_refusal_.ok()) return history_refusal_;
  }
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::GetAccountHistoryRequest& q,
          v1::AccountHistory* a) { return stub->GetAccountHistory(x, q, a); },
      Copy(&mu_, on_history_));
}

grpc::Status TamperingProxy::GetBackup(grpc::ServerContext* c,
                                       const v1::GetBackupRequest* r,
                                       v1::Backup* o) {
  auto stub = Stub();
  return Forward(
      c, r, o,
      [&](grpc::ClientContext* x, const v1::GetBackupRequest& q,
          v1::Backup* a) { return stub->GetBackup(x, q, a); },
      Copy(&mu_, on_backup_));
}

}  // namespace ktlog
