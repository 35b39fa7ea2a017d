// Fido2Device: a SecurityKeyDevice on libfido2 (Debian libfido2-dev 1.12):
// a USB security key through hidraw, or any device behind custom I/O
// functions (fido_dev_io_t; the tests' software authenticator). CTAP2
// only: U2F-only keys are refused (they cannot sign what ktlog asks).
// Every credential is made with the hmac-secret extension asked for (a key
// without it ignores the request; HmacSecret then fails).
//
// Not thread-safe: one call at a time per device.
#ifndef KTLOG_VERIFIER_FIDO2_FIDO2_DEVICE_H_
#define KTLOG_VERIFIER_FIDO2_FIDO2_DEVICE_H_

#include <fido.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "verifier/security_key_device.h"

namespace ktlog {

class Fido2Device : public SecurityKeyDevice {
 public:
  // The paths of the FIDO2 devices plugged in (/dev/hidraw*), with their
  // manufacturer and product names: "path\tmanufacturer product".
  static absl::StatusOr<std::vector<std::string>> List();

  // Opens the device at `path` (List). A touch is waited for at most
  // `touch_timeout`. UNAVAILABLE if it cannot be opened; FAILED_PRECONDITION
  // if it is not a FIDO2 (CTAP2) device.
  static absl::StatusOr<std::unique_ptr<Fido2Device>> Open(
      const std::string& path, absl::Duration touch_timeout);

  // The same over custom I/O functions (`io.open` receives `path`).
  static absl::StatusOr<std::unique_ptr<Fido2Device>> OpenWith(
      const fido_dev_io_t& io, const std::string& path,
      absl::Duration touch_timeout);

  ~Fido2Device() override;

  absl::StatusOr<SecurityKey> MakeCredential(
      const std::string& rp_id, const std::string& account_id,
      KeyAlgorithm algorithm, const std::vector<std::string>& exclude) override;
  absl::StatusOr<KeyAssertion> GetAssertion(
      const std::string& rp_id, const std::vector<std::string>& credential_ids,
      const Hash& client_data_hash, bool user_verification) override;
  absl::StatusOr<KeySecret> HmacSecret(
      const std::string& rp_id, const std::vector<std::string>& credential_ids,
      absl::string_view salt) override;

 private:
  Fido2Device(fido_dev_t* dev, absl::Duration touch_timeout)
      : dev_(dev), touch_timeout_(touch_timeout) {}
  static absl::StatusOr<std::unique_ptr<Fido2Device>> Opened(
      fido_dev_t* dev, const std::string& path, absl::Duration touch_timeout);

  fido_dev_t* dev_;
  absl::Duration touch_timeout_;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_FIDO2_FIDO2_DEVICE_H_
