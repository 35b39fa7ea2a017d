// ClientState: what a ktlog client remembers between runs, in a state
// directory (docs/verifier.md, "Client state"):
//
//   state.json    the pinned log, the own account and device, what the
//                 client verified of its own account, the records it signed
//                 and has not yet seen in the log, its approved devices,
//                 its history access key (private: the file is the owner's),
//                 the trusted checkpoint, contacts, alerts and the checking
//                 policy (mode 0600)
//   account.key   the account's Ed25519 private key (mode 0600)
//   device.key    this device's Ed25519 private key (mode 0600)
//
// Writes are atomic (temporary file, fsync, rename): a kill at any moment
// leaves the old or the new state. A state file that is corrupted or not a
// ktctl state is an error, never a silent reset of trust.
#ifndef KTLOG_VERIFIER_CLIENT_STATE_H_
#define KTLOG_VERIFIER_CLIENT_STATE_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/account/account.h"
#include "core/account/record.h"
#include "core/backup/backup.h"
#include "core/crypto/crypto.h"
#include "core/note/log_key.h"
#include "verifier/alerts.h"

namespace ktlog {

struct ContactState {
  // The account key the user verified by comparing codes (empty: not
  // verified yet).
  std::string verified_key;
  // The contact's devices (id -> key) when verified_key was verified: the
  // code comparison vouches for them. Later devices are vouched for only
  // if signed by verified_key.
  std::map<std::string, std::string> verified_devices;
  // The account's first key, verified once by a lookup's first-record
  // anchor (docs/index.md); later lookups need no anchor. Empty: not yet.
  std::string first_key;
  // What the client saw at the last check (trust on first use): later
  // states must follow from it (ClientVerifier::CheckFollowsSeen).
  std::string seen_key;
  uint64_t seen_version = 0;
  std::map<std::string, std::string> seen_devices;  // device id -> key
  // SHA-256 (hex) of each rotation record in the key chain seen.
  std::vector<std::string> seen_chain;
  // When the log last answered a check of this contact (ms; 0: never):
  // monitoring asks for the contacts answered longest ago first.
  uint64_t answered_ms = 0;
};

// A record this client signed and has not yet seen in the log.
struct PendingOwn {
  uint64_t version = 0;  // its account version
  // The log refused it. Kept expected all the same (a refusal is not
  // signed: a log that appended it after all must not turn the owner's own
  // record into an alert), but not waited for.
  bool refused = false;
  // The log acknowledged it at this leaf index: then the account must show
  // it at its version, and a trusted tree larger than the index must hold
  // it (ClientVerifier raises INVALID_PROOF otherwise).
  bool acknowledged = false;
  uint64_t leaf_index = 0;

