// Integration tests: the real log server (RocksDB in a temp dir, gRPC on
// 127.0.0.1:0) driven through the real client.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/account/leaf.h"
#include "core/account/registration.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/support/server_interceptor.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"
#include "verifier/lookup.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

// The first records (a phone) of `n` new accounts user0, user1, ...
std::vector<std::string> FirstRecords(int n) {
  std::vector<std::string> records;
  for (int i = 0; i < n; ++i) {
    records.push_back(
        TestAccount(absl::StrCat("user", i)).Add("phone").Encode());
  }
  return records;
}

absl::StatusCode WriteCode(LogEnv* env, const DeviceRecord& r) {
  return env->client()->Write(r.operation, r.Encode(), false).status().code();
}

TEST(LogServerTest, AppendsAndProvesEveryRecord) {
  auto env = LogEnv::Start();
  LogCheckpoint empty = env->Checkpoint();
  EXPECT_EQ(empty.size, 0u);
  EXPECT_EQ(empty.root, EmptyRoot());
  EXPECT_EQ(empty.origin, "test.example/log");

  TestAccount alice("alice"), bob("bob");
  std::vector<DeviceRecord> records = {
      alice.Add("phone"),    bob.Add("phone"), alice.Add("laptop"),
      alice.Remove("phone"), bob.Rotate(),     bob.Add("tablet")};
  std::vector<LogCheckpoint> seen = {empty};
  std::vector<Hash> leaf_hashes;
  for (size_t i = 0; i < records.size(); ++i) {
    LogClient::WriteResult w = env->Append(records[i]);
    EXPECT_EQ(w.leaf_index, i);
    leaf_hashes.push_back(w.leaf_hash);
    auto cp = OpenLogCheckpoint(w.checkpoint_note, env->checkpoint_key());
    ASSERT_TRUE(cp.ok()) << cp.status();
    EXPECT_GT(cp->size, i);
    seen.push_back(*cp);
  }
  LogCheckpoint latest = env->Checkpoint();
  ASSERT_EQ(latest.size, records.size());

  // Entries are the public leaves the writes were answered with: each at
  // its account's position (one per account), with the record's version,
  // timestamps never going back.
  auto entries = env->client()->GetEntries(0, 100);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), records.size());
  std::map<std::string, Hash> positions;
  uint64_t last_ms = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(HashLeaf((*entries)[i]), leaf_hashes[i]);
    auto leaf = DecodeLeaf((*entries)[i]);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    EXPECT_EQ(leaf->version, records[i].account_version);
    EXPECT_GE(leaf->timestamp_ms, last_ms);
    last_ms = leaf->timestamp_ms;
    auto [it, added] = positions.emplace(records[i].account_id, leaf->position);
    EXPECT_EQ(it->second, leaf->position);
    EXPECT_EQ(leaf->position,
              env->vrf().Prove(AccountVrfInput(records[i].account_id))->output);
  }
  EXPECT_NE(positions["alice"], positions["bob"]);

  // Every record is included at its index, proved against every checkpoint
  // that covers it, by index and by hash.
  for (const LogCheckpoint& cp : seen) {
    for (uint64_t i = 0; i < cp.size; ++i) {
      auto proof = env->client()->GetInclusionProof(i, cp.size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      const Hash& leaf = leaf_hashes[i];
      EXPECT_TRUE(
          VerifyInclusion(i, cp.size, leaf, proof->hashes, cp.root).ok());
      auto by_hash = env->client()->GetInclusionProofByHash(leaf, cp.size);
      ASSERT_TRUE(by_hash.ok()) << by_hash.status();
      EXPECT_EQ(by_hash->leaf_index, i);
      EXPECT_EQ(by_hash->hashes, proof->hashes);
    }
  }
  // Every pair of checkpoints is consistent.
  for (const LogCheckpoint& a : seen) {
    for (const LogCheckpoint& b : seen) {
      if (a.size == 0 || a.size > b.size) continue;
      auto proof = env->client()->GetConsistencyProof(a.size, b.size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(
          VerifyConsistency(a.size, b.size, *proof, a.root, b.root).ok())
          << a.size << "->" << b.size;
    }
  }
}

TEST(LogServerTest, RejectsBadWritesWithTheRightCode) {
  auto env = LogEnv::Start();
  TestAccount alice("alice"), mallory("mallory");
  env->Append(alice.Add("phone"));

  // Malformed and oversized input.
  EXPECT_EQ(
      env->client()->Write(Operation::kAddDevice, "", false).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(env->client()
                ->Write(Operation::kAddDevice, "not a record", false)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(env->client()
                ->Write(Operation::kAddDevice, std::string(2000, '\x01'), false)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(env->client()
                ->Write(Operation::kAddDevice, std::string(250000, 'x'), false)
                .status()
                .code(),
            StatusCode::kResourceExhausted)
      << "gRPC's request size limit";
  // Bad signature.
  DeviceRecord forged = alice.Add("tablet", false);
  forged.signature[10] ^= 1;
  auto s = env->client()->Write(forged.operation, forged.Encode(), false);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("signature"), std::string::npos);
  // A record for the wrong RPC.
  DeviceRecord add = alice.Add("tablet", false);
  auto wrong_rpc =
      env->client()->Write(Operation::kRemoveDevice, add.Encode(), false);
  EXPECT_EQ(wrong_rpc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_rpc.status().message().find(
                "takes remove-device records, not add-device"),
            std::string::npos)
      << wrong_rpc.status();
  // Account rules. Every record of an unknown account but its first (an
  // add-device of version 1) is PERMISSION_DENIED, whatever its operation,
  // with the same answer as a record signed by another key: a write tells
  // nobody but the key holder whether an account exists. Nor does its
  // time: no such refusal evaluates the VRF (issue 27, 11), which costs a
  // new account's first record some 250 us.
  uint64_t vrf_before = env->server()->positions()->evaluations();
  EXPECT_EQ(WriteCode(env.get(), mallory.Remove("x", false)),
            StatusCode::kPermissionDenied)
      << "unknown account";
  EXPECT_EQ(WriteCode(env.get(), mallory.Rotate(false)),
            StatusCode::kPermissionDenied)
      << "unknown account";
  DeviceRecord unknown_v2 = mallory.Add("x", false);
  unknown_v2.account_version = 2;
  unknown_v2.Sign(mallory.key());
  auto unknown =
      env->client()->Write(unknown_v2.operation, unknown_v2.Encode(), false);
  EXPECT_EQ(unknown.status().code(), StatusCode::kPermissionDenied)
      << "unknown account, an add-device that is not its first record";
  EXPECT_EQ(WriteCode(env.get(), alice.Remove("watch", false)),
            StatusCode::kNotFound)
      << "unknown device";
  EXPECT_EQ(WriteCode(env.get(), alice.Add("phone", false)),
            StatusCode::kAlreadyExists)
      << "device already active";
  DeviceRecord by_mallory = mallory.Add("evil", false);
  by_mallory.account_id = "alice";
  by_mallory.account_version = 2;
  by_mallory.Sign(mallory.key());
  auto other_key =
      env->client()->Write(by_mallory.operation, by_mallory.Encode(), false);
  EXPECT_EQ(other_key.status().code(), StatusCode::kPermissionDenied)
      << "signed by another account's key";
  EXPECT_EQ(other_key.status().message(), unknown.status().message())
      << "no existence oracle";
  EXPECT_EQ(env->server()->positions()->evaluations(), vrf_before)
      << "a refused write to an unknown account evaluated the VRF";
  DeviceRecord stale = alice.Add("tablet", false);
  stale.account_version = 1;
  stale.Sign(alice.key());
  EXPECT_EQ(WriteCode(env.get(), stale), StatusCode::kFailedPrecondition);
  DeviceRecord gap = alice.Add("tablet", false);
  gap.account_version = 5;
  gap.Sign(alice.key());
  EXPECT_EQ(WriteCode(env.get(), gap), StatusCode::kFailedPrecondition);
  // Duplicate: the same signed bytes again.
  DeviceRecord next = alice.Add("tablet");
  LogClient::WriteResult first = env->Append(next);
  auto dup = env->client()->Write(next.operation, next.Encode(), false);
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(dup.status().message().find(
                absl::StrCat("leaf index ", first.leaf_index)),
            std::string::npos)
      << dup.status();
  // Timestamps far from the log's clock.
  DeviceRecord future = alice.Add("watch", false);
  future.timestamp_ms += 2 * 3600 * 1000;
  future.Sign(alice.key());
  EXPECT_EQ(WriteCode(env.get(), future), StatusCode::kFailedPrecondition);

  // Nothing rejected entered the log.
  EXPECT_EQ(env->Checkpoint().size, 2u);
}

// A front end's call of many records (AppendRecords): each record gets the
// outcome its own call would have had, one account's records keep their
// order, and the checkpoint returned covers every appended record.
TEST(LogServerTest, AppendRecordsAnswersEachRecord) {
  auto env = LogEnv::Start();
  TestAccount alice("alice"), bob("bob"), carol("carol");
  env->Append(bob.Add("phone"));
  DeviceRecord forged = carol.Add("phone", false);
  forged.signature[3] ^= 1;
  DeviceRecord alice1 = alice.Add("phone");
  std::vector<std::string> records = {
      alice1.Encode(),
      bob.Add("laptop").Encode(),
      forged.Encode(),
      alice.Add("laptop").Encode(),  // a new account's second record
      alice1.Encode(),               // the same record again
      "not a record",
      bob.Remove("tablet", false).Encode(),  // not an active device
      bob.Rotate().Encode(),
      carol.Add("phone").Encode(),
  };
  auto answer = env->client()->AppendRecords(records, true);
  ASSERT_TRUE(answer.ok()) << answer.status();
  std::vector<StatusCode> codes;
  for (const auto& o : answer->outcomes) codes.push_back(o.status().code());
  EXPECT_EQ(codes,
            (std::vector<StatusCode>{
                StatusCode::kOk, StatusCode::kOk, StatusCode::kInvalidArgument,
                StatusCode::kOk, StatusCode::kAlreadyExists,
                StatusCode::kInvalidArgument, StatusCode::kNotFound,
                StatusCode::kOk, StatusCode::kOk}));
  EXPECT_NE(answer->outcomes[2].status().message().find("signature"),
            std::string::npos)
      << answer->outcomes[2].status();
  EXPECT_NE(answer->outcomes[4].status().message().find(
                absl::StrCat("leaf index ", answer->outcomes[0]->leaf_index)),
            std::string::npos)
      << answer->outcomes[4].status();
  EXPECT_LT(answer->outcomes[0]->leaf_index, answer->outcomes[3]->leaf_index);
  EXPECT_LT(answer->outcomes[1]->leaf_index, answer->outcomes[7]->leaf_index);

  auto cp = OpenLogCheckpoint(answer->checkpoint_note, env->checkpoint_key());
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 6u) << "bob's first record and five of the call's";
  std::set<uint64_t> indices;
  for (const auto& o : answer->outcomes) {
    if (!o.ok()) continue;
    indices.insert(o->leaf_index);
    auto proof = env->client()->GetInclusionProof(o->leaf_index, cp->size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(VerifyInclusion(o->leaf_index, cp->size, o->leaf_hash,
                                proof->hashes, cp->root)
                    .ok());
  }
  EXPECT_EQ(indices.size(), 5u);
  auto lookup = env->client()->LookupAccount("alice", cp->size, true);
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  auto alice_now =
      VerifyAccountLookup(*cp, env->log_key().vrf_key, "alice", *lookup, "");
  ASSERT_TRUE(alice_now.ok()) << alice_now.status();
  ASSERT_TRUE(alice_now->state.has_value());
  EXPECT_EQ(alice_now->devices.size(), 2u);

  // The call itself: 1 to 100 records.
  auto none = env->client()->AppendRecords({}, false);
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("1 to 100"), std::string::npos)
      << none.status();
  std::vector<std::string> many;
  TestAccount dave("dave");
  for (int i = 0; i < 101; ++i) {
    many.push_back(dave.Add(absl::StrCat("d", i), false).Encode());
  }
  EXPECT_EQ(env->client()->AppendRecords(many, false).status().code(),
            StatusCode::kInvalidArgument);
  TestAccount erin("erin");
  EXPECT_EQ(env->Append(erin.Add("phone")).leaf_index, 6u)
      << "nothing of a refused call was appended";

  // 100 records of the largest size, each with a credential of the largest
  // size, fit the 80 KiB request limit: each is answered (these are not
  // records), none refused for the call's size.
  std::vector<std::string> largest(kMaxRecordsPerAppend,
                                   std::string(kMaxRecordSize, '\x01'));
  std::vector<std::string> credentials(
      kMaxRecordsPerAppend, std::string(kRegistrationCredentialSize, 'c'));
  auto full = env->client()->AppendRecords(largest, false, credentials);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->outcomes.size(), kMaxRecordsPerAppend);
  for (const auto& o : full->outcomes) {
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument) << o.status();
  }
}

