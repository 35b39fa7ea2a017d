// The docs say what the binaries do, where a machine can check it: the
// limits the docs and the API definition state are the code's limits
// (regression, issue 8.4: the docs promised 628-byte records; the field
// limits give 568 and the server enforced that); every flag of ktctl and
// ktlog-server is documented and every documented one exists; every alert
// type is explained; the exit codes are the framework's (issue 20, 8).
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/account/account.h"
#include "core/account/owner_access.h"
#include "core/account/record.h"
#include "gtest/gtest.h"
#include "log/service.h"
#include "tests/subprocess.h"
#include "verifier/alerts.h"

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
  EXPECT_EQ(kMaxRecordSize, 1767u);
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
  EXPECT_EQ(one("\\| authority changes in an account.s life, resets apart "
                "\\(all in its key chain\\) \\| "),
            kMaxKeyChain);
  EXPECT_EQ(one("\\| resets in an account.s life \\(in its key chain too\\) "
                "\\| "),
            kMaxResets);
  EXPECT_EQ(one("\\| owner proof grant \\| "), kMaxOwnerGrantSize);
  EXPECT_EQ(one("\\| access keys reading one account.s history within 5 "
                "minutes \\| "),
            kAccessKeysPerAccount);
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

// The flags a binary's --help lists (its own, after "flags:").
std::set<std::string> HelpFlags(const std::vector<std::string>& argv) {
  RunResult r = RunProgram(argv);
  std::set<std::string> out;
  std::regex re("\\n  --([a-z_0-9]+)");
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), re);
       it != std::sregex_iterator(); ++it) {
    out.insert((*it)[1].str());
  }
  EXPECT_FALSE(out.empty()) << r.out;
  return out;
}

// The `--flags` a text names.
std::set<std::string> NamedFlags(const std::string& text,
                                 const std::string& pattern) {
  std::set<std::string> out;
  std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re);
       it != std::sregex_iterator(); ++it) {
    out.insert((*it)[1].str());
  }
  return out;
}

TEST(DocsTest, EveryServerFlagIsDocumentedAndEveryDocumentedOneExists) {
  std::set<std::string> flags = HelpFlags({"log/ktlog-server", "--help"});
  std::string ops = Read("docs/operations.md");
  for (const std::string& f : flags) {
    if (f == "help") continue;
    EXPECT_NE(ops.find("`--" + f), std::string::npos)
        << "--" << f << " is not in docs/operations.md";
  }
  // The flag table's rows: | `--flag` | ...
  for (const std::string& f : NamedFlags(ops, "\\n\\| `--([a-z_]+)")) {
    EXPECT_EQ(flags.count(f), 1u) << "docs/operations.md documents --" << f
                                  << ", which ktlog-server does not have";
  }
}

TEST(DocsTest, EveryKtctlFlagIsDocumentedAndEveryDocumentedOneExists) {
  std::string doc = Read("docs/ktctl.md");
  std::set<std::string> global = HelpFlags({"client/ktctl", "--help"});
  for (const std::string& f : global) {
    if (f == "help") continue;
    EXPECT_NE(doc.find("--" + f), std::string::npos)
        << "the global --" << f << " is not in docs/ktctl.md";
  }
  // A command's rows in the commands table name its own flags.
  std::regex row("\\n\\| `([a-z-]+)([^|`]*)`[^\\n]*");
  std::map<std::string, std::set<std::string>> documented;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row);
       it != std::sregex_iterator(); ++it) {
    std::set<std::string>& d = documented[(*it)[1].str()];
    for (const std::string& f : NamedFlags((*it)[2].str(), "--([a-z_0-9]+)")) {
      d.insert(f);
    }
  }
  int rows = 0;
  for (const auto& [command, named] : documented) {
    RunResult help = RunProgram({"client/ktctl", command, "--help"});
    if (help.exit_code != 0) continue;  // not a command (another table)
    ++rows;
    std::set<std::string> own = HelpFlags({"client/ktctl", command, "--help"});
    for (const std::string& g : global) own.erase(g);
    for (const std::string& f : own) {
      EXPECT_EQ(named.count(f), 1u) << "ktctl " << command << " --" << f
                                    << " is not in its rows of docs/ktctl.md";
    }
    for (const std::string& f : named) {
      EXPECT_EQ(own.count(f) + global.count(f), 1u)
          << "docs/ktctl.md documents ktctl " << command << " --" << f
          << ", which it does not have";
    }
  }
  EXPECT_GE(rows, 8);
}

TEST(DocsTest, EveryAlertTypeAndExitCodeIsExplained) {
  std::string doc = Read("docs/ktctl.md");
  for (int t = 0;; ++t) {
    absl::string_view name = AlertTypeName(static_cast<AlertType>(t));
    if (name.empty() || name == "UNKNOWN") break;
    EXPECT_NE(doc.find(absl::StrCat("| `", name, "` |")), std::string::npos)
        << name << " has no row in docs/ktctl.md's alert table";
  }
  for (int code = 0; code <= 4; ++code) {
    EXPECT_NE(doc.find(absl::StrCat("\n| ", code, " | ")), std::string::npos)
        << "exit code " << code;
  }
}

}  // namespace
}  // namespace ktlog
