// The one adapter between absl::Status and grpc::Status. The canonical codes
// are the same numbers in both; messages pass through unchanged.
#ifndef KTLOG_PROTO_STATUS_H_
#define KTLOG_PROTO_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace ktlog {

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

}  // namespace ktlog

#endif  // KTLOG_PROTO_STATUS_H_
