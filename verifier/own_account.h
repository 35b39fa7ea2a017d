// OwnAccount: the account owner's half of the client library. It writes
// the account's records (add and remove devices, rotate the account key)
// and checks them in the log, so that neither a crash at any moment nor a
// lost answer makes the owner's own record look like someone else's
// (UNEXPECTED_DEVICE) or loses the new account key.
//
// The rules (docs/verifier.md, "Writing the own account"):
//
//  1. A record builds on the verified account: before one is signed, the
//     latest checkpoint is trusted and every record of the account up to
//     it is checked (ClientVerifier::MonitorSelf).
//  2. The record's hash is saved as expected (ClientState::pending_own,
//     through the StateStore) before the record is sent: a crash after
//     sending must not turn it into an alert.
//  3. A failed append stays expected until the account passes its version
//     (then it can never be appended): a refusal (FateOfFailedAppend says
//     the log's checks refused it) is not waited for, but a log that
//     appended it after all does not make it an alert.
//  4. A rotation's new key is prepared (durably) in the AccountKeyStore
//     before the rotation is sent, is reused by every retry, and is
//     promoted only once the verified account shows the rotation to it
//     (Check does this, so a rotation interrupted by a crash completes at
//     the next check). The old key signs until then.
//     A reset (every key lost) is signed by the prepared key itself,
//     which the verified reset promotes the same way.
//  4b. An account on security keys (SetSecurityKeys) has each record
//     authorized by an assertion of the security key in use
//     (UseSecurityKey; the user touches it); an assertion whose signature
//     counter shows that a copy of the key signed is not sent
//     (CLONED_SECURITY_KEY, ClientVerifier::CheckOwnAssertion).
//  6. The log serves the account's history only to its owner
//     (core/account/owner_access.h): the client grants its own access key
//     once, with the account key (no touch), or for an account moved onto
//     security keys before grants existed, with the security key in use;
//     a reset of its own is sent with a grant by the key it sets, in force
//     once the log holds the reset.
//  5. After the log acknowledges, the record is verified when the
//     verified history shows it (with a witness quorum, once the witnesses
//     have cosigned a checkpoint that covers it). If the account passes its
//     version without it, or a trusted tree holds the leaf index the log
//     acknowledged and the account is not there yet, the write ends in
//     DATA_LOSS (INCONSISTENT_ACCOUNT).
//
// Every call saves the state through the StateStore before it returns.
// Alerts are raised by the ClientVerifier (its raised()). Not thread-safe:
// one OwnAccount per client state.
#ifndef KTLOG_VERIFIER_OWN_ACCOUNT_H_
#define KTLOG_VERIFIER_OWN_ACCOUNT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/account/record.h"
#include "core/crypto/hash.h"
#include "core/note/checkpoint.h"
#include "core/util/clock.h"
#include "verifier/client_state.h"
#include "verifier/client_verifier.h"
#include "verifier/security_key_device.h"
#include "verifier/stores.h"

namespace ktlog {

// What a failed append says about the record.
enum class AppendFate {
  // The log's checks refused it (INVALID_ARGUMENT, PERMISSION_DENIED,
  // UNAUTHENTICATED, FAILED_PRECONDITION, NOT_FOUND, RESOURCE_EXHAUSTED):
  // it is not in the log.
  kNotAppended,
  // Anything else (a timeout, a lost answer, UNAVAILABLE, ALREADY_EXISTS
  // for a record resent, INTERNAL...): it may be in the log.
  kMaybeAppended,
};
AppendFate FateOfFailedAppend(const absl::Status& status);

class OwnAccount {
 public:
  // A record of the own account the log acknowledged.
  struct Written {
    DeviceRecord record;
    LogSink::Appended appended;
    // Whether the verified history shows it yet (with a witness quorum, it
    // is verified once the witnesses cosign a checkpoint that covers it:
    // call Recheck).
    bool verified = false;
  };

  // Borrows everything; all must outlive this object. `verifier` works on
  // `state`; `state` is what `store` saves; `clock` dates the records.
  OwnAccount(ClientState* state, StateStore* store, AccountKeyStore* keys,
             LogSink* sink, ClientVerifier* verifier, const Clock* clock);

