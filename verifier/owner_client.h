// Test-only: one messenger client on the owner's side, as an app wires the
// client library: its own state dir (DirStateStore, FileAccountKeyStore
// with a fresh account key), a ClientVerifier over `log` and an OwnAccount
// writing through `sink`. For tests against a MemoryLog or a real server.
#ifndef KTLOG_VERIFIER_OWNER_CLIENT_H_
#define KTLOG_VERIFIER_OWNER_CLIENT_H_

#include <memory>
#include <string>

#include "core/util/clock.h"
#include "gtest/gtest.h"
#include "verifier/client_verifier.h"
#include "verifier/log_source.h"
#include "verifier/own_account.h"
#include "verifier/stores.h"

namespace ktlog {

struct OwnerClient {
  // The owner of `account` on the log whose key is `log_key`, whose device
  // is "phone", keeping its state in `dir` (an empty directory). Borrows
  // `log` and `sink`.
  OwnerClient(const std::string& log_key, LogSource* log, LogSink* sink,
              const std::string& account, std::string state_dir)
      : dir(std::move(state_dir)), store(dir), keys(dir) {
    EXPECT_TRUE(keys.Create().ok());
    state.log_key = log_key;
    state.account_id = account;
    state.device_id = "phone";
    verifier = std::make_unique<ClientVerifier>(&state, log, RealClock::Get());
    own = std::make_unique<OwnAccount>(&state, &store, &keys, sink,
                                       verifier.get(), RealClock::Get());
  }
  std::string dir;
  DirStateStore store;
  FileAccountKeyStore keys;
  ClientState state;
  std::unique_ptr<ClientVerifier> verifier;
  std::unique_ptr<OwnAccount> own;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_OWNER_CLIENT_H_
