#include "log/index_versions.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace ktlog {

class IndexVersions::Reader : public IndexNodeReader {
 public:
  Reader(IndexVersions* index, uint64_t version)
      : index_(index), version_(version) {}
  ~Reader() override { index_->Unpin(version_); }
  absl::StatusOr<IndexNode> Read(const IndexPath& path) override {
    absl::ReaderMutexLock lock(&index_->mu_);
    return index_->Read(path, version_);
  }

 private:
  IndexVersions* const index_;
  const uint64_t version_;
};

IndexVersions::IndexVersions() {
  roots_[0] = kEmptyIndexHash;
  made_.push_back(Made{0, 0, {}});
}

IndexVersions::~IndexVersions() = default;

IndexNode IndexVersions::Read(const IndexPath& path, uint64_t version) const {
  const Versions* v = nodes_.Find(path);
  if (v == nullptr) return IndexNode();
  for (auto e = v->rbegin(); e != v->rend(); ++e) {
    if (e->first <= version) return e->second.Unpack();
  }
  return IndexNode();
}

absl::Status IndexVersions::Load(std::vector<std::pair<Hash, Hash>> entries,
                                 uint64_t version, uint64_t now_ms) {
  // Built without the lock (lookups go on meanwhile), swapped in under it.
  IndexNodeTable<Versions> nodes;
  nodes.Reserve(IndexNodesFor(entries.size()));
  ASSIGN_OR_RETURN(Hash root,
                   BuildIndex(std::move(entries), [&](const IndexPath& path,
                                                      const IndexNode& node) {
                     nodes[path].emplace_back(version, PackedIndexNode(node));
                   }));
  absl::MutexLock lock(&mu_);
  nodes_.Swap(nodes);
  node_versions_ = nodes_.size();
  roots_.clear();
  roots_[version] = root;
  made_.clear();
  made_.push_back(Made{version, now_ms, {}});
  return absl::OkStatus();
}

absl::StatusOr<IndexUpdate> IndexVersions::Prepare(
    std::vector<std::pair<Hash, Hash>> changes) {
  // The integrator is the only writer, so the latest version cannot change
  // meanwhile; each read takes the lock.
  uint64_t version = latest();
  Reader reader(this, version);
  {
    absl::MutexLock lock(&mu_);
    ++pins_[version];
  }
  return UpdateIndex(&reader, std::move(changes));
}

void IndexVersions::Commit(const IndexUpdate& update, uint64_t version,
                           uint64_t now_ms) {
  Made made{version, now_ms, {}};
  made.paths.reserve(update.nodes.size());
  absl::MutexLock lock(&mu_);
  for (const auto& [path, node] : update.nodes) {
    Versions& v = nodes_[path];
    if (!v.empty() && v.back().first == version) {
      v.back().second = node;  // last write wins
      continue;
    }
    v.emplace_back(version, node);
    ++node_versions_;
    made.paths.push_back(path);
  }
  roots_[version] = update.root;
  made_.push_back(std::move(made));
}

void IndexVersions::Forget(uint64_t cutoff_ms) {
  absl::MutexLock lock(&mu_);
  while (made_.size() > 1 && made_.front().time_ms < cutoff_ms &&
         pins_.count(made_.front().version) == 0) {
    // Once the front version goes, the oldest kept is the next one, R: a
    // path it wrote needs only its newest node at or below R, and newer.
    uint64_t r = made_[1].version;
    for (const IndexPath& path : made_.front().paths) {
      Versions* found = nodes_.Find(path);
      if (found == nullptr) continue;
      Versions& v = *found;
      size_t keep_from = 0;
      for (size_t i = 0; i < v.size() && v[i].first <= r; ++i) keep_from = i;
      if (keep_from > 0) {
        v.erase(v.begin(), v.begin() + keep_from);
        node_versions_ -= keep_from;
      }
    }
    roots_.erase(made_.front().version);
    made_.pop_front();
  }
}

absl::StatusOr<std::unique_ptr<IndexNodeReader>> IndexVersions::ReaderAt(
    uint64_t version) {
  absl::MutexLock lock(&mu_);
  if (roots_.count(version) == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log answers lookups at the checkpoints of its lookup window; ",
        version < made_.front().version
            ? absl::StrCat("tree size ", version, " is older than its oldest (",
                           made_.front().version, "): fetch a newer checkpoint")
            : absl::StrCat("tree size ", version, " is not one of them")));
  }
  ++pins_[version];
  return std::unique_ptr<IndexNodeReader>(new Reader(this, version));
}

void IndexVersions::Unpin(uint64_t version) {
  absl::MutexLock lock(&mu_);
  auto it = pins_.find(version);
  if (it != pins_.end() && --it->second == 0) pins_.erase(it);
}

absl::StatusOr<Hash> IndexVersions::RootAt(uint64_t version) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = roots_.find(version);
  if (it == roots_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no index version at tree size ", version));
  }
  return it->second;
}

uint64_t IndexVersions::latest() const {
  absl::ReaderMutexLock lock(&mu_);
  return made_.back().version;
}

Hash IndexVersions::latest_root() const {
  absl::ReaderMutexLock lock(&mu_);
  return roots_.rbegin()->second;
}

uint64_t IndexVersions::oldest() const {
  absl::ReaderMutexLock lock(&mu_);
  return made_.front().version;
}

size_t IndexVersions::node_versions() const {
  absl::ReaderMutexLock lock(&mu_);
  return node_versions_;
}

}  // namespace ktlog
