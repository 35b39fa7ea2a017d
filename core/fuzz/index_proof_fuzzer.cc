// Fuzzes the index-proof decoder and verifier: an accepted proof re-encodes
// to the same bytes, and verification against the vector index never
// accepts a proof that differs from the real one for that key.
#include <cstdlib>
#include <string>

#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/crypto/crypto.h"

namespace {

// The keys of the seed corpus (tests/testdata/ktlog/index.json).
ktlog::Hash KeyOf(const char* id) {
  return ktlog::Sha256({"ktlog/v1 account-index-key\n", id});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ktlog::IndexSnapshot* index = [] {
    std::vector<std::pair<ktlog::Hash, ktlog::Hash>> entries;
    for (const char* id : {"alice@example.com", "bob@example.com",
                           "carol@example.com", "dave@example.com"}) {
      entries.emplace_back(KeyOf(id),
                           ktlog::Sha256(std::string("state of ") + id));
    }
    // More than a bucket's worth, so that proofs cross trie nodes.
    for (int i = 0; i < 60; ++i) {
      std::string id = "user" + std::to_string(i) + "@example.com";
      entries.emplace_back(KeyOf(id.c_str()), ktlog::Sha256("state of " + id));
    }
    absl::StatusOr<ktlog::IndexSnapshot> built =
        ktlog::IndexSnapshot::Build(entries);
    if (!built.ok()) abort();
    return new ktlog::IndexSnapshot(*std::move(built));
  }();
  std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ktlog::IndexProof> proof = ktlog::DecodeIndexProof(input);
  if (!proof.ok()) return 0;
  if (proof->Encode() != input) abort();
  for (const char* id : {"alice@example.com", "mallory@example.com"}) {
    ktlog::Hash key = KeyOf(id);
    std::optional<ktlog::Hash> value;
    ktlog::IndexProof real = index->Prove(key, &value);
    // Soundness: a proof accepted for this key must say what the real one
    // says (membership of the same value, or absence).
    if (ktlog::VerifyIndexProof(index->root(), key, value, *proof).ok() &&
        proof->kind != real.kind &&
        !(proof->kind != ktlog::IndexProof::Kind::kMembership &&
          real.kind != ktlog::IndexProof::Kind::kMembership)) {
      abort();
    }
    if (!value.has_value() &&
        ktlog::VerifyIndexProof(index->root(), key,
                                ktlog::Sha256("forged value"), *proof)
            .ok()) {
      abort();  // a forged membership for an absent account
    }
  }
  return 0;
}
