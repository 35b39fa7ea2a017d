// How a message that is not a valid protobuf encoding of its type is
// answered. gRPC's default is INTERNAL with an empty message, which blames
// the server for a client's bytes; here it is INVALID_ARGUMENT naming the
// type ("the message is not a valid protobuf encoding of
// ktlog.v1.LookupAccountRequest"). On a client the same applies to answers,
// which ktlog's verifier also calls INVALID_ARGUMENT (a malformed answer).
// Serialisation is unchanged.
//
// gRPC's generated handlers and stubs (de)serialise through
// SerializationTraits<protobuf::MessageLite> (their "reduced templating"), so
// that one specialisation covers every method. It is included by the
// generated ktlog.grpc.pb.h (grpc_cpp_plugin's additional_header_includes,
// bazel/proto.bzl), so every translation unit that instantiates a handler or
// stub sees it.
#ifndef KTLOG_PROTO_REQUEST_PARSING_H_
#define KTLOG_PROTO_REQUEST_PARSING_H_

#include "grpcpp/impl/codegen/proto_utils.h"

namespace grpc {

template <>
class SerializationTraits<protobuf::MessageLite, void> {
 public:
  static Status Serialize(const protobuf::MessageLite& msg, ByteBuffer* bb,
                          bool* own_buffer) {
    return GenericSerialize<ProtoBufferWriter, protobuf::MessageLite>(
        msg, bb, own_buffer);
  }
  static Status Deserialize(ByteBuffer* buffer, protobuf::MessageLite* msg) {
    Status s = GenericDeserialize<ProtoBufferReader, protobuf::MessageLite>(
        buffer, msg);
    if (s.ok() || buffer == nullptr) return s;
    return Status(StatusCode::INVALID_ARGUMENT,
                  "the message is not a valid protobuf encoding of " +
                      msg->GetTypeName());
  }
};

}  // namespace grpc

#endif  // KTLOG_PROTO_REQUEST_PARSING_H_
