// Security-key sets, format-2 records and states on security keys against
// the vectors of the independent Python implementation
// (tools/vectors/gen_security_key_vectors.py,
// tests/testdata/ktlog/security_keys.json): encodings, client data
// hashes, assertions by ES256 and EdDSA keys, the account rules with
// counters, and everything a decoder or the rules must refuse.
#include "core/account/security_key.h"

#include "absl/strings/str_cat.h"
#include "core/account/account.h"
#include "core/account/record.h"
#include "core/crypto/crypto.h"
#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

std::string Unhex(const nlohmann::json& j) {
  return HexDecode(j.get<std::string>()).value();
}

class SecurityKeyVectors : public ::testing::Test {
 protected:
  SecurityKeyVectors() : v_(LoadJsonTestData("ktlog/security_keys.json")) {}
  nlohmann::json v_;
};

TEST_F(SecurityKeyVectors, SetsRoundTrip) {
  for (const char* name : {"set", "set_uv", "new_set"}) {
    std::string encoding = Unhex(v_[name]["encoding"]);
    absl::StatusOr<SecurityKeySet> set = DecodeSecurityKeySet(encoding);
    ASSERT_TRUE(set.ok()) << name << ": " << set.status();
    EXPECT_EQ(set->Encode(), encoding) << name;
    EXPECT_EQ(set->rp_id, v_["rp_id"]);
    EXPECT_EQ(set->require_user_verification, v_[name]["flags"] == 1);
    EXPECT_TRUE(IsSecurityKeyAuthority(encoding));
  }
  SecurityKeySet set = *DecodeSecurityKeySet(Unhex(v_["set"]["encoding"]));
  ASSERT_EQ(set.keys.size(), 2u);
  for (const nlohmann::json& k : v_["keys"]) {
    const SecurityKey* found = set.Find(Unhex(k["credential_id"]));
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->public_key, Unhex(k["public_key"]));
    EXPECT_EQ(found->algorithm, k["algorithm"] == "ES256"
                                    ? KeyAlgorithm::kEs256
                                    : KeyAlgorithm::kEdDsa);
  }
}

TEST_F(SecurityKeyVectors, InvalidSetsAreRefused) {
  ASSERT_GE(v_["invalid_sets"].size(), 11u);
  for (const nlohmann::json& c : v_["invalid_sets"]) {
    EXPECT_EQ(DecodeSecurityKeySet(Unhex(c["encoding"])).status().code(),
              absl::StatusCode::kInvalidArgument)
        << c["reason"];
  }
}

TEST_F(SecurityKeyVectors, TheHistoryReplaysToEveryState) {
  AccountState state;
  state.account_id = v_["account_id"];
  ASSERT_EQ(v_["history"].size(), 6u);
  for (const nlohmann::json& e : v_["history"]) {
    std::string bytes = Unhex(e["record"]);
    absl::StatusOr<DeviceRecord> r = DecodeRecord(bytes);
    ASSERT_TRUE(r.ok()) << e["description"] << ": " << r.status();
    EXPECT_EQ(r->Encode(), bytes);
    if (r->by_security_key()) {
      EXPECT_EQ(r->ClientDataHash().ToHex(), e["client_data_hash"]);
      EXPECT_TRUE(VerifyAuthorizedBy(*r, state.account_key).ok())
          << e["description"];
    } else {
      EXPECT_TRUE(r->VerifySignature().ok()) << e["description"];
    }
    absl::Status applied =
        ApplyRecord(*r, e["leaf_index"].get<uint64_t>(), &state);
    ASSERT_TRUE(applied.ok()) << e["description"] << ": " << applied;
    std::string want = Unhex(e["state"]);
    EXPECT_EQ(HexEncode(state.Encode()), e["state"]) << e["description"];
    absl::StatusOr<AccountState> decoded = DecodeAccountState(want);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, state);
  }
  EXPECT_EQ(state.account_key, Unhex(v_["new_set"]["encoding"]));
  EXPECT_EQ(state.key_chain.size(), 2u);
  // The by-reference encoding (the data dir's) reads back the same.
  std::map<uint64_t, std::string> records;
  for (const nlohmann::json& e : v_["history"]) {
    records[e["leaf_index"].get<uint64_t>()] = Unhex(e["record"]);
  }
  absl::StatusOr<AccountState> by_ref = DecodeAccountStateByReference(
      state.EncodeByReference(),
      [&](uint64_t i) -> absl::StatusOr<std::string> { return records.at(i); });
  ASSERT_TRUE(by_ref.ok()) << by_ref.status();
  EXPECT_EQ(*by_ref, state);
}

TEST_F(SecurityKeyVectors, InvalidAssertionsAreRefusedForTheirReason) {
  ASSERT_EQ(v_["invalid_assertions"].size(), 9u);
  for (const nlohmann::json& c : v_["invalid_assertions"]) {
    std::string state_hex = c.contains("state")
                                ? c["state"].get<std::string>()
                                : v_["history"][2]["state"].get<std::string>();
    AccountState state = DecodeAccountState(*HexDecode(state_hex)).value();
    AccountState before = state;
    absl::StatusOr<DeviceRecord> r = DecodeRecord(Unhex(c["record"]));
    absl::Status outcome = r.status();
    if (r.ok()) {
      outcome = r->VerifySignature();
      if (outcome.ok()) outcome = ApplyRecord(*r, 3, &state);
    }
    EXPECT_EQ(absl::StatusCodeToString(outcome.code()), c["expected"])
        << c["reason"] << ": " << outcome;
    EXPECT_EQ(state, before) << "a refused record changes nothing";
  }
}

