#include "log/sequencer.h"

#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/account/index.h"
#include "core/merkle/merkle.h"
#include "core/util/logging.h"
#include "core/util/status_macros.h"

namespace ktlog {

struct Sequencer::Pending {
  DeviceRecord record;
  std::string data;
  Hash leaf_hash;
  absl::Notification done;
  absl::Status status;  // set before done is notified
  uint64_t leaf_index = 0;

  void Finish(absl::Status s) {
    status = std::move(s);
    done.Notify();
  }
};

namespace {

// Index nodes shallower than this stay in memory: at most 2^17 of them,
// which covers every read of an update for indexes up to ~2^15 accounts
// and all but the deepest few levels beyond.
constexpr int kCachedIndexDepth = 16;
constexpr size_t kMaxCachedAccounts = 1 << 16;

}  // namespace

absl::StatusOr<AccountState> Sequencer::LatestAccount(const std::string& id) {
  auto it = account_cache_.find(id);
  if (it != account_cache_.end()) return it->second;
  ASSIGN_OR_RETURN(std::optional<AccountState> stored,
                   storage_->ReadAccount(id, range_.size()));
  AccountState state;
  if (stored.has_value()) {
    state = *std::move(stored);
  } else {
    state.account_id = id;
  }
  return state;
}

void Sequencer::CacheCommitted(const StorageBatch& batch) {
  CachingIndexReader::Remember(batch.index_nodes, kCachedIndexDepth,
                               &index_cache_);
  if (account_cache_.size() + batch.accounts.size() > kMaxCachedAccounts) {
    account_cache_.clear();
  }
  for (const AccountState& a : batch.accounts) account_cache_[a.account_id] = a;
}

absl::StatusOr<std::unique_ptr<Sequencer>> Sequencer::Start(
    LogStorage* storage, CheckpointPublisher* publisher,
    const SequencerOptions& options) {
  uint64_t size = storage->size();
  ASSIGN_OR_RETURN(std::vector<Hash> hashes, storage->ReadCompactRange(size));
  ASSIGN_OR_RETURN(CompactRange range,
                   CompactRange::FromHashes(size, std::move(hashes)));
  ASSIGN_OR_RETURN(Hash index_root, storage->ReadIndexRoot(size));
  std::unique_ptr<Sequencer> s(
      new Sequencer(storage, publisher, options, std::move(range), index_root));
  std::shared_ptr<const PublishedCheckpoint> latest = publisher->Latest();
  if (latest == nullptr || latest->checkpoint.size != size) {
    // Entries were synced but the crash came before their checkpoint (or
    // this is a new log): sign the tree as it is now.
    RETURN_IF_ERROR(s->PublishCurrent());
  }
  s->thread_ = std::thread([p = s.get()] { p->Run(); });
  return s;
}

Sequencer::Sequencer(LogStorage* storage, CheckpointPublisher* publisher,
                     const SequencerOptions& options, CompactRange range,
                     Hash index_root)
    : storage_(storage),
      publisher_(publisher),
      options_(options),
      range_(std::move(range)),
      index_root_(index_root),
      last_publish_(absl::Now()) {}

absl::Status Sequencer::PublishCurrent() {
  return publisher_->Publish(range_.size(), range_.Root(), index_root_);
}

Sequencer::~Sequencer() { Stop(); }

absl::StatusOr<Sequencer::Appended> Sequencer::Submit(
    const DeviceRecord& record, std::string data, absl::Time deadline) {
  auto p = std::make_shared<Pending>();
  p->record = record;
  p->leaf_hash = HashLeaf(data);
  p->data = std::move(data);
  {
    absl::MutexLock lock(&mu_);
    if (!failed_.ok()) return failed_;
    if (stopping_) {
      return absl::UnavailableError("the log server is shutting down");
    }
    if (queue_.size() >= options_.max_pending) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the log's write queue is full (", options_.max_pending,
                       " pending records); retry with backoff"));
    }
    queue_.push_back(p);
  }
  if (!p->done.WaitForNotificationWithDeadline(deadline)) {
    return absl::DeadlineExceededError(
        "deadline passed before the record was sequenced; it may still be "
        "appended: look it up by its leaf hash before retrying");
  }
  RETURN_IF_ERROR(p->status);
  return Appended{p->leaf_index, p->leaf_hash};
}

void Sequencer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Sequencer::Fail(const absl::Status& status) {
  LogError("sequencer stopped: ", status.ToString(),
           "; restart the server once the cause is fixed");
  absl::Status failed = absl::UnavailableError(absl::StrCat(
      "the log cannot accept writes (storage failure: ", status.message(),
      ")"));
  std::deque<std::shared_ptr<Pending>> queued;
  {
    absl::MutexLock lock(&mu_);
    failed_ = failed;
    queued.swap(queue_);
  }
  for (auto& p : queued) p->Finish(failed);
}

