#include "core/account/commitment.h"

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"

namespace ktlog {
namespace {

// The IETF keytrans Kc (KT_128_SHA256_*), as 16 raw bytes.
constexpr char kCommitmentKey[] =
    "\xd8\x21\xf8\x79\x0d\x97\x70\x97\x96\xb4\xd7\x90\x33\x57\xc3\xf5";

}  // namespace

Hash Commit(absl::string_view opening, CommitmentKind kind,
            absl::string_view account_id, uint64_t version,
            absl::string_view value) {
  std::string header(1, static_cast<char>(kind));
  AppendBigEndian(account_id.size(), 2, &header);
  std::string middle;
  AppendBigEndian(version, 8, &middle);
  AppendBigEndian(value.size(), 4, &middle);
  return HmacSha256(absl::string_view(kCommitmentKey, 16),
                    {opening, header, account_id, middle, value});
}

std::string NewOpening() { return RandomBytes(kOpeningSize); }

absl::Status CheckOpening(const Hash& commitment, absl::string_view opening,
                          CommitmentKind kind, absl::string_view account_id,
                          uint64_t version, absl::string_view value) {
  if (opening.size() != kOpeningSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an opening is ", kOpeningSize, " bytes, not ", opening.size()));
  }
  if (Commit(opening, kind, account_id, version, value) != commitment) {
    return absl::DataLossError(absl::StrCat(
        "the ", kind == CommitmentKind::kRecord ? "record" : "state",
        " commitment of version ", version, " does not open to the ",
        kind == CommitmentKind::kRecord ? "record" : "state", " sent"));
  }
  return absl::OkStatus();
}

}  // namespace ktlog
