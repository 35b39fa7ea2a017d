#include "core/account/index_tree.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/util/status_macros.h"

namespace ktlog {

namespace {
constexpr uint16_t kTrieNode = UINT16_MAX;
}  // namespace

// A trie node or a bucket: the hash of the index subtree it stands for.
struct IndexSnapshot::Node {
  std::atomic<uint32_t> refs{1};
  uint16_t keys = kTrieNode;  // a bucket's key count, or kTrieNode
  uint16_t skip = 0;          // a trie node's (TrieNode)
  Hash hash;

  bool is_bucket() const { return keys != kTrieNode; }
};

namespace {

using Node = IndexSnapshot::Node;
using Entry = std::pair<Hash, Hash>;  // key, value hash
using Entries = absl::Span<const Entry>;

// Stands for a subtree of more than kBucketKeys keys at some depth d (so an
// internal node). Every key below shares its bits d .. d + skip - 1 (the
// tree has an internal node with an empty side at each of those levels);
// at level d + skip they split, both children non-empty. So a chain of
// keys sharing a long prefix costs one node, whatever its length.
struct TrieNode : Node {
  Node* child[2] = {nullptr, nullptr};  // owned references
};

// Its entries, sorted by key, follow it in the same allocation.
struct Bucket : Node {
  Entry* entries() { return reinterpret_cast<Entry*>(this + 1); }
  Entries span() const {
    return Entries(reinterpret_cast<const Entry*>(this + 1), keys);
  }
};
static_assert(sizeof(Bucket) % alignof(Entry) == 0);
static_assert(sizeof(TrieNode) == 56, "64 bytes with malloc's header");
static_assert(IndexSnapshot::kBucketKeys < kTrieNode);

const TrieNode* AsTrie(const Node* n) {
  return static_cast<const TrieNode*>(n);
}
const Bucket* AsBucket(const Node* n) { return static_cast<const Bucket*>(n); }

void Ref(Node* n) { n->refs.fetch_add(1, std::memory_order_relaxed); }

void Unref(Node* n) {
  if (n == nullptr || n->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) {
    return;
  }
  if (n->is_bucket()) {
    Bucket* b = static_cast<Bucket*>(n);
    b->~Bucket();
    ::operator delete(b);
    return;
  }
  TrieNode* t = static_cast<TrieNode*>(n);
  Unref(t->child[0]);
  Unref(t->child[1]);
  delete t;
}

// A key below `n`, which is not the empty bucket (a trie node's keys
// share its skipped bits).
const Hash& AnyKey(const Node* n) {
  while (!n->is_bucket()) n = AsTrie(n)->child[0];
  return AsBucket(n)->span()[0].first;
}

// The number of leading bits `a` and `b` share (256 if equal).
int SharedBits(const Hash& a, const Hash& b) {
  for (int i = 0; i < Hash::kSize; ++i) {
    const unsigned x = a.data()[i] ^ b.data()[i];
    if (x != 0) return i * 8 + __builtin_clz(x) - 24;
  }
  return 256;
}

// The hash of the subtree at `depth` of a chain that holds its keys on
// `path`'s side at every level from `depth` to `bottom` - 1, where its
// subtree hashes to `h`.
Hash FoldUp(Hash h, const Hash& path, int bottom, int depth) {
  for (int level = bottom - 1; level >= depth; --level) {
    h = KeyBit(path, level) == 0 ? IndexNodeHash(h, kEmptyIndexHash)
                                 : IndexNodeHash(kEmptyIndexHash, h);
  }
  return h;
}

bool KeyLess(const Entry& a, const Entry& b) { return a.first < b.first; }

// Splits `u` (sorted, its keys sharing their first `depth` bits) at the
// first key whose bit `depth` is 1.
std::pair<Entries, Entries> SplitAt(Entries u, int depth) {
  auto mid = std::partition_point(u.begin(), u.end(), [depth](const Entry& e) {
    return KeyBit(e.first, depth) == 0;
  });
  size_t i = static_cast<size_t>(mid - u.begin());
  return {u.subspan(0, i), u.subspan(i)};
}

// The hash of the index subtree at `depth` holding exactly `u`.
Hash SubtreeHash(Entries u, int depth) {
  if (u.empty()) return kEmptyIndexHash;
  if (u.size() == 1) return IndexLeafHash(u[0].first, u[0].second);
  auto [u0, u1] = SplitAt(u, depth);
  return IndexNodeHash(SubtreeHash(u0, depth + 1), SubtreeHash(u1, depth + 1));
}

Node* NewBucket(Entries u, int depth) {
  void* memory = ::operator new(sizeof(Bucket) + u.size() * sizeof(Entry));
  Bucket* b = new (memory) Bucket();
  b->keys = static_cast<uint16_t>(u.size());
  std::uninitialized_copy(u.begin(), u.end(), b->entries());
  b->hash = SubtreeHash(u, depth);
  return b;
}

// The empty index, one bucket shared by every snapshot (never freed: the
// static holds a reference). Returns a new reference.
Node* EmptyBucket() {
  static Node* const empty = NewBucket(Entries(), 0);
  Ref(empty);
  return empty;
}

// A trie node at `depth` whose keys split at level `split` (>= depth) into
// `left` and `right` (references it takes; both non-empty).
Node* NewTrieNode(int depth, int split, Node* left, Node* right) {
  TrieNode* t = new TrieNode();
  t->skip = static_cast<uint16_t>(split - depth);
  t->child[0] = left;
  t->child[1] = right;
  t->hash = IndexNodeHash(left->hash, right->hash);
  if (split > depth) t->hash = FoldUp(t->hash, AnyKey(left), split, depth);
  return t;
}

// The subtree at `depth` holding `u` (sorted, distinct, sharing their first
// `depth` bits), made from nothing.
Node* BuildNode(Entries u, int depth) {
  if (u.size() <= IndexSnapshot::kBucketKeys) return NewBucket(u, depth);
  const int split = SharedBits(u.front().first, u.back().first);
  auto [u0, u1] = SplitAt(u, split);
  Node* left = BuildNode(u0, split + 1);
  return NewTrieNode(depth, split, left, BuildNode(u1, split + 1));
}

// Sorts `u` by key: INVALID_ARGUMENT if a key is there twice.
absl::Status SortDistinct(absl::Span<Entry> u) {
  std::sort(u.begin(), u.end(), KeyLess);
  for (size_t i = 1; i < u.size(); ++i) {
    if (u[i].first == u[i - 1].first) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the index entries hold key ", u[i].first.ToHex(), " twice"));
    }
  }
  return absl::OkStatus();
}

// `have` (a bucket's entries) with `changes` set; counts the new keys.
std::vector<Entry> Merge(Entries have, Entries changes, size_t* added) {
  std::vector<Entry> out;
  out.reserve(have.size() + changes.size());
  size_t i = 0, j = 0;
  while (i < have.size() || j < changes.size()) {
    if (j == changes.size() ||
        (i < have.size() && have[i].first < changes[j].first)) {
      out.push_back(have[i++]);
      continue;
    }
    if (i < have.size() && have[i].first == changes[j].first)
      ++i;
    else
      ++*added;
    out.push_back(changes[j++]);
  }
  return out;
}

// `n` (at `depth`) with `changes` (sorted, distinct, under its prefix) set.
Node* UpdateNode(Node* n, int depth, Entries changes, size_t* added) {
  if (changes.empty()) {
    Ref(n);
    return n;
  }
  if (n->is_bucket()) {
    std::vector<Entry> merged = Merge(AsBucket(n)->span(), changes, added);
    return BuildNode(merged, depth);
  }
  const TrieNode* t = AsTrie(n);
  const int split = depth + t->skip;
  // The first level where a change leaves the node's shared bits (the
  // changes are sorted: one of the two ends leaves first).
  const Hash* path = t->skip == 0 ? nullptr : &AnyKey(t);
  const int leaves = path == nullptr
                         ? split
                         : std::min(SharedBits(changes.front().first, *path),
                                    SharedBits(changes.back().first, *path));
  if (leaves < split) {
    // The node splits there: its keys and the changes that stay with them
    // on one side, the changes that leave (new keys) on the other.
    auto [c0, c1] = SplitAt(changes, leaves);
    const int side = KeyBit(*path, leaves);
    Ref(t->child[0]);
    Ref(t->child[1]);
    Node* lower = NewTrieNode(leaves + 1, split, t->child[0], t->child[1]);
    Node* kept = UpdateNode(lower, leaves + 1, side == 0 ? c0 : c1, added);
    Unref(lower);
    Entries away = side == 0 ? c1 : c0;
    *added += away.size();
    Node* built = BuildNode(away, leaves + 1);
    return side == 0 ? NewTrieNode(depth, leaves, kept, built)
                     : NewTrieNode(depth, leaves, built, kept);
  }
  auto [c0, c1] = SplitAt(changes, split);
  Node* left = UpdateNode(t->child[0], split + 1, c0, added);
  return NewTrieNode(depth, split, left,
                     UpdateNode(t->child[1], split + 1, c1, added));
}

// Below this many keys a build runs on one thread.
constexpr size_t kParallelKeys = size_t{1} << 16;

void Count(const Node* n, IndexSnapshot::Shape* shape) {
  if (n->is_bucket()) {
    ++shape->buckets;
    shape->keys += n->keys;
    shape->largest_bucket = std::max<size_t>(shape->largest_bucket, n->keys);
    return;
  }
  ++shape->trie_nodes;
  Count(AsTrie(n)->child[0], shape);
  Count(AsTrie(n)->child[1], shape);
}

}  // namespace

