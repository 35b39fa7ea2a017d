#include "core/util/logging.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace ktlog {
namespace {

const absl::Time kAt = absl::FromUnixMillis(1796601600123);  // 2026-12-07

TEST(LoggingTest, TextLinesAreTimeSeverityMessage) {
  SetLogFormat(LogFormat::kText, "ktlog-server");
  EXPECT_EQ(FormatLogLine(Severity::kWarning, "queue full", kAt),
            "2026-12-07T00:00:00.123Z WARNING queue full\n");
}

// One JSON object per line with the same event: what a peer sent (quotes,
// a newline, invalid UTF-8) is escaped, so every line parses as one object.
TEST(LoggingTest, JsonLinesAreOneObjectEach) {
  SetLogFormat(LogFormat::kJson, "ktlog-server");
  std::string line =
      FormatLogLine(Severity::kError, "refused \"x\"\nfrom \xff peer", kAt);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j, nlohmann::json(
                   {{"time", "2026-12-07T00:00:00.123Z"},
                    {"severity", "ERROR"},
                    {"program", "ktlog-server"},
                    {"message", "refused \"x\"\nfrom \xef\xbf\xbd peer"}}));
  SetLogFormat(LogFormat::kText, "");
}

TEST(LoggingTest, ParsesTheFormatFlag) {
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(ParseLogFormat("JSON").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ktlog
