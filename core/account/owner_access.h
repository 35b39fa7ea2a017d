// Owner access: how an account's owner proves to the log that it may read
// the account's history (GetAccountHistory), which the log serves to nobody
// else (docs/privacy.md). Byte by byte in docs/formats.md ("Owner access").
//
// The owner's client makes an **access key** (Ed25519, its own, never
// published) and has the account's current authority sign a **grant** of
// it once: the account key's Ed25519 signature, or one security key's
// assertion (one touch). Each history request is then signed by the
// access key, with a timestamp, so monitoring needs no touch and a
// request cannot be replayed (the log takes each access key's timestamps
// only increasing, within minutes of its clock). A grant is valid until
// the account's next reset: it may be signed by any authority the account
// has had since its latest reset (or since its first record), so that a
// rotation or a move onto security keys, which the owner's client must
// see in the history to complete, needs no new grant; a reset, which
// happens when every key is lost, ends every grant made before it.
//
//   grant message   "ktlog/v1 owner-access\n" || u16+n origin ||
//                   u16+n account id || access key (32)
//   grant           authority = account key: Ed25519 signature (64) of
//                   the grant message; authority = security keys: u16+n
//                   credential id || u16+n authenticator data || u16+n
//                   signature, an assertion over client data hash
//                   SHA-256(grant message)
//   request message "ktlog/v1 history-request\n" || u16+n origin ||
//                   u16+n account id || u64 from version ||
//                   u8 has tree size (0/1) || u64 tree size (0 if none) ||
//                   u64 timestamp (ms)
//   request signature: the access key's Ed25519 signature of the request
//                   message
#ifndef KTLOG_CORE_ACCOUNT_OWNER_ACCESS_H_
#define KTLOG_CORE_ACCOUNT_OWNER_ACCESS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/account/account.h"
#include "core/crypto/crypto.h"

namespace ktlog {

// The largest grant: an assertion with a 128-byte credential id, 37 bytes
// of authenticator data and a 72-byte DER signature, each length-prefixed.
inline constexpr size_t kMaxOwnerGrantSize = 2 + 128 + 2 + 37 + 2 + 72;

// What a history request carries to prove it comes from the owner.
struct OwnerProof {
  std::string access_key;  // 32-byte Ed25519 public key
  std::string grant;       // the authority's grant of access_key
  uint64_t timestamp_ms = 0;
  std::string signature;  // the access key's, of the request message
};

// The message the authority signs to grant `access_key`.
std::string OwnerGrantMessage(absl::string_view origin,
                              absl::string_view account_id,
                              absl::string_view access_key);

// The grant of a security key's assertion (the wire form above).
std::string EncodeAssertionGrant(absl::string_view credential_id,
                                 absl::string_view authenticator_data,
                                 absl::string_view signature);

// The message the access key signs for one history request.
std::string HistoryRequestMessage(absl::string_view origin,
                                  absl::string_view account_id,
                                  uint64_t from_version,
                                  std::optional<uint64_t> tree_size,
                                  uint64_t timestamp_ms);

// The proof of a history request signed by `access`, the access key that
// `grant` grants.
OwnerProof SignHistoryRequest(const Ed25519PrivateKey& access,
                              std::string grant, absl::string_view origin,
                              absl::string_view account_id,
                              uint64_t from_version,
                              std::optional<uint64_t> tree_size,
                              uint64_t timestamp_ms);

// INVALID_ARGUMENT unless the access key is a valid Ed25519 key, the
// signature 64 bytes and the grant at most kMaxOwnerGrantSize bytes: what
// a log checks before anything else, the same for every account.
absl::Status CheckOwnerProofShape(const OwnerProof& proof);

// OK if `signature` is the access key's signature of the request message.
// PERMISSION_DENIED otherwise. Checks no grant.
absl::Status VerifyHistoryRequest(const OwnerProof& proof,
                                  absl::string_view origin,
                                  absl::string_view account_id,
                                  uint64_t from_version,
                                  std::optional<uint64_t> tree_size);

// The authorities that may grant owner access to `state`'s account: every
// authority it has had since its latest reset (the reset's key, then each
// later change's), or since its first record (the first key, then each
// change's) if it was never reset; oldest first. Each is a 32-byte Ed25519
// key or a security-key set encoding. Empty for an account that does not
// exist.
std::vector<std::string> GrantingAuthorities(const AccountState& state);

// OK if `grant` grants `access_key` under `authority` (a 32-byte Ed25519
// key or a security-key set encoding): the key's signature of the grant
// message, or an assertion by one of the set's keys over SHA-256 of it
// (rp id, user presence, and user verification if the set requires it;
// core/account/security_key.h). The assertion's signature counter is not
// checked: a grant changes nothing. PERMISSION_DENIED otherwise.
absl::Status VerifyGrantBy(absl::string_view authority,
                           absl::string_view origin,
                           absl::string_view account_id,
                           absl::string_view access_key,
                           absl::string_view grant);

// OK if one of GrantingAuthorities(state) grants `access_key`
// (VerifyGrantBy); PERMISSION_DENIED otherwise, also for an account that
// does not exist. Tries only the authorities that could have made `grant`
// (an account key for a 64-byte grant, a set holding the assertion's
// credential id), so that a stranger cannot make it verify one grant under
// every authority of a long key chain.
absl::Status VerifyOwnerGrant(const AccountState& state,
                              absl::string_view origin,
                              absl::string_view access_key,
                              absl::string_view grant);

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_OWNER_ACCESS_H_
