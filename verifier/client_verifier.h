// ClientVerifier: the verifier's engine for one client state, the two
// jobs of docs/verifier.md put together:
//
//  - CheckpointTrust (verifier/checkpoint_trust.h): which checkpoint of
//    the pinned log is trusted (signature, witness quorum, time,
//    consistency; trust only moves forward);
//  - AccountMonitor (verifier/account_monitor.h): lookups, histories, the
//    own account's monitoring and contacts, at a trusted checkpoint.
//
// Both raise alerts into the state through one AlertRaiser (raised(),
// alert_found()), and every refusal's error carries its reason
// (verifier/refusal.h, RefusalOf): act on that, not on the message. The
// owner's writes are OwnAccount's (verifier/own_account.h). The caller
// persists the state after each call. Not thread-safe.
#ifndef KTLOG_VERIFIER_CLIENT_VERIFIER_H_
#define KTLOG_VERIFIER_CLIENT_VERIFIER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/note/checkpoint.h"
#include "core/util/clock.h"
#include "verifier/account_monitor.h"
#include "verifier/alert_raiser.h"
#include "verifier/checkpoint_trust.h"
#include "verifier/client_state.h"
#include "verifier/log_source.h"
#include "verifier/lookup.h"
#include "verifier/refusal.h"

namespace ktlog {

class ClientVerifier {
 public:
  // Borrows all three; they must outlive this object.
  ClientVerifier(ClientState* state, LogSource* log, const Clock* clock)
      : alerts_(state, clock),
        trust_(state, log, clock, &alerts_),
        accounts_(state, log, clock, &alerts_) {}

  // CheckpointTrust::Update and Trusted.
  absl::StatusOr<LogCheckpoint> UpdateCheckpoint() { return trust_.Update(); }
  absl::StatusOr<std::optional<LogCheckpoint>> Trusted() const {
    return trust_.Trusted();
  }

  // AccountMonitor's calls (see there).
  absl::StatusOr<VerifiedAccount> Lookup(const LogCheckpoint& checkpoint,
                                         const std::string& account) {
    return accounts_.Lookup(checkpoint, account);
  }
  absl::StatusOr<VerifiedAccount> LookupExisting(
      const LogCheckpoint& checkpoint, const std::string& account) {
    return accounts_.LookupExisting(checkpoint, account);
  }
  absl::StatusOr<std::vector<VerifiedDevice>> History(
      const LogCheckpoint& checkpoint, const std::string& account) {
    return accounts_.History(checkpoint, account);
  }
  absl::Status MonitorSelf(const LogCheckpoint& checkpoint) {
    return accounts_.MonitorSelf(checkpoint);
  }
  absl::Status CheckOwnCheckpointAge(const LogCheckpoint& checkpoint) {
    return accounts_.CheckOwnCheckpointAge(checkpoint);
  }
  bool MatchedOwn(const std::string& hash) const {
    return accounts_.MatchedOwn(hash);
  }
  absl::Status CheckOwnAssertion(const DeviceRecord& record) {
    return accounts_.CheckOwnAssertion(record);
  }
  absl::Status MonitorContacts(const LogCheckpoint& checkpoint) {
    return accounts_.MonitorContacts(checkpoint);
  }
  absl::StatusOr<VerifiedAccount> AddContact(const LogCheckpoint& checkpoint,
                                             const std::string& account) {
    return accounts_.AddContact(checkpoint, account);
  }
  absl::StatusOr<VerifiedAccount> VerifyContact(
      const LogCheckpoint& checkpoint, const std::string& account,
      const std::string& compared_key) {
    return accounts_.VerifyContact(checkpoint, account, compared_key);
  }

  // UpdateCheckpoint, then MonitorSelf and MonitorContacts (contacts are
  // checked even if the own account could not be). An app that writes its
  // own account monitors with OwnAccount::Monitor instead (it also
  // completes the account key rotations the log shows).
  absl::Status MonitorOnce();

  // The alerts this object raised (new ones only, not duplicates).
  const std::vector<Alert>& raised() const { return alerts_.raised(); }
  // Whether this object found a reason for an alert, new or raised before
  // (a repeated fork, bad signature, missing cosignature...): what a
  // command's exit code reflects, so that it does not depend on whether
  // the alert is new.
  bool alert_found() const { return alerts_.alert_found(); }

 private:
  AlertRaiser alerts_;
  CheckpointTrust trust_;
  AccountMonitor accounts_;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_CLIENT_VERIFIER_H_
