#include "client/log_client.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "proto/convert.h"
#include "proto/status.h"

namespace ktlog {

std::unique_ptr<LogClient> LogClient::Create(
    const std::string& address, absl::Duration timeout,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  auto channel = grpc::CreateCustomChannel(
      address,
      credentials != nullptr ? credentials : grpc::InsecureChannelCredentials(),
      args);
  return std::unique_ptr<LogClient>(
      new LogClient(address, timeout, v1::Log::NewStub(channel)));
}

LogClient::LogClient(std::string address, absl::Duration timeout,
                     std::unique_ptr<v1::Log::Stub> stub)
    : address_(std::move(address)), timeout_(timeout), stub_(std::move(stub)) {}

absl::Duration LogClient::PushbackOf(const grpc::Status& s,
                                     const grpc::ClientContext& ctx) {
  if (s.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) {
    return absl::ZeroDuration();
  }
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find("grpc-retry-pushback-ms");
  int64_t ms = 0;
  if (it == trailers.end() ||
      !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()),
                        &ms) ||
      ms <= 0) {
    return absl::ZeroDuration();
  }
  return absl::Milliseconds(ms);
}

void LogClient::SetDeadline(grpc::ClientContext* ctx) const {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
}

absl::Status LogClient::Convert(const grpc::Status& s) const {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::string lower = absl::AsciiStrToLower(s.error_message());
    if (absl::StrContains(lower, "certificate verify failed") ||
        absl::StrContains(lower, "certificate_verify_failed")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the TLS certificate of the log at ", address_,
          " is not trusted: pass --ca_file with the certificate of the CA "
          "that signed it, and reach the server by a name the certificate "
          "holds"));
    }
    if (absl::StrContains(lower, "handshake")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the TLS handshake with the log at ", address_,
          " failed (a server without TLS needs --plaintext; a certificate "
          "for another name needs the name it holds in --server): ",
          s.error_message()));
    }
    return absl::UnavailableError(absl::StrCat(
        "cannot reach the log at ", address_, ": ", s.error_message()));
  }
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError(
        absl::StrCat("the log at ", address_,
                     " did not answer in time: ", s.error_message()));
  }
  return FromGrpcStatus(s);
}

absl::StatusOr<LogClient::WriteResult> LogClient::Write(
    Operation operation, const std::string& record_bytes,
    bool wait_for_checkpoint, const std::string& registration_credential) {
  v1::WriteRequest req;
  req.set_record(record_bytes);
  req.set_registration_credential(registration_credential);
  req.set_wait_for_checkpoint(wait_for_checkpoint);
  v1::WriteResponse resp;
  auto method = &v1::Log::Stub::AddDevice;
  if (operation == Operation::kRemoveDevice) {
    method = &v1::Log::Stub::RemoveDevice;
  } else if (operation == Operation::kRotateAccountKey) {
    method = &v1::Log::Stub::RotateAccountKey;
  } else if (operation == Operation::kSetSecurityKeys) {
    method = &v1::Log::Stub::SetSecurityKeys;
  } else if (operation == Operation::kResetAccount) {
    method = &v1::Log::Stub::ResetAccount;
  } else if (operation == Operation::kRecordBackup) {
    method = &v1::Log::Stub::RecordBackup;
  }
  RETURN_IF_ERROR(Call(method, req, &resp));
  return FromProto(resp, wait_for_checkpoint);
}

absl::StatusOr<LogSink::Appended> LogClient::Append(
    Operation operation, const std::string& record,
    const std::string& credential) {
  ASSIGN_OR_RETURN(WriteResult w, Write(operation, record, true, credential));
  return Appended{w.leaf_index, w.leaf_hash};
}