// A call the write queue cannot take whole is refused whole, with a reason.
TEST(LogServerTest, AppendRecordsLargerThanTheQueueIsRefusedWhole) {
  LogServerOptions options;
  options.sequencer.max_pending = 2;
  auto env = LogEnv::Start(options);
  std::vector<std::string> records = FirstRecords(3);
  auto refused = env->client()->AppendRecords(records, false);
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("send smaller calls"),
            std::string::npos)
      << refused.status();
  records.pop_back();
  auto two = env->client()->AppendRecords(records, true);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_TRUE(two->outcomes[0].ok() && two->outcomes[1].ok());
  auto cp = OpenLogCheckpoint(two->checkpoint_note, env->checkpoint_key());
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 2u);
}

// AppendRecords takes one write token per record from the caller's
// address; a call larger than the burst can never pass and says so.
TEST(LogServerTest, AppendRecordsCountsEveryRecordAgainstTheRateLimit) {
  LogServerOptions options;
  options.service.write_limit = RateLimit{/*per_second=*/0.01, /*burst=*/4};
  auto env = LogEnv::Start(options);
  std::vector<std::string> records = FirstRecords(5);
  std::vector<std::string> invalid(kMaxRecordsPerAppend + 1, records[0]);
  EXPECT_EQ(env->client()->AppendRecords(invalid, false).status().code(),
            StatusCode::kInvalidArgument)
      << "the call's size is checked before the rate";
  auto too_many = env->client()->AppendRecords(records, false);
  EXPECT_EQ(too_many.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(too_many.status().message().find("at most 4 per call"),
            std::string::npos)
      << too_many.status();
  records.pop_back();
  auto four = env->client()->AppendRecords(records, false);
  ASSERT_TRUE(four.ok()) << four.status();
  for (const auto& o : four->outcomes) EXPECT_TRUE(o.ok()) << o.status();
  auto over = env->client()->AppendRecords({records[0]}, false);
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(over.status().message().find("retry in"), std::string::npos)
      << over.status();
}

// A LookupAccounts call with `ids` (with the first-record anchor) at
// `tree_size` (unset: the latest), over the raw stub.
grpc::Status LookupBatch(LogClient* c, const std::vector<std::string>& ids,
                         std::optional<uint64_t> tree_size,
                         v1::AccountLookups* resp) {
  v1::LookupAccountsRequest req;
  for (const std::string& id : ids) {
    v1::LookupAccountsRequest::Account* a = req.add_accounts();
    a->set_account_id(id);
    a->set_with_first_record(true);
  }
  if (tree_size.has_value()) req.set_tree_size(*tree_size);
  grpc::ClientContext ctx;
  return c->stub()->LookupAccounts(&ctx, req, resp);
}

// A batched lookup answers each account with the bytes LookupAccount
// answers, at one checkpoint, and the client library splits a large batch
// into calls of 100.
TEST(LogServerTest, LookupAccountsAnswersEachAccountAsLookupAccountDoes) {
  auto env = LogEnv::Start();
  TestAccount alice("alice"), bob("bob");
  env->Append(alice.Add("phone"));
  env->Append(alice.Add("laptop"));
  env->Append(bob.Add("phone"));
  LogCheckpoint cp = env->Checkpoint();
  LogClient* c = env->client();
  std::vector<std::string> ids = {"bob", "nobody", "alice"};

  v1::AccountLookups batch;
  grpc::Status s = LookupBatch(c, ids, cp.size, &batch);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(batch.has_checkpoint()) << "a size was asked for";
  EXPECT_EQ(batch.tree_size(), cp.size);
  ASSERT_EQ(batch.answers_size(), 3);
  for (int i = 0; i < 3; ++i) {
    v1::LookupAccountRequest req;
    req.set_account_id(ids[i]);
    req.set_tree_size(cp.size);
    req.set_with_first_record(true);
    v1::AccountLookup single;
    grpc::ClientContext ctx;
    ASSERT_TRUE(c->stub()->LookupAccount(&ctx, req, &single).ok());
    EXPECT_EQ(batch.answers(i).code(), 0);
    EXPECT_EQ(batch.answers(i).lookup().SerializeAsString(),
              single.SerializeAsString())
        << ids[i];
  }
  EXPECT_TRUE(batch.answers(1).lookup().account_state().empty())
      << "nobody is proved absent";
  grpc::Status beyond = LookupBatch(c, {"alice"}, cp.size + 1, &batch);
  EXPECT_EQ(beyond.error_code(), grpc::StatusCode::OUT_OF_RANGE)
      << beyond.error_message();

  // At the latest checkpoint: its note once, on the batch.
  v1::AccountLookups latest;
  ASSERT_TRUE(LookupBatch(c, {"alice"}, std::nullopt, &latest).ok());
  auto latest_cp =
      OpenLogCheckpoint(latest.checkpoint().note(), env->checkpoint_key());
  ASSERT_TRUE(latest_cp.ok()) << latest_cp.status();
  EXPECT_EQ(latest_cp->size, latest.tree_size());
  EXPECT_FALSE(latest.answers(0).lookup().has_checkpoint());

  // Through the client library, verified: 150 accounts in two calls.
  std::vector<LookupAsk> asks;
  for (int i = 0; i < 148; ++i) asks.push_back({absl::StrCat("absent", i)});
  asks.push_back({"alice", true});
  asks.push_back({"bob", false});
  std::vector<absl::StatusOr<AccountLookupAnswer>> answers =
      c->LookupAccounts(asks, cp.size);
  ASSERT_EQ(answers.size(), asks.size());
  for (size_t i = 0; i < asks.size(); ++i) {
    ASSERT_TRUE(answers[i].ok()) << answers[i].status();
    auto v = VerifyAccountLookup(
        cp, env->log_key().vrf_key, asks[i].account_id, *answers[i],
        i == 149 ? bob.key().public_key().bytes() : "");
    ASSERT_TRUE(v.ok()) << asks[i].account_id << ": " << v.status();
    EXPECT_EQ(v->state.has_value(), i >= 148) << asks[i].account_id;
  }
  EXPECT_EQ(answers[148]->first_record.has_value(), true);
  EXPECT_EQ(answers[149]->first_record.has_value(), false);
  EXPECT_EQ(answers[148]->tree_size, cp.size);
  std::string rendered = env->server()->metrics()->Render();
  EXPECT_NE(rendered.find(
                "ktlog_rpcs_total{method=\"LookupAccounts\",code=\"OK\"} 4"),
            std::string::npos)
      << "two calls of the test's and two of the client's: " << rendered;
}

// A batch whose answer is full answers the rest ABORTED, and the client
// library asks for them again.
TEST(LogServerTest, AFullBatchAnswerLeavesAccountsForTheNextCall) {
  LogServerOptions options;
  options.lookups_answer_bytes = 1;  // one account per call
  auto env = LogEnv::Start(options);
  env->Append(TestAccount("alice").Add("phone"));
  LogClient* c = env->client();
  uint64_t size = env->Checkpoint().size;
  v1::AccountLookups resp;
  ASSERT_TRUE(LookupBatch(c, {"alice", "bob", "carol"}, size, &resp).ok());
  ASSERT_EQ(resp.answers_size(), 3);
  EXPECT_EQ(resp.answers(0).code(), 0);
  EXPECT_FALSE(resp.answers(0).lookup().account_state().empty());
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(resp.answers(i).code(), static_cast<int>(StatusCode::kAborted));
    EXPECT_EQ(resp.answers(i).message(),
              "not looked up: the call's answer reached 1 bytes before this "
              "account; ask for it again in another call");
    EXPECT_FALSE(resp.answers(i).has_lookup());
  }
  auto answers = c->LookupAccounts({{"alice"}, {"bob"}, {"carol"}}, size);
  ASSERT_EQ(answers.size(), 3u);
  for (const auto& a : answers) EXPECT_TRUE(a.ok()) << a.status();
  EXPECT_NE(env->server()->metrics()->Render().find(
                "ktlog_rpcs_total{method=\"LookupAccounts\",code=\"OK\"} 4"),
            std::string::npos)
      << "one call of the test's, three of the client's";
}

