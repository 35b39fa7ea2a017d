// Building, updating and proving the account index (core/account/index.h)
// over a node store. The same algorithm runs over the log's in-memory
// versioned index (log/index_versions.h) and InMemoryIndex (the auditor,
// fsck, tests), so every party computes roots the same way.
//
// Nodes are addressed by their path: a depth and the key bits above it.
// Only non-empty nodes are stored; keys are never deleted (accounts are
// never removed from the index).
#ifndef KTLOG_CORE_ACCOUNT_INDEX_TREE_H_
#define KTLOG_CORE_ACCOUNT_INDEX_TREE_H_

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/account/index.h"
#include "core/util/huge_pages.h"

namespace ktlog {

struct IndexPath {
  uint16_t depth = 0;  // 0..256
  Hash prefix;         // the first `depth` key bits; the rest zero

  static IndexPath Root() { return IndexPath(); }
  static IndexPath Of(const Hash& key, int depth);
  IndexPath Child(int bit) const;

  friend bool operator<(const IndexPath& a, const IndexPath& b) {
    return a.depth != b.depth ? a.depth < b.depth : a.prefix < b.prefix;
  }
  friend bool operator==(const IndexPath& a, const IndexPath& b) {
    return a.depth == b.depth && a.prefix == b.prefix;
  }
  template <typename H>
  friend H AbslHashValue(H h, const IndexPath& p) {
    return H::combine(std::move(h), p.depth, p.prefix);
  }
};

struct IndexNode {
  enum class Type : uint8_t { kEmpty = 0, kInternal = 1, kLeaf = 2 };
  Type type = Type::kEmpty;
  Hash left, right;      // kInternal: the children's hashes
  Hash key, value_hash;  // kLeaf

  static IndexNode Internal(const Hash& l, const Hash& r);
  static IndexNode Leaf(const Hash& key, const Hash& value_hash);
  Hash hash() const;

  // Storage encoding: u8 type | kInternal: left, right | kLeaf: key, value.
  std::string Encode() const;
  static absl::StatusOr<IndexNode> Decode(absl::string_view data);

  friend bool operator==(const IndexNode& a, const IndexNode& b) {
    return a.Encode() == b.Encode();
  }
};

// An IndexNode as an index held in memory keeps it: the two hashes its
// type uses (a leaf's key and value hash, or an internal node's children),
// 65 bytes instead of 129.
class PackedIndexNode {
 public:
  PackedIndexNode() = default;
  explicit PackedIndexNode(const IndexNode& node);
  IndexNode Unpack() const;

  friend bool operator==(const PackedIndexNode& a, const PackedIndexNode& b) {
    return a.type_ == b.type_ && a.first_ == b.first_ && a.second_ == b.second_;
  }

 private:
  IndexNode::Type type_ = IndexNode::Type::kEmpty;
  Hash first_, second_;
};

// The table an index held in memory keeps its nodes in, by path. It is
// gigabytes at 10^7 accounts and every update and proof reads it at random,
// so its shards are on huge pages (core/util/huge_pages.h). It is split in
// 256 shards by the path's first key byte so that growing it rehashes a
// shard (1/256 of it) at a time, a few shards in one batch of updates: one
// hash table would be copied whole in a single insert, with every lookup
// and the writer waiting (2.8 s at 10^6 accounts, docs/benchmarks.md).
// Keys are VRF outputs or hashes, so the shards fill evenly.
// Thread-compatible: const methods may run concurrently; the owner locks
// around the others.
template <class V>
class IndexNodeTable {
 public:
  static constexpr size_t kShards = 256;

  // The shard `path` belongs to: its first key byte.
  static size_t ShardOf(const IndexPath& path) {
    return static_cast<unsigned char>(path.prefix.view()[0]);
  }

