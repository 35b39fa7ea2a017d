// The one mapping between the ktlog.v1 messages and their core types
// (core/account/answers.h, hashes), used by the server (log/service.cc) and
// the client library (client/log_client.cc). FromProto checks the shape of
// what a peer sent (32-byte hashes) and answers INVALID_ARGUMENT naming the
// field; it verifies nothing else.
#ifndef KTLOG_PROTO_CONVERT_H_
#define KTLOG_PROTO_CONVERT_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/account/answers.h"
#include "core/account/owner_access.h"
#include "core/crypto/hash.h"
#include "proto/ktlog.pb.h"

namespace ktlog {

void HashesToProto(const std::vector<Hash>& hashes,
                   google::protobuf::RepeatedPtrField<std::string>* out);
absl::StatusOr<std::vector<Hash>> HashesFromProto(
    const google::protobuf::RepeatedPtrField<std::string>& hashes,
    absl::string_view what);

void ToProto(const InclusionAnswer& in, v1::InclusionProof* out);
absl::StatusOr<InclusionAnswer> FromProto(const v1::InclusionProof& in);

void ToProto(const AccountLookupAnswer& in, v1::AccountLookup* out);
absl::StatusOr<AccountLookupAnswer> FromProto(const v1::AccountLookup& in);

void ToProto(const AccountHistoryAnswer& in, v1::AccountHistory* out);
void ToProto(const OwnerProof& in, v1::OwnerProof* out);
absl::StatusOr<AccountHistoryAnswer> FromProto(const v1::AccountHistory& in);

// The answer to a write that asked to wait for a checkpoint (`waited`) or
// not. An answer the log never gives (a malformed leaf hash, no checkpoint
// when one was asked for) is UNKNOWN: the record may have been appended,
// and no code that reads as the log's refusal may be made of it.
absl::StatusOr<WriteAnswer> FromProto(const v1::WriteResponse& in, bool waited);

// The status one entry of a batched answer names (AppendRecords' outcomes,
// LookupAccounts' answers): its canonical code and message (OK for 0);
// INVALID_ARGUMENT naming `what` ("record 3") for a code that is no
// canonical one.
absl::StatusOr<absl::Status> StatusFromProto(int32_t code,
                                             const std::string& message,
                                             absl::string_view what);

// The answers to `asks` at `tree_size`, one per ask in order, through
// LookupAccounts calls of at most kMaxLookupsPerCall accounts each, made by
// `call` (which fills the response or returns the call's status). A call
// that fails gives its status to each account it asked for; an answer that
// is not one per account, or names no status code, is INVALID_ARGUMENT
// for each of them (so is an answer at another tree size, or one whose
// code and lookup disagree). Accounts answered ABORTED (the call's answer
// was full, kMaxLookupsAnswerBytes) or RESOURCE_EXHAUSTED (the rate limit
// admitted only some of the call's accounts) are asked again in the next
// call, unless their call answered none (then that is their answer).
// A lookup answer larger than kMaxLookupAnswerBytes is INVALID_ARGUMENT
// (FromProto), so a lying log cannot make the answers held here larger
// than an honest log's could be.
using LookupsCall = std::function<absl::Status(const v1::LookupAccountsRequest&,
                                               v1::AccountLookups*)>;
std::vector<absl::StatusOr<AccountLookupAnswer>> LookUpInCalls(
    const std::vector<LookupAsk>& asks, uint64_t tree_size,
    const LookupsCall& call);

}  // namespace ktlog

#endif  // KTLOG_PROTO_CONVERT_H_
