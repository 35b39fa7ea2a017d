// Auditor: follows a ktlog log, verifies everything it publishes, and
// cosigns (c2sp.org/tlog-cosignature) each checkpoint it verified; it
// stops cosigning for good, with evidence, the first time the log
// misbehaves (docs/witness.md).
//
// It sees only public data (docs/privacy.md): for each new checkpoint it
// checks the log's signature; that it extends the last verified checkpoint
// (size, consistency proof; never a smaller or different tree); then it
// fetches every new public leaf, checks it (encoding; per position,
// versions 1, 2, 3, ...; timestamps never going back: LeafReplay in
// core/account/replay.h), replays it into its own tree and account index,
// and compares both roots with the checkpoint. Only then does it cosign and
// submit the cosignature to the log. What the records behind the leaves say
// is for each account's owner to check (docs/witness.md, "What an auditor
// can check"). Progress is committed as it goes, so a killed auditor
// resumes where it stopped.
//
// Not thread-safe (one round, or one add-checkpoint, at a time).
#ifndef KTLOG_AUDITOR_AUDITOR_H_
#define KTLOG_AUDITOR_AUDITOR_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "auditor/auditor_store.h"
#include "client/log_feed.h"
#include "core/account/replay.h"
#include "core/note/checkpoint.h"
#include "core/note/log_key.h"
#include "core/note/note.h"
#include "core/util/clock.h"
#include "core/util/metrics.h"
#include "nlohmann/json.hpp"

namespace ktlog {

struct AuditorOptions {
  std::string state_dir;
  LogPublicKey log_key;
  // Leaves fetched per GetEntries call, and between progress commits.
  uint64_t page = 1000;
  uint64_t commit_every = 50000;
  const Clock* clock = RealClock::Get();
  // A checkpoint dated further ahead of the clock is not cosigned (once
  // cosigned, it would make every honest checkpoint after it look as if
  // time went back).
  absl::Duration max_future_skew = absl::Minutes(5);
  // Called when a catch-up starts and after each page: (leaves replayed,
  // target size).
  std::function<void(uint64_t, uint64_t)> progress;
  // Called after each commit of progress with the leaves replayed so far.
  std::function<void(uint64_t)> saved;
  // The log's own answers (over gRPC), when the feed is not them (C2SP
  // tiles from a mirror or CDN, which anyone on the way may change): a
  // problem the feed's data shows is judged again on these before it
  // becomes evidence, and progress is committed only at verified
  // checkpoints (a catch-up from tiles killed half-way starts again from
  // the last one). Borrowed; null when the feed is the log.
  LogFeed* authority = nullptr;
  // Where the auditor keeps its position behind the log, its cosignatures
  // and refusals (docs/operations.md, "Metrics"). Borrowed; null: nowhere.
  MetricsRegistry* metrics = nullptr;
};

class Auditor {
 public:
  // `witness` (a type-0x04 note key) signs the cosignatures; `log` is
  // borrowed. Errors: FAILED_PRECONDITION for a state dir in use or made
  // for another log.
  static absl::StatusOr<std::unique_ptr<Auditor>> Open(AuditorOptions options,
                                                       NoteSigner witness,
                                                       LogFeed* log);

  struct Round {
    uint64_t size = 0;            // the verified checkpoint's size
    uint64_t leaves_checked = 0;  // leaves replayed this round
    bool cosigned = false;        // a cosignature was submitted
  };

  // One round: verify the checkpoint the log asks witnesses to cosign
  // (GetCheckpointToCosign) and cosign it; a cosignature the log did not
  // accept before is submitted again. If that cosignature was the last the
  // log waited for, the next checkpoint it asks for is verified and
  // cosigned in the same round. Errors: DATA_LOSS when the log
  // misbehaved now (the evidence is stored and written to a file);
  // FAILED_PRECONDITION if it had misbehaved before (the auditor no longer
  // cosigns), or if the checkpoint is dated more than max_future_skew
  // ahead of the clock (not cosigned now; a later round may); PERMISSION_DENIED
  // if the log refused the cosignature (the checkpoint stays verified; the
  // cosignature is resubmitted next round); the log's transport errors
  // (UNAVAILABLE, DEADLINE_EXCEEDED).
  absl::StatusOr<Round> RunOnce();

  // C2SP tlog-witness add-checkpoint (docs/witness.md, "Pushed to"): the
  // log sends `note` with a consistency proof from `old_size`, which must be
  // the size this witness last cosigned. Checks what the spec asks, then
  // verifies the checkpoint as a round does (its own consistency proof
  // from the log, every new leaf replayed, both roots recomputed) and
  // returns this witness's cosignature line(s). Errors, each an HTTP
  // status for the caller: NOT_FOUND (another log's origin: 404),
  // PERMISSION_DENIED (not the log's signature: 403), INVALID_ARGUMENT
  // (malformed, old size beyond the checkpoint: 400), ALREADY_EXISTS
  // (old size is not LatestCosignedSize(), or this very checkpoint was
  // cosigned before: 409), OUT_OF_RANGE (the request's proof does not
  // verify: 422), and RunOnce's DATA_LOSS / FAILED_PRECONDITION (the log
  // misbehaved: evidence recorded; 422) and transport errors (503).
  absl::StatusOr<std::string> AddCheckpoint(uint64_t old_size,
                                            const std::vector<Hash>& proof,
                                            const std::string& note);
  // The size of the checkpoint this witness verified and cosigned last (0:
  // none).
  absl::StatusOr<uint64_t> LatestCosignedSize();