// What is wrong with a batch is refused whole, before any token is taken;
// each account of a batch looked up takes one token of the per-address
// limit.
TEST(LogServerTest, LookupAccountsIsCheckedAndRateLimitedPerAccount) {
  LogServerOptions options;
  options.service.lookup_limit = RateLimit{/*per_second=*/0.01, /*burst=*/4};
  auto env = LogEnv::Start(options);
  env->Append(TestAccount("alice").Add("phone"));
  LogClient* c = env->client();
  uint64_t size = env->Checkpoint().size;
  v1::AccountLookups resp;
  auto refused = [&](const std::vector<std::string>& ids,
                     std::optional<uint64_t> at = 1) {
    return LookupBatch(c, ids, at, &resp);
  };
  grpc::Status none = refused({});
  EXPECT_EQ(none.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(none.error_message(),
            "a batched lookup names 1 to 100 accounts, not 0; split larger "
            "batches into several calls");
  std::vector<std::string> many;
  for (int i = 0; i < 101; ++i) many.push_back(absl::StrCat("a", i));
  EXPECT_EQ(refused(many).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status twice = refused({"alice", "bob", "alice"});
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(twice.error_message(),
            "accounts[2] names the same account as accounts[0]; ask for each "
            "account once");
  grpc::Status bad_id = refused({"alice", std::string("a\nb")});
  EXPECT_EQ(bad_id.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad_id.error_message().rfind("accounts[1]: ", 0), 0u)
      << bad_id.error_message();

  // A call looks up as many accounts as the address has tokens for (four)
  // and answers the rest RESOURCE_EXHAUSTED, to be asked for again.
  grpc::Status five = refused({"a", "b", "c", "d", "alice"}, size);
  ASSERT_TRUE(five.ok()) << five.error_message();
  ASSERT_EQ(resp.answers_size(), 5);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(resp.answers(i).code(), 0) << i;
  EXPECT_EQ(resp.answers(4).code(),
            static_cast<int>(StatusCode::kResourceExhausted));
  EXPECT_EQ(resp.answers(4).message(),
            "rate limit: this call could look up 4 of its 5 accounts now (at "
            "most 1 lookups per minute from one address, bursts of 4); ask "
            "for this account again");
  // With no token left the whole call is refused, with the wait.
  grpc::Status over = refused({"alice"}, size);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(over.error_message().find("retry in"), std::string::npos)
      << over.error_message();
  resp.Clear();
  grpc::Status beyond = refused({"a"}, size + 1);
  EXPECT_EQ(beyond.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << "the limit is checked before the tree size";
  // Each account of an answered batch is counted by its outcome.
  std::string rendered = env->server()->metrics()->Render();
  for (const char* line :
       {"ktlog_batched_lookups_total{code=\"OK\"} 4\n",
        "ktlog_batched_lookups_total{code=\"RESOURCE_EXHAUSTED\"} 1\n"}) {
    EXPECT_NE(rendered.find(line), std::string::npos) << line << rendered;
  }
}

// The client library asks again for what the rate limit left out, after
// the wait the log names: a client with more contacts than the burst gets
// every one of them checked, at the rate.
TEST(LogServerTest, TheClientGetsEveryAccountOfABatchAtTheRate) {
  LogServerOptions options;
  options.service.lookup_limit = RateLimit{/*per_second=*/20, /*burst=*/4};
  auto env = LogEnv::Start(options);
  env->Append(TestAccount("alice").Add("phone"));
  uint64_t size = env->Checkpoint().size;
  std::vector<LookupAsk> asks;
  for (int i = 0; i < 10; ++i) asks.push_back({absl::StrCat("user", i)});
  asks.push_back({"alice", true});
  auto answers = env->client()->LookupAccounts(asks, size);
  ASSERT_EQ(answers.size(), 11u);
  for (const auto& a : answers) EXPECT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(answers[10]->account_state.empty());
}

TEST(LogServerTest, RejectsBadReadsWithTheRightCode) {
  auto env = LogEnv::Start();
  TestAccount alice("alice");
  env->Append(alice.Add("a"));
  env->Append(alice.Add("b"));
  env->Append(alice.Add("c"));
  LogClient* c = env->client();
  // Consistency: size 0, reversed, beyond the tree, equal sizes.
  EXPECT_EQ(c->GetConsistencyProof(0, 3).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(c->GetConsistencyProof(0, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(c->GetConsistencyProof(3, 2).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(c->GetConsistencyProof(1, 4).status().code(),
            StatusCode::kOutOfRange);
  auto same = c->GetConsistencyProof(3, 3);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->empty());
  // Inclusion: size 0, index at or beyond the size, size beyond the tree.
  EXPECT_EQ(c->GetInclusionProof(0, 0).status().code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(c->GetInclusionProof(3, 3).status().code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(c->GetInclusionProof(0, 4).status().code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(c->GetInclusionProof(UINT64_MAX, UINT64_MAX).status().code(),
            StatusCode::kOutOfRange);
  // By hash: unknown, known but beyond the asked size, malformed.
  EXPECT_EQ(c->GetInclusionProofByHash(Sha256("nope"), 3).status().code(),
            StatusCode::kNotFound);
  Hash third = HashLeaf(c->GetEntries(2, 3)->at(0));
  EXPECT_EQ(c->GetInclusionProofByHash(third, 2).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(c->GetInclusionProofByHash(third, 9).status().code(),
            StatusCode::kOutOfRange);
  {
    v1::GetInclusionProofByHashRequest req;
    req.set_leaf_hash("short");
    req.set_tree_size(3);
    v1::InclusionProof resp;
    grpc::ClientContext ctx;
    EXPECT_EQ(c->stub()->GetInclusionProofByHash(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // Entries: empty range, beyond the tree, clamped to the tree.
  EXPECT_EQ(c->GetEntries(2, 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c->GetEntries(3, 5).status().code(), StatusCode::kOutOfRange);
  auto clamped = c->GetEntries(1, UINT64_MAX);
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(clamped->size(), 2u);
  // Messages say what to do.
  EXPECT_NE(
      c->GetInclusionProof(0, 4).status().message().find("latest checkpoint"),
      std::string::npos);
}

TEST(LogServerTest, EntriesArePagedAtTheLimit) {
  auto env = LogEnv::Start();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&env, t] {
      for (int u = 0; u < 3; ++u) {  // 100 devices is an account's limit
        TestAccount a(absl::StrCat("user", t, "-", u));
        for (int i = 0; i < 100; ++i) {
          DeviceRecord r = a.Add(absl::StrCat("d", i));
          auto w = env->client()->Write(r.operation, r.Encode(), false);
          ASSERT_TRUE(w.ok()) << w.status();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  // Wait (by polling, no sleep) for the checkpoint covering all writes.
  uint64_t size = 0;
  for (int i = 0; i < 1000 && size < 1200; ++i) {
    size = env->Checkpoint().size;
  }
  ASSERT_EQ(size, 1200u);
  auto page = env->client()->GetEntries(0, 1200);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), 1000u);
  auto rest = env->client()->GetEntries(1000, 1200);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->size(), 200u);
}

TEST(LogServerTest, ConcurrentWritersGetDistinctDurableIndices) {
  auto env = LogEnv::Start();
  constexpr int kThreads = 8, kPerThread = 40;
  std::vector<std::vector<std::pair<uint64_t, std::string>>> acked(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      TestAccount a(absl::StrCat("writer", t));
      for (int i = 0; i < kPerThread; ++i) {
        DeviceRecord r = a.Add(absl::StrCat("dev", i));
        auto w = env->client()->Write(r.operation, r.Encode(), i % 2 == 0);
        ASSERT_TRUE(w.ok()) << w.status();
        acked[t].emplace_back(w->leaf_index, w->leaf_hash.bytes());
      }
    });
  }
  for (auto& t : threads) t.join();
  env->Restart();  // everything acknowledged survives a restart
  LogCheckpoint cp = env->Checkpoint();
  ASSERT_EQ(cp.size, uint64_t{kThreads * kPerThread});
  std::vector<std::string> all;
  for (uint64_t b = 0; b < cp.size; b += 1000) {
    auto page = env->client()->GetEntries(b, cp.size);
    ASSERT_TRUE(page.ok());
    all.insert(all.end(), page->begin(), page->end());
  }
  for (const auto& list : acked) {
    for (const auto& [index, leaf_hash] : list) {
      EXPECT_EQ(HashLeaf(all.at(index)).bytes(), leaf_hash);
    }
  }
}

TEST(LogServerTest, RestartKeepsTreeAndCheckpointAndRefusesAnotherKey) {
  auto env = LogEnv::Start();
  TestAccount alice("alice");
  env->Append(alice.Add("phone"));
  env->Append(alice.Add("laptop"));
  LogCheckpoint before = env->Checkpoint();
  env->Restart();
  LogCheckpoint after = env->Checkpoint();
  EXPECT_EQ(after.size, before.size);
  EXPECT_EQ(after.root, before.root);
  env->Append(alice.Add("tablet"));
  LogCheckpoint grown = env->Checkpoint();
  auto proof = env->client()->GetConsistencyProof(before.size, grown.size);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(VerifyConsistency(before.size, grown.size, *proof, before.root,
                                grown.root)
                  .ok());
  std::string dir = env->data_dir();
  env->Stop();

  // The same data dir with another checkpoint key (or origin), or another
  // VRF key, is refused.
  LogServerOptions options;
  options.data_dir = dir;
  auto other = NoteSigner::Generate("test.example/log");
  auto refused = LogServer::Start(
      *std::move(other), *VrfPrivateKey::FromSeed(env->vrf().seed()), options);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("belongs to log"),
            std::string::npos)
      << refused.status();
  auto same = NoteSigner::Parse(env->signer().ToString());
  auto other_vrf =
      LogServer::Start(*std::move(same), VrfPrivateKey::Generate(), options);
  EXPECT_EQ(other_vrf.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(other_vrf.status().message().find("belongs to log"),
            std::string::npos)
      << other_vrf.status();
}

TEST(LogServerTest, HeartbeatCheckpointsAndWatchStream) {
  LogServerOptions options;
  options.sequencer.checkpoint_interval = absl::Milliseconds(20);
  auto env = LogEnv::Start(options);
  TestAccount alice("alice");
  env->Append(alice.Add("phone"));
  std::vector<LogCheckpoint> streamed;
  absl::Status s = env->client()->WatchCheckpoints(
      [&](const std::string& note) {
        auto cp = OpenLogCheckpoint(note, env->checkpoint_key());
        EXPECT_TRUE(cp.ok()) << cp.status();
        if (cp.ok()) streamed.push_back(*cp);
        return streamed.size() < 4;
      },
      absl::Now() + absl::Seconds(30));
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(streamed.size(), 4u);
  for (size_t i = 1; i < streamed.size(); ++i) {
    EXPECT_EQ(streamed[i].size, 1u) << "heartbeats keep the tree";
    EXPECT_EQ(streamed[i].root, streamed[0].root);
    EXPECT_GE(streamed[i].timestamp_ms, streamed[i - 1].timestamp_ms);
  }
  EXPECT_GT(streamed.back().timestamp_ms, streamed.front().timestamp_ms);
}

// With room for two queued writes and a batch that waits 3 s to fill, three
// writers arriving together: two are queued, the third is told to back off
// at once.
TEST(LogServerTest, BackPressureIsAnErrorNotAHang) {
  LogServerOptions options;
  options.sequencer.max_pending = 2;
  options.sequencer.batch_delay = absl::Seconds(3);
  auto env = LogEnv::Start(options);
  std::vector<TestAccount> accounts;
  std::vector<DeviceRecord> records;
  for (int i = 0; i < 3; ++i) {
    accounts.emplace_back(absl::StrCat("user", i));
    records.push_back(accounts.back().Add("x"));
  }
  std::vector<absl::Status> results(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      results[i] = env->client()
                       ->Write(records[i].operation, records[i].Encode(), false)
                       .status();
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0, exhausted = 0;
  for (const absl::Status& s : results) {
    if (s.ok()) ++ok;
    if (s.code() == StatusCode::kResourceExhausted) {
      ++exhausted;
      EXPECT_NE(s.message().find("retry"), std::string::npos) << s;
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(exhausted, 1);
}

TEST(LogServerTest, HealthCheckingIsServed) {
  auto env = LogEnv::Start();
  auto channel = grpc::CreateChannel(env->server()->address(),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  // grpc.health.v1.Health/Check with an empty request (service "").
  grpc::ClientContext ctx;
  grpc::ByteBuffer request, response;
  grpc::Slice empty("", 0);
  request = grpc::ByteBuffer(&empty, 1);
  grpc::CompletionQueue cq;
  auto call =
      stub.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2)) << "status: SERVING";
}

namespace shutdown_test {

// Holds the answer to every AddDevice call until released (or until gRPC
// cancels the call): the window in which a graceful shutdown must not
// cancel answers to writes that were already appended.
struct Gate {
  absl::Notification held, released;
  std::atomic<bool> cancelled{false};
};

// The service's test hook: holds AddDevice's answer after the append.
std::function<void(absl::string_view, grpc::CallbackServerContext*)>
HoldAnswers(Gate* gate) {
  return [gate](absl::string_view method, grpc::CallbackServerContext* ctx) {
    if (method != "AddDevice") return;
    gate->held.Notify();
    while (
        !gate->released.WaitForNotificationWithTimeout(absl::Milliseconds(5))) {
      if (ctx->IsCancelled()) {
        gate->cancelled = true;
        break;
      }
    }
  };
}

}  // namespace shutdown_test

// Regression (issue 8.2): a write whose record was appended but whose answer
// was not yet sent when SIGTERM came used to be cancelled. Driven
// deterministically: the answer is held until the server refuses new calls.
TEST(LogServerTest, ShutdownSendsTheAnswersOfWritesInFlight) {
  shutdown_test::Gate gate;
  LogServerOptions options;
  options.service.before_answer = shutdown_test::HoldAnswers(&gate);
  auto env = LogEnv::Start(options);
  std::string address = env->server()->address();
  TestAccount alice("alice");
  DeviceRecord record = alice.Add("phone");
  absl::StatusOr<LogClient::WriteResult> answer;
  std::thread writer([&] {
    answer = env->client()->Write(record.operation, record.Encode(), false);
  });
  gate.held.WaitForNotification();  // appended; the answer is on its way
  std::thread stopper([&] { env->server()->Shutdown(); });
  // Wait until the server refuses new calls: shutdown has begun.
  auto probe = LogClient::Create(address, absl::Seconds(1));
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (probe->GetCheckpoint(0).ok() && absl::Now() < deadline) {
  }
  // Give a shutdown that cancels calls the chance to do so (the hook
  // notices), then let the answer go.
  for (int i = 0; i < 100 && !gate.cancelled; ++i) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  gate.released.Notify();
  writer.join();
  stopper.join();
  EXPECT_FALSE(gate.cancelled) << "the shutdown cancelled an answer";
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->leaf_index, 0u);
}
}  // namespace
}  // namespace ktlog

namespace ktlog {
namespace {

// Issue 20, 4: writes that arrive while a graceful shutdown drains are
// answered UNAVAILABLE ("the log server is shutting down") with a retry
// pushback, as docs/api.md promises, not CANCELLED (gRPC 1.51 cancels a
// call it has received and not yet dispatched when it closes:
// grpc/grpc#41785); none of them is appended. Several shutdowns under a
// stream of writes from many threads, each of which, as clients should,
// waits out the pushback of a refusal.
TEST(LogServerTest, WritesDuringShutdownAreRefusedUnavailable) {
  int cancelled = 0, refused = 0, appended = 0;
  for (int round = 0; round < 6; ++round) {
    auto env = LogEnv::Start();
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<std::thread> writers;
    for (int t = 0; t < 16; ++t) {
      writers.emplace_back([&, t] {
        auto client =
            LogClient::Create(env->server()->address(), absl::Seconds(10));
        TestAccount account(absl::StrCat("r", round, "w", t));
        while (!stop.load()) {
          DeviceRecord r = account.Add(absl::StrCat("d", account.version()),
                                       /*advance=*/false);
          auto answer = client->Write(r.operation, r.Encode(), false);
          std::lock_guard<std::mutex> lock(mu);
          if (answer.ok()) {
            account.set_version(account.version() + 1);
            ++appended;
          } else if (answer.status().code() == StatusCode::kCancelled) {
            ++cancelled;
          } else if (answer.status().code() == StatusCode::kUnavailable) {
            ++refused;
            break;  // the pushback is 2 s; the server is gone by then
          }
        }
      });
    }
    absl::SleepFor(absl::Milliseconds(100));
    env->server()->Shutdown();
    stop = true;
    for (auto& w : writers) w.join();
  }
  EXPECT_GT(appended, 0);
  EXPECT_GT(refused, 0) << "writes arrived during the drain";
  EXPECT_EQ(cancelled, 0) << refused << " refused, " << appended << " appended";
}

}  // namespace
}  // namespace ktlog
