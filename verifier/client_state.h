// ClientState: what a ktlog client remembers between runs, in a state
// directory (docs/verifier.md, "Client state"):
//
//   state.json    the pinned log (origin, verifier key), the own account and
//                 device, the approved own devices, the trusted checkpoint,
//                 contacts, alerts (mode 0600)
//   account.key   the account's Ed25519 private key (mode 0600)
//   device.key    this device's Ed25519 private key (mode 0600)
//
// Writes are atomic (temporary file, fsync, rename): a kill at any moment
// leaves the old or the new state. A state file that is corrupted, of
// another format or for another log is an error, never a silent reset of
// trust.
#ifndef KTLOG_VERIFIER_CLIENT_STATE_H_
#define KTLOG_VERIFIER_CLIENT_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/crypto.h"

namespace ktlog {

struct ClientState {
  std::string log_verifier_key;  // note verifier key string; name = origin
  std::string account_id;
  std::string device_id;
  // The own account's version after the last record this client wrote or
  // verified.
  uint64_t account_version = 0;
  // Own devices the user approved: device id -> device public key.
  std::map<std::string, std::string> approved_devices;
  // The latest checkpoint this client verified and trusts (a signed note).
  std::string trusted_checkpoint;
};

// Reads <dir>/state.json. NOT_FOUND if there is none ("run ktctl init");
// FAILED_PRECONDITION if it is corrupted or not a ktctl state (the message
// says what to do; the file is left alone).
absl::StatusOr<ClientState> LoadClientState(const std::string& dir);

// Atomically replaces <dir>/state.json (mode 0600).
absl::Status SaveClientState(const std::string& dir, const ClientState& state);

// Private key files: one line, the 32-byte seed in hex. Write refuses to
// overwrite (ALREADY_EXISTS); read fails with NOT_FOUND or
// FAILED_PRECONDITION.
absl::Status WritePrivateKeyFile(const std::string& path,
                                 const Ed25519PrivateKey& key);
absl::StatusOr<Ed25519PrivateKey> ReadPrivateKeyFile(const std::string& path);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_CLIENT_STATE_H_