  // The evidence of misbehaviour found, if any (JSON).
  absl::StatusOr<std::optional<nlohmann::json>> Failure();
  // Forgets a recorded failure (after an operator investigated it).
  absl::Status ClearFailure();
  // Where the last evidence file was written.
  const std::string& evidence_path() const { return evidence_path_; }

 private:
  Auditor(AuditorOptions options, NoteSigner witness, LogFeed* log,
          std::unique_ptr<AuditorStore> store);
  // RunOnce and AddCheckpoint before their outcome is counted.
  absl::StatusOr<Round> Rounds();
  absl::StatusOr<std::string> Add(uint64_t old_size,
                                  const std::vector<Hash>& proof,
                                  const std::string& note);
  // Counts a refusal (an outcome of RunOnce or AddCheckpoint that is not
  // OK).
  void Count(const absl::Status& outcome);
  // The log's latest size (0: unchanged) and the size verified (0:
  // unchanged) for the position metrics.
  void SetPosition(uint64_t log_size, uint64_t verified_size);
  // RunOnce without the second pass.
  absl::StatusOr<Round> Pass();
  // Verifies `cp` (signed by the log, as `note`) and cosigns it: the
  // cosigned note (committed as not yet submitted) and the leaves
  // replayed, or an empty note if `cp` is the checkpoint verified last and
  // its cosignature was submitted already.
  struct Verified {
    std::string cosigned_note;
    uint64_t leaves_checked = 0;
  };
  absl::StatusOr<Verified> Verify(const LogCheckpoint& cp,
                                  const std::string& note);
  // Verify on the current feed.
  absl::StatusOr<Verified> VerifyOnFeed(const LogCheckpoint& cp,
                                        const std::string& note);
  // True if `cp` is not newer than `verified` (a smaller tree, or the same
  // size signed no later) and `verified` follows from it: nothing to
  // cosign, and nothing wrong (a lagging designated checkpoint, a replayed
  // push).
  absl::StatusOr<bool> Superseded(const LogCheckpoint& verified,
                                  const LogCheckpoint& cp);
  // This witness's signature lines in `cosigned_note`.
  absl::StatusOr<std::string> CosignatureLines(
      const std::string& cosigned_note) const;
  // Steps of Pass. FAILED_PRECONDITION once a failure is recorded.
  absl::Status CheckNotFailed();
  // Checks that `cp` may follow what was verified (and what a killed round
  // had started); records the failure otherwise. True if it is the very
  // checkpoint verified last.
  absl::StatusOr<bool> CheckSucceeds(const AuditorProgress& progress,
                                     const LogCheckpoint& cp,
                                     const std::string& note);
  // Compares the replayed roots with `cp`'s; returns the index update.
  absl::StatusOr<IndexSnapshot> CheckRoots(const AuditorProgress& progress,
                                           const LogCheckpoint& cp,
                                           const std::string& note);
  // Records `evidence` as the failure and returns DATA_LOSS with `message`.
  absl::Status Misbehaved(const std::string& type, const std::string& message,
                          nlohmann::json evidence);
  // Reads positions' committed versions from the store.
  class StoredVersions : public VersionSource {
   public:
    explicit StoredVersions(AuditorStore* store) : store_(store) {}
    absl::StatusOr<uint64_t> LoadVersion(const Hash& position) override {
      return store_->Version(position);
    }

   private:
    AuditorStore* const store_;
  };

  // Applies leaf `index`; returns why it cannot be in an honest log, or ""
  // if it was applied. Errors: the store's.
  absl::StatusOr<std::string> Apply(uint64_t index, const std::string& leaf);
  // Records an INVALID_LEAF failure with its evidence.
  absl::Status InvalidLeaf(const LogCheckpoint& cp, const std::string& note,
                           uint64_t index, const std::string& leaf,
                           const std::string& problem);
  // Replays leaves [from, cp.size) into `progress`; commits as it goes.
  absl::Status Replay(const LogCheckpoint& cp, const std::string& note,
                      AuditorProgress* progress, uint64_t* checked);
  // The index update for the positions changed since the last commit.
  absl::StatusOr<IndexSnapshot> PendingIndexUpdate();
  absl::Status CommitProgress(AuditorProgress progress,
                              const IndexSnapshot& update);
  // Sends `cosigned_note` to the log; marks it submitted once accepted.
  absl::Status Submit(const std::string& cosigned_note);

  const AuditorOptions options_;
  MetricsRegistry* const metrics_;
  Gauge* const log_size_;
  Gauge* const verified_size_;
  Gauge* const behind_;
  Gauge* const misbehaving_;
  Counter* const cosigned_;
  NoteSigner witness_;
  LogFeed* const log_;
  // Where leaves and proofs come from now: `log_`, or while a problem is
  // judged again, options_.authority.
  LogFeed* feed_;
  // While true, Misbehaved() records nothing (the feed is not the log's
  // own answers).
  bool tentative_ = false;
  std::unique_ptr<AuditorStore> store_;
  StoredVersions versions_;
  // Positions' versions (changes not yet committed), made afresh each
  // pass from the committed progress.
  std::unique_ptr<LeafReplay> replay_;
  std::string evidence_path_;
};

}  // namespace ktlog

#endif  // KTLOG_AUDITOR_AUDITOR_H_
