// AccountMonitor: lookups, histories and the monitoring of accounts at a
// checkpoint the client trusts (CheckpointTrust), following
// docs/verifier.md:
//
//  - lookups and histories are verified against the checkpoint and the
//    pinned VRF key; an answer that does not verify raises INVALID_PROOF
//    with the answer as evidence, and its refusal (verifier/refusal.h) is
//    on the error;
//  - the own account: every version since the last check is fetched with
//    its record and openings and checked; a record this client did not
//    sign (ClientState::pending_own) raises UNEXPECTED_DEVICE /
//    UNEXPECTED_REMOVAL / UNEXPECTED_KEY_CHANGE / ACCOUNT_RESET /
//    UNEXPECTED_BACKUP (a record-backup record other than the one of the
//    client's own latest backup, ClientState::backup), even if a
//    device was added and removed again between two checks; a log that
//    keeps the owner from checking for longer than the policy allows
//    raises STALE_LOG;
//  - contacts: a key change, or (for a verified contact) a device that the
//    verified key did not sign and that the contact did not have when the
//    user verified it, raises an alert; so does every reset in the
//    contact's key chain (ACCOUNT_RESET, once, also for a contact added
//    after it); a state that does not follow from the one seen before is
//    INVALID_PROOF.
//
// Alerts go to the AlertRaiser (the client state); the caller persists the
// state after each call. Not thread-safe.
#ifndef KTLOG_VERIFIER_ACCOUNT_MONITOR_H_
#define KTLOG_VERIFIER_ACCOUNT_MONITOR_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/note/checkpoint.h"
#include "core/util/clock.h"
#include "verifier/alert_raiser.h"
#include "verifier/client_state.h"
#include "verifier/log_source.h"
#include "verifier/lookup.h"

