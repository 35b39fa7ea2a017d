"""cc_grpc_proto: C++ protobuf + gRPC code from a .proto with Debian's protoc
(NAME_messages: the messages alone; NAME: with the gRPC stubs).

No upstream proto rule set can be fetched offline, so this runs
/usr/bin/protoc and /usr/bin/grpc_cpp_plugin in a genrule and wraps the
generated files in a cc_library.
"""

def cc_grpc_proto(name, src, deps = [], visibility = None, grpc_header = None):
    """grpc_header: a header of this package that the generated .grpc.pb.h
    includes (e.g. SerializationTraits specialisations)."""
    base = src[:-len(".proto")]
    pkg = native.package_name()
    outs = [
        base + ".pb.h",
        base + ".pb.cc",
        base + ".grpc.pb.h",
        base + ".grpc.pb.cc",
    ]
    grpc_out = "$(GENDIR)"
    if grpc_header:
        grpc_out = ("additional_header_includes=" + pkg + "/" + grpc_header +
                    ":$(GENDIR)")
    native.genrule(
        name = name + "_gen",
        srcs = [src],
        outs = outs,
        cmd = ("/usr/bin/protoc --proto_path=. --proto_path=/usr/include " +
               "--cpp_out=$(GENDIR) --grpc_out=" + grpc_out + " " +
               "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin " +
               "$(location " + src + ")"),
    )
    # The messages alone (no gRPC): for code that speaks the API over a
    # transport of its own (the client library's C API).
    native.cc_library(
        name = name + "_messages",
        srcs = [base + ".pb.cc"],
        hdrs = [base + ".pb.h"],
        deps = deps + ["//third_party/system:protobuf"],
        visibility = visibility,
    )
    native.cc_library(
        name = name,
        srcs = [base + ".grpc.pb.cc"],
        hdrs = [base + ".grpc.pb.h"] +
               ([grpc_header] if grpc_header else []),
        deps = deps + [":" + name + "_messages", "//third_party/system:grpc"],
        visibility = visibility,
    )
