// The owner's client (verifier/owner_client.h) on a LogEnv's real server.
#ifndef KTLOG_TESTS_TEST_OWNER_H_
#define KTLOG_TESTS_TEST_OWNER_H_

#include <string>

#include "tests/test_env.h"
#include "verifier/owner_client.h"

namespace ktlog {

struct TestOwner : OwnerClient {
  // The owner of `account` on `env`'s log, whose device is "phone".
  TestOwner(LogEnv* env, const std::string& account)
      : OwnerClient(env->log_key().ToString(), env->client(), env->client(),
                    account, NewTempDir("owner")) {}
};

}  // namespace ktlog

#endif  // KTLOG_TESTS_TEST_OWNER_H_
