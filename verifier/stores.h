// The stores an app embedding the client library implements (or takes from
// here): where the client state and the account key live. OwnAccount
// (verifier/own_account.h) relies on exactly the guarantees written here
// for its crash safety.
#ifndef KTLOG_VERIFIER_STORES_H_
#define KTLOG_VERIFIER_STORES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "verifier/client_state.h"

namespace ktlog {

// The client state, saved whole. Save is atomic and durable when it
// returns OK: after a crash, Load gives the last state saved, never a mix.
class StateStore {
 public:
  virtual ~StateStore() = default;
  // NOT_FOUND if nothing was saved; FAILED_PRECONDITION if what is there
  // is not a client state (never a silent reset of trust).
  virtual absl::StatusOr<ClientState> Load() = 0;
  virtual absl::Status Save(const ClientState& state) = 0;
};

// The account key: the authority that signs the account's records. Its
// shape fits a key that never leaves hardware: it signs and tells its
// public key, and never exports the private key. For a rotation it holds a
// second, prepared key ("next") until the log shows the rotation to it.
// Every call that returns OK has made its change durable.
class AccountKeyStore {
 public:
  virtual ~AccountKeyStore() = default;
  // The current key's 32-byte Ed25519 public key; NOT_FOUND if none.
  virtual absl::StatusOr<std::string> PublicKey() = 0;
  // The current key's 64-byte Ed25519 signature of `message`.
  virtual absl::StatusOr<std::string> Sign(absl::string_view message) = 0;
  // The next key's public key, made (durably) if there is none yet; the
  // same key again while it is not promoted, so that an interrupted
  // rotation is resent to the same key.
  virtual absl::StatusOr<std::string> PrepareNext() = 0;
  // The next key's public key, or "" if none is prepared.
  virtual absl::StatusOr<std::string> NextPublicKey() = 0;
  // Makes the next key the current one; the old key is destroyed.
  // Atomic: after a crash, either key is current, and the next one is
  // still there until it is.
  virtual absl::Status PromoteNext() = 0;
  // Destroys the current key and any next key: the account moved onto
  // security keys (OwnAccount calls it once the verified account shows
  // it), so that a copy of the store made later authorizes nothing. A
  // rotation back to an account key prepares a fresh one. The default
  // keeps them (the C API's key stores, for now).
  virtual absl::Status Retire() { return absl::OkStatus(); }
  // The next key's 64-byte Ed25519 signature of `message`: a reset is
  // signed by the key it sets (OwnAccount::ResetAccount). FAILED_PRECONDITION
  // if no next key is prepared; the default: UNIMPLEMENTED (the C API's key
  // stores, for now).
  virtual absl::StatusOr<std::string> SignWithNext(absl::string_view message) {
    (void)message;
    return absl::UnimplementedError(
        "this key store cannot sign with its next key (no account reset)");
  }
};

// A StateStore in a directory: <dir>/state.json (SaveClientState).
class DirStateStore : public StateStore {
 public:
  explicit DirStateStore(std::string dir) : dir_(std::move(dir)) {}
  absl::StatusOr<ClientState> Load() override;
  absl::Status Save(const ClientState& state) override;

 private:
  std::string dir_;
};

// An AccountKeyStore in key files (WritePrivateKeyFile, mode 0600):
// <dir>/account.key and, during a rotation, <dir>/account.key.next.
class FileAccountKeyStore : public AccountKeyStore {
 public:
  explicit FileAccountKeyStore(std::string dir) : dir_(std::move(dir)) {}
  // Writes a new account key; ALREADY_EXISTS if there is one. Returns its
  // public key.
  absl::StatusOr<std::string> Create();

  absl::StatusOr<std::string> PublicKey() override;
  absl::StatusOr<std::string> Sign(absl::string_view message) override;
  absl::StatusOr<std::string> PrepareNext() override;
  absl::StatusOr<std::string> NextPublicKey() override;
  absl::Status PromoteNext() override;
  absl::Status Retire() override;
  absl::StatusOr<std::string> SignWithNext(absl::string_view message) override;

 private:
  std::string Current() const { return dir_ + "/account.key"; }
  std::string Next() const { return dir_ + "/account.key.next"; }
  absl::Status SyncDir() const;
  std::string dir_;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_STORES_H_
