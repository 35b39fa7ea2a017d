// LogClient: a typed client for the ktlog.v1.Log gRPC API. It converts
// transport errors into absl::Status with the server's code and message
// (UNAVAILABLE names the address when the log cannot be reached) and checks
// the shape of answers (32-byte hashes), but it trusts nothing: verifying
// checkpoints and proofs is the caller's job (core/, verifier/).
//
// Thread-safe.
#ifndef KTLOG_CLIENT_LOG_CLIENT_H_
#define KTLOG_CLIENT_LOG_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/account/answers.h"
#include "core/account/record.h"
#include "core/crypto/hash.h"
#include "grpcpp/security/credentials.h"
#include "proto/convert.h"
#include "proto/ktlog.grpc.pb.h"
#include "verifier/log_source.h"

namespace ktlog {

class LogClient : public LogSource, public LogSink, public BackupProvider {
 public:
  // A client for the log at `address` (host:port) over `credentials`
  // (proto/tls.h; null: plaintext). Does not connect until the first call.
  // Calls time out after `timeout`.
  static std::unique_ptr<LogClient> Create(
      const std::string& address, absl::Duration timeout = absl::Seconds(10),
      std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

  using WriteResult = WriteAnswer;  // proto/convert.h

  // AddDevice, RemoveDevice, RotateAccountKey, SetSecurityKeys,
  // ResetAccount or RecordBackup, chosen by the record's operation.
  // `record_bytes` is the canonical encoding; `registration_credential` is for
  // an account's first record on a log that requires one, or a reset's reset
  // credential (core/account/registration.h).
  absl::StatusOr<WriteResult> Write(
      Operation operation, const std::string& record_bytes,
      bool wait_for_checkpoint,
      const std::string& registration_credential = "");

  // LogSink: Write, waiting for a checkpoint that covers the record.
  absl::StatusOr<Appended> Append(Operation operation,
                                  const std::string& record,
                                  const std::string& credential) override;

  struct AppendRecordsResult {
    // One per record, in order: where it was appended (checkpoint_note
    // empty), or the status the log refused it with.
    std::vector<absl::StatusOr<WriteResult>> outcomes;
    // With wait_for_checkpoint: the first checkpoint that covers every
    // appended record, or "" if none did before the log's deadline.
    std::string checkpoint_note;
  };

  // AppendRecords: up to kMaxRecordsPerAppend records of any operations in
  // one call (for a front end writing for many accounts). `credentials`,
  // if not empty, has one registration credential (or "") per record.
  // INVALID_ARGUMENT if the answer does not have one well-formed outcome
  // per record.
  absl::StatusOr<AppendRecordsResult> AppendRecords(
      const std::vector<std::string>& records, bool wait_for_checkpoint,
      const std::vector<std::string>& credentials = {});

  absl::StatusOr<std::string> GetCheckpoint(
      uint32_t min_cosignatures,
      const std::vector<std::string>& witnesses) override;
  // The same, counting every witness the log accepts.
  absl::StatusOr<std::string> GetCheckpoint(uint32_t min_cosignatures) {
    return GetCheckpoint(min_cosignatures, {});
  }
  // EraseAccount (docs/operations.md, "Erasure") with the operator's
  // erasure credential; the version of the account's erasure leaf.
  absl::StatusOr<uint64_t> EraseAccount(const std::string& account_id,
                                        const std::string& credential);
  // Trust backups (verifier/log_source.h; log/backups.h has the log's
  // rules). The sealed bytes are returned unchecked: the caller opens and
  // verifies them.
  absl::Status PutBackup(const std::string& sealed,
                         uint64_t record_version) override;
  absl::StatusOr<FetchedBackup> GetBackup(
      const std::string& account_id, const std::string& credential) override;
  absl::Status DeleteBackup(const std::string& account_id,
                            uint64_t record_version) override;
  // The checkpoint the log asks its witnesses to cosign now.
  absl::StatusOr<std::string> GetCheckpointToCosign();

  // Submits a witness cosignature (the log-signed note with the witness's
  // line added). Returns how many witnesses have cosigned it now.
  absl::StatusOr<uint32_t> AddCosignature(const std::string& note);

  absl::StatusOr<std::vector<Hash>> GetConsistencyProof(
      uint64_t size1, uint64_t size2) override;

  absl::StatusOr<InclusionAnswer> GetInclusionProof(uint64_t leaf_index,
                                                    uint64_t tree_size);
  absl::StatusOr<InclusionAnswer> GetInclusionProofByHash(const Hash& leaf_hash,
                                                          uint64_t tree_size);

  // Public leaves from `begin`; at most kMaxEntriesPerRequest, maybe fewer than
  // end - begin.
  absl::StatusOr<std::vector<std::string>> GetEntries(uint64_t begin,
                                                      uint64_t end);

  // Streams checkpoint notes to `on_checkpoint` until it returns false, the
  // stream ends or `deadline` passes.
  absl::Status WatchCheckpoints(
      const std::function<bool(const std::string& note)>& on_checkpoint,
      absl::Time deadline);

  // An account's device set (or absence) with its proofs, at the checkpoint
  // of `tree_size` (0 is the empty tree), with the first-record anchor if
  // asked.
  absl::StatusOr<AccountLookupAnswer> LookupAccount(
      const std::string& account_id, uint64_t tree_size,
      bool with_first_record) override;
  // The same at the latest checkpoint, whose note the answer carries.
  absl::StatusOr<AccountLookupAnswer> LookupAccountAtLatest(
      const std::string& account_id, bool with_first_record);
  // Many accounts at the checkpoint of `tree_size`, in LookupAccounts calls
  // of at most kMaxLookupsPerCall (proto/convert.h, LookUpInCalls).
  std::vector<absl::StatusOr<AccountLookupAnswer>> LookupAccounts(
      const std::vector<LookupAsk>& asks, uint64_t tree_size) override;

  // One page of an account's records from `from_version`, at the checkpoint
  // of `tree_size`, or at the latest (whose note the answer carries).
  absl::StatusOr<AccountHistoryAnswer> GetAccountHistory(
      const std::string& account_id, uint64_t from_version, uint64_t tree_size,
      const OwnerProof& owner) override;
  absl::StatusOr<AccountHistoryAnswer> GetAccountHistoryAtLatest(
      const std::string& account_id, uint64_t from_version,
      const OwnerProof& owner);

  const std::string& address() const { return address_; }
  v1::Log::Stub* stub() { return stub_.get(); }

 private:
  LogClient(std::string address, absl::Duration timeout,
            std::unique_ptr<v1::Log::Stub> stub);
  void SetDeadline(grpc::ClientContext* ctx) const;
  // One unary call with the client's deadline; the status converted.
  // One call within the timeout. A RESOURCE_EXHAUSTED that says when to
  // retry (the server's rate limit: trailing metadata
  // "grpc-retry-pushback-ms") is retried after that wait while the timeout
  // allows; nothing else is retried.
  template <class Request, class Response>
  absl::Status Call(grpc::Status (v1::Log::Stub::*method)(grpc::ClientContext*,
                                                          const Request&,
                                                          Response*),
                    const Request& req, Response* resp) {
    absl::Time deadline = absl::Now() + timeout_;
    for (;;) {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(deadline));
      grpc::Status s = (stub_.get()->*method)(&ctx, req, resp);
      absl::Duration wait = PushbackOf(s, ctx);
      if (wait <= absl::ZeroDuration() || absl::Now() + wait >= deadline) {
        return Convert(s);
      }
      absl::SleepFor(wait);
    }
  }
  // The wait a RESOURCE_EXHAUSTED answer asks for (0: none).
  static absl::Duration PushbackOf(const grpc::Status& s,
                                   const grpc::ClientContext& ctx);
  absl::StatusOr<AccountLookupAnswer> Lookup(
      const v1::LookupAccountRequest& req);
  absl::StatusOr<AccountHistoryAnswer> History(
      const v1::GetAccountHistoryRequest& req);
  absl::Status Convert(const grpc::Status& s) const;

  std::string address_;
  absl::Duration timeout_;
  std::unique_ptr<v1::Log::Stub> stub_;
};

}  // namespace ktlog

#endif  // KTLOG_CLIENT_LOG_CLIENT_H_
