#include "core/util/flags.h"

#include "gtest/gtest.h"

namespace ktlog {
namespace {

TEST(FlagSetTest, ParsesAllForms) {
  std::string s = "default";
  bool b = false, c = true;
  uint64_t n = 5;
  absl::Duration d = absl::Seconds(1);
  FlagSet f("usage: t");
  f.String("name", &s, "a name");
  f.Bool("verbose", &b, "talk");
  f.Bool("color", &c, "colour");
  f.Uint64("count", &n, "how many");
  f.Duration("delay", &d, "wait");
  auto pos = f.Parse({"a", "--name=x", "--verbose", "--no-color", "--count",
                      "7", "--delay=250ms", "b", "--", "--not-a-flag"});
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_EQ(*pos, (std::vector<std::string>{"a", "b", "--not-a-flag"}));
  EXPECT_EQ(s, "x");
  EXPECT_TRUE(b);
  EXPECT_FALSE(c);
  EXPECT_EQ(n, 7u);
  EXPECT_EQ(d, absl::Milliseconds(250));
  EXPECT_FALSE(f.help_requested());
  EXPECT_NE(f.Help().find("--count <value>"), std::string::npos);
  EXPECT_NE(f.Help().find("(default: 5)"), std::string::npos);
}

TEST(FlagSetTest, ClearErrors) {
  uint64_t n = 0;
  absl::Duration d;
  FlagSet f("usage: t");
  f.Uint64("count", &n, "how many");
  f.Duration("delay", &d, "wait");
  EXPECT_EQ(f.Parse({"--bogus"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f.Parse({"--count=-1"}).status().message().find("--count"),
            std::string::npos);
  EXPECT_FALSE(f.Parse({"--count"}).ok());
  EXPECT_FALSE(f.Parse({"--delay=soon"}).ok());
  EXPECT_FALSE(f.Parse({"-x"}).ok());
  FlagSet g("usage");
  ASSERT_TRUE(g.Parse({"--help"}).ok());
  EXPECT_TRUE(g.help_requested());
}

}  // namespace
}  // namespace ktlog
