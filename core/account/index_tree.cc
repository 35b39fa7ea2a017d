#include "core/account/index_tree.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

using Entry = std::pair<Hash, Hash>;  // key, value hash
using Entries = absl::Span<const Entry>;
using Written = IndexNodeSink;

// Splits entries sorted by key at the first whose bit `depth` is 1.
std::pair<Entries, Entries> SplitAt(Entries u, int depth) {
  size_t i = 0;
  while (i < u.size() && KeyBit(u[i].first, depth) == 0) ++i;
  return {u.subspan(0, i), u.subspan(i)};
}

Hash Put(const IndexPath& path, IndexNode node, Written* out) {
  Hash h = node.hash();
  (*out)(path, node);
  return h;
}

// Sorts `entries` by key: INVALID_ARGUMENT if a key is there twice.
absl::Status SortDistinct(std::vector<Entry>* entries) {
  std::sort(entries->begin(), entries->end());
  for (size_t i = 1; i < entries->size(); ++i) {
    if ((*entries)[i].first == (*entries)[i - 1].first) {
      return absl::InvalidArgumentError(
          absl::StrCat("the index entries hold key ",
                       (*entries)[i].first.ToHex(), " twice"));
    }
  }
  return absl::OkStatus();
}

// A subtree that was empty, now holding `u` (sorted, non-empty).
Hash Build(const IndexPath& path, Entries u, Written* out) {
  if (u.size() == 1) {
    return Put(path, IndexNode::Leaf(u[0].first, u[0].second), out);
  }
  auto [u0, u1] = SplitAt(u, path.depth);
  Hash l = u0.empty() ? kEmptyIndexHash : Build(path.Child(0), u0, out);
  Hash r = u1.empty() ? kEmptyIndexHash : Build(path.Child(1), u1, out);
  return Put(path, IndexNode::Internal(l, r), out);
}

absl::StatusOr<IndexNode> ReadChild(IndexNodeReader* reader,
                                    const IndexPath& path, const Hash& want) {
  if (want == kEmptyIndexHash) return IndexNode();
  ASSIGN_OR_RETURN(IndexNode node, reader->Read(path));
  if (node.type == IndexNode::Type::kEmpty || node.hash() != want) {
    return absl::DataLossError(absl::StrCat(
        "stored index node at depth ", path.depth, " prefix ",
        path.prefix.ToHex(), " is missing or does not match its parent"));
  }
  return node;
}

absl::StatusOr<Hash> Update(IndexNodeReader* reader, const IndexPath& path,
                            const IndexNode& current, Entries u, Written* out) {
  switch (current.type) {
    case IndexNode::Type::kEmpty:
      return Build(path, u, out);
    case IndexNode::Type::kLeaf: {
      if (u.size() == 1 && u[0].first == current.key) {
        return Put(path, IndexNode::Leaf(current.key, u[0].second), out);
      }
      // The old leaf moves down among the new entries (unless replaced).
      std::vector<Entry> merged(u.begin(), u.end());
      auto at = std::lower_bound(
          merged.begin(), merged.end(), current.key,
          [](const Entry& e, const Hash& k) { return e.first < k; });
      if (at == merged.end() || at->first != current.key) {
        merged.insert(at, Entry(current.key, current.value_hash));
      }
      return Build(path, merged, out);
    }
    case IndexNode::Type::kInternal: {
      auto [u0, u1] = SplitAt(u, path.depth);
      Hash l = current.left, r = current.right;
      if (!u0.empty()) {
        ASSIGN_OR_RETURN(IndexNode child,
                         ReadChild(reader, path.Child(0), current.left));
        ASSIGN_OR_RETURN(l, Update(reader, path.Child(0), child, u0, out));
      }
      if (!u1.empty()) {
        ASSIGN_OR_RETURN(IndexNode child,
                         ReadChild(reader, path.Child(1), current.right));
        ASSIGN_OR_RETURN(r, Update(reader, path.Child(1), child, u1, out));
      }
      return Put(path, IndexNode::Internal(l, r), out);
    }
  }
  return absl::InternalError("unknown index node type");
}

Hash Naive(int depth, Entries u) {
  if (u.empty()) return kEmptyIndexHash;
  if (u.size() == 1) return IndexLeafHash(u[0].first, u[0].second);
  auto [u0, u1] = SplitAt(u, depth);
  return IndexNodeHash(Naive(depth + 1, u0), Naive(depth + 1, u1));
}

}  // namespace

IndexPath IndexPath::Of(const Hash& key, int depth) {
  IndexPath p;
  p.depth = static_cast<uint16_t>(depth);
  for (int i = 0; i < depth / 8; ++i)
    p.prefix.mutable_data()[i] = key.data()[i];
  if (depth % 8 != 0) {
    p.prefix.mutable_data()[depth / 8] =
        key.data()[depth / 8] & static_cast<uint8_t>(0xff << (8 - depth % 8));
  }
  return p;
}

IndexPath IndexPath::Child(int bit) const {
  IndexPath c = *this;
  if (bit) c.prefix.mutable_data()[depth / 8] |= 0x80 >> (depth % 8);
  c.depth = static_cast<uint16_t>(depth + 1);
  return c;
}

IndexNode IndexNode::Internal(const Hash& l, const Hash& r) {
  IndexNode n;
  n.type = Type::kInternal;
  n.left = l;
  n.right = r;
  return n;
}

IndexNode IndexNode::Leaf(const Hash& key, const Hash& value_hash) {
  IndexNode n;
  n.type = Type::kLeaf;
  n.key = key;
  n.value_hash = value_hash;
  return n;
}

