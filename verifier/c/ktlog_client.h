/* The ktlog client library for apps in any language (C, and through it
 * Swift, Kotlin/JNI, Python's ctypes...), the way libsignal is embedded in
 * messengers: the library verifies and decides; the app supplies the
 * network and the storage as callbacks (docs/client-library.md).
 *
 * One ktlog_client is one client state: the pinned log key, the owner's
 * account and this device, the trusted checkpoint, contacts and alerts. It
 * is not thread-safe: call it from one thread at a time.
 *
 * Every call fills a ktlog_result: `code` 0 on success, else a gRPC/absl
 * status code (5 NOT_FOUND, 9 FAILED_PRECONDITION, 14 UNAVAILABLE, 15
 * DATA_LOSS...); `refusal` names why a verification refused what the log
 * sent (KTLOG_REFUSAL_*, verifier/refusal.h; 0 when nothing was refused);
 * `alerts` how many new alerts the call raised (ktlog_alerts lists them);
 * `message` a sentence for a person. Act on `code` and `refusal`, never on
 * `message`. Functions return `code`.
 *
 * Bytes that cross the boundary are ktlog_bytes, owned by whoever made
 * them with ktlog_bytes_new; callbacks fill the ones they are given with
 * ktlog_bytes_set. */
#ifndef KTLOG_VERIFIER_C_KTLOG_CLIENT_H_
#define KTLOG_VERIFIER_C_KTLOG_CLIENT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ktlog_bytes ktlog_bytes;
ktlog_bytes* ktlog_bytes_new(void);
void ktlog_bytes_free(ktlog_bytes* bytes);
void ktlog_bytes_set(ktlog_bytes* bytes, const uint8_t* data, size_t len);
const uint8_t* ktlog_bytes_data(const ktlog_bytes* bytes);
size_t ktlog_bytes_len(const ktlog_bytes* bytes);

/* Refusals (verifier/refusal.h; the numbers never change). */
enum {
  KTLOG_REFUSAL_NONE = 0,
  KTLOG_REFUSAL_MALFORMED_ANSWER = 1,
  KTLOG_REFUSAL_BAD_VRF_PROOF = 2,
  KTLOG_REFUSAL_BAD_INDEX_PROOF = 3,
  KTLOG_REFUSAL_BAD_INCLUSION_PROOF = 4,
  KTLOG_REFUSAL_BAD_LEAF = 5,
  KTLOG_REFUSAL_BAD_COMMITMENT = 6,
  KTLOG_REFUSAL_BAD_RECORD_SIGNATURE = 7,
  KTLOG_REFUSAL_BROKEN_KEY_CHAIN = 8,
  KTLOG_REFUSAL_UNAUTHORIZED_DEVICE = 9,
  KTLOG_REFUSAL_BROKEN_ACCOUNT_RULES = 10,
  KTLOG_REFUSAL_INCONSISTENT_ACCOUNT = 11,
  KTLOG_REFUSAL_BAD_SIGNATURE = 12,
  KTLOG_REFUSAL_MISSING_COSIGNATURES = 13,
  KTLOG_REFUSAL_BAD_TIMESTAMP = 14,
  KTLOG_REFUSAL_STALE_LOG = 15,
  KTLOG_REFUSAL_FORK = 16,
  KTLOG_REFUSAL_ROLLBACK = 17,
  KTLOG_REFUSAL_BAD_CONSISTENCY_PROOF = 18,
  KTLOG_REFUSAL_ACCOUNT_VANISHED = 19,
  KTLOG_REFUSAL_CONTACT_KEY_CHANGED = 20,
  KTLOG_REFUSAL_CONTACT_DEVICE_UNSIGNED = 21,
  KTLOG_REFUSAL_CLONED_SECURITY_KEY = 22,
  KTLOG_REFUSAL_ACCOUNT_RESET = 23,
  KTLOG_REFUSAL_ACCOUNT_ERASED = 24
};
/* "BAD_VRF_PROOF" and so on (static storage). */
const char* ktlog_refusal_name(int refusal);

typedef struct {
  int code;
  int refusal;
  int alerts;
  char message[512];
} ktlog_result;

/* What the app supplies. Each callback returns 0 on success or a status
 * code 1..16 (and may set `error` to a message). The struct grows at its
 * end between versions of this header: build the app against the
 * library's own header (an app built against an older one must be
 * rebuilt), and zero the struct before filling it. A callback must not call
 * into the client it serves, and must not free the ktlog_bytes it is
 * given: it fills them with ktlog_bytes_set. */