// The state a reset vector names: inline ("state"), by reference to the
// stored big states ("state_ref"), or by default the history's last.
AccountState ResetCaseState(const nlohmann::json& v, const nlohmann::json& c,
                            const char* inline_key, const char* ref_key) {
  std::string hex;
  if (c.contains(ref_key)) {
    hex = v["reset"]["limit_states"][c[ref_key].get<std::string>()];
  } else if (c.contains(inline_key)) {
    hex = c[inline_key];
  } else {
    hex = v["history"].back()["state"];
  }
  AccountState state;
  if (hex.empty()) {
    state.account_id = v["account_id"];  // the account does not exist
    return state;
  }
  absl::StatusOr<AccountState> decoded = DecodeAccountState(Unhex(hex));
  EXPECT_TRUE(decoded.ok()) << c["reason"] << ": " << decoded.status();
  return decoded.ok() ? *decoded : state;
}

// Every key lost: the reset (operation 5) that the independent
// implementation makes from the docs continues the history, and each
// invalid reset is refused with its code.
TEST_F(SecurityKeyVectors, TheResetContinuesTheHistory) {
  const nlohmann::json& reset = v_["reset"];
  AccountState state =
      DecodeAccountState(Unhex(v_["history"].back()["state"])).value();
  ASSERT_EQ(reset["history"].size(), 2u);
  for (const nlohmann::json& e : reset["history"]) {
    absl::StatusOr<DeviceRecord> r = DecodeRecord(Unhex(e["record"]));
    ASSERT_TRUE(r.ok()) << e["description"] << ": " << r.status();
    ASSERT_TRUE(r->VerifySignature().ok()) << e["description"];
    absl::Status applied =
        ApplyRecord(*r, e["leaf_index"].get<uint64_t>(), &state);
    ASSERT_TRUE(applied.ok()) << e["description"] << ": " << applied;
    EXPECT_EQ(HexEncode(state.Encode()), e["state"]) << e["description"];
  }
  EXPECT_EQ(HexEncode(state.account_key), reset["new_key"]["public_key"]);
  EXPECT_EQ(state.key_chain.size(), 3u);
  ASSERT_EQ(state.devices.size(), 1u);
  EXPECT_EQ(state.devices.begin()->first, "phone");
}

TEST_F(SecurityKeyVectors, InvalidResetsAreRefusedForTheirReason) {
  const nlohmann::json& reset = v_["reset"];
  ASSERT_EQ(reset["invalid_resets"].size(), 17u);
  for (const nlohmann::json& c : reset["invalid_resets"]) {
    AccountState state = ResetCaseState(v_, c, "state", "state_ref");
    AccountState before = state;
    absl::StatusOr<DeviceRecord> r = DecodeRecord(Unhex(c["record"]));
    absl::Status outcome = r.status();
    if (r.ok()) {
      outcome = r->VerifySignature();
      if (outcome.ok()) outcome = ApplyRecord(*r, 6, &state);
    }
    EXPECT_EQ(absl::StatusCodeToString(outcome.code()), c["expected"])
        << c["reason"] << ": " << outcome;
    EXPECT_EQ(state, before) << "a refused record changes nothing";
  }
}

// Resets counted apart from the other changes: a reset on an account
// with 100 rotations, and its 10th reset, are accepted.
TEST_F(SecurityKeyVectors, ResetsAtTheLimitsAreAccepted) {
  const nlohmann::json& cases = v_["reset"]["valid_at_limits"];
  ASSERT_EQ(cases.size(), 2u);
  for (const nlohmann::json& c : cases) {
    AccountState state = ResetCaseState(v_, c, "state", "state_ref");
    absl::StatusOr<DeviceRecord> r = DecodeRecord(Unhex(c["record"]));
    ASSERT_TRUE(r.ok()) << c["reason"] << ": " << r.status();
    ASSERT_TRUE(r->VerifySignature().ok()) << c["reason"];
    AccountState want = ResetCaseState(v_, c, "state_after", "state_after_ref");
    ASSERT_FALSE(want.key_chain.empty());
    absl::Status applied =
        ApplyRecord(*r, want.key_chain.back().leaf_index, &state);
    ASSERT_TRUE(applied.ok()) << c["reason"] << ": " << applied;
    EXPECT_EQ(HexEncode(state.Encode()), HexEncode(want.Encode()))
        << c["reason"];
  }
}

// How messages name an authority: an account key whole; a set by its keys'
// credential ids (its encoding's prefix is the rp id, the same for every
// set of a log).
TEST_F(SecurityKeyVectors, AuthorityTextTellsSetsApart) {
  std::string key(32, '\x01');
  EXPECT_EQ(AuthorityText(key), "account key " + HexEncode(key));
  SecurityKeySet set = *DecodeSecurityKeySet(Unhex(v_["set"]["encoding"]));
  ASSERT_EQ(set.keys.size(), 2u);
  EXPECT_EQ(
      AuthorityText(set.Encode()),
      absl::StrCat("on 2 security keys (",
                   HexEncode(set.keys[0].credential_id).substr(0, 16), "…, ",
                   HexEncode(set.keys[1].credential_id).substr(0, 16), "…)"));
}

}  // namespace
}  // namespace ktlog
