// Test-only environment, in the manner of Trillian's logenv: a real
// ktlog LogServer in-process on 127.0.0.1:0 with RocksDB in a fresh temp
// directory, a real gRPC client, and accounts that sign real records.
#ifndef KTLOG_TESTS_TEST_ENV_H_
#define KTLOG_TESTS_TEST_ENV_H_

#include <functional>
#include <memory>
#include <string>

#include "client/log_client.h"
#include "client/log_feed.h"
#include "core/account/owner_access.h"
#include "core/account/record.h"
#include "core/crypto/crypto.h"
#include "core/crypto/vrf.h"
#include "core/note/checkpoint.h"
#include "core/note/log_key.h"
#include "log/server.h"

namespace ktlog {

// A fresh empty directory under $TEST_TMPDIR (or /tmp).
std::string NewTempDir(const std::string& tag);

// An account that signs its own records, tracking its version.
class TestAccount {
 public:
  explicit TestAccount(std::string id);
  // An account whose key is a copy of `other`'s current key (a stolen key),
  // at `other`'s version.
  static TestAccount StolenFrom(const TestAccount& other);

  // Each builds the next record (version + 1) and, by default, advances
  // the tracked version (pass advance=false for a record the log will
  // reject).
  DeviceRecord Add(const std::string& device_id, bool advance = true);
  DeviceRecord Remove(const std::string& device_id, bool advance = true);
  DeviceRecord Rotate(bool advance = true);
  // A rotation to a copy of `next` (a key this account had before, say).
  DeviceRecord RotateTo(const Ed25519PrivateKey& next);
  // A record-backup record naming `backup`.
  DeviceRecord RecordBackup(const BackupRef& backup, bool advance = true);

  // The deterministic key this account uses for device_id.
  static std::string DeviceKey(const std::string& device_id);

  // The owner proof of a history request of this account (or of
  // `account_id`, to play a stranger) from `from_version` at `tree_size`
  // (nullopt: the latest) on the log `origin`
  // (core/account/owner_access.h): the access key of this account's id,
  // granted by its current account key, signed now (each proof of the
  // process later than the one before).
  OwnerProof Owner(const std::string& origin, uint64_t from_version,
                   std::optional<uint64_t> tree_size,
                   const std::string& account_id = "") const;

  const std::string& id() const { return id_; }
  const Ed25519PrivateKey& key() const { return *key_; }
  uint64_t version() const { return version_; }
  void set_version(uint64_t v) { version_ = v; }

 private:
  DeviceRecord Next(Operation op, const std::string& device_id, std::string key,
                    bool advance);

  std::string id_;
  std::unique_ptr<Ed25519PrivateKey> key_;
  uint64_t version_ = 0;
};

class LogEnv {
 public:
  // Starts a server with new keys (or copies of `same_keys_as`'s, to run
  // two logs under one identity: a split view) in a new temp dir; `options`
  // may tune the sequencer and service (data_dir and listen_address are set
  // here).
  static std::unique_ptr<LogEnv> Start(LogServerOptions options = {},
                                       const LogEnv* same_keys_as = nullptr);
  ~LogEnv();

  // Shuts the server down cleanly and starts it again on the same data dir
  // (with its options changed by `change`, if given).
  void Restart(const std::function<void(LogServerOptions*)>& change = {});
  void Stop();

  LogServer* server() { return server_.get(); }
  LogClient* client() { return client_.get(); }
  // The same client as a follower's feed (the auditor's).
  LogFeed* feed() { return feed_.get(); }
  // What clients pin: the checkpoint key and the VRF key.
  const LogPublicKey& log_key() const { return log_key_; }
  const NoteVerifierKey& checkpoint_key() const {
    return log_key_.checkpoint_key;
  }
  const std::string& data_dir() const { return options_.data_dir; }
  const NoteSigner& signer() const { return *signer_; }
  const VrfPrivateKey& vrf() const { return *vrf_; }

  // Appends `record` (waiting for its checkpoint) and fails the test if the
  // log refuses it.
  LogClient::WriteResult Append(const DeviceRecord& record);
  // The latest checkpoint, verified with the log key.
  LogCheckpoint Checkpoint();

 private:
  LogEnv() = default;
  void StartServer();

  LogServerOptions options_;
  std::unique_ptr<NoteSigner> signer_;
  std::unique_ptr<VrfPrivateKey> vrf_;
  LogPublicKey log_key_;
  std::unique_ptr<LogServer> server_;
  std::unique_ptr<LogClient> client_;
  std::unique_ptr<GrpcFeed> feed_;
};

}  // namespace ktlog

#endif  // KTLOG_TESTS_TEST_ENV_H_