  friend bool operator==(const PendingOwn& a, const PendingOwn& b) {
    return a.version == b.version && a.refused == b.refused &&
           a.acknowledged == b.acknowledged && a.leaf_index == b.leaf_index;
  }
};

struct CheckingPolicy {
  // A checkpoint older than this is not accepted, and STALE_LOG is raised.
  uint64_t max_checkpoint_age_ms = 24 * 3600 * 1000;
  // A checkpoint dated further in the future is not accepted.
  uint64_t max_future_skew_ms = 5 * 60 * 1000;
  // How long a log that serves fresh checkpoints may keep this client from
  // checking its own account (lookup or history refused, unanswered)
  // before STALE_LOG is raised for the account.
  uint64_t max_own_check_delay_ms = 3600 * 1000;
  // Witnesses (note verifier keys of type 0x04, each key once: see
  // CheckWitnessPolicy) and how many of them must have cosigned a
  // checkpoint before it is trusted (0: none required).
  std::vector<std::string> witnesses;
  uint32_t witness_quorum = 0;
};

// The trust backup as this client knows it (docs/backup.md).
struct TrustBackupState {
  // The latest backup this client sealed, or restored from (version 0:
  // none): the record-backup record that names it is this client's own.
  BackupRef latest;
  // The account version of the record that names `latest` (0: none).
  uint64_t record_version = 0;
  // Whether the provider stores `latest` (PutBackup answered OK), or
  // deleted its copy if `latest` says "deleted".
  bool uploaded = false;
  // The backup key (32 bytes) and its wraps under the user's secrets,
  // which seal every next backup (empty: no secrets set yet). Kept here,
  // never taken from the provider's copy.
  std::string key;
  std::vector<BackupWrap> wraps;
  // Back up on its own after each trust change (ktctl backup automatic on).
  bool automatic = false;
  // TrustFingerprint (verifier/trust_backup.h) of the state `latest`
  // sealed: a state whose fingerprint differs holds trust that no backup
  // holds yet.
  std::string trust_hash;
};

struct ClientState {
  // The pinned log key (core/note/log_key.h): the checkpoint verifier key,
  // whose name is the origin, and the VRF key.
  std::string log_key;
  std::string account_id;
  std::string device_id;
  // The own account as this client verified it, record by record (version
  // 0: not in the log yet).
  AccountState own_state;
  // Since when (ms) the log, while serving fresh checkpoints, has kept this
  // client from checking its own account (0: the last check succeeded),
  // and when the last such check failed.
  uint64_t own_unverified_since_ms = 0;
  uint64_t own_check_failed_ms = 0;
  // Records this client signed and has not yet seen in the log, the only
  // own records that are expected, by SHA-256 (hex). One whose version the
  // verified account has passed can no longer be appended and is forgotten
  // (ClientVerifier::MonitorSelf).
  std::map<std::string, PendingOwn> pending_own;
  // Own devices the user approved through this client: id -> public key.
  std::map<std::string, std::string> approved_devices;
  // The authority this client itself last gave its account, as the
  // verified history showed it (the first record's key, or the key or set
  // of its latest own authority change); empty in states from before it
  // was kept. A safety code is computed only while the account's authority
  // is this one: after a change this client did not make (its alerts say
  // so), a code over the account's authority would be whoever made it.
  std::string own_authority;
  // The owner's access to its account's history, which the log serves only
  // to the owner (core/account/owner_access.h): the 32-byte seed of this
  // client's Ed25519 access key, and the grant of its public key by an
  // authority of the account (empty: none yet; OwnAccount makes them).
  std::string access_seed;
  std::string access_grant;
  // While a reset of this client's is on its way: the grant by the key it
  // sets, which the log takes once the reset is in (then it replaces
  // access_grant; a reset the log refused leaves access_grant in force).
  std::string next_access_grant;
  // The latest checkpoint this client verified and trusts under its current
  // policy (a signed note): lookups are checked against it.
  std::string trusted_checkpoint;
  // A larger checkpoint the client trusted under an earlier witness policy
  // (a signed note, or empty). It is not trusted any more (it may lack the
  // cosignatures the policy now asks for), but the log signed it, so every
  // new checkpoint must still be consistent with it: a fork is a fork.
  // Cleared once the trusted checkpoint reaches its size.
  std::string seen_checkpoint;
  std::map<std::string, ContactState> contacts;
  std::vector<Alert> alerts;
  CheckingPolicy policy;
  TrustBackupState backup;
};

// ClientState::own_authority of a client that gave its account no
// authority: it was set up for an account that existed already (matches no
// key or set).
inline constexpr char kNoOwnAuthority[] = "none";

// A new state for the account `account_id` and this device `device_id`,
// pinned to `log_key` (core/note/log_key.h: the checkpoint key, the VRF key
// and the witness policy, which becomes the checking policy).
// INVALID_ARGUMENT for a log key that does not parse or ids the log would
// refuse; FAILED_PRECONDITION (and only then) for a log key that names no
// witnesses unless `allow_no_witnesses`: such a client cannot tell whether
// the log shows it the history everyone else sees.
absl::StatusOr<ClientState> NewClientState(const std::string& log_key,
                                           const std::string& account_id,
                                           const std::string& device_id,
                                           bool allow_no_witnesses);

// The state's pinned log key, parsed; FAILED_PRECONDITION if unusable.
absl::StatusOr<LogPublicKey> PinnedLogKey(const ClientState& state);

// How many of the state's own records wait for verification (pending and
// not refused).
size_t UnverifiedOwn(const ClientState& state);

// OK if `policy` names each witness once (by public key: a cosignature
// does not sign the witness's name, so one key under two names would count
// twice), every witness is a cosignature verifier key (type 0x04), and the
// quorum is not above the number of witnesses; else INVALID_ARGUMENT
// saying which.
absl::Status CheckWitnessPolicy(const CheckingPolicy& policy);

// Sets the checking policy. When the witness requirements change (quorum or
// witnesses), the trusted checkpoint may not meet them: it becomes the
// seen checkpoint (if larger than the one seen before) and nothing is
// trusted until a checkpoint that meets the new policy is fetched. So a
// client that adopts a policy gets the newest cosigned checkpoint next,
// even if it is older than the one it trusted: no rollback, no alert.
void SetPolicy(ClientState* state, CheckingPolicy policy);
// What SetPolicy does when the witness requirements change: the trusted
// checkpoint becomes the seen checkpoint (if larger than the one seen
// before), and nothing is trusted until a checkpoint that meets the policy
// is fetched, which must be consistent with the seen one.
void DistrustCheckpoint(ClientState* state);

// Reads <dir>/state.json. NOT_FOUND if there is none ("run ktctl init");
// FAILED_PRECONDITION if it is corrupted or not a ktctl state (the message
// says what to do; the file is left alone).
absl::StatusOr<ClientState> LoadClientState(const std::string& dir);
// The same for the text of a state file (`path` names it in errors).
absl::StatusOr<ClientState> ParseClientState(const std::string& text,
                                             const std::string& path);

// Atomically replaces <dir>/state.json (mode 0600) with
// SerializeClientState(state).
absl::Status SaveClientState(const std::string& dir, const ClientState& state);
// The text of a state file.
std::string SerializeClientState(const ClientState& state);

// Private key files: one line, the 32-byte seed in hex. Write refuses to
// overwrite (ALREADY_EXISTS); read fails with NOT_FOUND or
// FAILED_PRECONDITION.
absl::Status WritePrivateKeyFile(const std::string& path,
                                 const Ed25519PrivateKey& key);
absl::StatusOr<Ed25519PrivateKey> ReadPrivateKeyFile(const std::string& path);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_CLIENT_STATE_H_
