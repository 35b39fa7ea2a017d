// Positions: where an account sits in the account index, with the VRF proof
// (docs/formats.md, "VRF input and index position"): stored once the
// account was written, else computed with the log's VRF key. The write path
// uses it in the RPC threads, so the integrator's single thread never
// evaluates the VRF; the read path needs it for absent accounts too.
//
// Thread-safe.
#ifndef KTLOG_LOG_POSITIONS_H_
#define KTLOG_LOG_POSITIONS_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/crypto/vrf.h"
#include "log/storage/log_storage.h"

namespace ktlog {

class Positions {
 public:
  // Borrows both.
  Positions(LogReader* storage, const VrfPrivateKey* vrf)
      : storage_(storage), vrf_(vrf) {}

  // The account's position and its VRF proof. Storage errors pass through;
  // INTERNAL only if the VRF finds no point (probability about 2^-250).
  absl::StatusOr<AccountPosition> Of(const std::string& account_id) const;
  // The position stored for the account, if it was ever written (no VRF
  // evaluation). Storage errors pass through.
  absl::StatusOr<std::optional<AccountPosition>> Stored(
      const std::string& account_id) const;

  // How many times Of() evaluated the VRF (reads and account creations).
  uint64_t evaluations() const { return evaluations_.load(); }

 private:
  LogReader* const storage_;
  const VrfPrivateKey* const vrf_;
  mutable std::atomic<uint64_t> evaluations_{0};
};

}  // namespace ktlog

#endif  // KTLOG_LOG_POSITIONS_H_