namespace ktlog {

class AccountMonitor {
 public:
  // Borrows everything; all must outlive this object.
  AccountMonitor(ClientState* state, LogSource* log, const Clock* clock,
                 AlertRaiser* alerts)
      : state_(state), log_(log), clock_(clock), alerts_(alerts) {}

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
  // registered since appears once they cosign a newer checkpoint).
  absl::StatusOr<VerifiedAccount> LookupExisting(
      const LogCheckpoint& checkpoint, const std::string& account);
  // Every record of the own `account` at `checkpoint` (which must be
  // trusted), verified and replayed with the account rules up to the state
  // the index proves. FAILED_PRECONDITION for another account (the log
  // serves a history only to the account's owner) or without a grant
  // (ClientState::access_grant); NOT_FOUND if the account is proved absent;
  // an answer that does not verify raises INVALID_PROOF (DATA_LOSS), as
  // lookups do.
  absl::StatusOr<std::vector<VerifiedDevice>> History(
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

  // Before the owner's `record`, authorized by one of the account's
  // security keys, is sent: DATA_LOSS and CLONED_SECURITY_KEY if its
  // signature counter does not grow past the one the verified account
  // holds for that key (unless both are zero). Only a copy of the key can
  // have signed with that count: the alert's evidence names the key and
  // both counts. OK for any other record.
  absl::Status CheckOwnAssertion(const DeviceRecord& record);

  // Checks every contact, looked up in batches (LogSource::LookupAccounts;
  // one by one from a log that answers UNIMPLEMENTED). The first error; a
  // contact the log did not answer for is named in its message.
  absl::Status MonitorContacts(const LogCheckpoint& checkpoint);
  // Starts tracking `account` as a contact (trust on first use of the key
  // it has now), or checks it if tracked. Returns its verified device set.
  absl::StatusOr<VerifiedAccount> AddContact(const LogCheckpoint& checkpoint,
                                             const std::string& account);
  // The user compared safety codes over `compared_key` with `account`:
  // makes it a verified contact whose reference is that key and the
  // devices it vouches for (docs/verifier.md, "Contacts"), and acknowledges
  // the CONTACT_KEY_CHANGED alerts about that key and the account's
  // ACCOUNT_RESET alerts. FAILED_PRECONDITION if
  // the account's key is no longer `compared_key` (compare again);
  // NOT_FOUND if it is proved absent; DATA_LOSS if its state does not
  // follow from the one seen before; Lookup's errors.
  absl::StatusOr<VerifiedAccount> VerifyContact(
      const LogCheckpoint& checkpoint, const std::string& account,
      const std::string& compared_key);

 private:
  // A verified history record with the answer it came in (evidence).
  struct HistoryItem {
    VerifiedDevice verified;
    HistoryEntryAnswer entry;
    std::string vrf_proof;
  };

  // What MonitorContacts reports for contact `id` whose lookup the log
  // did not answer (`why`): the contact named; the log's DATA_LOSS or
  // UNAUTHENTICATED as UNKNOWN (only verification failures are those).
  static absl::Status NotChecked(const std::string& id,
                                 const absl::Status& why);
  // Lookup's verification of `fetched`, the log's answer (or status) for
  // `account` at `checkpoint`.
  absl::StatusOr<VerifiedAccount> Verify(
      const LogCheckpoint& checkpoint, const std::string& account,
      absl::StatusOr<AccountLookupAnswer> fetched);
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
  // Raises ACCOUNT_RESET for each reset in `now`'s key chain that
  // `contact` has not seen (every one, for a contact seen the first time).
  void RaiseResets(const std::string& id, const VerifiedAccount& now,
                   const ContactState& contact);
  // Remembers `now` as the contact's seen state.
  void RememberSeen(const VerifiedAccount& now, ContactState* contact);
  // Checks a contact's verified state `now` against what the client
  // verified or saw before, raises alerts, and remembers `now` as seen.
  // DATA_LOSS while the contact differs from what the user verified (a key
  // or an unvouched device, every time, not only when the alert is new),
  // went back, or vanished.
  // What a check of `id`, proved erased (now.erased_version), answers:
  // NOT_FOUND with ACCOUNT_ERASED (no alert), or INCONSISTENT_ACCOUNT if
  // the user saw a later version than the erased one (`seen_version`).
  absl::Status Erased(const LogCheckpoint& checkpoint, const std::string& id,
                      const VerifiedAccount& now, uint64_t seen_version);
  absl::Status CheckContact(const LogCheckpoint& checkpoint,
                            const std::string& id, const VerifiedAccount& now,
                            ContactState* contact);
  // The owner proof of a history request for the own account `id` from
  // `from_version` at `tree_size` with `grant` (ClientState::access_grant
  // or next_access_grant), signed now by the access key.
  // FAILED_PRECONDITION for another account, or without a grant.
  absl::StatusOr<OwnerProof> OwnerProofFor(const std::string& id,
                                           uint64_t from_version,
                                           uint64_t tree_size,
                                           const std::string& grant);
  // One page of the own account's history with the grant in force; if the
  // log refuses it (or there is none) and a reset of this client's is on
  // its way, with the grant by the reset's key. Changes no grant.
  absl::StatusOr<AccountHistoryAnswer> HistoryPage(const std::string& id,
                                                   uint64_t from_version,
                                                   uint64_t tree_size);
  // What MonitorSelf takes from the own account's verified lookup `now`
  // before its history: a promoted grant (PromoteNextGrant); for a client
  // set up for an account that existed already, the lookup's state (OK);
  // for one a reset shut out (ReportResetShutOut), the lookup's state and
  // the refusal ACCOUNT_RESET. Nullopt: go on with the history.
  std::optional<absl::Status> TakeFromLookup(const VerifiedAccount& now);
  // Whether `grant` grants this client's access key for `state`.
  bool GrantValid(const AccountState& state, const std::string& grant) const;
  // The grant by the key of a reset of this client's replaces the one in
  // force once the verified state `now` shows the reset (the old one is
  // no longer valid and the new one is).
  void PromoteNextGrant(const AccountState& now);
  // If none of this client's grants is valid for the own account's
  // verified state `now`, a reset it did not make ended them
  // (core/account/owner_access.h), and the log will refuse it the history:
  // raises ACCOUNT_RESET (once) for the latest reset in `now`'s key chain,
  // if it is after the version this client verified and not its own, with
  // the verified lookup as evidence, and returns true; true also once it
  // did (the client is shut out since).
  bool ReportResetShutOut(const VerifiedAccount& now);
  // Raises the alert for an own record this client did not sign; `now` is
  // the account after the records checked.
  // Whether `record` is the record-backup record of the backup this client
  // made or restored from (ClientState::backup): its own, although no
  // pending record of its names it (a restored client never signed it).
  bool IsOwnBackup(const DeviceRecord& record) const;
  void ReportUnexpected(const HistoryItem& item, const AccountState& now);
  // Raises INVALID_PROOF (INCONSISTENT_ACCOUNT) for an own record the log
  // acknowledged (`mine`, SHA-256 `hash`) and the account at `version` in
  // `checkpoint` does not hold.
  void ReportUnappended(const LogCheckpoint& checkpoint,
                        const std::string& hash, const PendingOwn& mine,
                        uint64_t version);

  ClientState* const state_;
  LogSource* const log_;
  const Clock* const clock_;
  AlertRaiser* const alerts_;
  std::set<std::string> matched_own_;
  // The timestamp of the latest history request (each one later).
  uint64_t last_request_ms_ = 0;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_ACCOUNT_MONITOR_H_