typedef struct {
  void* ctx; /* passed to every callback */
  /* One unary call of the ktlog.v1.Log gRPC service (proto/ktlog.proto):
   * `method` is its name ("LookupAccount"), `request` the serialized
   * request; set `response` to the serialized response. On failure return
   * the gRPC status code. */
  int (*call)(void* ctx, const char* method, const uint8_t* request,
              size_t request_len, ktlog_bytes* response, ktlog_bytes* error);
  /* The client state (opaque bytes): load into `state`, or return 5
   * (NOT_FOUND) if none was ever saved. Save must be atomic and durable
   * before it returns 0. */
  int (*load_state)(void* ctx, ktlog_bytes* state, ktlog_bytes* error);
  int (*save_state)(void* ctx, const uint8_t* state, size_t len,
                    ktlog_bytes* error);
  /* The account key (an Ed25519 key that may never leave hardware): its
   * 32-byte public key, and 64-byte signatures with it. */
  int (*account_public_key)(void* ctx, ktlog_bytes* key, ktlog_bytes* error);
  int (*account_sign)(void* ctx, const uint8_t* message, size_t len,
                      ktlog_bytes* signature, ktlog_bytes* error);
  /* Rotation: a second key, made durably on the first call and the same
   * until promoted (its public key); the prepared key's public key or
   * empty; promote it to be the account key, destroying the old one. */
  int (*prepare_next_key)(void* ctx, ktlog_bytes* key, ktlog_bytes* error);
  int (*next_public_key)(void* ctx, ktlog_bytes* key, ktlog_bytes* error);
  int (*promote_next_key)(void* ctx, ktlog_bytes* error);
  /* A 64-byte signature with the prepared next key: an account reset is
   * signed by the key it sets. May be NULL (then ktlog_reset_account is
   * UNIMPLEMENTED). New callbacks are added at the end: zero the struct
   * before filling it. */
  int (*next_sign)(void* ctx, const uint8_t* message, size_t len,
                   ktlog_bytes* signature, ktlog_bytes* error);
  /* A FIDO2 security key, through the platform's FIDO2 API
   * (docs/security-keys.md; verifier/security_key_device.h). Both may be
   * NULL: then ktlog_enroll_security_key is UNIMPLEMENTED and an account
   * on security keys cannot be changed from this client. The app asks the
   * user to present and touch a key. Errors: 4 DEADLINE_EXCEEDED (nobody
   * touched it), 14 UNAVAILABLE (no key, or it is gone), 6 ALREADY_EXISTS
   * (the key holds one of `exclude`: it is one of the account's already),
   * 5 NOT_FOUND (it holds none of `credential_ids`). Lists of credential
   * ids come as `n` pointers and their lengths.
   * key_make_credential: a new credential for relying party `rp_id` and
   * user `account_id`, of COSE algorithm -7 (ES256) or -8 (EdDSA): its id
   * (1..128 bytes) and public key (ES256: 65 bytes, 0x04 || x || y;
   * EdDSA: 32 bytes).
   * key_get_assertion: a CTAP2 assertion over `client_data_hash` (32
   * bytes) for `rp_id` by whichever of `credential_ids` the key holds,
   * with user presence, and user verification if `user_verification`: the
   * credential's id, the 37-byte authenticator data and the signature
   * (ES256: DER; EdDSA: 64 bytes) over authenticator data ||
   * client_data_hash. */
  int (*key_make_credential)(void* ctx, const char* rp_id,
                             const char* account_id, int cose_algorithm,
                             const uint8_t* const* exclude,
                             const size_t* exclude_lens, size_t n_exclude,
                             ktlog_bytes* credential_id,
                             ktlog_bytes* public_key, ktlog_bytes* error);
  int (*key_get_assertion)(void* ctx, const char* rp_id,
                           const uint8_t* const* credential_ids,
                           const size_t* id_lens, size_t n_ids,
                           const uint8_t* client_data_hash,
                           int user_verification, ktlog_bytes* credential_id,
                           ktlog_bytes* authenticator_data,
                           ktlog_bytes* signature, ktlog_bytes* error);
} ktlog_callbacks;

