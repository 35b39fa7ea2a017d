// Test-only access to the JSON vector files under tests/testdata/.
#ifndef KTLOG_CORE_TESTONLY_TEST_VECTORS_H_
#define KTLOG_CORE_TESTONLY_TEST_VECTORS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/crypto/hash.h"
#include "nlohmann/json.hpp"

namespace ktlog {

// Parses tests/testdata/<relative_path> (relative to the runfiles root, the
// working directory of a Bazel test). Fails the test if it is unreadable.
nlohmann::json LoadJsonTestData(const std::string& relative_path);

// Reads a whole file into `out`; false if it cannot be read.
bool ReadTestFile(const std::string& relative_path, std::string* out);

// Hex-decodes `hex`; fails the test on bad hex.
std::string Unhex(const std::string& hex);

// Decodes a list of hex hashes; an error if any is not 32 bytes.
absl::StatusOr<std::vector<Hash>> HashesFromJson(const nlohmann::json& list);

}  // namespace ktlog

#endif  // KTLOG_CORE_TESTONLY_TEST_VECTORS_H_
