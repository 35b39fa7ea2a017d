#include "core/note/key_file.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"

namespace ktlog {
namespace {

constexpr absl::string_view kVrfKeyLine = "PRIVATE+VRF+";

// The key file's text, from `path`.
absl::StatusOr<KeyFile> ParseKeyFile(const std::string& text,
                                     const std::string& path);

}  // namespace

absl::StatusOr<KeyFile> LoadKeyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSecretFile(path, 4096);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat(
          "key file ", path, " does not exist (create one with ktlog-keygen)"));
    }
    return text.status();
  }
  absl::StatusOr<KeyFile> keys = ParseKeyFile(*text, path);
  WipeSecret(&*text);
  return keys;
}

namespace {

// A VRF key line (PRIVATE+VRF+...), or why not.
absl::StatusOr<VrfPrivateKey> ParseVrfLine(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  if (!absl::StartsWith(line, kVrfKeyLine)) {
    return absl::InvalidArgumentError("no VRF key line");
  }
  absl::StatusOr<std::string> seed =
      Base64Decode(line.substr(kVrfKeyLine.size()));
  if (!seed.ok()) return absl::InvalidArgumentError("not a VRF key line");
  absl::StatusOr<VrfPrivateKey> vrf = VrfPrivateKey::FromSeed(*seed);
  WipeSecret(&*seed);
  return vrf;
}

absl::StatusOr<KeyFile> ParseKeyFile(const std::string& text,
                                     const std::string& path) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::StripAsciiWhitespace(text), '\n');
  auto bad = [&path](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("key file ", path, " is not a ktlog key file: ", why));
  };
  if (lines.size() > 2) return bad("more than two lines");
  absl::StatusOr<NoteSigner> signer =
      NoteSigner::Parse(absl::StripAsciiWhitespace(lines[0]));
  if (!signer.ok()) return bad(signer.status().message());
  KeyFile out{*std::move(signer), std::nullopt};
  if (lines.size() == 2) {
    absl::StatusOr<VrfPrivateKey> vrf = ParseVrfLine(lines[1]);
    if (absl::IsInvalidArgument(vrf.status())) {
      return bad("the second line is not a VRF key");
    }
    if (!vrf.ok()) return bad(vrf.status().message());
    out.vrf = *std::move(vrf);
  }
  return out;
}

}  // namespace

absl::Status WriteKeyFile(const std::string& path, const NoteSigner& signer,
                          const VrfPrivateKey* vrf) {
  std::string text = signer.ToString() + "\n";
  if (vrf != nullptr) {
    absl::StrAppend(&text, kVrfKeyLine, Base64Encode(vrf->seed()), "\n");
  }
  return CreateSecretFile(path, text);
}

absl::Status WriteReplicaKeyFile(const std::string& path,
                                 const VrfPrivateKey& vrf) {
  return CreateSecretFile(
      path, absl::StrCat(kVrfKeyLine, Base64Encode(vrf.seed()), "\n"));
}

absl::StatusOr<VrfPrivateKey> LoadReplicaKeyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSecretFile(path, 4096);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat(
          "replica key file ", path,
          " does not exist (make one with ktlog-keygen --replica_key_from)"));
    }
    return text.status();
  }
  absl::StatusOr<VrfPrivateKey> vrf = ParseVrfLine(*text);
  bool signer = absl::StartsWith(*text, "PRIVATE+KEY+");
  WipeSecret(&*text);
  if (signer) {
    return absl::FailedPreconditionError(absl::StrCat(
        path,
        " holds the log's checkpoint signing key: a read replica must not "
        "(it signs nothing). Give it only the VRF key: ktlog-keygen "
        "--replica_key_from=",
        path, " --out=replica.key"));
  }
  if (!vrf.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "replica key file ", path,
        " is not one line PRIVATE+VRF+<seed>: ", vrf.status().message()));
  }
  return vrf;
}

absl::StatusOr<LogPublicKey> LogPublicKeyOf(const KeyFile& keys) {
  if (keys.signer.type() != kNoteTypeEd25519 || !keys.vrf.has_value()) {
    return absl::FailedPreconditionError(
        "the key file is not a log key file with a VRF key (a witness key, or "
        "a log key made by an older ktlog-keygen: make a new one)");
  }
  return LogPublicKey{keys.signer.verifier_key(), keys.vrf->public_key()};
}

}  // namespace ktlog