IndexSnapshot::IndexSnapshot() : root_(EmptyBucket()) {}

IndexSnapshot::IndexSnapshot(Node* root, size_t size)
    : root_(root), size_(size) {}

IndexSnapshot::IndexSnapshot(const IndexSnapshot& other)
    : root_(other.root_), size_(other.size_) {
  Ref(root_);
}

IndexSnapshot& IndexSnapshot::operator=(const IndexSnapshot& other) {
  if (this == &other) return *this;
  Ref(other.root_);
  Unref(root_);
  root_ = other.root_;
  size_ = other.size_;
  return *this;
}

IndexSnapshot::IndexSnapshot(IndexSnapshot&& other) noexcept
    : root_(std::exchange(other.root_, EmptyBucket())),
      size_(std::exchange(other.size_, 0)) {}

IndexSnapshot& IndexSnapshot::operator=(IndexSnapshot&& other) noexcept {
  if (this == &other) return *this;
  Unref(root_);
  root_ = std::exchange(other.root_, EmptyBucket());
  size_ = std::exchange(other.size_, 0);
  return *this;
}

IndexSnapshot::~IndexSnapshot() { Unref(root_); }

absl::StatusOr<IndexSnapshot> IndexSnapshot::Build(
    std::vector<std::pair<Hash, Hash>> entries) {
  const size_t n = entries.size();
  // The two halves under the root, each sorted and built on its own
  // thread (a large index on two cores builds in about half the time).
  auto mid = std::partition(entries.begin(), entries.end(), [](const Entry& e) {
    return KeyBit(e.first, 0) == 0;
  });
  absl::Span<Entry> all = absl::MakeSpan(entries);
  const size_t left_keys = static_cast<size_t>(mid - entries.begin());
  if (n <= kBucketKeys || left_keys == 0 || left_keys == n) {
    RETURN_IF_ERROR(SortDistinct(all));
    return IndexSnapshot(BuildNode(all, 0), n);
  }
  absl::Span<Entry> halves[2] = {all.subspan(0, left_keys),
                                 all.subspan(left_keys)};
  Node* built[2] = {nullptr, nullptr};
  absl::Status status[2];
  auto build = [&](int i) {
    status[i] = SortDistinct(halves[i]);
    if (status[i].ok()) built[i] = BuildNode(halves[i], 1);
  };
  std::optional<std::thread> left;
  if (n >= kParallelKeys) {
    try {
      left.emplace(build, 0);
    } catch (const std::system_error&) {
      // No thread to be had: one does it all.
    }
  }
  if (!left.has_value()) build(0);
  build(1);
  if (left.has_value()) left->join();
  for (int i : {0, 1}) {
    if (!status[i].ok()) {
      Unref(built[0]);
      Unref(built[1]);
      return status[i];
    }
  }
  return IndexSnapshot(NewTrieNode(0, 0, built[0], built[1]), n);
}

