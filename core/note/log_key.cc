#include "core/note/log_key.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

constexpr absl::string_view kVrf = "vrf=";
constexpr absl::string_view kWitness = "witness=";
constexpr absl::string_view kQuorum = "quorum=";
constexpr size_t kMaxLength = 8192;
constexpr size_t kMaxWitnesses = 32;

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("the log key ", why));
}

absl::StatusOr<VrfPublicKey> ParseVrf(absl::string_view b64) {
  absl::StatusOr<std::string> bytes = Base64Decode(b64);
  if (!bytes.ok()) return Bad("has a vrf= that is not base64");
  absl::StatusOr<VrfPublicKey> vrf = VrfPublicKey::FromBytes(*bytes);
  if (!vrf.ok()) {
    return Bad(absl::StrCat("has a bad VRF key: ", vrf.status().message()));
  }
  return vrf;
}

// One attribute after the verifier key.
absl::Status ParseAttribute(absl::string_view a, bool* have_vrf,
                            bool* have_quorum, LogPublicKey* out) {
  if (absl::StartsWith(a, kVrf) && !*have_vrf) {
    ASSIGN_OR_RETURN(out->vrf_key, ParseVrf(a.substr(kVrf.size())));
    *have_vrf = true;
  } else if (absl::StartsWith(a, kWitness)) {
    absl::StatusOr<NoteVerifierKey> w =
        NoteVerifierKey::Parse(a.substr(kWitness.size()));
    if (!w.ok() || w->type != kNoteTypeCosignatureV1) {
      return Bad(absl::StrCat("names a witness \"", a.substr(kWitness.size()),
                              "\" that is not a witness verifier key"));
    }
    for (const NoteVerifierKey& k : out->witnesses) {
      // By key: a cosignature does not sign the witness's name, so one key
      // under two names would count twice toward the quorum.
      if (k.key.bytes() == w->key.bytes()) {
        return Bad(absl::StrCat("names the witness key of ", k.name,
                                " twice (as ", k.name, " and ", w->name,
                                "): a witness counts once"));
      }
    }
    if (w->key.bytes() == out->checkpoint_key.key.bytes()) {
      return Bad("names the log's own checkpoint key as a witness");
    }
    if (out->witnesses.size() == kMaxWitnesses) {
      return Bad(absl::StrCat("names more than ", kMaxWitnesses, " witnesses"));
    }
    out->witnesses.push_back(*std::move(w));
  } else if (absl::StartsWith(a, kQuorum) && !*have_quorum) {
    if (!absl::SimpleAtoi(a.substr(kQuorum.size()), &out->quorum) ||
        absl::StrCat(out->quorum) != a.substr(kQuorum.size())) {
      return Bad("has a quorum= that is not a number");
    }
    *have_quorum = true;
  } else {
    return Bad(
        absl::StrCat("has an unknown or repeated attribute \"", a, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

uint32_t MajorityQuorum(size_t witnesses) {
  return static_cast<uint32_t>(witnesses / 2 + 1);
}

std::string QuorumWarning(uint32_t quorum, size_t witnesses) {
  if (witnesses == 0 || quorum >= MajorityQuorum(witnesses)) return "";
  return absl::StrCat(
      "WARNING: a quorum of ", quorum, " of ", witnesses,
      " witnesses is not a majority: a log that shows some witnesses one "
      "history and the others another gets both cosigned, without any "
      "witness key, and clients can be shown either (use ",
      MajorityQuorum(witnesses), " or more; docs/witness.md)");
}

absl::StatusOr<LogPublicKey> LogPublicKey::Parse(absl::string_view text) {
  if (text.size() > kMaxLength) {
    return Bad(absl::StrCat("is longer than ", kMaxLength, " bytes"));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  LogPublicKey out;
  absl::StatusOr<NoteVerifierKey> checkpoint_key =
      NoteVerifierKey::Parse(parts[0]);
  if (!checkpoint_key.ok() || checkpoint_key->type != kNoteTypeEd25519) {
    return Bad(absl::StrCat("does not start with a log verifier key: ",
                            checkpoint_key.ok()
                                ? "wrong key type"
                                : checkpoint_key.status().message()));
  }
  out.checkpoint_key = *std::move(checkpoint_key);
  bool have_vrf = false, have_quorum = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    RETURN_IF_ERROR(ParseAttribute(parts[i], &have_vrf, &have_quorum, &out));
  }
  if (!have_vrf) {
    return Bad(
        "has no VRF key (\",vrf=...\"): use the whole log key its operator "
        "publishes (ktlog-keygen and ktlog-server print it), not just the "
        "checkpoint verifier key");
  }
  if (have_quorum && out.witnesses.empty()) {
    return Bad("has a quorum= but no witnesses");
  }
  if (!have_quorum && !out.witnesses.empty()) out.quorum = 1;
  if ((out.witnesses.empty() && out.quorum != 0) ||
      (!out.witnesses.empty() &&
       (out.quorum == 0 || out.quorum > out.witnesses.size()))) {
    return Bad(absl::StrCat("asks for a quorum of ", out.quorum, " of its ",
                            out.witnesses.size(), " witness(es)"));
  }
  return out;
}

std::string LogPublicKey::IdentityString() const {
  return absl::StrCat(checkpoint_key.ToString(), ",", kVrf,
                      Base64Encode(vrf_key.bytes()));
}

std::string LogPublicKey::ToString() const {
  std::string out = IdentityString();
  for (const NoteVerifierKey& w : witnesses) {
    absl::StrAppend(&out, ",", kWitness, w.ToString());
  }
  if (!witnesses.empty()) absl::StrAppend(&out, ",", kQuorum, quorum);
  return out;
}

}  // namespace ktlog
