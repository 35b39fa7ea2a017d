// LogQueries: the log's read API in core terms, with no gRPC (the service is
// a thin mapping onto it; CT's LogLookup). Every answer is bounded by the
// latest published checkpoint, so a client can check it against a signed
// tree head: sizes beyond it are OUT_OF_RANGE.
//
// Status codes: UNAVAILABLE before the first checkpoint; INVALID_ARGUMENT
// for malformed requests; OUT_OF_RANGE for sizes or indexes beyond the
// checkpoint or tree; NOT_FOUND for a size that is no checkpoint's, a leaf
// hash not in the tree, an account absent from a history; DATA_LOSS for
// storage that contradicts itself. Thread-safe.
#ifndef KTLOG_LOG_QUERIES_H_
#define KTLOG_LOG_QUERIES_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/account/answers.h"
#include "core/crypto/hash.h"
#include "core/crypto/vrf.h"
#include "log/index_versions.h"
#include "log/positions.h"
#include "log/publisher.h"
#include "log/storage/log_storage.h"

namespace ktlog {

inline constexpr uint64_t kMaxEntriesPerRequest = 1000;
inline constexpr size_t kMaxHistoryPerRequest = 100;

class LogQueries {
 public:
  // Borrows everything. `index` answers lookups at the checkpoints of its
  // lookup window; `positions` proves where accounts are, also those that
  // were never written (their absence needs a VRF proof too). A batched
  // lookup's answer stops growing at `lookups_answer_bytes`. A read
  // replica's (log/follower.h) `replica_wait` is how long a request for a
  // tree size beyond its latest checkpoint waits for it to be adopted
  // before it is UNAVAILABLE (the log's own sizes are OUT_OF_RANGE at once).
  // `replica_nudge` asks its follower to poll the log now (a size it has
  // not seen the log sign).
  LogQueries(LogReader* storage, const CheckpointPublisher* publisher,
             IndexVersions* index, const Positions* positions,
             size_t lookups_answer_bytes = kMaxLookupsAnswerBytes,
             absl::Duration replica_wait = absl::ZeroDuration(),
             std::function<void()> replica_nudge = nullptr)
      : storage_(storage),
        publisher_(publisher),
        index_(index),
        positions_(positions),
        lookups_answer_bytes_(lookups_answer_bytes),
        replica_wait_(replica_wait),
        replica_nudge_(std::move(replica_nudge)) {}

  // OUT_OF_RANGE if `tree_size` is beyond the latest checkpoint (in a
  // replica, UNAVAILABLE after replica_wait).
  absl::Status CheckTreeSize(uint64_t tree_size) const;

  // The latest signed checkpoint.
  absl::StatusOr<std::shared_ptr<const PublishedCheckpoint>> Latest() const;

  // RFC 9162 consistency proof between size1 and size2 (INVALID_ARGUMENT if
  // size1 is 0 or above size2).
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1,
                                                     uint64_t size2);
  // RFC 9162 inclusion proof of the leaf at `index`, or of the first leaf
  // with `leaf_hash`, in the tree of `tree_size`.
  absl::StatusOr<InclusionAnswer> InclusionProof(uint64_t index,
                                                 uint64_t tree_size);
  absl::StatusOr<InclusionAnswer> InclusionProofByHash(const Hash& leaf_hash,
                                                       uint64_t tree_size);
  // Public leaves from `begin`, at most kMaxEntriesPerRequest, never past
  // the checkpoint (INVALID_ARGUMENT if end <= begin; OUT_OF_RANGE if begin
  // is not below the checkpoint's size).
  absl::StatusOr<std::vector<std::string>> Entries(uint64_t begin,
                                                   uint64_t end);

