#include "verifier/transport_log.h"

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"
#include "proto/convert.h"
#include "proto/ktlog.pb.h"

namespace ktlog {

absl::Status TransportLog::Call(const std::string& method,
                                const google::protobuf::Message& request,
                                google::protobuf::Message* response) {
  ASSIGN_OR_RETURN(std::string bytes,
                   call_(method, request.SerializeAsString()));
  if (!response->ParseFromString(bytes)) {
    // UNKNOWN, not INVALID_ARGUMENT: for a write it may have been appended,
    // and no refusal by the log is to be read into it.
    return absl::UnknownError(
        absl::StrCat("the log's answer to ", method, " does not parse"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TransportLog::GetCheckpoint(
    uint32_t min_cosignatures, const std::vector<std::string>& witnesses) {
  v1::GetCheckpointRequest req;
  req.set_min_cosignatures(min_cosignatures);
  for (const std::string& w : witnesses) req.add_witnesses(w);
  v1::SignedCheckpoint resp;
  RETURN_IF_ERROR(Call("GetCheckpoint", req, &resp));
  return resp.note();
}

absl::StatusOr<std::vector<Hash>> TransportLog::GetConsistencyProof(
    uint64_t size1, uint64_t size2) {
  v1::GetConsistencyProofRequest req;
  req.set_size1(size1);
  req.set_size2(size2);
  v1::ConsistencyProof resp;
  RETURN_IF_ERROR(Call("GetConsistencyProof", req, &resp));
  return HashesFromProto(resp.hashes(), "consistency proof");
}

absl::StatusOr<AccountLookupAnswer> TransportLog::LookupAccount(
    const std::string& account_id, uint64_t tree_size, bool with_first_record) {
  v1::LookupAccountRequest req;
  req.set_account_id(account_id);
  req.set_tree_size(tree_size);
  req.set_with_first_record(with_first_record);
  v1::AccountLookup resp;
  RETURN_IF_ERROR(Call("LookupAccount", req, &resp));
  return FromProto(resp);
}

std::vector<absl::StatusOr<AccountLookupAnswer>> TransportLog::LookupAccounts(
    const std::vector<LookupAsk>& asks, uint64_t tree_size) {
  return LookUpInCalls(
      asks, tree_size,
      [this](const v1::LookupAccountsRequest& req, v1::AccountLookups* resp) {
        return Call("LookupAccounts", req, resp);
      });
}

absl::StatusOr<AccountHistoryAnswer> TransportLog::GetAccountHistory(
    const std::string& account_id, uint64_t from_version, uint64_t tree_size,
    const OwnerProof& owner) {
  v1::GetAccountHistoryRequest req;
  req.set_account_id(account_id);
  req.set_from_version(from_version);
  req.set_tree_size(tree_size);
  ToProto(owner, req.mutable_owner());
  v1::AccountHistory resp;
  RETURN_IF_ERROR(Call("GetAccountHistory", req, &resp));
  return FromProto(resp);
}

absl::StatusOr<LogSink::Appended> TransportLog::Append(
    Operation operation, const std::string& record,
    const std::string& credential) {
  v1::WriteRequest req;
  req.set_record(record);
  req.set_registration_credential(credential);
  req.set_wait_for_checkpoint(true);
  const char* method =
      operation == Operation::kRemoveDevice       ? "RemoveDevice"
      : operation == Operation::kRotateAccountKey ? "RotateAccountKey"
      : operation == Operation::kSetSecurityKeys  ? "SetSecurityKeys"
      : operation == Operation::kResetAccount     ? "ResetAccount"
      : operation == Operation::kRecordBackup     ? "RecordBackup"
                                                  : "AddDevice";
  v1::WriteResponse resp;
  RETURN_IF_ERROR(Call(method, req, &resp));
  ASSIGN_OR_RETURN(WriteAnswer answer, FromProto(resp, /*waited=*/true));
  return Appended{answer.leaf_index, answer.leaf_hash};
}

absl::Status TransportLog::PutBackup(const std::string& sealed,
                                     uint64_t record_version) {
  v1::PutBackupRequest req;
  req.set_sealed(sealed);
  req.set_record_version(record_version);
  v1::PutBackupResponse resp;
  return Call("PutBackup", req, &resp);
}

absl::StatusOr<FetchedBackup> TransportLog::GetBackup(
    const std::string& account_id, const std::string& credential) {
  v1::GetBackupRequest req;
  req.set_account_id(account_id);
  req.set_credential(credential);
  v1::Backup resp;
  RETURN_IF_ERROR(Call("GetBackup", req, &resp));
  return FetchedBackup{std::move(*resp.mutable_sealed()),
                       resp.record_version()};
}

absl::Status TransportLog::DeleteBackup(const std::string& account_id,
                                        uint64_t record_version) {
  v1::DeleteBackupRequest req;
  req.set_account_id(account_id);
  req.set_record_version(record_version);
  v1::DeleteBackupResponse resp;
  return Call("DeleteBackup", req, &resp);
}

}  // namespace ktlog