typedef struct ktlog_client ktlog_client;

/* Opens the client over `callbacks` (copied; ctx must outlive the client;
 * INVALID_ARGUMENT if a required one is NULL, or only one of the two
 * security-key calls is set).
 * Without a saved state, starts one for `account_id` and this device
 * `device_id`, pinned to `log_key` (as ktlog-server prints it: checkpoint
 * key, VRF key and witnesses; one without witnesses is refused unless
 * `allow_no_witnesses`). With one, checks that it is for that log key and
 * account (FAILED_PRECONDITION otherwise). NULL on error. */
ktlog_client* ktlog_client_open(const ktlog_callbacks* callbacks,
                                const char* log_key, const char* account_id,
                                const char* device_id, int allow_no_witnesses,
                                ktlog_result* result);
void ktlog_client_close(ktlog_client* client);

/* The owner's writes (verifier/own_account.h): publish a device (the first
 * creates the account; `credential` for a log that controls sign-up, or
 * NULL), remove one, rotate the account key. `leaf_index` and `verified`
 * (whether the verified history shows it yet) may be NULL. */
int ktlog_add_device(ktlog_client* client, const char* device_id,
                     const uint8_t device_key[32], const char* credential,
                     uint64_t* leaf_index, int* verified, ktlog_result* result);
int ktlog_remove_device(ktlog_client* client, const char* device_id,
                        uint64_t* leaf_index, int* verified,
                        ktlog_result* result);
int ktlog_rotate_account_key(ktlog_client* client, uint64_t* leaf_index,
                             int* verified, ktlog_result* result);
/* Every key of the account lost (docs/security-keys.md, "Every key
 * lost"): on a client whose key store does not hold the account's key and
 * that has monitored the account once, prepares the new account key (the
 * same until used) and puts its 32-byte public key in `public_key`, for
 * the operator to issue a reset credential for (ktlog-admin credential
 * --reset). FAILED_PRECONDITION while the key store holds the account key
 * (rotate it instead) or before the account exists. */
int ktlog_prepare_reset(ktlog_client* client, ktlog_bytes* public_key,
                        ktlog_result* result);
/* Publishes the reset with the operator's `credential`: every device is
 * removed and every contact is shown ACCOUNT_RESET; add this phone again
 * once it is verified. Needs the next_sign callback. */
int ktlog_reset_account(ktlog_client* client, const char* credential,
                        uint64_t* leaf_index, int* verified,
                        ktlog_result* result);

/* Security keys (docs/security-keys.md): the account's authority on 2 to
 * 6 FIDO2 keys, so that neither a copy of the phone nor a breached server
 * can add a device. ktlog_enroll_security_key makes a credential on the
 * key the user presents (EdDSA if `eddsa`, else ES256) and checks that it
 * signs as the account will need it (two touches; user verification if
 * `require_uv`, which must be the account's setting once it is on keys);
 * `credential_id` (may be NULL) receives its id. The client keeps it,
 * until closed, for ktlog_set_security_keys, which moves the account onto
 * the keys enrolled (two at least, signed by the account key) or adds them
 * to its current keys (a touch of one of those). ktlog_remove_security_key
 * takes a key out (a lost one: touch another). Each write is then
 * authorized by a touch (key_get_assertion); a key that signs with a
 * counter the account already shows is refused as CLONED_SECURITY_KEY. */
int ktlog_enroll_security_key(ktlog_client* client, int eddsa, int require_uv,
                              ktlog_bytes* credential_id, ktlog_result* result);
int ktlog_set_security_keys(ktlog_client* client, uint64_t* leaf_index,
                            int* verified, ktlog_result* result);
int ktlog_remove_security_key(ktlog_client* client,
                              const uint8_t* credential_id, size_t len,
                              uint64_t* leaf_index, int* verified,
                              ktlog_result* result);