  // An account's complete state at the checkpoint of `tree_size` (nullopt:
  // the latest, whose note the answer carries): the VRF proof of its
  // position, the index proof at that position, and the state with the
  // opening of its commitment, and with `with_first_record` the account's
  // version-1 entry (its first-record anchor, docs/index.md); or the proof
  // that it is absent; for an account erased on request, the index proof
  // and its erasure leaf (erased_leaf). FAILED_PRECONDITION for a
  // checkpoint older than the lookup window (in a replica, UNAVAILABLE:
  // its window starts where it last started, and another replica's may
  // not).
  absl::StatusOr<AccountLookupAnswer> Lookup(const std::string& account_id,
                                             std::optional<uint64_t> tree_size,
                                             bool with_first_record);
  // Lookups of many accounts at one checkpoint (a client monitoring its
  // contacts): one answer per ask, in order, each what Lookup answers for
  // it, without the checkpoint note (which is the batch's); once the
  // answers hold lookups_answer_bytes (kMaxLookupsAnswerBytes), the rest
  // are ABORTED (not looked up: ask again). Whole-batch
  // errors: INVALID_ARGUMENT (CheckLookupAsks) and Lookup's errors for the
  // tree size.
  struct LookupsAnswer {
    std::string checkpoint_note;  // when the latest was asked for
    uint64_t tree_size = 0;
    std::vector<absl::StatusOr<AccountLookupAnswer>> answers;
  };
  absl::StatusOr<LookupsAnswer> Lookups(const std::vector<LookupAsk>& asks,
                                        std::optional<uint64_t> tree_size);
  // INVALID_ARGUMENT unless there are 1..kMaxLookupsPerCall asks, each a
  // valid account id and no id twice; the message names the ask's index.
  static absl::Status CheckLookupAsks(const std::vector<LookupAsk>& asks);
  // Up to kMaxHistoryPerRequest of an account's versions from
  // `from_version` (>= 1), each a leaf with its inclusion proof, record and
  // openings, at the checkpoint of `tree_size` (nullopt: the latest).
  absl::StatusOr<AccountHistoryAnswer> History(
      const std::string& account_id, uint64_t from_version,
      std::optional<uint64_t> tree_size);

 private:
  // The latest checkpoint's size.
  absl::StatusOr<uint64_t> PublishedSize() const;
  // A request's tree size (nullopt: the latest checkpoint, whose note is
  // copied to *note) resolved to one with an index root.
  absl::StatusOr<uint64_t> ResolveTreeSize(std::optional<uint64_t> tree_size,
                                           std::string* note) const;
  // The leaf of a version of an account (`entry`, stored at a leaf index
  // below `tree_size`) with its inclusion proof and everything behind it.
  absl::StatusOr<HistoryEntryAnswer> Version(const HistoryEntry& entry,
                                             uint64_t tree_size);
  // The answers to `asks` (valid ids) at `tree_size`: Lookups without
  // the checks of the asks.
  absl::StatusOr<LookupsAnswer> LookUpAll(const std::vector<LookupAsk>& asks,
                                          std::optional<uint64_t> tree_size);
  // Lookup's answer for the valid `ask` in the index tree `reader` reads
  // (of out->tree_size).
  absl::Status LookUpOne(const IndexSnapshot& index, const LookupAsk& ask,
                         AccountLookupAnswer* out);
  // Lookup's answer for the account at `position` whose index value in
  // the tree of out->tree_size is `value_hash`: its state and opening (and
  // anchor), or its erasure leaf.
  absl::Status OpenState(const std::string& account_id, const Hash& position,
                         const Hash& value_hash, bool with_first_record,
                         AccountLookupAnswer* out);
  // History's versions from `from_version` in the tree of out->tree_size.
  absl::Status ReadVersions(const std::string& account_id,
                            uint64_t from_version, AccountHistoryAnswer* out);
  // `status` (a read that found data missing), or FAILED_PRECONDITION if
  // the account at `position` was erased meanwhile (an honest race, which
  // must not look like lost data to a client).
  absl::Status ErasedSince(const Hash& position, absl::Status status);
  // The erasure leaf of the account erased at `position`, which the index
  // holds in the tree of `tree_size` (`value_hash`); FAILED_PRECONDITION if
  // that tree is older than the erasure, DATA_LOSS if no account was
  // erased there.
  absl::StatusOr<std::string> ErasedLeaf(const Hash& position,
                                         uint64_t tree_size,
                                         const Hash& value_hash);

  LogReader* const storage_;
  const CheckpointPublisher* const publisher_;
  IndexVersions* const index_;
  const Positions* const positions_;
  const size_t lookups_answer_bytes_;
  const absl::Duration replica_wait_;
  const std::function<void()> replica_nudge_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_QUERIES_H_
