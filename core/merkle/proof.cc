#include "core/merkle/proof.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

// RFC 9162 §2.1.3.1 PATH(m, D[begin:end]), absolute leaf index m.
void PathPlan(uint64_t m, uint64_t begin, uint64_t end, ProofPlan* out) {
  uint64_t n = end - begin;
  if (n == 1) return;
  uint64_t k = LargestPowerOfTwoBelow(n);
  if (m < begin + k) {
    PathPlan(m, begin, begin + k, out);
    out->push_back(PerfectSubtrees(begin + k, end));
  } else {
    PathPlan(m, begin + k, end, out);
    out->push_back(PerfectSubtrees(begin, begin + k));
  }
}

// RFC 9162 §2.1.4.1 SUBPROOF(m, D[begin:end], b), m relative to begin.
void SubproofPlan(uint64_t m, uint64_t begin, uint64_t end, bool b,
                  ProofPlan* out) {
  uint64_t n = end - begin;
  if (m == n) {
    if (!b) out->push_back(PerfectSubtrees(begin, end));
    return;
  }
  uint64_t k = LargestPowerOfTwoBelow(n);
  if (m <= k) {
    SubproofPlan(m, begin, begin + k, b, out);
    out->push_back(PerfectSubtrees(begin + k, end));
  } else {
    SubproofPlan(m - k, begin + k, end, false, out);
    out->push_back(PerfectSubtrees(begin, begin + k));
  }
}

absl::Status CheckLength(const std::vector<Hash>& proof, size_t want) {
  if (proof.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("proof has ", proof.size(), " hashes, expected ", want));
  }
  return absl::OkStatus();
}

absl::Status Mismatch(absl::string_view what, const Hash& got,
                      const Hash& want) {
  return absl::DataLossError(absl::StrCat(what, " mismatch: proof gives ",
                                          got.ToHex(), ", expected ",
                                          want.ToHex()));
}

bool Lsb(uint64_t x) { return (x & 1) != 0; }

}  // namespace

absl::StatusOr<ProofPlan> InclusionProofPlan(uint64_t index, uint64_t size) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", index, " is not below tree size ", size));
  }
  ProofPlan plan;
  PathPlan(index, 0, size, &plan);
  return plan;
}

absl::StatusOr<ProofPlan> ConsistencyProofPlan(uint64_t size1, uint64_t size2) {
  if (size1 == 0) {
    return absl::InvalidArgumentError(
        "no consistency proof from size 0: every tree extends the empty "
        "tree");
  }
  if (size1 > size2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consistency proof needs size1 <= size2, got ", size1, " > ", size2));
  }
  ProofPlan plan;
  if (size1 < size2) SubproofPlan(size1, 0, size2, true, &plan);
  return plan;
}

size_t PlanNodeCount(const ProofPlan& plan) {
  size_t n = 0;
  for (const auto& element : plan) n += element.size();
  return n;
}

std::vector<Hash> AssembleProof(const ProofPlan& plan,
                                const std::vector<Hash>& nodes) {
  if (nodes.size() != PlanNodeCount(plan)) abort();
  std::vector<Hash> proof;
  proof.reserve(plan.size());
  size_t next = 0;
  for (const auto& element : plan) {
    std::vector<Hash> parts(nodes.begin() + next,
                            nodes.begin() + next + element.size());
    next += element.size();
    proof.push_back(FoldRange(parts));
  }
  return proof;
}

absl::StatusOr<Hash> RootFromInclusionProof(uint64_t index, uint64_t size,
                                            const Hash& leaf_hash,
                                            const std::vector<Hash>& proof) {
  ASSIGN_OR_RETURN(ProofPlan plan, InclusionProofPlan(index, size));
  RETURN_IF_ERROR(CheckLength(proof, plan.size()));
  // RFC 9162 §2.1.3.2, steps 2-5.
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) {
      return absl::InvalidArgumentError("inclusion proof is too long");
    }
    if (Lsb(fn) || fn == sn) {
      r = HashChildren(p, r);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError("inclusion proof is too short");
  }
  return r;
}

absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             const Hash& leaf_hash,
                             const std::vector<Hash>& proof, const Hash& root) {
  ASSIGN_OR_RETURN(Hash got,
                   RootFromInclusionProof(index, size, leaf_hash, proof));
  if (got != root) return Mismatch("inclusion proof root", got, root);
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t size1, uint64_t size2,
                               const std::vector<Hash>& proof,
                               const Hash& root1, const Hash& root2) {
  ASSIGN_OR_RETURN(ProofPlan plan, ConsistencyProofPlan(size1, size2));
  RETURN_IF_ERROR(CheckLength(proof, plan.size()));
  if (size1 == size2) {
    if (root1 != root2) return Mismatch("root at equal sizes", root2, root1);
    return absl::OkStatus();
  }
  // RFC 9162 §2.1.4.2, steps 2-7.
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if ((size1 & (size1 - 1)) == 0) path.push_back(root1);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while (Lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) {
      return absl::InvalidArgumentError("consistency proof is too long");
    }
    if (Lsb(fn) || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError("consistency proof is too short");
  }
  if (fr != root1) return Mismatch("consistency proof old root", fr, root1);
  if (sr != root2) return Mismatch("consistency proof new root", sr, root2);
  return absl::OkStatus();
}

}  // namespace ktlog
