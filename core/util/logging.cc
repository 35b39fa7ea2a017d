#include "core/util/logging.h"

#include <unistd.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/util/json_util.h"

namespace ktlog {
namespace {

// Set once at start-up, before other threads log (SetLogFormat).
LogFormat g_format = LogFormat::kText;
std::string* g_program = nullptr;

}  // namespace

void SetLogFormat(LogFormat format, absl::string_view program) {
  g_format = format;
  delete g_program;
  g_program = new std::string(program);
}

LogFormat CurrentLogFormat() { return g_format; }

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--log_format is text or json, not \"", name, "\""));
}

std::string FormatLogLine(Severity severity, absl::string_view message,
                          absl::Time time) {
  const char* s = severity == Severity::kInfo      ? "INFO"
                  : severity == Severity::kWarning ? "WARNING"
                                                   : "ERROR";
  std::string when =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  if (g_format == LogFormat::kText) {
    return absl::StrCat(when, " ", s, " ", message, "\n");
  }
  // Messages may quote what a peer sent: JsonText escapes it and replaces
  // invalid UTF-8, so that every line parses.
  return JsonText({{"time", when},
                   {"severity", s},
                   {"program", g_program == nullptr ? "" : *g_program},
                   {"message", std::string(message)}}) +
         "\n";
}

void LogLine(Severity severity, absl::string_view message) {
  std::string line = FormatLogLine(severity, message, absl::Now());
  ssize_t unused = write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

ThrottledLog::ThrottledLog(Severity severity, std::string what,
                           absl::Duration every)
    : severity_(severity), what_(std::move(what)), every_(every) {}

void ThrottledLog::Record(absl::string_view detail) {
  uint64_t skipped;
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = absl::Now();
    if (now < logged_ + every_) {
      ++skipped_;
      return;
    }
    logged_ = now;
    skipped = skipped_;
    skipped_ = 0;
  }
  LogLine(severity_,
          absl::StrCat(what_, ": ", detail,
                       skipped == 0
                           ? ""
                           : absl::StrCat(" (and ", skipped,
                                          " more since the last such line)")));
}

}  // namespace ktlog
