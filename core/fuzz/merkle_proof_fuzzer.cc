// Fuzzes the RFC 9162 inclusion and consistency proof verifiers against a
// real tree of up to 300 leaves: they never crash, and accept a proof only
// if it is the tree's own (RFC 9162 proofs are unique), for the real roots.
//
// Input: 2 bytes a, 2 bytes b (the index and size, or size1 and size2, mod
// 301), 1 byte selecting inclusion or consistency, then 32-byte hashes.
#include <cstdlib>
#include <string>
#include <vector>

#include "core/crypto/crypto.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/testonly/reference_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ktlog::ReferenceTree* tree = [] {
    auto* t = new ktlog::ReferenceTree();
    for (int i = 0; i < 300; ++i) {
      t->AppendLeafHash(ktlog::HashLeaf(std::string(1 + i % 7, 'a' + i % 26)));
    }
    return t;
  }();
  if (size < 5) return 0;
  uint64_t a = (data[0] | data[1] << 8) % 301;
  uint64_t b = (data[2] | data[3] << 8) % 301;
  bool inclusion = data[4] & 1;
  std::vector<ktlog::Hash> proof;
  for (size_t off = 5; off + 32 <= size && proof.size() < 70; off += 32) {
    proof.push_back(*ktlog::Hash::FromBytes(
        std::string(reinterpret_cast<const char*>(data + off), 32)));
  }
  if (inclusion) {
    bool real = a < b && b <= tree->size();
    // The leaf hash is the root of the one-leaf subtree.
    ktlog::Hash leaf = real ? tree->SubtreeRoot(a, a + 1) : ktlog::Hash();
    ktlog::Hash root = real ? tree->Root(b) : ktlog::Hash();
    absl::Status s = ktlog::VerifyInclusion(a, b, leaf, proof, root);
    if (s.ok() && (!real || proof != tree->InclusionProof(a, b))) abort();
    (void)ktlog::RootFromInclusionProof(a, b, leaf, proof);
  } else {
    bool real = 0 < a && a <= b && b <= tree->size();
    ktlog::Hash root1 = real ? tree->Root(a) : ktlog::Hash();
    ktlog::Hash root2 = real ? tree->Root(b) : ktlog::Hash();
    absl::Status s = ktlog::VerifyConsistency(a, b, proof, root1, root2);
    if (s.ok() && (!real || proof != tree->ConsistencyProof(a, b))) abort();
  }
  return 0;
}
