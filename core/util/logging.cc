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

}  // namespace ktlog