absl::StatusOr<LogClient::AppendRecordsResult> LogClient::AppendRecords(
    const std::vector<std::string>& records, bool wait_for_checkpoint,
    const std::vector<std::string>& credentials) {
  if (!credentials.empty() && credentials.size() != records.size()) {
    return absl::InvalidArgumentError(
        "AppendRecords takes one registration credential per record, or "
        "none");
  }
  v1::AppendRecordsRequest req;
  for (size_t i = 0; i < records.size(); ++i) {
    v1::AppendRecordsRequest::Record* r = req.add_records();
    r->set_record(records[i]);
    if (!credentials.empty()) r->set_registration_credential(credentials[i]);
  }
  req.set_wait_for_checkpoint(wait_for_checkpoint);
  v1::AppendRecordsResponse resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::AppendRecords, req, &resp));
  if (static_cast<size_t>(resp.outcomes_size()) != records.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the log answered ", resp.outcomes_size(),
                     " outcomes for ", records.size(), " records"));
  }
  AppendRecordsResult out;
  for (int i = 0; i < resp.outcomes_size(); ++i) {
    const v1::AppendRecordsResponse::Outcome& o = resp.outcomes(i);
    ASSIGN_OR_RETURN(
        absl::Status status,
        StatusFromProto(o.code(), o.message(), absl::StrCat("record ", i)));
    if (!status.ok()) {
      out.outcomes.push_back(std::move(status));
      continue;
    }
    absl::StatusOr<Hash> leaf_hash = Hash::FromBytes(o.leaf_hash());
    if (!leaf_hash.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the log answered a malformed leaf hash for record ", i,
                       ": ", leaf_hash.status().message()));
    }
    out.outcomes.push_back(WriteResult{o.leaf_index(), *leaf_hash, ""});
  }
  out.checkpoint_note = resp.checkpoint().note();
  return out;
}

absl::StatusOr<std::string> LogClient::GetCheckpoint(
    uint32_t min_cosignatures, const std::vector<std::string>& witnesses) {
  v1::GetCheckpointRequest req;
  req.set_min_cosignatures(min_cosignatures);
  for (const std::string& w : witnesses) req.add_witnesses(w);
  v1::SignedCheckpoint resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::GetCheckpoint, req, &resp));
  return resp.note();
}

absl::StatusOr<std::string> LogClient::GetCheckpointToCosign() {
  v1::SignedCheckpoint resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::GetCheckpointToCosign,
                       v1::GetCheckpointToCosignRequest(), &resp));
  return resp.note();
}

absl::StatusOr<uint64_t> LogClient::EraseAccount(
    const std::string& account_id, const std::string& credential) {
  v1::EraseAccountRequest req;
  req.set_account_id(account_id);
  req.set_erasure_credential(credential);
  v1::EraseAccountResponse resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::EraseAccount, req, &resp));
  return resp.version();
}

absl::Status LogClient::PutBackup(const std::string& sealed,
                                  uint64_t record_version) {
  v1::PutBackupRequest req;
  req.set_sealed(sealed);
  req.set_record_version(record_version);
  v1::PutBackupResponse resp;
  return Call(&v1::Log::Stub::PutBackup, req, &resp);
}

absl::StatusOr<FetchedBackup> LogClient::GetBackup(
    const std::string& account_id, const std::string& credential) {
  v1::GetBackupRequest req;
  req.set_account_id(account_id);
  req.set_credential(credential);
  v1::Backup resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::GetBackup, req, &resp));
  return FetchedBackup{std::move(*resp.mutable_sealed()),
                       resp.record_version()};
}

absl::Status LogClient::DeleteBackup(const std::string& account_id,
                                     uint64_t record_version) {
  v1::DeleteBackupRequest req;
  req.set_account_id(account_id);
  req.set_record_version(record_version);
  v1::DeleteBackupResponse resp;
  return Call(&v1::Log::Stub::DeleteBackup, req, &resp);
}

absl::StatusOr<uint32_t> LogClient::AddCosignature(const std::string& note) {
  v1::AddCosignatureRequest req;
  req.set_note(note);
  v1::AddCosignatureResponse resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::AddCosignature, req, &resp));
  return resp.cosignatures();
}

absl::StatusOr<std::vector<Hash>> LogClient::GetConsistencyProof(
    uint64_t size1, uint64_t size2) {
  v1::GetConsistencyProofRequest req;
  req.set_size1(size1);
  req.set_size2(size2);
  v1::ConsistencyProof resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::GetConsistencyProof, req, &resp));
  return HashesFromProto(resp.hashes(), "consistency proof");
}

