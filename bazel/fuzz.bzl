"""ktlog_fuzz_target: a libFuzzer target and its replay test.

<name>_replay (a cc_test in the default suite, any compiler): replays the
corpus in tests/testdata/fuzz/<corpus>/ and every one-byte change of it.
<name> (cc_binary, tagged manual): the real fuzzer, with AddressSanitizer
and UBSan (any undefined behaviour aborts); build and run it with clang,
e.g. `tools/dev fuzz`. clang's UBSan needs its C++ runtime linked
explicitly when Bazel links through the C driver
(-fsanitize-link-c++-runtime).
"""

def ktlog_fuzz_target(name, srcs, deps, corpus):
    native.cc_test(
        name = name + "_replay",
        srcs = srcs,
        deps = deps + ["//core/fuzz:replay_main"],
        data = ["//tests/testdata:fuzz_corpus"],
        args = ["tests/testdata/fuzz/" + corpus],
        # Every bit flip of the corpus: about 20 s for the largest, but
        # nearer 300 s (the default limit) under ThreadSanitizer.
        timeout = "long",
    )
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        deps = deps,
        copts = [
            "-fsanitize=fuzzer,address,undefined",
            "-fno-sanitize-recover=undefined",
        ],
        linkopts = [
            "-fsanitize=fuzzer,address,undefined",
            "-fsanitize-link-c++-runtime",
        ],
        tags = ["manual"],
    )
