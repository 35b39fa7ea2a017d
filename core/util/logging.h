// Minimal operational logging to stderr for the daemons (abseil 20220623 has
// no absl/log): one line per event, as text, "<UTC time> <severity>
// <message>", or as one JSON object (--log_format=json, for a log
// collector): {"time": "<UTC time>", "severity": "INFO", "program":
// "<program>", "message": "<message>"} (docs/operations.md, "Logs").
#ifndef KTLOG_CORE_UTIL_LOGGING_H_
#define KTLOG_CORE_UTIL_LOGGING_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ktlog {

enum class Severity { kInfo, kWarning, kError };

enum class LogFormat { kText, kJson };

// Sets how every later line is written, and the program that JSON lines
// name. Call once, before other threads log (at start-up, after the flags).
void SetLogFormat(LogFormat format, absl::string_view program);
LogFormat CurrentLogFormat();
// "text" or "json"; INVALID_ARGUMENT naming the choices otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);

// The line LogLine writes for `message` at `time`, with its newline.
std::string FormatLogLine(Severity severity, absl::string_view message,
                          absl::Time time);

// Writes one line to stderr. Thread-safe (one write(2) per line).
void LogLine(Severity severity, absl::string_view message);

template <typename... Args>
void LogInfo(const Args&... args) {
  LogLine(Severity::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void LogWarning(const Args&... args) {
  LogLine(Severity::kWarning, absl::StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  LogLine(Severity::kError, absl::StrCat(args...));
}

// An event that may come many times a second (refused requests, rate
// limiting) logged at most once per `every`: the first at once, then the
// next one after `every` with how many were not logged in between, so
// that an attacker cannot flood the log. Thread-safe.
class ThrottledLog {
 public:
  ThrottledLog(Severity severity, std::string what,
               absl::Duration every = absl::Minutes(1));
  // "<what>: <detail>", unless one was logged less than `every` ago.
  void Record(absl::string_view detail);

 private:
  const Severity severity_;
  const std::string what_;
  const absl::Duration every_;
  absl::Mutex mu_;
  absl::Time logged_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t skipped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_UTIL_LOGGING_H_
