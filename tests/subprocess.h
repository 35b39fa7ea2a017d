// Test-only: run a real program (a ktlog binary from the runfiles) as a child
// process, read its stdout line by line, signal it and reap it.
#ifndef KTLOG_TESTS_SUBPROCESS_H_
#define KTLOG_TESTS_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ktlog {

class Subprocess {
 public:
  // Starts argv[0] (a path) with stdout piped to us and stderr passed
  // through (or into the same pipe, with merge_stderr); `stdin_data` (if
  // any) is written to its stdin.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv, const std::string& stdin_data = "",
      bool merge_stderr = false);
  ~Subprocess();  // SIGKILLs and reaps if still running

  // Reads stdout until a line containing `needle` arrives; returns it.
  // DEADLINE_EXCEEDED or FAILED_PRECONDITION (stdout closed) otherwise.
  absl::StatusOr<std::string> WaitForLine(const std::string& needle,
                                          absl::Time deadline);
  // All of stdout until EOF (or the deadline).
  std::string ReadAll(absl::Time deadline);

  void Signal(int sig);
  // Waits for exit; returns the wait status (use WIFEXITED etc).
  int Wait();
  // Whether it has not exited yet (reaps it if it has).
  bool Running();

  pid_t pid() const { return pid_; }

 private:
  Subprocess(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  bool ReadMore(absl::Time deadline);

  pid_t pid_;
  int out_fd_;
  bool reaped_ = false;
  int wait_status_ = 0;
  std::string buffer_;
};

// Runs a program to completion: its exit code (or 128+signal), and its
// stdout and stderr together.
struct RunResult {
  int exit_code = -1;
  std::string out;
};
RunResult RunProgram(const std::vector<std::string>& argv,
                     const std::string& stdin_data = "",
                     absl::Duration timeout = absl::Seconds(60));

// "127.0.0.1:PORT" from the "ktlog-server: listening on ..." line.
std::string ListeningAddress(const std::string& line);

}  // namespace ktlog

#endif  // KTLOG_TESTS_SUBPROCESS_H_
