// Test-only helpers for end-to-end tests of the shipped binaries as real
// processes: a log key made by ktlog-keygen, a ktlog-server process, and
// ktctl invocations.
#ifndef KTLOG_TESTS_PROCESS_ENV_H_
#define KTLOG_TESTS_PROCESS_ENV_H_

#include <memory>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/subprocess.h"

namespace ktlog {

inline constexpr char kKeygenBinary[] = "tools/ktlog-keygen";
inline constexpr char kServerBinary[] = "log/ktlog-server";
inline constexpr char kKtctlBinary[] = "client/ktctl";
inline constexpr char kAdminBinary[] = "tools/ktlog-admin";

// A temp dir holding a log key made with ktlog-keygen.
struct LogKeyFiles {
  std::string dir, key_file, log_key;  // what ktlog-keygen printed
};
LogKeyFiles MakeLogKey(const std::string& name = "e2e.example/log");

// A running ktlog-server process (stdout and stderr captured).
class ServerProcess {
 public:
  // Starts the server with `flags` (plus --listen=127.0.0.1:0, and no rate
  // limits and --plaintext unless `flags` set them or --tls_cert) and waits
  // for it to listen. Fails the test if it does not.
  static std::unique_ptr<ServerProcess> Start(
      const std::vector<std::string>& flags);
  ~ServerProcess();  // SIGTERM, wait

  const std::string& address() const { return address_; }
  // The tiles URL the server printed (with --http_listen), or "".
  const std::string& tiles_url() const { return tiles_url_; }
  // The log key the server printed: identity plus its witness policy.
  const std::string& log_key() const { return log_key_; }
  Subprocess* process() { return process_.get(); }
  // Sends SIGTERM (or `sig`) and returns the exit code (128+signal if
  // killed).
  int Stop(int sig = 15);

 private:
  std::unique_ptr<Subprocess> process_;
  std::string address_, tiles_url_, log_key_;
  bool stopped_ = false;
};

// Runs ktctl (or `binary`, e.g. the tests' build with software security
// keys) with --state=state_dir --server=server --json and `args` (and
// --plaintext unless `args` give --ca_file).
inline constexpr char kKtctlSoftKeysBinary[] = "client/ktctl_soft_keys";
RunResult Ktctl(const std::string& state_dir, const std::string& server,
                const std::vector<std::string>& args,
                const std::string& binary = kKtctlBinary);

// The types of the alerts in a ktctl JSON answer, in order.
std::vector<std::string> AlertTypes(const nlohmann::json& j);

// Parses a command's JSON output; fails the test if it is not JSON.
nlohmann::json JsonOf(const RunResult& r);

std::string TrimRight(const std::string& s);

}  // namespace ktlog

#endif  // KTLOG_TESTS_PROCESS_ENV_H_
