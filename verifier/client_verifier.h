// ClientVerifier: the verifier's engine. It turns what a log says into
// trust and alerts, following docs/verifier.md:
//
//  - checkpoints: signed by the pinned key, cosigned by the policy's quorum
//    of witnesses (if any), dated within the policy's bounds, consistent
//    with the trusted one; trust only moves forward;
//  - lookups and histories: verified against the trusted checkpoint and
//    the pinned VRF key (a VRF proof or commitment opening that fails is
//    INVALID_PROOF, with the answer as evidence);
//  - self-monitoring: every version of the own account since the last
//    check is fetched with its record and openings and checked; a record
//    this client did not sign raises
//    UNEXPECTED_DEVICE / UNEXPECTED_REMOVAL / UNEXPECTED_KEY_CHANGE, even if
//    a device was added and removed again between two checks;
//  - contacts: a key change, or (for a verified contact) a device that the
//    verified key did not sign and that the contact did not have when the
//    user verified it, raises an alert;
//  - log misbehaviour (fork, rollback, bad signature, invalid proof, bad
//    timestamp, stale log) raises the matching alert with its evidence.
//
// Every refusal's error carries its reason (verifier/refusal.h,
// RefusalOf): act on that, not on the message.
//
// Alerts are appended to the state (deduplicated by id); the caller
// persists the state after each call. Not thread-safe.
#ifndef KTLOG_VERIFIER_CLIENT_VERIFIER_H_
#define KTLOG_VERIFIER_CLIENT_VERIFIER_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/note/checkpoint.h"
#include "core/note/log_key.h"
#include "core/note/succession.h"
#include "core/util/clock.h"
#include "verifier/client_state.h"
#include "verifier/log_source.h"
#include "verifier/lookup.h"
#include "verifier/refusal.h"

namespace ktlog {

class ClientVerifier {
 public:
  // Borrows all three; they must outlive this object.
  ClientVerifier(ClientState* state, LogSource* log, const Clock* clock);

  // Fetches the latest checkpoint (with a witness quorum in the policy: the
  // newest one the quorum cosigned) and trusts it if it passes every rule;
  // returns it. When rejected, an alert is raised and the error says why:
  // UNAUTHENTICATED (bad signature), DATA_LOSS (fork, rollback, invalid
  // proof), FAILED_PRECONDITION (timestamp out of bounds, stale, a note
  // served as cosigned without the quorum). Errors of the log source
  // (UNAVAILABLE, ...) pass through, as does the absence of any checkpoint
  // the quorum cosigned yet (UNAVAILABLE, no alert: witnesses run on their
  // own schedule); if the trusted checkpoint is older than the policy
  // allows, STALE_LOG is raised too.
  absl::StatusOr<LogCheckpoint> UpdateCheckpoint();

  // The trusted checkpoint, if any.
  absl::StatusOr<std::optional<LogCheckpoint>> Trusted() const;

  // Looks `account` up at `checkpoint` (which must be trusted) and
  // verifies the answer; an answer that contradicts the checkpoint raises
  // INVALID_PROOF. The first-record anchor is asked for unless the
  // account's first key is known (the own account's, or a contact's,
  // which is remembered the first time).
  absl::StatusOr<VerifiedAccount> Lookup(const LogCheckpoint& checkpoint,
                                         const std::string& account);

  // Lookup of an account the user asked for. If it is a contact, it is
  // checked as MonitorContacts checks it (alerts; DATA_LOSS while it
  // differs from what the user verified). NOT_FOUND if `account` is proved
  // absent (with witnesses in the policy, the message says an account
  // registered since appears once they cosign a newer checkpoint): its state is
  // then always set.
  absl::StatusOr<VerifiedAccount> LookupExisting(
      const LogCheckpoint& checkpoint, const std::string& account);

  // Checks every record of the own account since the last check.
  absl::Status MonitorSelf(const LogCheckpoint& checkpoint);
  // FAILED_PRECONDITION, and STALE_LOG for the own account, if
  // `checkpoint` (the newest the client trusts) is older than the policy's
  // max_own_check_delay: a log that keeps serving the owner an old
  // checkpoint hides every change since (docs/verifier.md). MonitorSelf
  // checks it first.
  absl::Status CheckOwnCheckpointAge(const LogCheckpoint& checkpoint);
  // Whether MonitorSelf found the own record of this SHA-256 (hex) in the
  // verified history (since this object was made).
  bool MatchedOwn(const std::string& hash) const {
    return matched_own_.count(hash) > 0;
  }
  // Every record of `account` at `checkpoint` (which must be trusted),
  // verified and replayed with the account rules up to the state the index
  // proves. NOT_FOUND if the account is proved absent; an answer that does
  // not verify raises INVALID_PROOF (DATA_LOSS), as lookups do.
  absl::StatusOr<std::vector<VerifiedDevice>> History(
      const LogCheckpoint& checkpoint, const std::string& account);
  // Checks every contact.
  absl::Status MonitorContacts(const LogCheckpoint& checkpoint);
  // UpdateCheckpoint, then MonitorSelf and MonitorContacts. An app that
  // writes its own account monitors with OwnAccount::Monitor instead (it
  // also completes the account key rotations the log shows).
  absl::Status MonitorOnce();

