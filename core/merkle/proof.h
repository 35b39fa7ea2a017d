// RFC 9162 §2.1.3 inclusion and §2.1.4 consistency proofs: which stored nodes
// make up a proof (generation), and verification.
//
// Status codes of the verifiers: INVALID_ARGUMENT when the inputs are
// malformed (index out of range, a size pair with no proof, a proof of the
// wrong length); DATA_LOSS when the proof is well formed but does not lead to
// the expected root(s): that is evidence that the log (or the storage behind
// it) misbehaved, and callers keep it apart from malformed input.
//
// Consistency from size 0: no proof exists (every tree extends the empty
// tree), so the functions below reject size1 == 0 with INVALID_ARGUMENT, as
// transparency-dev/merkle does. A client with no trusted checkpoint accepts
// its first signed checkpoint without a consistency proof; see
// docs/protocol.md.
//
// An inclusion proof does not bind the tree size: take `size` and `root`
// from a signed checkpoint, never from the proof's sender.
#ifndef KTLOG_CORE_MERKLE_PROOF_H_
#define KTLOG_CORE_MERKLE_PROOF_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/crypto/hash.h"
#include "core/merkle/merkle.h"

namespace ktlog {

// A proof as a list of elements in RFC 9162 order (leaf to root). Each
// element is the Merkle tree hash of one range, given as the perfect
// subtrees that cover it (usually one; more only for the right edge of the
// tree), to be combined with FoldRange.
using ProofPlan = std::vector<std::vector<NodeId>>;

// The plan for PATH(index, D[size]). INVALID_ARGUMENT unless index < size.
absl::StatusOr<ProofPlan> InclusionProofPlan(uint64_t index, uint64_t size);

// The plan for PROOF(size1, D[size2]): empty when size1 == size2.
// INVALID_ARGUMENT unless 0 < size1 <= size2.
absl::StatusOr<ProofPlan> ConsistencyProofPlan(uint64_t size1, uint64_t size2);

// The number of node hashes a plan needs, in plan order (elements
// flattened).
size_t PlanNodeCount(const ProofPlan& plan);

// Turns the fetched hashes of every node of `plan` (flattened, in plan
// order) into the proof hashes. Requires nodes.size() == PlanNodeCount(plan).
std::vector<Hash> AssembleProof(const ProofPlan& plan,
                                const std::vector<Hash>& nodes);

// RFC 9162 §2.1.3.2: the root that `proof` leads to from `leaf_hash` at
// `index` in a tree of `size`. INVALID_ARGUMENT if index >= size or the
// proof has the wrong length for (index, size).
absl::StatusOr<Hash> RootFromInclusionProof(uint64_t index, uint64_t size,
                                            const Hash& leaf_hash,
                                            const std::vector<Hash>& proof);

// OK iff `proof` shows that `leaf_hash` is leaf `index` of the tree of
// `size` with root `root`. INVALID_ARGUMENT for malformed input, DATA_LOSS
// for a well-formed proof that leads to another root.
absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             const Hash& leaf_hash,
                             const std::vector<Hash>& proof, const Hash& root);

// RFC 9162 §2.1.4.2: OK iff `proof` shows that the tree of size2 with root2
// extends the tree of size1 with root1. size1 == size2 needs an empty proof
// and equal roots. INVALID_ARGUMENT for size1 == 0, size1 > size2 or a proof
// of the wrong length; DATA_LOSS for a well-formed proof that does not
// reproduce both roots (or equal sizes with different roots).
absl::Status VerifyConsistency(uint64_t size1, uint64_t size2,
                               const std::vector<Hash>& proof,
                               const Hash& root1, const Hash& root2);

}  // namespace ktlog

#endif  // KTLOG_CORE_MERKLE_PROOF_H_
