// The account index (core/account/index.h) held in memory: IndexSnapshot,
// one version of it, immutable, sharing with the versions it was made from
// everything it did not change. The log keeps a snapshot per batch in its
// lookup window (log/index_versions.h); the auditor and fsck keep the
// latest. Every party computes roots and proofs with this one code.
//
// Layout (docs/index.md, "In memory"): a binary trie over the key bits
// whose leaves are *buckets*, sorted arrays of at most kBucketKeys
// (key, value hash) pairs; every trie node and bucket caches the hash of
// the index subtree it stands for. A trie node stands for every level its
// keys all share (path compression): keys that share long prefixes, which
// a log can put before an auditor (it cannot check VRF outputs), cost a
// node per bucket, not per level. Nothing else is stored: no paths, no
// hashes below a bucket (a proof hashes the few keys of one bucket). So an
// account costs its 64 bytes and a share of a bucket and of the trie nodes
// above it (~85 bytes in all, docs/benchmarks.md), and a change copies one
// bucket and the trie nodes on its path (copy on write: older snapshots
// are untouched, and readers need no lock).
//
// Thread-safe: snapshots are immutable; copies and destruction may run on
// any threads (nodes are reference counted atomically).
#ifndef KTLOG_CORE_ACCOUNT_INDEX_TREE_H_
#define KTLOG_CORE_ACCOUNT_INDEX_TREE_H_

#include <cstddef>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/account/index.h"
#include "core/crypto/hash.h"

namespace ktlog {

class IndexSnapshot {
 public:
  // A bucket splits when a change would leave it with more keys. Smaller
  // buckets cost trie nodes (memory); larger ones cost hashing per proof.
  static constexpr size_t kBucketKeys = 8;

  // The empty index.
  IndexSnapshot();
  IndexSnapshot(const IndexSnapshot& other);
  IndexSnapshot& operator=(const IndexSnapshot& other);
  IndexSnapshot(IndexSnapshot&& other) noexcept;
  IndexSnapshot& operator=(IndexSnapshot&& other) noexcept;
  ~IndexSnapshot();

  // The index holding `entries` (key -> value hash), built from nothing on
  // up to two threads (a start-up's rebuild). INVALID_ARGUMENT for a key
  // twice.
  static absl::StatusOr<IndexSnapshot> Build(
      std::vector<std::pair<Hash, Hash>> entries);

  // This index with `changes` applied (key -> value hash, set or replaced;
  // keys are never removed). INVALID_ARGUMENT for a key twice. This
  // snapshot does not change.
  absl::StatusOr<IndexSnapshot> Apply(
      std::vector<std::pair<Hash, Hash>> changes) const;

  Hash root() const;
  // The number of keys.
  size_t size() const;
  // The value hash at `key`, if present.
  std::optional<Hash> Find(const Hash& key) const;
  // A proof for `key` (root at depth 0); sets *value_hash to the key's
  // value when it is present (a membership proof), else clears it.
  IndexProof Prove(const Hash& key, std::optional<Hash>* value_hash) const;

  struct Shape {
    size_t trie_nodes = 0;
    size_t buckets = 0;
    size_t keys = 0;
    size_t largest_bucket = 0;  // keys in the fullest bucket
  };
  // Counts what this snapshot holds (walks all of it: for benchmarks and
  // tests).
  Shape Measure() const;

  struct Node;

 private:
  IndexSnapshot(Node* root, size_t size);
  Node* root_;  // owns one reference
  size_t size_ = 0;
};

// The root of the index holding `entries` (key -> value hash), computed
// from the definition by recursion over the whole set: slow, for tests.
Hash NaiveIndexRoot(const std::map<Hash, Hash>& entries);

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_INDEX_TREE_H_
