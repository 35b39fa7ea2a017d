#include "core/note/add_checkpoint.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

// The example request body of c2sp.org/tlog-witness.
constexpr char kSpecExample[] =
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\xe2\x80\x94 example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
    "Zhcyv2q1gGzGku9nTo+"
    "zyWE+xeMcTOAYQ8=\n";

TEST(AddCheckpointTest, ParsesTheSpecsExampleAndFormatsItBack) {
  auto req = ParseAddCheckpoint(kSpecExample);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->old_size, 20852014u);
  ASSERT_EQ(req->proof.size(), 4u);
  EXPECT_EQ(Base64Encode(req->proof[0].bytes()),
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=");
  EXPECT_EQ(Base64Encode(req->proof[3].bytes()),
            "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=");
  EXPECT_EQ(req->checkpoint.substr(0, 37),
            "example.com/behind-the-sofa\n20852163\n");
  EXPECT_EQ(FormatAddCheckpoint(*req), kSpecExample);
  EXPECT_EQ(FormatAddCheckpoint({0, {}, "c\n"}), "old 0\n\nc\n");
}

TEST(AddCheckpointTest, RefusesWhatTheSpecForbids) {
  std::string hash = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n";
  std::string many;
  for (int i = 0; i < 64; ++i) many += hash;
  for (const std::string& bad :
       {std::string("old 01\n\ncp\n"), std::string("old -1\n\ncp\n"),
        std::string("new 5\n\ncp\n"), std::string("old 5"),
        std::string("old 5\n") + hash,  // no empty line
        std::string("old 5\nnot base64!\n\ncp\n"),
        std::string("old 5\nAAAA\n\ncp\n"),        // not 32 bytes
        std::string("old 0\n") + hash + "\ncp\n",  // a proof from 0
        "old 5\n" + many + "\ncp\n",               // 64 lines
        std::string("old 5\n\n") + std::string(kMaxAddCheckpointBody, 'x')}) {
    auto req = ParseAddCheckpoint(bad);
    EXPECT_EQ(req.status().code(), absl::StatusCode::kInvalidArgument)
        << absl::CEscape(bad.substr(0, 40));
  }
  std::string sixty_three;
  for (int i = 0; i < 63; ++i) sixty_three += hash;
  auto ok = ParseAddCheckpoint("old 5\n" + sixty_three + "\ncp\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->proof.size(), 63u);
}

}  // namespace
}  // namespace ktlog
