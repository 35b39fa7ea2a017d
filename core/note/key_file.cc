#include "core/note/key_file.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/util/file_util.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::StatusOr<NoteSigner> LoadSignerKeyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, 4096);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(
          absl::StrCat("signing key file ", path,
                       " does not exist (create one with ktlog-keygen)"));
    }
    return text.status();
  }
  absl::StatusOr<NoteSigner> signer =
      NoteSigner::Parse(absl::StripAsciiWhitespace(*text));
  if (!signer.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("signing key file ", path,
                     " is not a note signer key: ", signer.status().message()));
  }
  return signer;
}

absl::Status WriteSignerKeyFile(const std::string& path,
                                const NoteSigner& signer) {
  return CreateSecretFile(path, signer.ToString() + "\n");
}

}  // namespace ktlog
