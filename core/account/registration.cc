#include "core/account/registration.h"

#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"

namespace ktlog {
namespace {

constexpr absl::string_view kPrefix = "PRIVATE+REGISTRATION+";
constexpr absl::string_view kLabel = "ktlog-registration-v1\n";

absl::Status Malformed(const std::string& path, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("registration key file ", path, ": ", why));
}

}  // namespace

RegistrationKey RegistrationKey::Generate() {
  return RegistrationKey(RandomBytes(kRegistrationKeySize));
}

absl::StatusOr<RegistrationKey> RegistrationKey::Load(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, 1024);
  if (!text.ok()) return text.status();
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    return Malformed(path, "is readable by others (chmod 600 it)");
  }
  absl::string_view line = absl::StripAsciiWhitespace(*text);
  if (!absl::StartsWith(line, kPrefix)) {
    return Malformed(path,
                     "does not start with PRIVATE+REGISTRATION+ "
                     "(make one with ktlog-keygen --type=registration)");
  }
  absl::StatusOr<std::string> bytes = Base64Decode(line.substr(kPrefix.size()));
  if (!bytes.ok() || bytes->size() != kRegistrationKeySize) {
    return Malformed(path, "does not hold a 32-byte base64 key");
  }
  return RegistrationKey(*std::move(bytes));
}

absl::Status RegistrationKey::Save(const std::string& path) const {
  return CreateSecretFile(path,
                          absl::StrCat(kPrefix, Base64Encode(bytes_), "\n"));
}

std::string RegistrationKey::CredentialFor(absl::string_view account_id) const {
  return HmacSha256(bytes_, {kLabel, account_id}).ToHex();
}

absl::Status RegistrationKey::Check(absl::string_view account_id,
                                    absl::string_view credential) const {
  if (credential.empty()) {
    return absl::UnauthenticatedError(
        "creating an account needs a registration credential from the log "
        "operator's registration service (ktctl register --credential=...)");
  }
  if (!ConstantTimeEquals(CredentialFor(account_id), credential)) {
    return absl::PermissionDeniedError(
        "the registration credential is not valid for this account id "
        "(credentials are issued for one account id each)");
  }
  return absl::OkStatus();
}

}  // namespace ktlog