/* The trust backup (docs/backup.md): the client state (the pinned log
 * key, the trusted checkpoint, contacts and what was verified, the
 * account as verified and its monitoring position) end-to-end encrypted,
 * stored by the provider, its hash recorded in the account's history so
 * that no older or forged one is restored unseen. The account key is not
 * in it: the app's key store keeps it (and backs it up, if it does, by its
 * own means), or the account is on security keys.
 * ktlog_backup_secrets makes a new backup key wrapped under a new recovery
 * key (if `recovery_key`: its text, to show the user once, in
 * `recovery_key_text`, may be NULL otherwise) and/or `passphrase` (UTF-8,
 * at least 12 characters, or NULL; Argon2id over `passphrase_memory`
 * bytes, 0 for 256 MiB), replacing earlier secrets.
 * ktlog_backup_create seals the next backup, records it in the log and
 * has the provider store it; an upload an earlier call left undone is
 * sent first (the sealed bytes wait in the client's memory: after a
 * restart, the next backup takes their place). ktlog_backup_delete
 * records that there is no backup and has the provider delete it. */
int ktlog_backup_secrets(ktlog_client* client, int recovery_key,
                         const char* passphrase, uint64_t passphrase_memory,
                         ktlog_bytes* recovery_key_text, ktlog_result* result);
int ktlog_backup_create(ktlog_client* client, uint64_t* backup_version,
                        uint64_t* leaf_index, int* verified,
                        ktlog_result* result);
int ktlog_backup_delete(ktlog_client* client, uint64_t* leaf_index,
                        int* verified, ktlog_result* result);
/* Restores a client on a new phone, in place of ktlog_client_open, for a
 * state store that holds no state yet: fetches `account_id`'s backup (with
 * the operator's backup-fetch `credential`, or NULL), opens it with
 * `secret` (the recovery key's text if `secret_is_recovery_key`, else the
 * passphrase), which must pin `log_key`, and checks it against the log (at
 * a checkpoint at most `max_checkpoint_age_ms` old, 0 for 15 minutes: the
 * log from the backup's checkpoint on, the account's history from the
 * backup's version on, the contacts). Only then is the state saved, as
 * this device `device_id`'s. `result->alerts` counts the alerts about
 * what changed while the backup was away (ktlog_alerts). NULL on error,
 * with nothing saved: FAILED_PRECONDITION if a state is saved already, or
 * for another account's backup or another log's; PERMISSION_DENIED for a
 * wrong secret; DATA_LOSS for a backup older than the latest the account
 * recorded, or one it never recorded (forged with a copy of the old
 * phone); the log's errors. */
ktlog_client* ktlog_client_restore(const ktlog_callbacks* callbacks,
                                   const char* log_key, const char* account_id,
                                   const char* device_id,
                                   int secret_is_recovery_key,
                                   const char* secret, const char* credential,
                                   uint64_t max_checkpoint_age_ms,
                                   ktlog_result* result);

/* The owner's monitoring: the latest checkpoint, the own account's every
 * record since the last check (a record this client did not write is an
 * alert), every contact. It also verifies the owner's writes that were not
 * verified yet (with witnesses: once they cosigned a checkpoint covering
 * them). */
int ktlog_monitor(ktlog_client* client, ktlog_result* result);
/* How many of the owner's writes wait for verification. */
int ktlog_unverified(const ktlog_client* client);

/* Looks `account` up at the latest trusted checkpoint and verifies the
 * answer; `json` receives {"account_id", "account_key" (hex), "version",
 * "devices": [{"device_id", "key" (hex), "leaf_index"}], "resets":
 * [{"version", "leaf_index"}] (the operator's resets of the account, every
 * key lost: its devices are vouched for by the operator, not its earlier
 * keys; compare codes before trusting them)}. NOT_FOUND if the
 * account is proved absent; a refusal names what did not verify. */
int ktlog_lookup(ktlog_client* client, const char* account, ktlog_bytes* json,
                 ktlog_result* result);

/* The 60-digit safety code with `contact` (docs/codes.md), and the text a
 * QR code carries (either may be NULL). */
int ktlog_safety_code(ktlog_client* client, const char* contact,
                      ktlog_bytes* digits, ktlog_bytes* scannable,
                      ktlog_result* result);
/* Compares `shown` (the digits the contact's phone shows, or its scanned
 * text) with the code; on a match the contact becomes verified. `match`
 * receives 1 or 0. */
int ktlog_compare_code(ktlog_client* client, const char* contact,
                       const char* shown, int* match, ktlog_result* result);

/* The alerts in the state, as a JSON array (docs/verifier.md, "Alerts"). */
int ktlog_alerts(ktlog_client* client, ktlog_bytes* json, ktlog_result* result);

#ifdef __cplusplus
}
#endif

#endif /* KTLOG_VERIFIER_C_KTLOG_CLIENT_H_ */
