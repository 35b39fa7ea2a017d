// Minimal operational logging to stderr for the daemons (abseil 20220623 has
// no absl/log): one line per event, "<UTC time> <severity> <message>".
#ifndef KTLOG_CORE_UTIL_LOGGING_H_
#define KTLOG_CORE_UTIL_LOGGING_H_

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ktlog {

enum class Severity { kInfo, kWarning, kError };

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

}  // namespace ktlog

#endif  // KTLOG_CORE_UTIL_LOGGING_H_
