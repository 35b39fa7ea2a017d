// SoftAuthenticator (tests only): a software CTAP2 security key that
// libfido2 talks to through its custom I/O hooks (fido_dev_io_t: 64-byte
// CTAPHID reports, as over USB HID), so that tests run libfido2's real code
// path (framing, CBOR, keepalives, errors) without hardware, as libfido2's
// own regress tests do. It implements authenticatorGetInfo,
// authenticatorMakeCredential (ES256 or EdDSA, "none" attestation),
// authenticatorGetAssertion with the hmac-secret extension (for the
// credentials made with it), and authenticatorClientPIN's getKeyAgreement
// (which hmac-secret needs; PIN/UV auth protocol 2, as current keys offer,
// or 1; no PIN is ever set), with one signature counter for all its
// credentials (as most keys have). Each credential has one hmac-secret key
// (CredRandom), whether or not user verification is asked for (a real key
// keeps two).
//
// What a test can make it do: require a touch that never comes
// (keepalives until libfido2's timeout), refuse after its own timeout
// (CTAP2_ERR_USER_ACTION_TIMEOUT), be lost (every I/O fails), be cloned
// (a copy with the same credentials and counter: a cloned key), or keep
// its counter at zero (keys without one).
//
// Each instance registers itself under a unique path ("soft:N") that
// Io().open looks up. Thread-compatible: libfido2 calls the I/O functions
// from the thread that called it.
#ifndef KTLOG_VERIFIER_FIDO2_SOFT_AUTHENTICATOR_H_
#define KTLOG_VERIFIER_FIDO2_SOFT_AUTHENTICATOR_H_

#include <fido.h>
#include <openssl/evp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "verifier/fido2/fido2_device.h"

namespace ktlog {

class SoftAuthenticator {
 public:
  enum class Touch {
    kPresent,  // the user touches at once
    kNever,    // keepalives (user presence needed) until the client gives up
    kTimesOut  // the key gives up itself: CTAP2_ERR_USER_ACTION_TIMEOUT
  };

  SoftAuthenticator();
  ~SoftAuthenticator();
  SoftAuthenticator(const SoftAuthenticator&) = delete;
  SoftAuthenticator& operator=(const SoftAuthenticator&) = delete;

  // The path its I/O functions open.
  const std::string& path() const { return path_; }
  // The I/O functions that reach every SoftAuthenticator by its path.
  static const fido_dev_io_t& Io();
  // Fido2Device::OpenWith(Io(), path(), touch_timeout).
  absl::StatusOr<std::unique_ptr<Fido2Device>> Open(
      absl::Duration touch_timeout = absl::Seconds(5));

  void set_touch(Touch touch) { touch_ = touch; }
  void set_lost(bool lost) { lost_ = lost; }
  void set_counterless(bool counterless) { counterless_ = counterless; }
  // The PIN/UV auth protocol it offers (1 or 2), for hmac-secret.
  void set_pin_protocol(int version) { pin_protocol_ = version; }
  uint32_t counter() const { return counter_; }

  // A copy holding the same credentials and counter (a cloned key).
  std::unique_ptr<SoftAuthenticator> Clone() const;

  // The authenticator as a JSON file (its credentials' private keys, its
  // counter, and "touch": "present" | "never" | "times_out"), and back:
  // a key that lives across processes (ktctl's tests). Copying the file
  // clones the key; deleting it loses it.
  absl::Status SaveTo(const std::string& file) const;
  static absl::StatusOr<std::unique_ptr<SoftAuthenticator>> LoadFrom(
      const std::string& file);

  struct Credential;  // a credential's key (soft_authenticator.cc)

 private:
  friend struct SoftIo;
  // CTAPHID: one 64-byte report in, or out.
  int Write(const unsigned char* report, size_t len);
  int Read(unsigned char* report, size_t len, int ms);
  // One whole CTAPHID message.
  void Handle(uint8_t cmd, const std::string& payload);
  // One CTAP2 CBOR command; the answer (status byte, CBOR) in out_.
  void HandleCbor(const std::string& request);
  void MakeCredential(const std::string& request);
  void GetAssertion(const std::string& request);
  void ClientPin(const std::string& request);

  std::string path_;
  Touch touch_ = Touch::kPresent;
  bool lost_ = false;
  bool counterless_ = false;
  int pin_protocol_ = 2;
  uint32_t counter_ = 0;
  // The key agreement key (made at the first getKeyAgreement, as a real
  // key makes one at power-up).
  std::shared_ptr<EVP_PKEY> key_agreement_;
  // Credentials by id.
  std::map<std::string, std::shared_ptr<const Credential>> credentials_;

  // CTAPHID state: the channel, the message being received, the answer
  // being sent (reports sent so far).
  uint32_t channel_ = 0;
  uint8_t in_cmd_ = 0;
  size_t in_need_ = 0;
  std::string in_;
  bool waiting_for_touch_ = false;
  uint8_t out_cmd_ = 0;
  std::string out_;
  bool have_out_ = false;
  size_t out_reports_ = 0;
};

// A SecurityKeyDevice on the SoftAuthenticator in `file` (created empty if
// `create` and there is none), through libfido2; every call saves the
// authenticator back. UNAVAILABLE if the file is missing (a lost key).
absl::StatusOr<std::unique_ptr<SecurityKeyDevice>> OpenSoftKeyFile(
    const std::string& file, absl::Duration touch_timeout, bool create);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_FIDO2_SOFT_AUTHENTICATOR_H_
