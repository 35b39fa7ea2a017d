// The limits the docs and the API definition state are the code's limits
// (regression, issue 8.4: the docs promised 628-byte records; the field
// limits give 568 and the server enforced that).
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/account/account.h"
#include "core/account/record.h"
#include "gtest/gtest.h"
#include "log/service.h"

namespace ktlog {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The numbers in `text` that follow `before` (a regex) directly.
std::vector<uint64_t> NumbersAfter(const std::string& text,
                                   const std::string& before) {
  std::vector<uint64_t> out;
  std::regex re(before + "([0-9]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re);
       it != std::sregex_iterator(); ++it) {
    out.push_back(std::stoull((*it)[1].str()));
  }
  return out;
}

TEST(DocsTest, RecordSizeIsTheOneTheCodeEnforces) {
  EXPECT_EQ(kMaxRecordSize, 568u);
  std::string api = Read("docs/api.md");
  std::string formats = Read("docs/formats.md");
  std::string proto = Read("proto/ktlog.proto");
  std::vector<uint64_t> all;
  for (const auto& [text, pattern] :
       std::vector<std::pair<std::string, std::string>>{
           {api, "\\| record size \\| "},
           {api,
            "device record\\]\\(formats.md#device-record-format-version-1\\), "
            "at "
            "most "},
           {formats, "the largest valid record is "},
           {proto,
            "canonical signed device record \\(docs/formats.md\\), at "
            "most "}}) {
    std::vector<uint64_t> found = NumbersAfter(text, pattern);
    EXPECT_EQ(found.size(), 1u) << pattern;
    all.insert(all.end(), found.begin(), found.end());
  }
  for (uint64_t n : all) EXPECT_EQ(n, kMaxRecordSize);
}

TEST(DocsTest, APILimitsAreTheCodes) {
  std::string api = Read("docs/api.md");
  auto one = [&](const std::string& pattern) -> uint64_t {
    std::vector<uint64_t> found = NumbersAfter(api, pattern);
    EXPECT_EQ(found.size(), 1u) << pattern;
    return found.empty() ? 0 : found[0];
  };
  EXPECT_EQ(one("\\| account id / device id / device key \\| "),
            kMaxAccountIdSize);
  EXPECT_EQ(one("\\| account id / device id / device key \\| [0-9]+ / "),
            kMaxDeviceIdSize);
  EXPECT_EQ(
      one("\\| account id / device id / device key \\| [0-9]+ / [0-9]+ / "),
      kMaxDeviceKeySize);
  EXPECT_EQ(one("\\| devices per account \\| "), kMaxDevicesPerAccount);
  EXPECT_EQ(one("\\| records per `AppendRecords` \\| "), kMaxRecordsPerAppend);
  EXPECT_EQ(one("\\| entries per `GetEntries` \\| "), kMaxEntriesPerRequest);
  EXPECT_EQ(one("\\| versions per `GetAccountHistory` \\| "),
            kMaxHistoryPerRequest);
  EXPECT_EQ(one("\\| key rotations in an account.s life \\(all in its key "
                "chain\\) \\| "),
            kMaxKeyChain);
}

// The example log key in formats.md is the vector's (private.json), which
// core/account/private_test.cc checks against the C++.
TEST(DocsTest, TheExampleLogKeyIsTheVectors) {
  std::string formats = Read("docs/formats.md");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      formats, m,
      std::regex("e\\.g\\. `(ktlog\\.example/log\\+[^`]*,vrf=[^`]*)`")));
  std::string vectors = Read("tests/testdata/ktlog/private.json");
  EXPECT_NE(vectors.find("\"log_key\": \"" + m[1].str() + "\""),
            std::string::npos)
      << m[1].str();
}

}  // namespace
}  // namespace ktlog
