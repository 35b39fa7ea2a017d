// The leak test (docs/privacy.md): accounts are written through the real
// server, then everything its public read API serves is read (every
// checkpoint, the checkpoint to cosign and the cosigned one, the watch
// stream, every entry, every inclusion proof by index and by hash at every
// checkpoint size, every consistency proof) and searched for every account
// id, device id, device key and account key written, raw, in hex and in
// base64. None may appear. A lookup, which names an account, must show them:
// the search itself is checked.
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "auditor/auditor.h"
#include "core/merkle/merkle.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

// Everything written that must stay private, and everything served.
class LeakSearch {
 public:
  void Secret(const std::string& s) { secrets_.insert(s); }
  void Served(const std::string& what, const std::string& bytes) {
    served_.emplace_back(what, bytes);
  }
  void Served(const std::string& what, const std::vector<Hash>& hashes) {
    std::string all;
    for (const Hash& h : hashes) all += h.bytes();
    Served(what, all);
  }

  // The forms a secret could take in what is served.
  static std::vector<std::string> Forms(const std::string& s) {
    std::string hex = HexEncode(s);
    std::string b64 = Base64Encode(s);
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
    return {s, hex, absl::AsciiStrToUpper(hex), b64};
  }

  // Where `text` shows a secret: "served item: form of secret", or "".
  static std::string Find(const std::set<std::string>& secrets,
                          const std::string& what, const std::string& text) {
    for (const std::string& s : secrets) {
      for (const std::string& form : Forms(s)) {
        if (text.find(form) != std::string::npos) {
          return absl::StrCat(what, " shows \"", form, "\"");
        }
      }
    }
    return "";
  }

  std::vector<std::string> Leaks() const {
    std::vector<std::string> out;
    for (const auto& [what, bytes] : served_) {
      std::string leak = Find(secrets_, what, bytes);
      if (!leak.empty()) out.push_back(leak);
    }
    return out;
  }
  size_t served() const { return served_.size(); }
  const std::set<std::string>& secrets() const { return secrets_; }

 private:
  std::set<std::string> secrets_;
  std::vector<std::pair<std::string, std::string>> served_;
};

