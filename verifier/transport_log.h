// TransportLog: the log as a LogSource and LogSink over any transport that
// makes one unary call of the ktlog.v1.Log service with serialized protobuf
// messages: an app's own gRPC stack, also in another language through the
// C API (verifier/c/ktlog_client.h). It builds the requests and checks the
// shape of the answers (proto/convert.h) as LogClient does over gRPC; it
// trusts nothing else: verifying them is the verifier's job.
#ifndef KTLOG_VERIFIER_TRANSPORT_LOG_H_
#define KTLOG_VERIFIER_TRANSPORT_LOG_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "verifier/log_source.h"

namespace ktlog {

class TransportLog : public LogSource, public LogSink, public BackupProvider {
 public:
  // One call: `method` is the RPC's name in ktlog.v1.Log ("LookupAccount"),
  // `request` the serialized request. Returns the serialized response, or
  // the call's status (its gRPC code and message).
  using UnaryCall = std::function<absl::StatusOr<std::string>(
      const std::string& method, const std::string& request)>;

  explicit TransportLog(UnaryCall call) : call_(std::move(call)) {}

  absl::StatusOr<std::string> GetCheckpoint(
      uint32_t min_cosignatures,
      const std::vector<std::string>& witnesses) override;
  absl::StatusOr<std::vector<Hash>> GetConsistencyProof(
      uint64_t size1, uint64_t size2) override;
  absl::StatusOr<AccountLookupAnswer> LookupAccount(
      const std::string& account_id, uint64_t tree_size,
      bool with_first_record) override;
  absl::StatusOr<AccountHistoryAnswer> GetAccountHistory(
      const std::string& account_id, uint64_t from_version, uint64_t tree_size,
      const OwnerProof& owner) override;
  // In LookupAccounts calls (proto/convert.h, LookUpInCalls).
  std::vector<absl::StatusOr<AccountLookupAnswer>> LookupAccounts(
      const std::vector<LookupAsk>& asks, uint64_t tree_size) override;
  // AddDevice, RemoveDevice, RotateAccountKey, SetSecurityKeys or
  // ResetAccount by the operation, waiting
  // for a checkpoint that covers the record.
  absl::StatusOr<Appended> Append(Operation operation,
                                  const std::string& record,
                                  const std::string& credential) override;
  // PutBackup, GetBackup, DeleteBackup: the sealed bytes unchecked.
  absl::Status PutBackup(const std::string& sealed,
                         uint64_t record_version) override;
  absl::StatusOr<FetchedBackup> GetBackup(
      const std::string& account_id, const std::string& credential) override;
  absl::Status DeleteBackup(const std::string& account_id,
                            uint64_t record_version) override;

 private:
  // Calls `method` and parses its answer into `response` (INVALID_ARGUMENT
  // if it does not parse).
  absl::Status Call(const std::string& method,
                    const google::protobuf::Message& request,
                    google::protobuf::Message* response);

  UnaryCall call_;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_TRANSPORT_LOG_H_