  // The value at `path`, or nullptr. Valid until the next insertion or
  // Reserve.
  const V* Find(const IndexPath& path) const {
    const Shard& s = shards_[ShardOf(path)];
    auto it = s.find(path);
    return it == s.end() ? nullptr : &it->second;
  }
  V* Find(const IndexPath& path) {
    return const_cast<V*>(std::as_const(*this).Find(path));
  }
  // The value at `path`, inserted (value-initialised) if absent.
  V& operator[](const IndexPath& path) { return shards_[ShardOf(path)][path]; }
  // Room for `n` paths in all, 1/256 in each shard (with a little slack:
  // evenly spread keys then fill them without growing). Nothing below 256.
  void Reserve(size_t n) {
    const size_t each = n / kShards;
    if (each == 0) return;
    for (Shard& s : shards_) s.reserve(each + each / 16);
  }
  // The number of paths (adds up the shards: O(256)).
  size_t size() const {
    size_t n = 0;
    for (const Shard& s : shards_) n += s.size();
    return n;
  }
  void Swap(IndexNodeTable& other) { shards_.swap(other.shards_); }

 private:
  using Shard = HugePageHashMap<IndexPath, V>;
  std::array<Shard, kShards> shards_;
};

// Room for the nodes an index of `keys` keys holds (about 2.4 per key), or
// an update of that many keys writes (fewer per key in a bulk build, more
// in a small update of a large index).
inline size_t IndexNodesFor(size_t keys) { return keys * 5 / 2 + 64; }

// Read access to one version of an index.
class IndexNodeReader {
 public:
  virtual ~IndexNodeReader() = default;
  // The node at `path`, or an kEmpty node if none is stored. DATA_LOSS for
  // corrupted storage.
  virtual absl::StatusOr<IndexNode> Read(const IndexPath& path) = 0;
};

struct IndexUpdate {
  Hash root;
  // Every node that is new or changed, to be stored at the new version
  // (packed: an update of a large index writes about 20 per key).
  std::vector<std::pair<IndexPath, PackedIndexNode>> nodes;
};

// Sets key -> value hash for each of `changes` (keys distinct) in the index
// that `reader` reads, in O(k log n) node reads and hashes for k changes.
// Errors from the reader pass through.
absl::StatusOr<IndexUpdate> UpdateIndex(
    IndexNodeReader* reader, std::vector<std::pair<Hash, Hash>> changes);

// Where a build hands each node it makes.
using IndexNodeSink =
    absl::FunctionRef<void(const IndexPath& path, const IndexNode& node)>;

// Builds the index holding `entries` (key -> value hash, keys distinct)
// from nothing: hands `emit` the nodes UpdateIndex would write into an
// empty index (the same nodes, so the same root), straight into the
// caller's store, and returns the root. For start-ups, which rebuild a
// whole index. INVALID_ARGUMENT for a key twice.
absl::StatusOr<Hash> BuildIndex(std::vector<std::pair<Hash, Hash>> entries,
                                IndexNodeSink emit);

// A proof for `key` in the index `reader` reads (root at path depth 0);
// sets *value_hash to the key's value when it is present.
absl::StatusOr<IndexProof> ProveIndex(IndexNodeReader* reader, const Hash& key,
                                      std::optional<Hash>* value_hash);

// The root hash of the index `reader` reads.
absl::StatusOr<Hash> IndexRoot(IndexNodeReader* reader);

// An index held in memory: the latest version only (the auditor, fsck,
// tests). Thread-compatible.
class InMemoryIndex : public IndexNodeReader {
 public:
  absl::StatusOr<IndexNode> Read(const IndexPath& path) override;
  // UpdateIndex() against this index; nothing changes until Commit.
  absl::StatusOr<IndexUpdate> Prepare(
      std::vector<std::pair<Hash, Hash>> changes) {
    return UpdateIndex(this, std::move(changes));
  }
  // Stores `update`, which Prepare made against this index as it is now.
  void Commit(const IndexUpdate& update);
  // Replaces everything with the index holding `entries` (BuildIndex);
  // INVALID_ARGUMENT for a key twice (nothing changes then).
  absl::Status Load(std::vector<std::pair<Hash, Hash>> entries);
  // Prepare, then Commit. Returns the update (its nodes are what a
  // versioned store would write).
  absl::StatusOr<IndexUpdate> Apply(std::vector<std::pair<Hash, Hash>> changes);
  Hash root() const { return root_; }
  size_t node_count() const { return nodes_.size(); }

 private:
  IndexNodeTable<PackedIndexNode> nodes_;
  Hash root_ = kEmptyIndexHash;
};

// The root of the index holding `entries` (key -> value hash), computed
// from the definition by recursion over the whole set: slow, for tests.
Hash NaiveIndexRoot(const std::map<Hash, Hash>& entries);

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_INDEX_TREE_H_