std::vector<std::shared_ptr<Sequencer::Pending>> Sequencer::NextBatch() {
  for (;;) {
    bool heartbeat = false;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.AwaitWithDeadline(absl::Condition(&has_work),
                            last_publish_ + options_.checkpoint_interval);
      if (queue_.empty()) {
        if (stopping_) return {};
        heartbeat = true;
      } else {
        auto full = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return queue_.size() >= options_.max_batch_size || stopping_;
        };
        mu_.AwaitWithTimeout(absl::Condition(&full), options_.batch_delay);
        std::vector<std::shared_ptr<Pending>> batch;
        while (!queue_.empty() && batch.size() < options_.max_batch_size) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        return batch;
      }
    }
    if (heartbeat) {
      absl::Status s = PublishCurrent();
      if (!s.ok()) {
        Fail(s);
        return {};
      }
      absl::MutexLock lock(&mu_);
      last_publish_ = absl::Now();
    }
  }
}

void Sequencer::Run() {
  for (;;) {
    std::vector<std::shared_ptr<Pending>> batch = NextBatch();
    if (batch.empty()) break;
    Process(std::move(batch));
    absl::MutexLock lock(&mu_);
    if (!failed_.ok()) return;
  }
  // A clean stop: make sure the latest checkpoint covers the whole tree.
  {
    absl::MutexLock lock(&mu_);
    if (!failed_.ok()) return;
  }
  std::shared_ptr<const PublishedCheckpoint> latest = publisher_->Latest();
  if (latest == nullptr || latest->checkpoint.size != range_.size()) {
    absl::Status s = PublishCurrent();
    if (!s.ok()) LogError("final checkpoint failed: ", s.ToString());
  }
}

void Sequencer::Process(std::vector<std::shared_ptr<Pending>> batch) {
  StorageBatch sb;
  sb.begin = range_.size();
  CompactRange next = range_;
  std::map<std::string, AccountState> accounts;  // changed in this batch
  absl::flat_hash_map<Hash, uint64_t> batch_leaves;
  std::vector<std::shared_ptr<Pending>> accepted;
  absl::Status storage_error;

  for (auto& p : batch) {
    if (auto it = batch_leaves.find(p->leaf_hash); it != batch_leaves.end()) {
      p->Finish(absl::AlreadyExistsError(absl::StrCat(
          "the record is already in the log at leaf index ", it->second)));
      continue;
    }
    absl::StatusOr<std::optional<uint64_t>> existing =
        storage_->FindLeafIndex(p->leaf_hash);
    if (!existing.ok()) {
      storage_error = existing.status();
      break;
    }
    if (existing->has_value()) {
      p->Finish(absl::AlreadyExistsError(absl::StrCat(
          "the record is already in the log at leaf index ", **existing)));
      continue;
    }
    const std::string& id = p->record.account_id;
    AccountState state;
    if (auto it = accounts.find(id); it != accounts.end()) {
      state = it->second;
    } else {
      absl::StatusOr<AccountState> latest = LatestAccount(id);
      if (!latest.ok()) {
        storage_error = latest.status();
        break;
      }
      state = *std::move(latest);
    }
    absl::Status rule = ApplyRecord(p->record, next.size(), &state);
    if (!rule.ok()) {
      p->Finish(rule);
      continue;
    }
    accounts[id] = std::move(state);
    p->leaf_index = next.size();
    batch_leaves[p->leaf_hash] = p->leaf_index;
    next.Append(p->leaf_hash, [&sb](const NodeId& node, const Hash& h) {
      sb.nodes.emplace_back(node, h);
    });
    sb.records.push_back(p->data);
    sb.leaf_hashes.push_back(p->leaf_hash);
    sb.history.push_back(
        HistoryEntry{id, p->record.account_version, p->leaf_index,
                     p->record.operation == Operation::kRotateAccountKey ||
                         p->record.account_version == 1});
    accepted.push_back(p);
  }

  if (storage_error.ok() && !accepted.empty()) {
    std::vector<std::pair<Hash, Hash>> changes;
    for (auto& [id, state] : accounts) {
      changes.emplace_back(AccountIndexKey(id), AccountValueHash(state));
      sb.accounts.push_back(std::move(state));
    }
    std::unique_ptr<IndexNodeReader> stored = storage_->IndexReaderAt(sb.begin);
    CachingIndexReader reader(stored.get(), kCachedIndexDepth, &index_cache_);
    absl::StatusOr<IndexUpdate> update =
        UpdateIndex(&reader, std::move(changes));
    if (update.ok()) {
      sb.index_nodes = std::move(update->nodes);
      sb.index_root = update->root;
      storage_error = storage_->CommitBatch(sb);
    } else {
      storage_error = update.status();
    }
  }
  if (!storage_error.ok()) {
    absl::Status failed = absl::UnavailableError(
        absl::StrCat("the record was not stored: ", storage_error.message()));
    for (auto& p : batch) {
      if (!p->done.HasBeenNotified()) p->Finish(failed);
    }
    Fail(storage_error);
    return;
  }
  if (!accepted.empty()) CacheCommitted(sb);
  for (auto& p : accepted) p->Finish(absl::OkStatus());
  if (accepted.empty()) return;
  range_ = std::move(next);
  index_root_ = sb.index_root;
  absl::Status s = PublishCurrent();
  if (!s.ok()) {
    Fail(s);
    return;
  }
  absl::MutexLock lock(&mu_);
  last_publish_ = absl::Now();
}

}  // namespace ktlog
