#include "core/util/logging.h"

#include <unistd.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ktlog {

void LogLine(Severity severity, absl::string_view message) {
  const char* s = severity == Severity::kInfo      ? "INFO"
                  : severity == Severity::kWarning ? "WARNING"
                                                   : "ERROR";
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   " ", s, " ", message, "\n");
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
