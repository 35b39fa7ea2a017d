#include "core/account/owner_access.h"

#include "core/account/record.h"
#include "core/account/security_key.h"
#include "core/crypto/crypto.h"
#include "core/crypto/hash.h"
#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

constexpr char kOrigin[] = "ktlog.example/log";
constexpr char kAccount[] = "alice@example.com";

Ed25519PrivateKey Key(char fill) {
  return *Ed25519PrivateKey::FromSeed(std::string(32, fill));
}

// An EdDSA security key's assertion over `message`'s hash, as an
// authenticator makes it: rp id hash, flags, counter, then the signature
// over authenticator data || client data hash.
std::string Assert(const Ed25519PrivateKey& key, const std::string& credential,
                   const std::string& rp_id, uint8_t flags,
                   const std::string& message) {
  std::string auth_data(Sha256(rp_id).bytes());
  auth_data.push_back(static_cast<char>(flags));
  AppendBigEndian(7, 4, &auth_data);
  return EncodeAssertionGrant(credential, auth_data,
                              key.Sign(auth_data + Sha256(message).bytes()));
}

SecurityKeySet Set(const Ed25519PrivateKey& a, const Ed25519PrivateKey& b) {
  SecurityKeySet set;
  set.rp_id = "ktlog.example";
  set.keys = {{"cred-a", KeyAlgorithm::kEdDsa, a.public_key().bytes()},
              {"cred-b", KeyAlgorithm::kEdDsa, b.public_key().bytes()}};
  return set;
}

// The byte layouts of docs/formats.md, "Owner access".
TEST(OwnerAccessTest, MessagesAreTheDocumentedBytes) {
  std::string access(32, '\x11');
  EXPECT_EQ(HexEncode(OwnerGrantMessage("o", "a", access)),
            HexEncode("ktlog/v1 owner-access\n") + "00016f" + "000161" +
                std::string(64, '1'));
  EXPECT_EQ(HexEncode(HistoryRequestMessage("o", "a", 3, 9, 0x0102)),
            HexEncode("ktlog/v1 history-request\n") + "00016f" + "000161" +
                "0000000000000003" + "01" + "0000000000000009" +
                "0000000000000102");
  EXPECT_EQ(HexEncode(HistoryRequestMessage("o", "a", 3, std::nullopt, 5)),
            HexEncode("ktlog/v1 history-request\n") + "00016f" + "000161" +
                "0000000000000003" + "00" + "0000000000000000" +
                "0000000000000005");
}

TEST(OwnerAccessTest, AccountKeyGrantAndRequest) {
  Ed25519PrivateKey account = Key(1), access = Key(2), other = Key(3);
  std::string access_key = access.public_key().bytes();
  std::string grant =
      account.Sign(OwnerGrantMessage(kOrigin, kAccount, access_key));
  std::string authority = account.public_key().bytes();
  EXPECT_TRUE(
      VerifyGrantBy(authority, kOrigin, kAccount, access_key, grant).ok());
  // Bound to the origin, the account, the access key and the signer.
  EXPECT_EQ(
      VerifyGrantBy(authority, "other.example/log", kAccount, access_key, grant)
          .code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyGrantBy(authority, kOrigin, "bob", access_key, grant).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyGrantBy(authority, kOrigin, kAccount,
                          other.public_key().bytes(), grant)
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyGrantBy(other.public_key().bytes(), kOrigin, kAccount,
                          access_key, grant)
                .code(),
            StatusCode::kPermissionDenied);

  OwnerProof proof{access_key, grant, 1000, ""};
  proof.signature = access.Sign(
      HistoryRequestMessage(kOrigin, kAccount, 1, std::nullopt, 1000));
  EXPECT_TRUE(CheckOwnerProofShape(proof).ok());
  EXPECT_TRUE(
      VerifyHistoryRequest(proof, kOrigin, kAccount, 1, std::nullopt).ok());
  // Each field signed: another page, tree size, account or time.
  EXPECT_EQ(
      VerifyHistoryRequest(proof, kOrigin, kAccount, 2, std::nullopt).code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyHistoryRequest(proof, kOrigin, kAccount, 1, 0).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyHistoryRequest(proof, kOrigin, "bob", 1, std::nullopt).code(),
            StatusCode::kPermissionDenied);
  OwnerProof later = proof;
  later.timestamp_ms = 1001;
  EXPECT_EQ(
      VerifyHistoryRequest(later, kOrigin, kAccount, 1, std::nullopt).code(),
      StatusCode::kPermissionDenied);
}

