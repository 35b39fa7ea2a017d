#include "log/write_queue.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/crypto/crypto.h"
#include "core/util/logging.h"

namespace ktlog {

struct WriteQueue::Pending {
  PendingWrite write;
  absl::Time submitted;
  absl::Notification done;
  absl::StatusOr<AppendedLeaf> outcome;  // set before done is notified

  void Finish(absl::StatusOr<AppendedLeaf> o) {
    outcome = std::move(o);
    done.Notify();
  }
};

WriteQueue::WriteQueue(BatchSink* sink, const SequencerOptions& options,
                       MetricsRegistry* metrics)
    : sink_(sink),
      options_(options),
      last_publish_(absl::Now()),
      depth_(MetricsRegistry::OrDiscard(metrics)->GetGauge(
          "ktlog_write_queue_depth", "Records waiting to be sequenced.")),
      batch_records_(MetricsRegistry::OrDiscard(metrics)->GetHistogram(
          "ktlog_write_batch_records",
          "Records per batch handed to the integrator.",
          {1, 2, 5, 10, 20, 50, 100, 200, 512, 1000})),
      to_checkpoint_(MetricsRegistry::OrDiscard(metrics)->GetHistogram(
          "ktlog_write_to_checkpoint_seconds",
          "Per appended record: from its arrival in the write queue until "
          "a signed checkpoint covers it.",
          DurationBuckets())) {
  thread_ = std::thread([this] { Run(); });
}

WriteQueue::~WriteQueue() { Stop(); }

absl::StatusOr<std::vector<absl::StatusOr<AppendedLeaf>>> WriteQueue::Submit(
    std::vector<PendingWrite> writes, absl::Time deadline) {
  if (writes.size() > options_.max_pending) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "a call of ", writes.size(), " records is more than the log queues (",
        options_.max_pending, " pending records): send smaller calls"));
  }
  std::vector<std::shared_ptr<Pending>> pending;
  pending.reserve(writes.size());
  const absl::Time now = absl::Now();
  for (PendingWrite& w : writes) {
    auto p = std::make_shared<Pending>();
    p->write = std::move(w);
    p->submitted = now;
    p->write.record_hash = Sha256(p->write.data);
    pending.push_back(std::move(p));
  }
  {
    absl::MutexLock lock(&mu_);
    if (!failed_.ok()) return failed_;
    if (stopping_) {
      return absl::UnavailableError("the log server is shutting down");
    }
    if (queue_.size() + pending.size() > options_.max_pending) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the log's write queue is full (", options_.max_pending,
                       " pending records); retry with backoff"));
    }
    queue_.insert(queue_.end(), pending.begin(), pending.end());
    depth_->Set(queue_.size());
  }
  std::vector<absl::StatusOr<AppendedLeaf>> outcomes;
  outcomes.reserve(pending.size());
  for (const std::shared_ptr<Pending>& p : pending) {
    if (p->done.WaitForNotificationWithDeadline(deadline)) {
      outcomes.push_back(p->outcome);
    } else {
      outcomes.push_back(absl::DeadlineExceededError(
          "deadline passed before the record was sequenced; it may still be "
          "appended: send the same record again (ALREADY_EXISTS then names "
          "its leaf index)"));
    }
  }
  return outcomes;
}

void WriteQueue::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool WriteQueue::failed() {
  absl::MutexLock lock(&mu_);
  return !failed_.ok();
}

namespace {

// What writers are told when storage fails: the details (which may name
// accounts) go to the operator's log only.
const absl::Status& StorageFailed() {
  static const absl::Status* failed = new absl::Status(absl::UnavailableError(
      "the log cannot accept writes: its storage failed (the operator must "
      "check the server log and restart it)"));
  return *failed;
}

}  // namespace

void WriteQueue::Fail(const absl::Status& status) {
  LogError("sequencing stopped: ", status.ToString(),
           "; restart the server once the cause is fixed");
  const absl::Status& failed = StorageFailed();
  std::deque<std::shared_ptr<Pending>> queued;
  {
    absl::MutexLock lock(&mu_);
    failed_ = failed;
    queued.swap(queue_);
  }
  for (auto& p : queued) p->Finish(failed);
}

std::vector<std::shared_ptr<WriteQueue::Pending>> WriteQueue::NextBatch() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.AwaitWithDeadline(
          absl::Condition(&has_work),
          last_publish_ + (unpublished_ ? options_.checkpoint_pace
                                        : options_.checkpoint_interval));
      if (!queue_.empty()) {
        auto full = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return queue_.size() >= options_.max_batch_size || stopping_;
        };
        mu_.AwaitWithTimeout(absl::Condition(&full), options_.batch_delay);
        std::vector<std::shared_ptr<Pending>> batch;
        while (!queue_.empty() && batch.size() < options_.max_batch_size) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        depth_->Set(queue_.size());
        return batch;
      }
      if (stopping_) return {};
    }
    // Idle: the paced checkpoint that is due, or a heartbeat.
    bool due;
    {
      absl::MutexLock lock(&mu_);
      due = unpublished_;
    }
    absl::Status s = due ? sink_->PublishIfBehind() : sink_->PublishCurrent();
    if (!s.ok()) {
      Fail(s);
      return {};
    }
    Published();
  }
}

void WriteQueue::Published() {
  const absl::Time now = absl::Now();
  for (absl::Time t : unpublished_since_) {
    to_checkpoint_->Observe(absl::ToDoubleSeconds(now - t));
  }
  unpublished_since_.clear();
  absl::MutexLock lock(&mu_);
  last_publish_ = now;
  unpublished_ = false;
}

void WriteQueue::PublishIfDue(bool force) {
  {
    absl::MutexLock lock(&mu_);
    if (!unpublished_) return;
    if (!force && absl::Now() < last_publish_ + options_.checkpoint_pace) {
      return;
    }
  }
  absl::Status s = sink_->PublishIfBehind();
  if (!s.ok()) {
    Fail(s);
    return;
  }
  Published();
}

void WriteQueue::Process(const std::vector<std::shared_ptr<Pending>>& batch) {
  std::vector<const PendingWrite*> writes;
  writes.reserve(batch.size());
  for (const auto& p : batch) writes.push_back(&p->write);
  batch_records_->Observe(batch.size());
  absl::StatusOr<IntegratedBatch> integrated = sink_->Integrate(writes);
  if (!integrated.ok()) {
    for (const auto& p : batch) p->Finish(StorageFailed());
    Fail(integrated.status());
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (integrated->outcomes[i].ok()) {
      unpublished_since_.push_back(batch[i]->submitted);
    }
    batch[i]->Finish(std::move(integrated->outcomes[i]));
  }
  if (!integrated->appended) return;
  {
    absl::MutexLock lock(&mu_);
    unpublished_ = true;
  }
  PublishIfDue(/*force=*/false);
}

void WriteQueue::Run() {
  for (;;) {
    std::vector<std::shared_ptr<Pending>> batch = NextBatch();
    if (batch.empty()) break;
    Process(batch);
    if (failed()) return;
  }
  if (failed()) return;
  // A clean stop: make sure the latest checkpoint covers the whole tree.
  absl::Status s = sink_->PublishIfBehind();
  if (!s.ok()) LogError("final checkpoint failed: ", s.ToString());
}

}  // namespace ktlog