TEST(PrivacyTest, ThePublicReadAPIShowsNoAccountDeviceOrKey) {
  auto witness = std::make_unique<NoteSigner>(
      *NoteSigner::Generate("witness.example/w", kNoteTypeCosignatureV1));
  LogServerOptions options;
  options.cosignatures.witnesses.push_back(witness->verifier_key());
  auto env = LogEnv::Start(options);
  LeakSearch search;

  // Accounts with phone numbers and addresses for ids, devices added,
  // removed, and account keys rotated.
  std::vector<TestAccount> accounts;
  for (const char* id : {"+15551234567", "alice@example.com",
                         "bob.smith@mail.example", "+442071838750"}) {
    accounts.emplace_back(id);
  }
  auto write = [&](TestAccount& a, const DeviceRecord& r) {
    search.Secret(r.account_id);
    if (!r.device_id.empty()) search.Secret(r.device_id);
    search.Secret(r.key);
    search.Secret(r.account_key);
    return env->Append(r);
  };
  std::vector<LogCheckpoint> checkpoints = {env->Checkpoint()};
  for (size_t i = 0; i < accounts.size(); ++i) {
    TestAccount& a = accounts[i];
    std::string dev = absl::StrCat("device-of-", a.id());
    write(a, a.Add(dev + "-phone"));
    write(a, a.Add(dev + "-laptop"));
    if (i % 2 == 0) write(a, a.Remove(dev + "-phone"));
    if (i % 2 == 1) write(a, a.Rotate());
    search.Secret(a.key().public_key().bytes());
    auto w = write(a, a.Add(dev + "-tablet"));
    checkpoints.push_back(
        *OpenLogCheckpoint(w.checkpoint_note, env->checkpoint_key()));
  }
  // A witness cosigns, so cosigned checkpoints are served too.
  AuditorOptions ao;
  ao.state_dir = NewTempDir("privacy-auditor");
  ao.log_key = env->log_key();
  auto auditor =
      Auditor::Open(ao, *NoteSigner::Parse(witness->ToString()), env->feed());
  ASSERT_TRUE(auditor.ok()) << auditor.status();
  ASSERT_TRUE((*auditor)->RunOnce().ok());

  LogClient* c = env->client();
  LogCheckpoint latest = env->Checkpoint();
  search.Served("GetCheckpoint", *c->GetCheckpoint(0));
  search.Served("GetCheckpoint(cosigned)", *c->GetCheckpoint(1));
  search.Served("GetCheckpointToCosign", *c->GetCheckpointToCosign());
  ASSERT_TRUE(c->WatchCheckpoints(
                   [&](const std::string& note) {
                     search.Served("WatchCheckpoints", note);
                     return false;
                   },
                   absl::Now() + absl::Seconds(10))
                  .ok());
  auto entries = c->GetEntries(0, latest.size);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), latest.size);
  for (uint64_t i = 0; i < latest.size; ++i) {
    search.Served(absl::StrCat("entry ", i), (*entries)[i]);
  }
  checkpoints.push_back(latest);
  for (const LogCheckpoint& cp : checkpoints) {
    for (uint64_t i = 0; i < cp.size; ++i) {
      auto proof = c->GetInclusionProof(i, cp.size);
      ASSERT_TRUE(proof.ok());
      search.Served(absl::StrCat("inclusion ", i, "@", cp.size), proof->hashes);
      auto by_hash =
          c->GetInclusionProofByHash(HashLeaf((*entries)[i]), cp.size);
      ASSERT_TRUE(by_hash.ok());
      search.Served(absl::StrCat("inclusion by hash ", i, "@", cp.size),
                    by_hash->hashes);
    }
    for (const LogCheckpoint& later : checkpoints) {
      if (cp.size == 0 || later.size < cp.size) continue;
      auto proof = c->GetConsistencyProof(cp.size, later.size);
      ASSERT_TRUE(proof.ok());
      search.Served(absl::StrCat("consistency ", cp.size, "-", later.size),
                    *proof);
    }
  }
  EXPECT_GT(search.served(), 100u);
  EXPECT_GE(search.secrets().size(), 4u * 6);
  for (const std::string& leak : search.Leaks()) ADD_FAILURE() << leak;

  // The search finds what is there: a lookup, which names the account,
  // shows its id, devices and keys.
  auto lookup = c->LookupAccountAtLatest("alice@example.com", true);
  ASSERT_TRUE(lookup.ok());
  for (const std::string& shown :
       {std::string("alice@example.com"),
        std::string("device-of-alice@example.com-laptop"),
        accounts[1].key().public_key().bytes()}) {
    EXPECT_NE(LeakSearch::Find({shown}, "lookup", lookup->account_state), "")
        << shown;
  }
}

