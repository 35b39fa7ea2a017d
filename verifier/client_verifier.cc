#include "verifier/client_verifier.h"

#include "core/util/status_macros.h"

namespace ktlog {

absl::Status ClientVerifier::MonitorOnce() {
  ASSIGN_OR_RETURN(LogCheckpoint cp, UpdateCheckpoint());
  absl::Status self = MonitorSelf(cp);
  absl::Status contacts = MonitorContacts(cp);
  return self.ok() ? contacts : self;
}

}  // namespace ktlog
