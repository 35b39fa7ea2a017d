// The one mapping between the ktlog.v1 messages and their core types
// (core/account/answers.h, hashes), used by the server (log/service.cc) and
// the client library (client/log_client.cc). FromProto checks the shape of
// what a peer sent (32-byte hashes) and answers INVALID_ARGUMENT naming the
// field; it verifies nothing else.
#ifndef KTLOG_PROTO_CONVERT_H_
#define KTLOG_PROTO_CONVERT_H_

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

}  // namespace ktlog

#endif  // KTLOG_PROTO_CONVERT_H_