// Histories (every version, removed devices, old keys) go to the owner
// only (docs/privacy.md, docs/formats.md "Owner access"): a stranger, even
// one with a grant of its own key, gets exactly the answer an account that
// does not exist gets; the owner's grant survives a rotation; a request is
// not accepted twice, nor one dated far from the log's clock.
TEST(PrivacyTest, HistoriesAreServedToTheOwnerOnly) {
  FakeClock clock(RealClock::Get()->NowMillis());
  LogServerOptions options;
  options.clock = &clock;
  auto env = LogEnv::Start(options);
  const std::string origin = env->server()->origin();
  TestAccount alice("alice@example.com"), mallory("mallory@example.com");
  env->Append(alice.Add("phone"));
  env->Append(alice.Remove("phone"));
  env->Append(alice.Add("laptop"));
  env->Append(mallory.Add("phone"));
  LogClient* c = env->client();

  // The owner.
  auto served = c->GetAccountHistoryAtLatest(
      alice.id(), 1, alice.Owner(origin, 1, std::nullopt));
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->entries.size(), 3u);

  // Strangers: Mallory with an access key of his own that his account key
  // "grants" for Alice's account; Alice's grant for another log; an empty
  // proof (malformed, whatever the account).
  auto stranger = [&](const OwnerProof& proof) {
    return c->GetAccountHistoryAtLatest(alice.id(), 1, proof).status();
  };
  absl::Status absent =
      c->GetAccountHistoryAtLatest(
           "nobody@example.com", 1,
           TestAccount("nobody@example.com").Owner(origin, 1, std::nullopt))
          .status();
  EXPECT_EQ(absent.code(), StatusCode::kPermissionDenied) << absent;
  absl::Status refused =
      stranger(mallory.Owner(origin, 1, std::nullopt, alice.id()));
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << refused;
  EXPECT_EQ(refused.message(), absent.message())
      << "a stranger learns what an absent account's requester learns";
  EXPECT_EQ(stranger(alice.Owner("other.example/log", 1, std::nullopt)).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(stranger(OwnerProof{}).code(), StatusCode::kInvalidArgument);

  // A replayed request is refused.
  OwnerProof once = alice.Owner(origin, 1, std::nullopt);
  EXPECT_TRUE(c->GetAccountHistoryAtLatest(alice.id(), 1, once).ok());
  EXPECT_EQ(c->GetAccountHistoryAtLatest(alice.id(), 1, once).status().code(),
            StatusCode::kFailedPrecondition);

  // A rotation: the grant by the first key still serves, and the new key
  // grants too.
  OwnerProof by_first_key = alice.Owner(origin, 1, std::nullopt);
  env->Append(alice.Rotate());
  EXPECT_TRUE(c->GetAccountHistoryAtLatest(alice.id(), 1, by_first_key).ok());
  auto after = c->GetAccountHistoryAtLatest(
      alice.id(), 1, alice.Owner(origin, 1, std::nullopt));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->entries.size(), 4u);

  // A request dated more than 5 minutes from the log's clock.
  clock.Advance(6 * 60 * 1000);
  EXPECT_EQ(c->GetAccountHistoryAtLatest(alice.id(), 1,
                                         alice.Owner(origin, 1, std::nullopt))
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
}

// A proof for `a`'s history (latest, from version 1) with access key
// `access`, granted by `a`'s account key, dated `ts`.
OwnerProof ProofWith(const TestAccount& a, const Ed25519PrivateKey& access,
                     const std::string& origin, uint64_t ts) {
  return SignHistoryRequest(access,
                            a.key().Sign(OwnerGrantMessage(
                                origin, a.id(), access.public_key().bytes())),
                            origin, a.id(), 1, std::nullopt, ts);
}

// The log's memory of requests (no replay) is bounded per account: one
// owner cannot crowd out the others, and what it remembers is forgotten
// once the window passed. A request from before a restart is refused after
// it.
TEST(PrivacyTest, HistoryRequestsAreRememberedPerAccountAndForgotten) {
  const uint64_t start = RealClock::Get()->NowMillis();
  FakeClock clock(start);
  LogServerOptions options;
  options.clock = &clock;
  auto env = LogEnv::Start(options);
  const std::string origin = env->server()->origin();
  TestAccount alice("alice@example.com"), bob("bob@example.com");
  env->Append(alice.Add("phone"));
  env->Append(bob.Add("phone"));
  LogClient* c = env->client();
  auto read = [&](const TestAccount& a, const Ed25519PrivateKey& k,
                  uint64_t ts) {
    return c->GetAccountHistoryAtLatest(a.id(), 1, ProofWith(a, k, origin, ts))
        .status()
        .code();
  };
  EXPECT_EQ(read(alice, Ed25519PrivateKey::Generate(), start - 1000),
            StatusCode::kFailedPrecondition)
      << "dated before the log started";
  std::vector<Ed25519PrivateKey> keys;
  for (size_t i = 0; i < kAccessKeysPerAccount; ++i) {
    keys.push_back(Ed25519PrivateKey::Generate());
    EXPECT_EQ(read(alice, keys.back(), start + 1 + i), StatusCode::kOk) << i;
  }
  Ed25519PrivateKey ninth = Ed25519PrivateKey::Generate();
  EXPECT_EQ(read(alice, ninth, start + 100), StatusCode::kResourceExhausted);
  EXPECT_EQ(read(alice, keys[0], start + 101), StatusCode::kOk)
      << "a key it knows goes on";
  EXPECT_EQ(read(bob, ninth, start + 102), StatusCode::kOk)
      << "another account is not affected";
  clock.Advance(6 * 60 * 1000);
  EXPECT_EQ(read(alice, ninth, clock.NowMillis()), StatusCode::kOk)
      << "forgotten once the window passed";
}

}  // namespace
}  // namespace ktlog