  // Starts tracking `account` as a contact (trust on first use of the key
  // it has now), or checks it if tracked. Returns its verified device set.
  absl::StatusOr<VerifiedAccount> AddContact(const LogCheckpoint& checkpoint,
                                             const std::string& account);

  // The user compared safety codes over `compared_key` with `account`:
  // makes it a verified contact whose reference is that key and the
  // devices it vouches for (docs/verifier.md, "Contacts"), and acknowledges
  // the CONTACT_KEY_CHANGED alerts about that key.
  // FAILED_PRECONDITION if the account's key is no longer `compared_key`
  // (compare again); NOT_FOUND if it is proved absent; DATA_LOSS if its
  // state does not follow from the one seen before; Lookup's errors.
  absl::StatusOr<VerifiedAccount> VerifyContact(
      const LogCheckpoint& checkpoint, const std::string& account,
      const std::string& compared_key);

  // The alerts this object raised (new ones only, not duplicates).
  const std::vector<Alert>& raised() const { return raised_; }
  // Whether this object found a reason for an alert, new or raised before
  // (a repeated fork, bad signature, missing cosignature...): what a
  // command's exit code reflects, so that it does not depend on whether
  // the alert is new.
  bool alert_found() const { return alert_found_; }

 private:
  // A verified history record with the answer it came in (evidence).
  struct HistoryItem {
    VerifiedDevice verified;
    HistoryEntryAnswer entry;
    std::string vrf_proof;
  };

  // Steps of UpdateCheckpoint: fetch (STALE_LOG if unreachable for too
  // long), open and check signatures, cosignatures and time, then check it
  // against the trusted and the seen checkpoint.
  absl::StatusOr<std::string> FetchCheckpoint(
      const std::optional<LogCheckpoint>& trusted);
  absl::StatusOr<LogCheckpoint> OpenChecked(const std::string& note);
  absl::Status CheckHistory(const std::optional<LogCheckpoint>& trusted,
                            const LogCheckpoint& cp, const std::string& note);
  // Fetches and verifies `id`'s records after `replay`'s version until it
  // reaches `proved` (the state the index proves); raises INVALID_PROOF
  // when they do not verify or do not lead there.
  absl::StatusOr<std::vector<HistoryItem>> ReplayHistory(
      const LogCheckpoint& checkpoint, const std::string& id,
      const AccountState& proved, AccountState* replay);
  // The own account could not be checked at a checkpoint the log served
  // (its lookup, or its history up to `proved` version, was refused or not
  // answered, `why`): remembers since when, and raises STALE_LOG once that
  // is longer than the policy's max_own_check_delay (a log must not keep
  // an owner from their own account while contacts are shown it); returns
  // whether it did.
  bool NoteOwnCheckFailed(const LogCheckpoint& checkpoint,
                          const absl::Status& why,
                          std::optional<uint64_t> proved);
  // The account's first key as this client verified it before, or "".
  std::string KnownFirstKey(const std::string& account) const;
  // INVALID_PROOF (DATA_LOSS) unless the contact's state `now` follows from
  // the one seen before: not an older version, its key chain extending the
  // one seen, and every device dated at or before the version seen one that
  // was there then (a removed device the log brings back, or a state from
  // before a rotation, fails). Without witnesses nobody else checks how an
  // account evolves; with them, this is what a contact can check without
  // the owner's history.
  absl::Status CheckFollowsSeen(const LogCheckpoint& checkpoint,
                                const std::string& id,
                                const VerifiedAccount& now,
                                const ContactState& contact);
  // Remembers `now` as the contact's seen state.
  void RememberSeen(const VerifiedAccount& now, ContactState* contact);
  // Checks a contact's verified state `now` against what the client
  // verified or saw before (see the class comment), raises alerts, and
  // remembers `now` as seen. DATA_LOSS while the contact differs from what
  // the user verified (a key or an unvouched device, every time, not only
  // when the alert is new), went back, or vanished.
  absl::Status CheckContact(const LogCheckpoint& checkpoint,
                            const std::string& id, const VerifiedAccount& now,
                            ContactState* contact);
  // Raises the alert for an own record this client did not sign; `now` is
  // the account after the records checked.
  void ReportUnexpected(const HistoryItem& item, const AccountState& now);
  // Raises AlertFor(refusal) (the refusal's name in the evidence) and
  // returns `status` carrying `refusal`.
  absl::Status Refuse(Refusal refusal, absl::Status status,
                      const std::string& account, const std::string& dedup_key,
                      const std::string& message, nlohmann::json evidence);
  void Raise(AlertType type, const std::string& account,
             const std::string& dedup_key, const std::string& message,
             nlohmann::json evidence);
  absl::StatusOr<LogPublicKey> LogKey() const;
  // Raises the alert for a failed succession check of `cp` (from `note`)
  // against `trusted` (from `trusted_note`) and returns the matching error.
  absl::Status RaiseSuccession(const SuccessionCheck& check,
                               const std::string& trusted_note,
                               const LogCheckpoint& trusted,
                               const LogCheckpoint& cp,
                               const std::string& note);
  // The policy's k-of-n witness rule for a checkpoint note.
  absl::Status CheckCosignatures(const std::string& note_text,
                                 const LogCheckpoint& cp);

  ClientState* const state_;
  LogSource* const log_;
  const Clock* const clock_;
  std::vector<Alert> raised_;
  bool alert_found_ = false;
  std::set<std::string> matched_own_;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_CLIENT_VERIFIER_H_
