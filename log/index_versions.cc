#include "log/index_versions.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace ktlog {

IndexVersions::IndexVersions() { made_.push_back(Made{0, 0, IndexSnapshot()}); }

const IndexVersions::Made* IndexVersions::Find(uint64_t version) const {
  auto it =
      std::lower_bound(made_.begin(), made_.end(), version,
                       [](const Made& m, uint64_t v) { return m.version < v; });
  return it == made_.end() || it->version != version ? nullptr : &*it;
}

absl::Status IndexVersions::Load(std::vector<std::pair<Hash, Hash>> entries,
                                 uint64_t version, uint64_t now_ms) {
  // Built without the lock (lookups go on meanwhile), swapped in under it.
  ASSIGN_OR_RETURN(IndexSnapshot index,
                   IndexSnapshot::Build(std::move(entries)));
  std::deque<Made> old;
  {
    absl::MutexLock lock(&mu_);
    old.swap(made_);
    made_.push_back(Made{version, now_ms, std::move(index)});
  }
  return absl::OkStatus();  // `old` is freed without the lock
}

absl::StatusOr<IndexSnapshot> IndexVersions::Prepare(
    std::vector<std::pair<Hash, Hash>> changes) const {
  IndexSnapshot latest;
  {
    absl::ReaderMutexLock lock(&mu_);
    latest = made_.back().index;
  }
  return latest.Apply(std::move(changes));
}

void IndexVersions::Commit(IndexSnapshot next, uint64_t version,
                           uint64_t now_ms) {
  absl::MutexLock lock(&mu_);
  made_.push_back(Made{version, now_ms, std::move(next)});
}

void IndexVersions::Forget(uint64_t cutoff_ms) {
  std::vector<IndexSnapshot> forgotten;  // freed after the lock
  absl::MutexLock lock(&mu_);
  while (made_.size() > 1 && made_.front().time_ms < cutoff_ms) {
    forgotten.push_back(std::move(made_.front().index));
    made_.pop_front();
  }
}

absl::StatusOr<IndexSnapshot> IndexVersions::At(uint64_t version) const {
  absl::ReaderMutexLock lock(&mu_);
  const Made* made = Find(version);
  if (made == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log answers lookups at the checkpoints of its lookup window; ",
        version < made_.front().version
            ? absl::StrCat("tree size ", version, " is older than its oldest (",
                           made_.front().version, "): fetch a newer checkpoint")
            : absl::StrCat("tree size ", version, " is not one of them")));
  }
  return made->index;
}

absl::StatusOr<Hash> IndexVersions::RootAt(uint64_t version) const {
  absl::ReaderMutexLock lock(&mu_);
  const Made* made = Find(version);
  if (made == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no index version at tree size ", version));
  }
  return made->index.root();
}

uint64_t IndexVersions::latest() const {
  absl::ReaderMutexLock lock(&mu_);
  return made_.back().version;
}

Hash IndexVersions::latest_root() const {
  absl::ReaderMutexLock lock(&mu_);
  return made_.back().index.root();
}

uint64_t IndexVersions::oldest() const {
  absl::ReaderMutexLock lock(&mu_);
  return made_.front().version;
}

size_t IndexVersions::kept() const {
  absl::ReaderMutexLock lock(&mu_);
  return made_.size();
}

}  // namespace ktlog
