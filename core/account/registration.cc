#include "core/account/registration.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"

namespace ktlog {
namespace {

constexpr absl::string_view kPrefix = "PRIVATE+REGISTRATION+";

// Each purpose's credential version (before the first '.') and MAC label.
struct PurposeText {
  absl::string_view version;
  absl::string_view label;
  absl::string_view needed;  // the message when the credential is missing
  absl::string_view name;    // in the messages
};

PurposeText TextOf(CredentialPurpose purpose) {
  if (purpose == CredentialPurpose::kReset) {
    return {"r1", "ktlog-reset-v1\n",
            "resetting an account needs a reset credential from the log "
            "operator, issued for the account id and the new account key "
            "once the operator has checked who is asking (ktctl account "
            "reset --credential_file=...)",
            "the reset credential "};
  }
  if (purpose == CredentialPurpose::kFetchBackup) {
    return {"b1", "ktlog-backup-fetch-v1\n",
            "fetching an account's trust backup needs a backup-fetch "
            "credential for its id from the log operator, issued once its "
            "sign-in has checked who is asking (ktlog-admin credential "
            "--fetch_backup; ktctl backup restore --credential_file=...)",
            "the backup-fetch credential "};
  }
  if (purpose == CredentialPurpose::kErase) {
    return {"e1", "ktlog-erase-v1\n",
            "erasing an account needs an erasure credential for its id "
            "(ktlog-admin credential --erase), or ktlog-admin erase on the "
            "data dir with the server stopped",
            "the erasure credential "};
  }
  return {"v2", "ktlog-registration-v2\n",
          "creating an account needs a registration credential from the log "
          "operator's registration service, issued for the account id and "
          "the account key (ktctl register --credential_file=...)",
          "the registration credential "};
}

absl::Status Malformed(const std::string& path, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("registration key file ", path, ": ", why));
}

}  // namespace

RegistrationKey RegistrationKey::Generate() {
  return RegistrationKey(RandomBytes(kRegistrationKeySize));
}

absl::StatusOr<RegistrationKey> RegistrationKey::Load(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSecretFile(path, 1024);
  if (!text.ok()) return text.status();
  absl::string_view line = absl::StripAsciiWhitespace(*text);
  absl::StatusOr<std::string> bytes =
      absl::StartsWith(line, kPrefix)
          ? Base64Decode(line.substr(kPrefix.size()))
          : absl::InvalidArgumentError("prefix");
  bool prefixed = absl::StartsWith(line, kPrefix);
  WipeSecret(&*text);
  if (!prefixed) {
    return Malformed(path,
                     "does not start with PRIVATE+REGISTRATION+ "
                     "(make one with ktlog-keygen --type=registration)");
  }
  if (!bytes.ok() || bytes->size() != kRegistrationKeySize) {
    if (bytes.ok()) WipeSecret(&*bytes);
    return Malformed(path, "does not hold a 32-byte base64 key");
  }
  return RegistrationKey(*std::move(bytes));
}

absl::Status RegistrationKey::Save(const std::string& path) const {
  return CreateSecretFile(path,
                          absl::StrCat(kPrefix, Base64Encode(bytes_), "\n"));
}

RegistrationKey::~RegistrationKey() { WipeSecret(&bytes_); }

std::string RegistrationKey::Mac(CredentialPurpose purpose,
                                 absl::string_view account_id,
                                 absl::string_view account_key,
                                 uint64_t expiry_s) const {
  std::string id, expiry;
  AppendBigEndian(account_id.size(), 2, &id);
  id.append(account_id.data(), account_id.size());
  AppendBigEndian(expiry_s, 8, &expiry);
  return HmacSha256(bytes_, {TextOf(purpose).label, id, account_key, expiry})
      .ToHex();
}

std::string RegistrationKey::CredentialFor(absl::string_view account_id,
                                           absl::string_view account_key,
                                           uint64_t expiry_s,
                                           CredentialPurpose purpose) const {
  return absl::StrCat(TextOf(purpose).version, ".", expiry_s, ".",
                      Mac(purpose, account_id, account_key, expiry_s));
}

absl::Status RegistrationKey::Check(absl::string_view account_id,
                                    absl::string_view account_key,
                                    absl::string_view credential,
                                    uint64_t now_s,
                                    CredentialPurpose purpose) const {
  const PurposeText text = TextOf(purpose);
  if (credential.empty()) return absl::UnauthenticatedError(text.needed);
  auto denied = [&text](absl::string_view why) {
    return absl::PermissionDeniedError(absl::StrCat(
        text.name, why,
        " (a credential is issued for one account id and account key, until "
        "a time; ask the registration service for a new one)"));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(credential, '.');
  absl::StatusOr<uint64_t> expiry_s = parts.size() == 3
                                          ? ParseDecimalU64(parts[1])
                                          : absl::InvalidArgumentError("parts");
  if (parts[0] != text.version || !expiry_s.ok()) {
    return denied("is malformed");
  }
  if (!ConstantTimeEquals(Mac(purpose, account_id, account_key, *expiry_s),
                          parts[2])) {
    return denied("is not valid for this account id and account key");
  }
  if (now_s > *expiry_s) {
    return denied(absl::StrCat("expired ", now_s - *expiry_s, " s ago"));
  }
  return absl::OkStatus();
}

}  // namespace ktlog
