// Test-only: a misbehaving log. A real gRPC server on 127.0.0.1:0 that
// speaks ktlog.v1.Log by forwarding every call to a real upstream log, and
// lets a test tamper with the answers or switch upstreams (to show
// different clients different histories under one key).
#ifndef KTLOG_TESTS_TAMPERING_PROXY_H_
#define KTLOG_TESTS_TAMPERING_PROXY_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/support/status.h"
#include "proto/ktlog.grpc.pb.h"

namespace grpc {
class Server;
}

namespace ktlog {

class TamperingProxy : public v1::Log::Service {
 public:
  // Starts serving; forwards to `upstream` (host:port).
  static std::unique_ptr<TamperingProxy> Start(const std::string& upstream);
  ~TamperingProxy() override;

  std::string address() const;
  void SetUpstream(const std::string& upstream);

  // Hooks run on each answer before it is sent (unset: pass through).
  void OnCheckpoint(std::function<void(v1::SignedCheckpoint*)> f);
  void OnConsistencyProof(std::function<void(v1::ConsistencyProof*)> f);
  void OnInclusionProof(std::function<void(v1::InclusionProof*)> f);
  void OnLookup(std::function<void(v1::AccountLookup*)> f);
  void OnHistory(std::function<void(v1::AccountHistory*)> f);
  void OnEntries(std::function<void(v1::GetEntriesResponse*)> f);
  void OnBackup(std::function<void(v1::Backup*)> f);
  // Answers every GetAccountHistory with `refusal` (OK: forward again).
  void RefuseHistories(grpc::Status refusal);
  // Answers every RecordBackup with `refusal` (OK: forward again).
  void RefuseBackupRecords(grpc::Status refusal);

  grpc::Status AddDevice(grpc::ServerContext*, const v1::WriteRequest*,
                         v1::WriteResponse*) override;
  grpc::Status RemoveDevice(grpc::ServerContext*, const v1::WriteRequest*,
                            v1::WriteResponse*) override;
  // Forwarded; PutBackup is not (UNIMPLEMENTED: an upload that never
  // arrives).
  grpc::Status RecordBackup(grpc::ServerContext*, const v1::WriteRequest*,
                            v1::WriteResponse*) override;
  grpc::Status RotateAccountKey(grpc::ServerContext*, const v1::WriteRequest*,
                                v1::WriteResponse*) override;
  grpc::Status GetCheckpoint(grpc::ServerContext*,
                             const v1::GetCheckpointRequest*,
                             v1::SignedCheckpoint*) override;
  grpc::Status GetConsistencyProof(grpc::ServerContext*,
                                   const v1::GetConsistencyProofRequest*,
                                   v1::ConsistencyProof*) override;
  grpc::Status GetInclusionProof(grpc::ServerContext*,
                                 const v1::GetInclusionProofRequest*,
                                 v1::InclusionProof*) override;
  grpc::Status GetInclusionProofByHash(
      grpc::ServerContext*, const v1::GetInclusionProofByHashRequest*,
      v1::InclusionProof*) override;
  grpc::Status GetEntries(grpc::ServerContext*, const v1::GetEntriesRequest*,
                          v1::GetEntriesResponse*) override;
  grpc::Status LookupAccount(grpc::ServerContext*,
                             const v1::LookupAccountRequest*,
                             v1::AccountLookup*) override;
  grpc::Status GetAccountHistory(grpc::ServerContext*,
                                 const v1::GetAccountHistoryRequest*,
                                 v1::AccountHistory*) override;
  grpc::Status GetBackup(grpc::ServerContext*, const v1::GetBackupRequest*,
                         v1::Backup*) override;

 private:
  TamperingProxy() = default;
  std::shared_ptr<v1::Log::Stub> Stub();

  mutable absl::Mutex mu_;
  std::shared_ptr<v1::Log::Stub> stub_ ABSL_GUARDED_BY(mu_);
  std::function<void(v1::SignedCheckpoint*)> on_checkpoint_
      ABSL_GUARDED_BY(mu_);
  std::function<void(v1::ConsistencyProof*)> on_consistency_
      ABSL_GUARDED_BY(mu_);
  std::function<void(v1::InclusionProof*)> on_inclusion_ ABSL_GUARDED_BY(mu_);
  std::function<void(v1::AccountLookup*)> on_lookup_ ABSL_GUARDED_BY(mu_);
  std::function<void(v1::AccountHistory*)> on_history_ ABSL_GUARDED_BY(mu_);
  std::function<void(v1::Backup*)> on_backup_ ABSL_GUARDED_BY(mu_);
  std::function<void(v1::GetEntriesResponse*)> on_entries_ ABSL_GUARDED_BY(mu_);
  grpc::Status history_refusal_ ABSL_GUARDED_BY(mu_);
  grpc::Status backup_record_refusal_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace ktlog

#endif  // KTLOG_TESTS_TAMPERING_PROXY_H_