Hash IndexNode::hash() const {
  switch (type) {
    case Type::kInternal:
      return IndexNodeHash(left, right);
    case Type::kLeaf:
      return IndexLeafHash(key, value_hash);
    default:
      return kEmptyIndexHash;
  }
}

PackedIndexNode::PackedIndexNode(const IndexNode& node) : type_(node.type) {
  if (type_ == IndexNode::Type::kInternal) {
    first_ = node.left;
    second_ = node.right;
  } else if (type_ == IndexNode::Type::kLeaf) {
    first_ = node.key;
    second_ = node.value_hash;
  }
}

IndexNode PackedIndexNode::Unpack() const {
  switch (type_) {
    case IndexNode::Type::kInternal:
      return IndexNode::Internal(first_, second_);
    case IndexNode::Type::kLeaf:
      return IndexNode::Leaf(first_, second_);
    default:
      return IndexNode();
  }
}

std::string IndexNode::Encode() const {
  std::string out(1, static_cast<char>(type));
  if (type == Type::kInternal) {
    absl::StrAppend(&out, left.view());
    absl::StrAppend(&out, right.view());
  } else if (type == Type::kLeaf) {
    absl::StrAppend(&out, key.view());
    absl::StrAppend(&out, value_hash.view());
  }
  return out;
}

absl::StatusOr<IndexNode> IndexNode::Decode(absl::string_view data) {
  if (data.size() != 65 || (data[0] != 1 && data[0] != 2)) {
    return absl::DataLossError("malformed stored index node");
  }
  Hash a = Hash::FromBytesOrDie(data.substr(1, 32));
  Hash b = Hash::FromBytesOrDie(data.substr(33, 32));
  return data[0] == 1 ? Internal(a, b) : Leaf(a, b);
}

absl::StatusOr<IndexUpdate> UpdateIndex(
    IndexNodeReader* reader, std::vector<std::pair<Hash, Hash>> changes) {
  IndexUpdate update;
  ASSIGN_OR_RETURN(IndexNode root, reader->Read(IndexPath::Root()));
  if (changes.empty()) {
    update.root = root.hash();
    return update;
  }
  RETURN_IF_ERROR(SortDistinct(&changes));
  update.nodes.reserve(IndexNodesFor(changes.size()));
  auto collect = [&update](const IndexPath& path, const IndexNode& node) {
    update.nodes.emplace_back(path, PackedIndexNode(node));
  };
  Written out(collect);
  ASSIGN_OR_RETURN(update.root,
                   Update(reader, IndexPath::Root(), root, changes, &out));
  return update;
}

absl::StatusOr<Hash> BuildIndex(std::vector<std::pair<Hash, Hash>> entries,
                                IndexNodeSink emit) {
  if (entries.empty()) return kEmptyIndexHash;
  RETURN_IF_ERROR(SortDistinct(&entries));
  return Build(IndexPath::Root(), entries, &emit);
}

absl::StatusOr<IndexProof> ProveIndex(IndexNodeReader* reader, const Hash& key,
                                      std::optional<Hash>* value_hash) {
  *value_hash = std::nullopt;
  IndexProof proof;
  IndexPath path = IndexPath::Root();
  ASSIGN_OR_RETURN(IndexNode node, reader->Read(path));
  for (;;) {
    switch (node.type) {
      case IndexNode::Type::kEmpty:
        proof.kind = IndexProof::Kind::kAbsentEmpty;
        return proof;
      case IndexNode::Type::kLeaf:
        if (node.key == key) {
          proof.kind = IndexProof::Kind::kMembership;
          *value_hash = node.value_hash;
        } else {
          proof.kind = IndexProof::Kind::kAbsentOtherLeaf;
          proof.other_key = node.key;
          proof.other_value_hash = node.value_hash;
        }
        return proof;
      case IndexNode::Type::kInternal: {
        int bit = KeyBit(key, path.depth);
        proof.siblings.push_back(bit == 0 ? node.right : node.left);
        IndexPath child = path.Child(bit);
        ASSIGN_OR_RETURN(
            node, ReadChild(reader, child, bit == 0 ? node.left : node.right));
        path = child;
        break;
      }
    }
  }
}

absl::StatusOr<Hash> IndexRoot(IndexNodeReader* reader) {
  ASSIGN_OR_RETURN(IndexNode root, reader->Read(IndexPath::Root()));
  return root.hash();
}

absl::StatusOr<IndexNode> InMemoryIndex::Read(const IndexPath& path) {
  const PackedIndexNode* node = nodes_.Find(path);
  return node == nullptr ? IndexNode() : node->Unpack();
}

absl::StatusOr<IndexUpdate> InMemoryIndex::Apply(
    std::vector<std::pair<Hash, Hash>> changes) {
  ASSIGN_OR_RETURN(IndexUpdate update, Prepare(std::move(changes)));
  Commit(update);
  return update;
}

absl::Status InMemoryIndex::Load(std::vector<std::pair<Hash, Hash>> entries) {
  IndexNodeTable<PackedIndexNode> nodes;
  nodes.Reserve(IndexNodesFor(entries.size()));
  ASSIGN_OR_RETURN(
      Hash root, BuildIndex(std::move(entries),
                            [&](const IndexPath& path, const IndexNode& node) {
                              nodes[path] = PackedIndexNode(node);
                            }));
  nodes_.Swap(nodes);
  root_ = root;
  return absl::OkStatus();
}

void InMemoryIndex::Commit(const IndexUpdate& update) {
  for (const auto& [path, node] : update.nodes) nodes_[path] = node;
  root_ = update.root;
}

Hash NaiveIndexRoot(const std::map<Hash, Hash>& entries) {
  std::vector<Entry> sorted(entries.begin(), entries.end());
  return Naive(0, sorted);
}

}  // namespace ktlog