TEST(OwnerAccessTest, ShapeIsCheckedBeforeAnything) {
  OwnerProof proof{Key(2).public_key().bytes(), "g", 1, std::string(64, 'x')};
  EXPECT_TRUE(CheckOwnerProofShape(proof).ok());
  OwnerProof bad = proof;
  bad.access_key = "short";
  EXPECT_EQ(CheckOwnerProofShape(bad).code(), StatusCode::kInvalidArgument);
  bad = proof;
  bad.signature.pop_back();
  EXPECT_EQ(CheckOwnerProofShape(bad).code(), StatusCode::kInvalidArgument);
  bad = proof;
  bad.grant = "";
  EXPECT_EQ(CheckOwnerProofShape(bad).code(), StatusCode::kInvalidArgument);
  bad.grant = std::string(kMaxOwnerGrantSize + 1, 'g');
  EXPECT_EQ(CheckOwnerProofShape(bad).code(), StatusCode::kInvalidArgument);
}

TEST(OwnerAccessTest, SecurityKeyGrant) {
  Ed25519PrivateKey a = Key(4), b = Key(5), stranger = Key(6);
  SecurityKeySet set = Set(a, b);
  ASSERT_TRUE(set.Validate().ok());
  std::string authority = set.Encode();
  std::string access_key = Key(2).public_key().bytes();
  std::string message = OwnerGrantMessage(kOrigin, kAccount, access_key);
  EXPECT_TRUE(VerifyGrantBy(authority, kOrigin, kAccount, access_key,
                            Assert(b, "cred-b", "ktlog.example", 0x01, message))
                  .ok());
  // Without user presence; for another rp id; by a key not in the set; by
  // a key under another's credential id; over another message.
  for (const std::string& grant :
       {Assert(b, "cred-b", "ktlog.example", 0x00, message),
        Assert(b, "cred-b", "other.example", 0x01, message),
        Assert(stranger, "cred-c", "ktlog.example", 0x01, message),
        Assert(stranger, "cred-a", "ktlog.example", 0x01, message),
        Assert(a, "cred-a", "ktlog.example", 0x01, message + "x"),
        std::string("not an assertion")}) {
    EXPECT_EQ(
        VerifyGrantBy(authority, kOrigin, kAccount, access_key, grant).code(),
        StatusCode::kPermissionDenied);
  }
  set.require_user_verification = true;
  EXPECT_EQ(VerifyGrantBy(set.Encode(), kOrigin, kAccount, access_key,
                          Assert(b, "cred-b", "ktlog.example", 0x01, message))
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(VerifyGrantBy(set.Encode(), kOrigin, kAccount, access_key,
                            Assert(b, "cred-b", "ktlog.example", 0x05, message))
                  .ok());
}

// The record that changes `state`'s authority to `key`, signed by `by` (a
// reset: by `key`'s own private key), appended to its chain.
void Change(AccountState* state, Operation op, const std::string& key,
            const Ed25519PrivateKey& by) {
  DeviceRecord r;
  r.operation = op;
  r.account_id = state->account_id;
  r.key = key;
  r.account_version = ++state->version;
  r.timestamp_ms = 1764270000000;
  r.account_key = by.public_key().bytes();
  r.signature = by.Sign(r.SigningMessage());
  state->key_chain.push_back({state->version, state->version, r.Encode()});
  state->account_key = key;
}

TEST(OwnerAccessTest, GrantsLastUntilTheNextReset) {
  Ed25519PrivateKey first = Key(1), second = Key(7), reset = Key(8);
  AccountState state;
  state.account_id = kAccount;
  EXPECT_TRUE(GrantingAuthorities(state).empty()) << "no account, no grant";
  std::string access_key = Key(2).public_key().bytes();
  std::string message = OwnerGrantMessage(kOrigin, kAccount, access_key);
  EXPECT_EQ(
      VerifyOwnerGrant(state, kOrigin, access_key, first.Sign(message)).code(),
      StatusCode::kPermissionDenied);

  state.first_key = state.account_key = first.public_key().bytes();
  state.version = 1;
  EXPECT_EQ(GrantingAuthorities(state),
            std::vector<std::string>{first.public_key().bytes()});
  Change(&state, Operation::kRotateAccountKey, second.public_key().bytes(),
         first);
  SecurityKeySet set = Set(Key(4), Key(5));
  Change(&state, Operation::kSetSecurityKeys, set.Encode(), second);
  EXPECT_EQ(
      GrantingAuthorities(state),
      (std::vector<std::string>{first.public_key().bytes(),
                                second.public_key().bytes(), set.Encode()}));
  // A grant of the first key still serves after a rotation and a move onto
  // security keys (the owner must see them in the history to complete
  // them); one of a security key too.
  EXPECT_TRUE(
      VerifyOwnerGrant(state, kOrigin, access_key, first.Sign(message)).ok());
  EXPECT_TRUE(
      VerifyOwnerGrant(state, kOrigin, access_key,
                       Assert(Key(4), "cred-a", "ktlog.example", 0x01, message))
          .ok());

  // A reset ends them: only its key and later ones grant.
  Change(&state, Operation::kResetAccount, reset.public_key().bytes(), reset);
  EXPECT_EQ(GrantingAuthorities(state),
            std::vector<std::string>{reset.public_key().bytes()});
  EXPECT_EQ(
      VerifyOwnerGrant(state, kOrigin, access_key, first.Sign(message)).code(),
      StatusCode::kPermissionDenied);
  EXPECT_TRUE(
      VerifyOwnerGrant(state, kOrigin, access_key, reset.Sign(message)).ok());
}

// tests/testdata/ktlog/owner_access.json, made by the independent Python
// (tools/vectors/gen_owner_access_vectors.py) from docs/formats.md alone.
TEST(OwnerAccessTest, IndependentVectors) {
  nlohmann::json v = LoadJsonTestData("ktlog/owner_access.json");
  const std::string origin = v["origin"], account = v["account_id"];
  Ed25519PrivateKey key =
      *Ed25519PrivateKey::FromSeed(Unhex(v["account_key_seed"]));
  Ed25519PrivateKey access =
      *Ed25519PrivateKey::FromSeed(Unhex(v["access_key_seed"]));
  ASSERT_EQ(HexEncode(key.public_key().bytes()), v["account_key"]);
  ASSERT_EQ(HexEncode(access.public_key().bytes()), v["access_key"]);
  const std::string access_key = access.public_key().bytes();
  EXPECT_EQ(HexEncode(OwnerGrantMessage(origin, account, access_key)),
            v["grant_message"]);
  // Ed25519 is deterministic: the same grant, byte for byte.
  EXPECT_EQ(HexEncode(key.Sign(OwnerGrantMessage(origin, account, access_key))),
            v["grant"]);
  EXPECT_TRUE(VerifyGrantBy(key.public_key().bytes(), origin, account,
                            access_key, Unhex(v["grant"]))
                  .ok());
  auto tree_size = [](const nlohmann::json& t) {
    return t.is_null() ? std::nullopt
                       : std::optional<uint64_t>(t.get<uint64_t>());
  };
  for (const nlohmann::json& r : v["requests"]) {
    std::string message =
        HistoryRequestMessage(origin, account, r["from_version"],
                              tree_size(r["tree_size"]), r["timestamp_ms"]);
    EXPECT_EQ(HexEncode(message), r["request_message"]);
    EXPECT_EQ(HexEncode(access.Sign(message)), r["signature"]);
    OwnerProof proof{access_key, Unhex(v["grant"]), r["timestamp_ms"],
                     Unhex(r["signature"])};
    EXPECT_TRUE(CheckOwnerProofShape(proof).ok());
    EXPECT_TRUE(VerifyHistoryRequest(proof, origin, account, r["from_version"],
                                     tree_size(r["tree_size"]))
                    .ok());
  }
  for (const nlohmann::json& bad : v["invalid"]) {
    SCOPED_TRACE(bad["name"].get<std::string>());
    ASSERT_EQ(bad["expected"], "PERMISSION_DENIED");
    const nlohmann::json& r = bad["request"];
    OwnerProof proof{Unhex(bad["access_key"]), Unhex(bad["grant"]),
                     r["timestamp_ms"], Unhex(r["signature"])};
    absl::Status request = VerifyHistoryRequest(
        proof, origin, account, r["from_version"], tree_size(r["tree_size"]));
    absl::Status grant = VerifyGrantBy(key.public_key().bytes(), origin,
                                       account, proof.access_key, proof.grant);
    EXPECT_TRUE(!request.ok() || !grant.ok());
    for (const absl::Status& s : {request, grant}) {
      if (!s.ok()) EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
    }
  }
  const nlohmann::json& docs = v["docs_example"];
  EXPECT_EQ(HexEncode(OwnerGrantMessage(docs["origin"], docs["account_id"],
                                        Unhex(docs["access_key"]))),
            docs["grant_message"]);
  for (const char* which : {"request", "request_tree_size_unset"}) {
    const nlohmann::json& r = docs[which];
    EXPECT_EQ(HexEncode(HistoryRequestMessage(
                  docs["origin"], docs["account_id"], r["from_version"],
                  tree_size(r["tree_size"]), r["timestamp_ms"])),
              r["request_message"]);
  }
}

}  // namespace
}  // namespace ktlog
