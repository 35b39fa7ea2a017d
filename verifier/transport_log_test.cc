// TransportLog over a fake unary call: the requests it builds, and how it
// reads answers (a write answered in a way the log never answers is
// UNKNOWN, maybe appended, never a refusal).
#include "verifier/transport_log.h"

#include <string>

#include "gtest/gtest.h"
#include "proto/ktlog.pb.h"
#include "verifier/own_account.h"

namespace ktlog {
namespace {

class TransportLogTest : public ::testing::Test {
 protected:
  TransportLog log_{
      [this](const std::string& method,
             const std::string& request) -> absl::StatusOr<std::string> {
        method_ = method;
        request_ = request;
        if (!status_.ok()) return status_;
        return answer_;
      }};
  std::string method_, request_, answer_;
  absl::Status status_;
};

TEST_F(TransportLogTest, WritesGoToTheOperationsMethodAndWait) {
  v1::WriteResponse resp;
  resp.set_leaf_index(7);
  resp.set_leaf_hash(std::string(32, 'h'));
  resp.mutable_checkpoint()->set_note("note");
  answer_ = resp.SerializeAsString();
  for (auto [op, method] :
       {std::pair{Operation::kAddDevice, "AddDevice"},
        std::pair{Operation::kRemoveDevice, "RemoveDevice"},
        std::pair{Operation::kRotateAccountKey, "RotateAccountKey"}}) {
    absl::StatusOr<LogSink::Appended> a = log_.Append(op, "record", "cred");
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(method_, method);
    EXPECT_EQ(a->leaf_index, 7u);
    EXPECT_EQ(a->leaf_hash.bytes(), std::string(32, 'h'));
    v1::WriteRequest req;
    ASSERT_TRUE(req.ParseFromString(request_));
    EXPECT_EQ(req.record(), "record");
    EXPECT_EQ(req.registration_credential(), "cred");
    EXPECT_TRUE(req.wait_for_checkpoint());
  }
}

TEST_F(TransportLogTest, AWriteAnswerTheLogNeverGivesMayHaveBeenAppended) {
  v1::WriteResponse no_checkpoint;
  no_checkpoint.set_leaf_hash(std::string(32, 'h'));
  v1::WriteResponse short_hash;
  short_hash.set_leaf_hash("short");
  short_hash.mutable_checkpoint()->set_note("note");
  for (const std::string& answer :
       {no_checkpoint.SerializeAsString(), short_hash.SerializeAsString(),
        std::string("\xff\xff\xff", 3)}) {
    answer_ = answer;
    absl::Status s = log_.Append(Operation::kAddDevice, "r", "").status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnknown) << s;
    EXPECT_EQ(FateOfFailedAppend(s), AppendFate::kMaybeAppended);
  }
}

TEST_F(TransportLogTest, TheCallsStatusPassesThrough) {
  status_ = absl::PermissionDeniedError("not your account");
  absl::Status s = log_.Append(Operation::kAddDevice, "r", "").status();
  EXPECT_EQ(s, status_);
  EXPECT_EQ(FateOfFailedAppend(s), AppendFate::kNotAppended);
  status_ = absl::UnavailableError("down");
  EXPECT_EQ(log_.GetCheckpoint(1, {}).status(), status_);
}

TEST_F(TransportLogTest, ReadsAskForWhatTheVerifierNeeds) {
  answer_ = "";  // an empty message parses (the verifier refuses it)
  absl::StatusOr<AccountLookupAnswer> lookup_answer =
      log_.LookupAccount("alice", 12, true);
  ASSERT_TRUE(lookup_answer.ok()) << lookup_answer.status();
  EXPECT_TRUE(lookup_answer->vrf_proof.empty());
  EXPECT_EQ(method_, "LookupAccount");
  v1::LookupAccountRequest lookup;
  ASSERT_TRUE(lookup.ParseFromString(request_));
  EXPECT_EQ(lookup.account_id(), "alice");
  EXPECT_EQ(lookup.tree_size(), 12u);
  EXPECT_TRUE(lookup.with_first_record());

  v1::SignedCheckpoint cp;
  cp.set_note("the note");
  answer_ = cp.SerializeAsString();
  absl::StatusOr<std::string> note = log_.GetCheckpoint(2, {"w1", "w2"});
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(*note, "the note");
  v1::GetCheckpointRequest get;
  ASSERT_TRUE(get.ParseFromString(request_));
  EXPECT_EQ(get.min_cosignatures(), 2u);
  EXPECT_EQ(get.witnesses_size(), 2);

  v1::ConsistencyProof proof;
  proof.add_hashes(std::string(32, 'a'));
  answer_ = proof.SerializeAsString();
  absl::StatusOr<std::vector<Hash>> hashes = log_.GetConsistencyProof(3, 9);
  ASSERT_TRUE(hashes.ok()) << hashes.status();
  EXPECT_EQ(hashes->size(), 1u);
  v1::GetConsistencyProofRequest c;
  ASSERT_TRUE(c.ParseFromString(request_));
  EXPECT_EQ(c.size1(), 3u);
  EXPECT_EQ(c.size2(), 9u);
}

}  // namespace
}  // namespace ktlog