  // Publishes device `device_id` with public key `key` (32 bytes). The
  // account's first record creates it (with `credential` if the log asks
  // for one). ALREADY_EXISTS if the device is active, or was written by
  // this client and is not verified yet.
  absl::StatusOr<Written> AddDevice(const std::string& device_id,
                                    const std::string& key,
                                    const std::string& credential = "");
  // Removes an active device; NOT_FOUND if it is not one.
  absl::StatusOr<Written> RemoveDevice(const std::string& device_id);
  // Rotates the account key to the key store's next key (rule 4). On an
  // account on security keys, this switches it back to an account key.
  absl::StatusOr<Written> RotateAccountKey();
  // Sets the account's security keys to `keys` (2..6, each made for
  // RpId() with SecurityKeyDevice::MakeCredential), with user verification
  // required if `require_user_verification`: the switch from the account
  // key (signed by it), or a new set authorized by one of the current
  // keys (the one in use). Adding a key is the current set and the new
  // key; removing one (a lost key) is the set without it, authorized by
  // another. INVALID_ARGUMENT for a set that is not valid.
  absl::StatusOr<Written> SetSecurityKeys(std::vector<SecurityKey> keys,
                                          bool require_user_verification);
  // Makes a credential for the account on `device` (a touch), excluding
  // the account's current keys and `exclude` (ALREADY_EXISTS: the key is
  // one of them), then asks the key for an assertion with the user
  // verification `require_user_verification` asks for (a second touch)
  // and verifies it: a key that cannot sign as the account will need it
  // is refused now (FAILED_PRECONDITION), not once the account depends on
  // it. Also refused: a credential flagged backup-eligible (a synced
  // passkey, copied by design). Returns the key for SetSecurityKeys.
  absl::StatusOr<SecurityKey> EnrollSecurityKey(
      SecurityKeyDevice* device, KeyAlgorithm algorithm,
      bool require_user_verification,
      const std::vector<std::string>& exclude = {});
  // Every key of the account lost (the security keys, or the account
  // key): prepares (durably; the same key until it is used) the new
  // account key a reset will set, and returns its public key, for the
  // operator to issue a reset credential for. FAILED_PRECONDITION while
  // this client holds the account's current key (rotate it instead: a
  // reset alerts every contact) or before the account exists.
  absl::StatusOr<std::string> PrepareReset();
  // Publishes the reset to the prepared key with the operator's reset
  // `credential` (core/account/registration.h): a reset-account record
  // signed by that key. Every device is removed (add them again once it is
  // verified: the prepared key becomes the account key then, rule 4), and
  // every contact is shown ACCOUNT_RESET. PrepareReset's errors.
  absl::StatusOr<Written> ResetAccount(const std::string& credential);
  // Appends the record-backup record that names `backup` (the backup this
  // client sealed, or "deleted"), authorized as any change is, and makes
  // it the state's latest backup (docs/backup.md): the provider stores a
  // backup only once the log holds its record.
  absl::StatusOr<Written> RecordBackup(const BackupRef& backup);
  // The security key that authorizes records while the account is on
  // security keys (null: none in use). Borrowed.
  void UseSecurityKey(SecurityKeyDevice* device) { device_ = device; }
  // The relying party id the account's security keys are made for: the
  // log's (RpIdForOrigin of its origin).
  absl::StatusOr<std::string> RpId() const;
  // The account's security keys as verified (empty if it has an account
  // key).
  std::vector<SecurityKey> SecurityKeys() const;

  // Trusts the latest checkpoint and CheckAt it. Returns the trusted
  // checkpoint. The ClientVerifier's errors.
  absl::StatusOr<LogCheckpoint> Check();
  // Checks the own account up to `checkpoint` (trusted; skipped when it
  // was checked there already) and completes a rotation the account shows
  // (rule 4).
  absl::Status CheckAt(const LogCheckpoint& checkpoint);
  // The owner's whole monitoring pass: trusts the latest checkpoint,
  // CheckAt it, then checks every contact (ClientVerifier::
  // MonitorContacts) even if the own account could not be checked. Returns
  // the first error.
  absl::Status Monitor();
  // The reason device `device_id` cannot be added (AddDevice's
  // ALREADY_EXISTS), or OK: for an app to ask before it makes a key.
  absl::Status CanAdd(const std::string& device_id) const;
  // For a write not verified yet: checks again (Check) and sets
  // `written->verified` once the verified history shows it; DATA_LOSS as
  // rule 5 says.
  absl::Status Recheck(Written* written);
  // The public key of the account key this client holds (a rotation the
  // verified account shows completed first), or for an account on security
  // keys the set the verified account holds: the owner's side of a safety
  // code, which must differ from a key the log shows after a takeover.
  // FAILED_PRECONDITION on security keys that are not the set this client
  // gave the account last (a reset and a set of someone else's).
  absl::StatusOr<std::string> AccountKey();
  // Whether records this client wrote wait for verification.
  bool HasUnverified() const { return UnverifiedOwn(*state_) > 0; }

 private:
  // Rules 1-3 and 5 for `record` (operation, device id and key set).
  absl::StatusOr<Written> Write(DeviceRecord record,
                                const std::string& credential);
  // Signs `record` with the account key store's current key, or has the
  // security key in use authorize it (rule 4b).
  absl::Status Sign(DeviceRecord* record);
  // Rule 4's promotion, when the verified account's key is the next key;
  // on security keys this client set, retires the account key
  // (AccountKeyStore::Retire).
  absl::Status CompleteRotation();
  // Whether the account's verified authority is the one this client gave
  // it last (ClientState::own_authority; true for states from before it).
  bool OwnAuthorityInForce() const;
  // Rule 6: makes the access key and, once, its grant
  // (ClientState::access_grant) by an authority of the verified account
  // this client holds: the account key in the key store, or the security
  // key in use (a touch). Nothing if it holds none (MonitorSelf then says
  // what to do). The account's first record grants it as it is written.
  absl::Status EnsureAccess();
  // The message that grants this client's access key (made if none yet).
  absl::StatusOr<std::string> GrantMessage();
  // The grant of this client's access key by the account key store's
  // current key, or (`next`) its prepared key.
  absl::StatusOr<std::string> GrantByKeyStore(bool next);
  // The security key in use's assertion over `client_data_hash` for `set`
  // (a touch), its ES256 signature in low-S form (docs/formats.md).
  absl::StatusOr<KeyAssertion> Assert(const SecurityKeySet& set,
                                      const Hash& client_data_hash);

  ClientState* const state_;
  StateStore* const store_;
  AccountKeyStore* const keys_;
  LogSink* const sink_;
  ClientVerifier* const verifier_;
  const Clock* const clock_;
  SecurityKeyDevice* device_ = nullptr;
  // The checkpoint the own account was last checked at.
  std::optional<LogCheckpoint> checked_;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_OWN_ACCOUNT_H_
