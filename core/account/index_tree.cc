#include "core/account/index_tree.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/util/status_macros.h"

namespace ktlog {

namespace {
constexpr uint32_t kTrieNode = UINT32_MAX;
}  // namespace

// A trie node or a bucket: the hash of the index subtree it stands for.
struct IndexSnapshot::Node {
  std::atomic<uint32_t> refs{1};
  uint32_t keys = kTrieNode;  // a bucket's key count, or kTrieNode
  Hash hash;

  bool is_bucket() const { return keys != kTrieNode; }
};

namespace {

using Node = IndexSnapshot::Node;
using Entry = std::pair<Hash, Hash>;  // key, value hash
using Entries = absl::Span<const Entry>;

// Stands for a subtree of more than kBucketKeys keys (so an internal node).
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
  b->keys = static_cast<uint32_t>(u.size());
  std::uninitialized_copy(u.begin(), u.end(), b->entries());
  b->hash = SubtreeHash(u, depth);
  return b;
}

Node* NewTrieNode(Node* left, Node* right) {
  TrieNode* t = new TrieNode();
  t->child[0] = left;
  t->child[1] = right;
  t->hash = IndexNodeHash(left->hash, right->hash);
  return t;
}

// The subtree at `depth` holding `u` (sorted, distinct, sharing their first
// `depth` bits), made from nothing.
Node* BuildNode(Entries u, int depth) {
  if (u.size() <= IndexSnapshot::kBucketKeys) return NewBucket(u, depth);
  auto [u0, u1] = SplitAt(u, depth);
  Node* left = BuildNode(u0, depth + 1);
  return NewTrieNode(left, BuildNode(u1, depth + 1));
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
  auto [c0, c1] = SplitAt(changes, depth);
  Node* left = UpdateNode(t->child[0], depth + 1, c0, added);
  return NewTrieNode(left, UpdateNode(t->child[1], depth + 1, c1, added));
}

// Below this many keys a build runs on one thread.
constexpr size_t kParallelKeys = size_t{1} << 16;

void Count(const Node* n, IndexSnapshot::Shape* shape) {
  if (n->is_bucket()) {
    ++shape->buckets;
    shape->keys += n->keys;
    return;
  }
  ++shape->trie_nodes;
  Count(AsTrie(n)->child[0], shape);
  Count(AsTrie(n)->child[1], shape);
}

}  // namespace

IndexSnapshot::IndexSnapshot() : root_(NewBucket(Entries(), 0)) {}

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
    : root_(std::exchange(other.root_, nullptr)), size_(other.size_) {}

IndexSnapshot& IndexSnapshot::operator=(IndexSnapshot&& other) noexcept {
  if (this == &other) return *this;
  Unref(root_);
  root_ = std::exchange(other.root_, nullptr);
  size_ = other.size_;
  return *this;
}

IndexSnapshot::~IndexSnapshot() { Unref(root_); }

absl::StatusOr<IndexSnapshot> IndexSnapshot::Build(
    std::vector<std::pair<Hash, Hash>> entries) {
  const size_t n = entries.size();
  if (n <= kBucketKeys) {
    RETURN_IF_ERROR(SortDistinct(absl::MakeSpan(entries)));
    return IndexSnapshot(NewBucket(entries, 0), n);
  }
  // The two halves under the root, each sorted and built on its own
  // thread (a large index on two cores builds in about half the time).
  auto mid = std::partition(entries.begin(), entries.end(), [](const Entry& e) {
    return KeyBit(e.first, 0) == 0;
  });
  absl::Span<Entry> all = absl::MakeSpan(entries);
  absl::Span<Entry> halves[2] = {all.subspan(0, mid - entries.begin()),
                                 all.subspan(mid - entries.begin())};
  Node* built[2] = {nullptr, nullptr};
  absl::Status status[2];
  auto build = [&](int i) {
    status[i] = SortDistinct(halves[i]);
    if (status[i].ok()) built[i] = BuildNode(halves[i], 1);
  };
  if (n >= kParallelKeys) {
    std::thread left(build, 0);
    build(1);
    left.join();
  } else {
    build(0);
    build(1);
  }
  for (int i : {0, 1}) {
    if (!status[i].ok()) {
      Unref(built[0]);
      Unref(built[1]);
      return status[i];
    }
  }
  return IndexSnapshot(NewTrieNode(built[0], built[1]), n);
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
  for (int depth = 0; !n->is_bucket(); ++depth) {
    n = AsTrie(n)->child[KeyBit(key, depth)];
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
  for (; !n->is_bucket(); ++depth) {
    int bit = KeyBit(key, depth);
    proof.siblings.push_back(AsTrie(n)->child[1 - bit]->hash);
    n = AsTrie(n)->child[bit];
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
