#include "tests/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ktlog {

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv, const std::string& stdin_data,
    bool merge_stderr) {
  int out[2], in[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  pid_t pid = fork();
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    if (merge_stderr) dup2(out[1], STDERR_FILENO);
    dup2(in[0], STDIN_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(out[1]);
  close(in[0]);
  if (!stdin_data.empty()) {
    ssize_t n = write(in[1], stdin_data.data(), stdin_data.size());
    (void)n;
  }
  close(in[1]);
  return std::unique_ptr<Subprocess>(new Subprocess(pid, out[0]));
}

Subprocess::~Subprocess() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    Wait();
  }
  close(out_fd_);
}

bool Subprocess::ReadMore(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return false;
  pollfd p{out_fd_, POLLIN, 0};
  int rc = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
  if (rc <= 0) return false;
  char buf[4096];
  ssize_t n = read(out_fd_, buf, sizeof(buf));
  if (n <= 0) return false;
  buffer_.append(buf, static_cast<size_t>(n));
  return true;
}

absl::StatusOr<std::string> Subprocess::WaitForLine(const std::string& needle,
                                                    absl::Time deadline) {
  for (;;) {
    size_t start = 0;
    for (size_t nl = buffer_.find('\n'); nl != std::string::npos;
         nl = buffer_.find('\n', start)) {
      std::string line = buffer_.substr(start, nl - start);
      start = nl + 1;
      if (line.find(needle) != std::string::npos) {
        buffer_.erase(0, start);
        return line;
      }
    }
    buffer_.erase(0, start);
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no line with \"", needle, "\" before the deadline"));
    }
    if (!ReadMore(deadline)) {
      if (absl::Now() >= deadline) continue;
      return absl::FailedPreconditionError(
          absl::StrCat("stdout closed before a line with \"", needle, "\""));
    }
  }
}

std::string Subprocess::ReadAll(absl::Time deadline) {
  while (ReadMore(deadline)) {
  }
  std::string out;
  out.swap(buffer_);
  return out;
}

void Subprocess::Signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

int Subprocess::Wait() {
  if (!reaped_) {
    while (waitpid(pid_, &wait_status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  return wait_status_;
}

bool Subprocess::Running() {
  if (!reaped_ && waitpid(pid_, &wait_status_, WNOHANG) == pid_) {
    reaped_ = true;
  }
  return !reaped_;
}

RunResult RunProgram(const std::vector<std::string>& argv,
                     const std::string& stdin_data, absl::Duration timeout) {
  RunResult r;
  auto p = Subprocess::Start(argv, stdin_data, /*merge_stderr=*/true);
  if (!p.ok()) return r;
  r.out = (*p)->ReadAll(absl::Now() + timeout);
  int status = (*p)->Wait();
  r.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string ListeningAddress(const std::string& line) {
  std::vector<std::string> words = absl::StrSplit(line, ' ');
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == "on") return words[i + 1];
  }
  return "";
}

}  // namespace ktlog
