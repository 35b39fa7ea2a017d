#include "core/testonly/test_vectors.h"

#include <fstream>
#include <sstream>

#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {

bool ReadTestFile(const std::string& relative_path, std::string* out) {
  std::ifstream in("tests/testdata/" + relative_path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

nlohmann::json LoadJsonTestData(const std::string& relative_path) {
  std::string text;
  EXPECT_TRUE(ReadTestFile(relative_path, &text))
      << "cannot read tests/testdata/" << relative_path;
  return nlohmann::json::parse(text);
}

std::string Unhex(const std::string& hex) {
  absl::StatusOr<std::string> bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

absl::StatusOr<std::vector<Hash>> HashesFromJson(const nlohmann::json& list) {
  std::vector<Hash> out;
  for (const auto& h : list) {
    absl::StatusOr<Hash> hash = Hash::FromHex(h.get<std::string>());
    if (!hash.ok()) return hash.status();
    out.push_back(*hash);
  }
  return out;
}

}  // namespace ktlog
