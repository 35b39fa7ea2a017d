// A messenger client's owner side for end-to-end tests: its own state dir
// (DirStateStore, FileAccountKeyStore with a fresh account key), a
// ClientVerifier and an OwnAccount over a LogEnv's real client.
#ifndef KTLOG_TESTS_TEST_OWNER_H_
#define KTLOG_TESTS_TEST_OWNER_H_

#include <memory>
#include <string>

#include "core/util/clock.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"
#include "verifier/client_verifier.h"
#include "verifier/own_account.h"
#include "verifier/stores.h"

namespace ktlog {

struct TestOwner {
  // The owner of `account` on `env`'s log, whose device is "phone".
  TestOwner(LogEnv* env, const std::string& account)
      : dir(NewTempDir("owner")), store(dir), keys(dir) {
    EXPECT_TRUE(keys.Create().ok());
    state.log_key = env->log_key().ToString();
    state.account_id = account;
    state.device_id = "phone";
    verifier = std::make_unique<ClientVerifier>(&state, env->client(),
                                                RealClock::Get());
    own = std::make_unique<OwnAccount>(&state, &store, &keys, env->client(),
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

#endif  // KTLOG_TESTS_TEST_OWNER_H_
