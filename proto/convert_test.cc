// LookUpInCalls (proto/convert.h) against a fake LookupAccounts call: how a
// batch is split into calls, what an answer the client cannot use becomes,
// and the accounts a full answer left out are asked again.
#include "proto/convert.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

std::vector<LookupAsk> Asks(int n) {
  std::vector<LookupAsk> asks;
  for (int i = 0; i < n; ++i) asks.push_back({absl::StrCat("a", i), i == 0});
  return asks;
}

// A log that answers each account with its id in the VRF proof, except
// the accounts after the first `room` of a call, which it answers ABORTED.
struct FakeLog {
  size_t room = kMaxLookupsPerCall;
  StatusCode left_out = StatusCode::kAborted;
  std::vector<std::vector<std::string>> calls;

  absl::Status operator()(const v1::LookupAccountsRequest& req,
                          v1::AccountLookups* resp) {
    calls.emplace_back();
    resp->set_tree_size(req.tree_size());
    for (const auto& a : req.accounts()) {
      calls.back().push_back(a.account_id());
      v1::AccountLookups::Answer* out = resp->add_answers();
      if (static_cast<size_t>(resp->answers_size()) > room) {
        out->set_code(static_cast<int>(left_out));
        out->set_message("full");
        continue;
      }
      out->mutable_lookup()->set_tree_size(req.tree_size());
      out->mutable_lookup()->set_vrf_proof(
          absl::StrCat(a.account_id(), a.with_first_record() ? "+" : ""));
    }
    return absl::OkStatus();
  }
};

std::vector<absl::StatusOr<AccountLookupAnswer>> LookUp(
    FakeLog* log, const std::vector<LookupAsk>& asks) {
  return LookUpInCalls(
      asks, 7,
      [log](const v1::LookupAccountsRequest& req, v1::AccountLookups* resp) {
        return (*log)(req, resp);
      });
}

TEST(LookUpInCallsTest, SplitsIntoCallsOfAHundredInOrder) {
  FakeLog log;
  auto answers = LookUp(&log, Asks(250));
  ASSERT_EQ(log.calls.size(), 3u);
  EXPECT_EQ(log.calls[0].size(), 100u);
  EXPECT_EQ(log.calls[1].size(), 100u);
  EXPECT_EQ(log.calls[2].size(), 50u);
  EXPECT_EQ(log.calls[2].back(), "a249");
  ASSERT_EQ(answers.size(), 250u);
  EXPECT_EQ(answers[0]->vrf_proof, "a0+") << "the anchor asked for";
  for (int i = 1; i < 250; ++i) {
    ASSERT_TRUE(answers[i].ok()) << answers[i].status();
    EXPECT_EQ(answers[i]->vrf_proof, absl::StrCat("a", i));
    EXPECT_EQ(answers[i]->tree_size, 7u);
  }
  EXPECT_TRUE(LookUp(&log, {}).empty());
  EXPECT_EQ(log.calls.size(), 3u) << "no call for no account";
}

TEST(LookUpInCallsTest, AccountsLeftOutOfAFullAnswerAreAskedAgainFirst) {
  FakeLog log;
  log.room = 40;
  auto answers = LookUp(&log, Asks(120));
  // 100 asked, 40 answered; the 60 left out first, then the last 20; ...
  std::vector<size_t> sizes;
  for (const auto& c : log.calls) sizes.push_back(c.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{100, 80, 40}));
  EXPECT_EQ(log.calls[1][0], "a40");
  EXPECT_EQ(log.calls[1][60], "a100");
  ASSERT_EQ(answers.size(), 120u);
  for (int i = 0; i < 120; ++i) {
    ASSERT_TRUE(answers[i].ok()) << i << ": " << answers[i].status();
    EXPECT_EQ(answers[i]->vrf_proof, absl::StrCat("a", i, i == 0 ? "+" : ""));
  }
}

TEST(LookUpInCallsTest, AccountsTheRateLimitLeftOutAreAskedAgain) {
  FakeLog log;
  log.room = 1;
  log.left_out = StatusCode::kResourceExhausted;
  auto answers = LookUp(&log, Asks(3));
  EXPECT_EQ(log.calls.size(), 3u);
  for (const auto& a : answers) EXPECT_TRUE(a.ok()) << a.status();
  log.left_out = StatusCode::kUnavailable;  // not "ask again"
  log.calls.clear();
  answers = LookUp(&log, Asks(3));
  EXPECT_EQ(log.calls.size(), 1u);
  EXPECT_TRUE(answers[0].ok());
  EXPECT_EQ(answers[2].status(), absl::UnavailableError("full"));
}

TEST(LookUpInCallsTest, ALogThatAnswersNothingIsNotAskedForever) {
  FakeLog log;
  log.room = 0;
  auto answers = LookUp(&log, Asks(3));
  EXPECT_EQ(log.calls.size(), 1u);
  for (const auto& a : answers) {
    EXPECT_EQ(a.status().code(), StatusCode::kAborted);
    EXPECT_EQ(a.status().message(), "full");
  }
}

TEST(LookUpInCallsTest, AFailedCallOrAMalformedAnswerIsEachAccountsStatus) {
  auto failing = [](const v1::LookupAccountsRequest&, v1::AccountLookups*) {
    return absl::UnavailableError("down");
  };
  for (const auto& a : LookUpInCalls(Asks(2), 1, failing)) {
    EXPECT_EQ(a.status(), absl::UnavailableError("down"));
  }
  auto short_answer = [](const v1::LookupAccountsRequest&,
                         v1::AccountLookups* resp) {
    resp->add_answers();
    return absl::OkStatus();
  };
  for (const auto& a : LookUpInCalls(Asks(2), 1, short_answer)) {
    EXPECT_EQ(a.status(), absl::InvalidArgumentError(
                              "the log answered 1 lookups for 2 accounts"));
  }
  // One answer shaped by `shape`, at tree size 1 unless it sets another.
  auto status = [](std::function<void(v1::AccountLookups*)> shape) {
    auto call = [shape](const v1::LookupAccountsRequest&,
                        v1::AccountLookups* resp) {
      resp->set_tree_size(1);
      resp->add_answers();
      shape(resp);
      return absl::OkStatus();
    };
    return LookUpInCalls(Asks(1), 1, call)[0].status();
  };
  EXPECT_EQ(status([](v1::AccountLookups* r) {
              r->mutable_answers(0)->set_code(99);
            }),
            absl::InvalidArgumentError(
                "the log answered status code 99 for lookup 0"));
  EXPECT_EQ(status([](v1::AccountLookups* r) { r->set_tree_size(2); }),
            absl::InvalidArgumentError(
                "the log answered lookups at tree size 2, not at the 1 asked "
                "for"));
  EXPECT_EQ(status([](v1::AccountLookups*) {}),
            absl::InvalidArgumentError("the log answered lookup 0 with no "
                                       "lookup"));
  EXPECT_EQ(status([](v1::AccountLookups* r) {
              r->mutable_answers(0)->set_code(5);
              r->mutable_answers(0)->mutable_lookup();
            }),
            absl::InvalidArgumentError("the log answered lookup 0 with both a "
                                       "lookup and an error"));
  // Larger than any account's answer: refused, not held.
  absl::Status big = status([](v1::AccountLookups* r) {
    r->mutable_answers(0)->mutable_lookup()->set_account_state(
        std::string(kMaxLookupAnswerBytes, 's'));
  });
  EXPECT_EQ(big, absl::InvalidArgumentError(
                     "the log's lookup answer is 1048580 bytes, more than any "
                     "account's (at most 1048576)"));
}

}  // namespace
}  // namespace ktlog
