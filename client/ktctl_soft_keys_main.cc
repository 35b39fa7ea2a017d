// ktctl for tests: as ktctl, and a --security_key of the form
// "soft-file:PATH" is a software authenticator kept in that file
// (verifier/fido2/soft_authenticator.h), created on first use, driven
// through libfido2 as a USB key would be. Not installed.
#include "absl/strings/match.h"
#include "client/ktctl_framework.h"
#include "verifier/fido2/soft_authenticator.h"

int main(int argc, char** argv) {
  return ktlog::KtctlMain(
      argc, argv,
      [](const std::string& path, absl::Duration touch_timeout)
          -> absl::StatusOr<std::unique_ptr<ktlog::SecurityKeyDevice>> {
        constexpr absl::string_view kSoft = "soft-file:";
        if (absl::StartsWith(path, kSoft)) {
          return ktlog::OpenSoftKeyFile(path.substr(kSoft.size()),
                                        touch_timeout, /*create=*/true);
        }
        return ktlog::OpenFido2Key(path, touch_timeout);
      });
}