absl::StatusOr<InclusionAnswer> LogClient::GetInclusionProof(
    uint64_t leaf_index, uint64_t tree_size) {
  v1::GetInclusionProofRequest req;
  req.set_leaf_index(leaf_index);
  req.set_tree_size(tree_size);
  v1::InclusionProof resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::GetInclusionProof, req, &resp));
  return FromProto(resp);
}

absl::StatusOr<InclusionAnswer> LogClient::GetInclusionProofByHash(
    const Hash& leaf_hash, uint64_t tree_size) {
  v1::GetInclusionProofByHashRequest req;
  req.set_leaf_hash(leaf_hash.bytes());
  req.set_tree_size(tree_size);
  v1::InclusionProof resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::GetInclusionProofByHash, req, &resp));
  return FromProto(resp);
}

absl::StatusOr<std::vector<std::string>> LogClient::GetEntries(uint64_t begin,
                                                               uint64_t end) {
  v1::GetEntriesRequest req;
  req.set_begin(begin);
  req.set_end(end);
  v1::GetEntriesResponse resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::GetEntries, req, &resp));
  return std::vector<std::string>(resp.leaves().begin(), resp.leaves().end());
}

absl::StatusOr<AccountLookupAnswer> LogClient::Lookup(
    const v1::LookupAccountRequest& req) {
  v1::AccountLookup resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::LookupAccount, req, &resp));
  return FromProto(resp);
}

absl::StatusOr<AccountLookupAnswer> LogClient::LookupAccount(
    const std::string& account_id, uint64_t tree_size, bool with_first_record) {
  v1::LookupAccountRequest req;
  req.set_account_id(account_id);
  req.set_tree_size(tree_size);
  req.set_with_first_record(with_first_record);
  return Lookup(req);
}

absl::StatusOr<AccountLookupAnswer> LogClient::LookupAccountAtLatest(
    const std::string& account_id, bool with_first_record) {
  v1::LookupAccountRequest req;
  req.set_account_id(account_id);
  req.set_with_first_record(with_first_record);
  return Lookup(req);
}

std::vector<absl::StatusOr<AccountLookupAnswer>> LogClient::LookupAccounts(
    const std::vector<LookupAsk>& asks, uint64_t tree_size) {
  return LookUpInCalls(
      asks, tree_size,
      [this](const v1::LookupAccountsRequest& req, v1::AccountLookups* resp) {
        return Call(&v1::Log::Stub::LookupAccounts, req, resp);
      });
}

absl::StatusOr<AccountHistoryAnswer> LogClient::History(
    const v1::GetAccountHistoryRequest& req) {
  v1::AccountHistory resp;
  RETURN_IF_ERROR(Call(&v1::Log::Stub::GetAccountHistory, req, &resp));
  return FromProto(resp);
}

absl::StatusOr<AccountHistoryAnswer> LogClient::GetAccountHistory(
    const std::string& account_id, uint64_t from_version, uint64_t tree_size,
    const OwnerProof& owner) {
  v1::GetAccountHistoryRequest req;
  req.set_account_id(account_id);
  req.set_from_version(from_version);
  req.set_tree_size(tree_size);
  ToProto(owner, req.mutable_owner());
  return History(req);
}

absl::StatusOr<AccountHistoryAnswer> LogClient::GetAccountHistoryAtLatest(
    const std::string& account_id, uint64_t from_version,
    const OwnerProof& owner) {
  v1::GetAccountHistoryRequest req;
  req.set_account_id(account_id);
  req.set_from_version(from_version);
  ToProto(owner, req.mutable_owner());
  return History(req);
}

absl::Status LogClient::WatchCheckpoints(
    const std::function<bool(const std::string& note)>& on_checkpoint,
    absl::Time deadline) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(deadline));
  std::unique_ptr<grpc::ClientReader<v1::SignedCheckpoint>> reader =
      stub_->WatchCheckpoints(&ctx, v1::WatchCheckpointsRequest());
  v1::SignedCheckpoint msg;
  while (reader->Read(&msg)) {
    if (!on_checkpoint(msg.note())) {
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (s.error_code() == grpc::StatusCode::CANCELLED ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::OkStatus();
  }
  return Convert(s);
}

}  // namespace ktlog