absl::StatusOr<IndexSnapshot> IndexSnapshot::Apply(
    std::vector<std::pair<Hash, Hash>> changes) const {
  RETURN_IF_ERROR(SortDistinct(absl::MakeSpan(changes)));
  size_t added = 0;
  Node* root = UpdateNode(root_, 0, changes, &added);
  return IndexSnapshot(root, size_ + added);
}

Hash IndexSnapshot::root() const { return root_->hash; }

size_t IndexSnapshot::size() const { return size_; }

std::optional<Hash> IndexSnapshot::Find(const Hash& key) const {
  const Node* n = root_;
  for (int depth = 0; !n->is_bucket();) {
    const int split = depth + AsTrie(n)->skip;
    n = AsTrie(n)->child[KeyBit(key, split)];
    depth = split + 1;
  }
  Entries u = AsBucket(n)->span();
  auto it = std::lower_bound(
      u.begin(), u.end(), key,
      [](const Entry& e, const Hash& k) { return e.first < k; });
  if (it == u.end() || it->first != key) return std::nullopt;
  return it->second;
}

IndexProof IndexSnapshot::Prove(const Hash& key,
                                std::optional<Hash>* value_hash) const {
  *value_hash = std::nullopt;
  IndexProof proof;
  const Node* n = root_;
  int depth = 0;
  while (!n->is_bucket()) {
    const TrieNode* t = AsTrie(n);
    const int split = depth + t->skip;
    if (t->skip > 0) {
      // The levels every key below shares: the other side is empty, unless
      // `key` leaves the path there (then its own side is).
      const Hash& path = AnyKey(t);
      const int leaves = std::min(SharedBits(key, path), split);
      proof.siblings.resize(leaves, kEmptyIndexHash);
      if (leaves < split) {
        proof.siblings.push_back(
            FoldUp(IndexNodeHash(t->child[0]->hash, t->child[1]->hash), path,
                   split, leaves + 1));
        proof.kind = IndexProof::Kind::kAbsentEmpty;
        return proof;
      }
    }
    const int bit = KeyBit(key, split);
    proof.siblings.push_back(t->child[1 - bit]->hash);
    n = t->child[bit];
    depth = split + 1;
  }
  // Down the bucket's own subtree, hashing the halves the key is not in.
  for (Entries u = AsBucket(n)->span();; ++depth) {
    if (u.empty()) {
      proof.kind = IndexProof::Kind::kAbsentEmpty;
      return proof;
    }
    if (u.size() == 1) {
      if (u[0].first == key) {
        proof.kind = IndexProof::Kind::kMembership;
        *value_hash = u[0].second;
      } else {
        proof.kind = IndexProof::Kind::kAbsentOtherLeaf;
        proof.other_key = u[0].first;
        proof.other_value_hash = u[0].second;
      }
      return proof;
    }
    auto [u0, u1] = SplitAt(u, depth);
    int bit = KeyBit(key, depth);
    proof.siblings.push_back(SubtreeHash(bit == 0 ? u1 : u0, depth + 1));
    u = bit == 0 ? u0 : u1;
  }
}

IndexSnapshot::Shape IndexSnapshot::Measure() const {
  Shape shape;
  Count(root_, &shape);
  return shape;
}

namespace {

// The definition, written apart from the code above (a linear split, no
// buckets) so that tests compare two implementations.
Hash Naive(int depth, const std::vector<Entry>& u) {
  if (u.empty()) return kEmptyIndexHash;
  if (u.size() == 1) return IndexLeafHash(u[0].first, u[0].second);
  std::vector<Entry> halves[2];
  for (const Entry& e : u) halves[KeyBit(e.first, depth)].push_back(e);
  return IndexNodeHash(Naive(depth + 1, halves[0]),
                       Naive(depth + 1, halves[1]));
}

}  // namespace

Hash NaiveIndexRoot(const std::map<Hash, Hash>& entries) {
  return Naive(0, std::vector<Entry>(entries.begin(), entries.end()));
}

}  // namespace ktlog
