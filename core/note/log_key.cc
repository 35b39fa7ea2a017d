#include "core/note/log_key.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

constexpr absl::string_view kVrfAttribute = "vrf=";

}  // namespace

absl::StatusOr<LogPublicKey> LogPublicKey::Parse(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  LogPublicKey out;
  absl::StatusOr<NoteVerifierKey> checkpoint_key =
      NoteVerifierKey::Parse(parts[0]);
  if (!checkpoint_key.ok() || checkpoint_key->type != kNoteTypeEd25519) {
    return absl::InvalidArgumentError(
        absl::StrCat("the log key does not start with a log verifier key: ",
                     checkpoint_key.ok() ? "wrong key type"
                                         : checkpoint_key.status().message()));
  }
  out.checkpoint_key = *std::move(checkpoint_key);
  bool have_vrf = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!absl::StartsWith(parts[i], kVrfAttribute) || have_vrf) {
      return absl::InvalidArgumentError(
          absl::StrCat("the log key has an unknown or repeated attribute \"",
                       parts[i], "\""));
    }
    absl::StatusOr<std::string> bytes =
        Base64Decode(parts[i].substr(kVrfAttribute.size()));
    if (!bytes.ok()) {
      return absl::InvalidArgumentError("the log key's vrf= is not base64");
    }
    absl::StatusOr<VrfPublicKey> vrf = VrfPublicKey::FromBytes(*bytes);
    if (!vrf.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the log key's VRF key: ", vrf.status().message()));
    }
    out.vrf_key = *std::move(vrf);
    have_vrf = true;
  }
  if (!have_vrf) {
    return absl::InvalidArgumentError(
        "the log key has no VRF key (\",vrf=...\"): use the whole log key its "
        "operator publishes (ktlog-keygen and ktlog-server print it), not "
        "just the checkpoint verifier key");
  }
  return out;
}

std::string LogPublicKey::ToString() const {
  return absl::StrCat(checkpoint_key.ToString(), ",", kVrfAttribute,
                      Base64Encode(vrf_key.bytes()));
}

}  // namespace ktlog
